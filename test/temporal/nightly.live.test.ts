/**
 * The real `nightly` pipeline (dataset sp500_subset) on the real Temporal server with a cpu worker
 * and a gpu worker as separate OS processes, local homes that differ and artifacts shared through
 * SeaweedFS's S3 API, tracked in MLflow. In the middle of the heartbeating `fit` step the gpu
 * worker is killed with SIGKILL; the step times out on its heartbeat and is retried on a restarted
 * gpu worker. Checked against an embedded run of the same plan (run at the same time, local store):
 * every step ran on the queue its spec names (from the server's history), the artifacts of fit,
 * fit_tb, stack, portfolio and backtest are byte-identical, the worker logs hold no secret, and
 * the aborted run's MLflow run ends KILLED. Prints events per history and both wall times.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePlan, loadSpec } from '../../spec/compile.ts';
import { startPipelineRun } from '../../temporal/runs.ts';
import { abortUpdate, statusQuery, type PipelineStatus } from '../../temporal/workflow/api.ts';
import { trademl } from './support/cli.ts';
import { HAS_SERVERS, eventually, historyEvents, mlflowRun, scheduledSteps, skipLine, startLive, waitStatus, type LiveEnv } from './support/live.ts';
import { startWorkerProcess, type WorkerProcess } from './support/processes.ts';

skipLine('test/temporal/nightly.live.test.ts');

const COMPARED = ['fit', 'fit_tb', 'stack', 'portfolio', 'backtest'];
const SECRET = 'sk-t17-never-logged';

/** Outputs that hold the run's timestamps (the fit metrics carry the fit's wall_s and ledger times). */
const TIMESTAMPED = new Set(['model.metrics.digest', 'model.metrics.uri']);

/** Every `sha256:` digest inside a step's outputs, by JSON path (timestamped artifacts left out). */
function digests(v: unknown, at = ''): Record<string, string> {
  if (TIMESTAMPED.has(at)) return {};
  if (typeof v === 'string') return v.startsWith('sha256:') ? { [at]: v } : {};
  if (!v || typeof v !== 'object') return {};
  return Object.assign({}, ...Object.entries(v as Record<string, unknown>).map(([k, x]) => digests(x, at ? `${at}.${k}` : k)));
}

