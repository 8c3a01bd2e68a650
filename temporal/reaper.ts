/**
 * Ends the tracking of runs whose workflow was terminated (or timed out): no workflow code runs
 * after a Terminate, so the run's own end observation never happens. The cpu worker sweeps its
 * task queue every minute for pipeline runs closed Terminated/TimedOut recently, reads each one's
 * last state (the `status` Query, answered from its history) and calls the observer's
 * `runFinished` with status `cancelled` — the MLflow run ends KILLED, the report is written.
 * (Their steps were cancelled by the server: a heartbeat to a closed workflow's activity is
 * answered NotFound and the worker aborts the step.) Swept runs are remembered in
 * `<home>/temporal/reaped.json`.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { RunRecord, StepRecord } from '../engine/records.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { RunObserver } from '../tracking/observer.ts';
import { PIPELINE_WORKFLOW_TYPE } from './queues.ts';
import { runInputOf, runStatusOf } from './rerun.ts';
import type { PipelineStatus } from './workflow/api.ts';

export interface ReaperOptions {
  client: Client;
  /** The cpu task queue whose runs this worker sweeps. */
  taskQueue: string;
  observer: RunObserver;
  /** Worker state home: the swept runs are remembered under it. */
  home: string;
  log: Logger;
  /** How far back to look, ms (default 24 h). */
  lookbackMs?: number;
}

/** Visibility query of the pipeline runs on `taskQueue` that closed without running their own end since `since`. */
export function closedWithoutEndQuery(taskQueue: string, since: Date): string {
  if (!/^[A-Za-z0-9._-]+$/.test(taskQueue)) throw new Error(`bad task queue name "${taskQueue}"`);
  return `WorkflowType = '${PIPELINE_WORKFLOW_TYPE}' AND TaskQueue = '${taskQueue}' AND ExecutionStatus IN ('Terminated', 'TimedOut') AND CloseTime > '${since.toISOString()}'`;
}

/** The observer's records of a run that was terminated at `closedAt`: run `cancelled`, running steps cancelled. */
export function terminatedRecords(st: PipelineStatus, closedAt: Date, reason: string): { run: RunRecord; steps: StepRecord[] } {
  const run: RunRecord = {
    runId: st.runId,
    pipeline: st.pipeline,
    planDigest: st.planDigest,
    params: st.params,
    status: 'cancelled',
    startedAt: st.startedAt,
    endedAt: closedAt.toISOString(),
    plan: { steps: st.steps.map((s) => ({ id: s.id, uses: s.uses, needs: s.needs })) },
  };
  const steps: StepRecord[] = st.steps
    .filter((s) => s.status !== 'pending')
    .map((s) => {
      const done = s.status === 'succeeded' || s.status === 'failed' || s.status === 'skipped';
      return {
        runId: st.runId,
        pipeline: st.pipeline,
        stepId: s.id,
        uses: s.uses,
        needs: s.needs,
        status: done ? (s.status as 'succeeded' | 'failed' | 'skipped') : 'cancelled',
        cacheHit: s.cacheHit ?? false,
        attempts: s.attempts,
        ...(s.startedAt ? { startedAt: s.startedAt } : {}),
        endedAt: s.endedAt ?? closedAt.toISOString(),
        outputs: s.outputs ?? {},
        ...(s.error ? { error: s.error } : done ? {} : { error: { message: reason, type: 'Cancelled' } }),
      };
    });
  return { run, steps };
}

/** One sweep: observes the end of every newly found terminated run; returns their workflow ids. */
export async function reapClosedRuns(o: ReaperOptions): Promise<string[]> {
  const file = path.join(o.home, 'temporal', 'reaped.json');
  const done: string[] = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as string[]) : [];
  const seen = new Set(done);
  const reaped: string[] = [];
  const since = new Date(Date.now() - (o.lookbackMs ?? 86_400_000));
  for await (const wf of o.client.workflow.list({ query: closedWithoutEndQuery(o.taskQueue, since) })) {
    const key = `${wf.workflowId}/${wf.runId}`;
    if (seen.has(key)) continue;
    try {
      const input = await runInputOf(o.client, wf.workflowId, wf.runId);
      if (input.observe !== false) {
        const st = await runStatusOf(o.client, wf.workflowId, wf.runId);
        const how = wf.status.name === 'TIMED_OUT' ? 'workflow timed out' : 'workflow terminated';
        const { run, steps } = terminatedRecords(st, wf.closeTime ?? new Date(), how);
        await o.observer.runFinished(run, steps);
        o.log.info({ workflow: wf.workflowId, run: st.runId, how }, 'observed the end of a run closed without running its end (tracker run KILLED)');
      }
      seen.add(key);
      done.push(key);
      reaped.push(wf.workflowId);
    } catch (e) {
      o.log.warn({ workflow: wf.workflowId, err: errorMessage(e) }, 'cannot observe the end of a terminated run yet; next sweep tries again');
    }
  }
  if (reaped.length) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(done.slice(-5000)));
    renameSync(`${file}.tmp`, file);
  }
  return reaped;
}

/** Sweeps every `everyMs` (default 60 s) until stopped; a failed sweep is logged and retried next time. */
export function startReaper(o: ReaperOptions & { everyMs?: number }): { stop(): Promise<void> } {
  let current: Promise<unknown> = Promise.resolve();
  let busy = false;
  const tick = () => {
    if (busy) return;
    busy = true;
    current = reapClosedRuns(o)
      .catch((e: unknown) => o.log.warn({ err: errorMessage(e) }, 'terminated-run sweep failed'))
      .finally(() => (busy = false));
  };
  tick();
  const timer = setInterval(tick, o.everyMs ?? 60_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await current;
    },
  };
}
