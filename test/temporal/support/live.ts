/**
 * Helpers of the live Temporal suites (real dev server, MLflow and SeaweedFS from
 * `bash scripts/servers/up.sh && . .servers/env`): the skip line, in-process workers on a fresh
 * task-queue prefix, waiting on a run's status, history reads, MLflow run lookups.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { connectClient } from '../../../temporal/client.ts';
import { temporalSettingsFromEnv, type TemporalSettings } from '../../../temporal/config.ts';
import { createWorker } from '../../../temporal/worker.ts';
import { statusQuery, type PipelineStatus } from '../../../temporal/workflow/api.ts';
import { decodePayload, type HistoryEvent, type Payload } from '../history.ts';

/** Whether the servers' environment is there (TEMPORAL_ADDRESS from .servers/env). */
export const HAS_SERVERS = Boolean(process.env.TEMPORAL_ADDRESS && process.env.MLFLOW_TRACKING_URI);

/** Prints the one skip line of a live suite when the servers are not there. */
export function skipLine(suite: string): void {
  if (!HAS_SERVERS) console.log(`[${suite}] SKIPPED: start the servers: bash scripts/servers/up.sh && . .servers/env`);
}

/** A client and cpu + gpu workers in this process on a fresh task-queue prefix, with a temp state home. */
export interface LiveEnv {
  settings: TemporalSettings;
  client: Client;
  connection: Connection;
  home: string;
  close(): Promise<void>;
}

/** Starts the live environment (workers run until `close`). */
export async function startLive(name: string, opts: { workers?: boolean } = {}): Promise<LiveEnv> {
  const home = mkdtempSync(path.join(os.tmpdir(), `trademl-${name}-`));
  const base = { ...temporalSettingsFromEnv(), taskQueuePrefix: `t17-${name}-${process.pid}` };
  const { client, connection, settings } = await connectClient(base);
  const workers: { worker: Worker; done: Promise<void>; connection: { close(): Promise<void> } }[] = [];
  if (opts.workers !== false) {
    for (const queue of ['cpu', 'gpu'] as const) {
      const w = await createWorker({ queue, workflows: queue === 'cpu', maxConcurrentActivities: 4, settings, home, shutdownGraceMs: 2000 });
      workers.push({ worker: w.worker, done: w.worker.run(), connection: w.connection });
    }
  }
  return {
    settings,
    client,
    connection,
    home,
    async close() {
      // nothing this suite started stays open on the shared server
      for await (const wf of client.workflow.list({ query: `TaskQueue = '${settings.taskQueuePrefix}-cpu' AND ExecutionStatus = 'Running'` })) {
        await client.workflow.getHandle(wf.workflowId, wf.runId).terminate('test suite finished').catch(() => {});
      }
      for (const w of workers) if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
      for (const w of workers) {
        await w.done.catch(() => {});
        await w.connection.close();
      }
      await connection.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Polls the `status` Query until `pred` holds (at most `ms`). */
export async function waitStatus(h: WorkflowHandle, pred: (s: PipelineStatus) => boolean, ms = 120_000): Promise<PipelineStatus> {
  const until = Date.now() + ms;
  let last: PipelineStatus | undefined;
  while (Date.now() < until) {
    try {
      last = await h.query(statusQuery);
      if (pred(last)) return last;
    } catch {
      /* not started yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${h.workflowId}: condition not reached; last status ${JSON.stringify(last?.status)} ${JSON.stringify(last?.steps.map((s) => `${s.id}:${s.status}`))}`);
}

/** Polls `fn` until it returns a truthy value (at most `ms`). */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, ms = 60_000, what = 'condition'): Promise<T> {
  const until = Date.now() + ms;
  let err: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('run is ')) throw e; // the run can no longer get there
      err = e;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what} not reached${err ? `: ${String(err)}` : ''}`);
}

/** The events of a run's history as proto3 JSON. */
export async function historyEvents(h: WorkflowHandle): Promise<HistoryEvent[]> {
  const { historyToJSON } = await import('@temporalio/common/lib/proto-utils.js');
  return (JSON.parse(historyToJSON(await h.fetchHistory())) as { events: HistoryEvent[] }).events;
}

/** Every runStep activity scheduled in a history: step id, task queue, summary, input params. */
export function scheduledSteps(events: HistoryEvent[]): { step: string; taskQueue: string; summary?: string; params: Record<string, unknown>; activityId: string }[] {
  return events
    .filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')
    .map((e) => ({ a: e.activityTaskScheduledEventAttributes as { activityId: string; activityType: { name: string }; taskQueue: { name: string }; input: { payloads: Payload[] } }, meta: e.userMetadata as { summary?: Payload } | undefined }))
    .filter((x) => x.a.activityType.name === 'runStep')
    .map(({ a, meta }) => {
      const input = decodePayload(a.input.payloads[0]!) as { step: { id: string }; params: Record<string, unknown> };
      return { step: input.step.id, taskQueue: a.taskQueue.name, activityId: a.activityId, params: input.params, ...(meta?.summary ? { summary: String(decodePayload(meta.summary)) } : {}) };
    });
}

/** The MLflow run of a TradeML run (tag `trademl.run_id`) in experiment `trademl/<pipeline>`: status and tags. */
export async function mlflowRun(pipeline: string, runId: string): Promise<{ status: string; tags: Record<string, string> } | undefined> {
  const base = process.env.MLFLOW_TRACKING_URI!;
  const exp = await fetch(`${base}/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(`trademl/${pipeline}`)}`);
  if (!exp.ok) return undefined;
  const id = ((await exp.json()) as { experiment: { experiment_id: string } }).experiment.experiment_id;
  const res = await fetch(`${base}/api/2.0/mlflow/runs/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ experiment_ids: [id], filter: `tags.\`trademl.run_id\` = '${runId}'`, max_results: 5 }) });
  const runs = ((await res.json()) as { runs?: { info: { status: string }; data: { tags?: { key: string; value: string }[] } }[] }).runs ?? [];
  if (!runs.length) return undefined;
  return { status: runs[0]!.info.status, tags: Object.fromEntries((runs[0]!.data.tags ?? []).map((t) => [t.key, t.value])) };
}
