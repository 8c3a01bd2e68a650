/**
 * Records the replay fixtures in test/fixtures/histories/ from the real Temporal server:
 *   bash scripts/servers/up.sh && . .servers/env
 *   npx tsx test/temporal/record-histories.ts [--out <dir>] [--prefix <file prefix>]
 * Starts a cpu and a gpu worker in this process on a fresh task-queue prefix, runs the pipelines of
 * test/fixtures/histories/pipelines.yaml (plain DAG, a failure retried by the operator, an approval
 * decided by Update, a run cancelled while a step runs) and writes each workflow's history exactly
 * as the server returns it (`historyToJSON`, the JSON `temporal workflow show -o json` prints) with
 * the commit and SDK that produced it. Re-record after every intended change of the workflow code
 * and keep the files recorded by older code: those are the runs a deploy finds parked.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { connectClient } from '../../temporal/client.ts';
import { temporalSettingsFromEnv } from '../../temporal/config.ts';
import { startPipelineRun } from '../../temporal/runs.ts';
import { createWorker } from '../../temporal/worker.ts';
import { approveUpdate, retryUpdate, statusQuery, type PipelineStatus } from '../../temporal/workflow/api.ts';
import { FIXTURES, fixturePlan } from './history.ts';

/** The recorded scenarios: pipeline of the fixture spec, what the operator does, and the file. */
const SCENARIOS: { file: string; pipeline: string; handOff?: boolean; act: (h: WorkflowHandle, client: Client) => Promise<void> }[] = [
  { file: 'plain.json', pipeline: 'diamond', act: async () => {} },
  {
    file: 'retry.json',
    pipeline: 'flaky',
    act: async (h) => {
      await until(h, (s) => s.status === 'waiting_operator');
      await h.executeUpdate(retryUpdate, { args: [{ stepId: 'fit', by: 'recorder', reason: 'vendor back' }] });
    },
  },
  {
    file: 'approval.json',
    pipeline: 'gated',
    act: async (h) => {
      await until(h, (s) => s.status === 'waiting_approval');
      await h.executeUpdate(approveUpdate, { args: [{ stepId: 'approve', by: 'Jane Doe', comment: 'DSR and PBO within policy' }] });
    },
  },
  {
    file: 'handoff.json',
    pipeline: 'gated',
    handOff: true,
    act: async (h, client) => {
      const parked = (await h.result()) as PipelineStatus; // parks on the approval, hands off to `<id>-approval` and closes
      await client.workflow.getHandle(parked.handedOff!.workflowId).executeUpdate(approveUpdate, { args: [{ stepId: 'approve', by: 'Jane Doe' }] });
    },
  },
  {
    file: 'cancel.json',
    pipeline: 'cancel',
    act: async (h) => {
      await until(h, (s) => s.steps.some((x) => x.id === 'train' && x.status === 'running'));
      await h.cancel();
    },
  },
];

async function until(h: WorkflowHandle, pred: (s: PipelineStatus) => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (pred(await h.query(statusQuery))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${h.workflowId}: the awaited state was never reached`);
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  if (!process.env.TEMPORAL_ADDRESS) throw new Error('no Temporal server: bash scripts/servers/up.sh && . .servers/env');
  const out = path.resolve(arg('--out', FIXTURES));
  const filePrefix = arg('--prefix', '');
  mkdirSync(out, { recursive: true });
  const home = mkdtempSync(path.join(os.tmpdir(), 'trademl-record-'));
  process.env.TRADEML_HOME = home;
  delete process.env.MLFLOW_TRACKING_URI; // the local tracker: observations stay in this temp home
  const settings = { ...temporalSettingsFromEnv(), taskQueuePrefix: `trademl-rec-${process.pid}` };
  const { client, connection } = await connectClient(settings);
  const workers = await Promise.all((['cpu', 'gpu'] as const).map((queue) => createWorker({ queue, workflows: queue === 'cpu', maxConcurrentActivities: 2, settings, home, shutdownGraceMs: 1000 })));
  const running = workers.map((w) => w.worker.run());
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const sdk = (JSON.parse(readFileSync(path.resolve('node_modules/@temporalio/workflow/package.json'), 'utf8')) as { version: string }).version;
  try {
    for (const sc of SCENARIOS) {
      const workflowId = `history-${sc.pipeline}-${Date.now().toString(36)}`;
      const h = await startPipelineRun(client, fixturePlan(sc.pipeline), settings, { workflowId, observe: true, ...(sc.handOff ? { handOff: true } : {}) });
      await sc.act(h, client);
      await h.result().catch(() => undefined);
      const history = await h.fetchHistory();
      const body = JSON.parse(historyToJSON(history)) as { events: unknown[] };
      const file = path.join(out, filePrefix + sc.file);
      writeFileSync(file, JSON.stringify({ recorded: { commit, sdk, at: new Date().toISOString(), scenario: sc.pipeline }, workflowId, events: body.events }, null, 1) + '\n');
      process.stdout.write(`${path.relative(process.cwd(), file)}: ${body.events.length} events (${workflowId})\n`);
    }
  } finally {
    for (const w of workers) w.worker.shutdown();
    await Promise.allSettled(running);
    for (const w of workers) await w.connection.close();
    await connection.close();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