describe.skipIf(!HAS_SERVERS)('nightly on Temporal: two worker processes, S3 artifacts, kill -9, same outputs as embedded', () => {
  let env: LiveEnv;
  const workers: WorkerProcess[] = [];
  const homes: string[] = [];
  const home = (n: string) => {
    const h = mkdtempSync(path.join(os.tmpdir(), `trademl-nightly-${n}-`));
    homes.push(h);
    return h;
  };
  beforeAll(async () => {
    env = await startLive('nightly', { workers: false });
  }, 60_000);
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await env?.close();
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  }, 60_000);

  it('runs end to end, survives a SIGKILLed gpu worker, and equals the embedded run', async () => {
    const prefix = env.settings.taskQueuePrefix;
    const workerEnv = (h: string) => ({
      TRADEML_HOME: h,
      TRADEML_TASK_QUEUE_PREFIX: prefix,
      TRADEML_ARTIFACTS: `s3://${process.env.TRADEML_S3_BUCKET ?? 'trademl'}/t17-nightly-${process.pid}`,
      TRADEML_CPU_CONCURRENCY: '2',
      TEMPORAL_API_KEY: SECRET, // the dev server ignores it; no log may show it
      TEMPORAL_TLS: 'false',
    });
    const cpu = startWorkerProcess('cpu', workerEnv(home('cpu')));
    const gpu1 = startWorkerProcess('gpu', workerEnv(home('gpu1')));
    workers.push(cpu, gpu1);
    await Promise.all([cpu.ready, gpu1.ready]);

    const plan = compilePlan(loadSpec('pipelines.yaml'), 'nightly', { params: { dataset: 'sp500_subset' } });
    // a dead worker is noticed after 15 s instead of the default 2 min (not part of any cache key)
    for (const s of plan.steps) if (s.queue === 'gpu') s.heartbeat_timeout_ms = 15_000;
    const t0 = Date.now();
    const embHome = home('embedded');
    const embedded = trademl(['run', 'nightly', '-p', 'dataset=sp500_subset', '--json'], { TRADEML_HOME: embHome, TRADEML_ARTIFACTS: '' }).then((r) => ({ ...r, wallMs: Date.now() - t0 }));
    const h = await startPipelineRun(env.client, plan, env.settings, { workflowId: `nightly-t17-${Date.now().toString(36)}`, observe: true });

    // kill -9 the gpu worker once fit has heartbeated (the first heartbeat goes out at once; progress
    // ones are throttled to 0.8 × the heartbeat timeout, and a quick fit can end before one)
    await eventually(async () => {
      const st = await h.query(statusQuery).catch(() => undefined);
      const failed = st?.steps.find((s) => s.status === 'failed');
      if (failed || (st && st.status !== 'running')) throw new Error(`run is ${st!.status} before fit heartbeated: ${failed ? `${failed.id} failed: ${JSON.stringify(failed.error)}` : st!.steps.map((s) => `${s.id}:${s.status}`).join(' ')}`);
      const d = await h.describe();
      return (d.raw.pendingActivities ?? []).some((a) => a.activityId === 'fit-1' && a.heartbeatDetails?.payloads?.length && a.attempt === 1 && String(Buffer.from(a.heartbeatDetails.payloads[0]!.data!)).includes('"step":"fit"'));
    }, 900_000, 'fit heartbeating on the gpu worker');
    gpu1.child.kill('SIGKILL');
    const gpu2 = startWorkerProcess('gpu', workerEnv(home('gpu2')));
    workers.push(gpu2);
    await gpu2.ready;

    const done = await waitStatus(h, (s) => s.status === 'waiting_operator' || s.status === 'succeeded' || s.status === 'failed', 1_500_000);
    const temporalWallMs = Date.now() - t0;
    const emb = await embedded;
    expect(emb.stderr).not.toContain('Error:');
    const embRun = (JSON.parse(emb.stdout) as { runId: string }).runId;
    const embStatus = await trademl(['status', embRun, '--json'], { TRADEML_HOME: embHome, TRADEML_ARTIFACTS: '' });
    const embSteps = (JSON.parse(embStatus.stdout) as { steps: { id: string; status: string; outputs?: unknown }[] }).steps;

    // every step ran (the gate decides honestly: it may fail and leave approve/promote skipped)
    const byId = new Map(done.steps.map((s) => [s.id, s]));
    for (const id of COMPARED) {
      expect(byId.get(id)!.status).toBe('succeeded');
      expect(digests(byId.get(id)!.outputs), id).toEqual(digests(embSteps.find((s) => s.id === id)!.outputs));
      expect(Object.keys(digests(byId.get(id)!.outputs)).length).toBeGreaterThan(0);
    }
    expect(done.steps.map((s) => s.status)).toEqual(embSteps.map((s) => s.status));

    const events = await historyEvents(h);
    const steps = scheduledSteps(events);
    for (const st of steps) expect(st.taskQueue, st.step).toBe(`${prefix}-${plan.steps.find((p) => p.id === st.step)!.queue}`);
    expect(new Set(steps.map((s) => s.taskQueue))).toEqual(new Set([`${prefix}-cpu`, `${prefix}-gpu`]));
    // fit: attempt 1 on the killed worker timed out on its heartbeat, attempt 2 completed on the new one
    const fitSched = events.find((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED' && (e.activityTaskScheduledEventAttributes as { activityId: string }).activityId === 'fit-1')!;
    const fitStart = events.find((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_STARTED' && (e.activityTaskStartedEventAttributes as { scheduledEventId: string }).scheduledEventId === fitSched.eventId)!.activityTaskStartedEventAttributes as { attempt: number; identity: string; lastFailure?: { timeoutFailureInfo?: { timeoutType: string } } };
    expect(fitStart.attempt).toBe(2);
    expect(fitStart.lastFailure?.timeoutFailureInfo?.timeoutType).toBe('TIMEOUT_TYPE_HEARTBEAT');
    expect(fitStart.identity.startsWith(`${gpu2.pid}@`)).toBe(true);

    // the run is tracked in MLflow; aborting it ends the MLflow run KILLED
    if (done.status === 'waiting_operator') await h.executeUpdate(abortUpdate, { args: [{ by: 'nightly test', reason: 'compared' }] });
    await h.result().catch(() => undefined);
    const tracked = await eventually(async () => {
      const r = await mlflowRun('nightly', h.workflowId);
      return r && r.status !== 'RUNNING' && r;
    }, 120_000, 'MLflow run ended').catch((e: unknown) => {
      // say what the workers' observers logged about tracking (an outage defers the run's end)
      const said = workers.flatMap((w) => w.output().split('\n')).filter((l) => /tracking|run end|observ/i.test(l));
      throw new Error(`${String(e)}; the workers logged:\n${said.slice(-20).join('\n')}`);
    });
    expect(tracked.status).toBe(done.status === 'succeeded' ? 'FINISHED' : 'KILLED');

    const logs = workers.map((w) => w.output()).join('\n');
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toContain(process.env.AWS_SECRET_ACCESS_KEY ?? 'no-secret-set');
    expect(logs).toContain('api_key=set');
    expect(logs).toMatch(/gpu worker: (no CUDA GPU usable|XGBoost on CUDA)/);
    const total = (await historyEvents(h)).length;
    console.log(JSON.stringify({ nightly: { events: total, temporalWallMs, embeddedWallMs: emb.wallMs, status: done.status, concurrent: true } }));
    expect(total).toBeLessThan(51_200);
  }, 1_800_000);
});
