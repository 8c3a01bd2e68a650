/**
 * Cancel and Terminate on the real Temporal server, with tracking to the real MLflow server: the
 * step (a real OS process started by a `shell` step on the gpu queue) is gone when the workflow
 * closes (Cancel) or within a heartbeat of it (Terminate), and the MLflow run of the TradeML run
 * ends KILLED — observed by the workflow itself after a Cancel, by the cpu worker's sweep after a
 * Terminate (no workflow code runs then).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { compilePlan } from '../../spec/compile.ts';
import { validateSpecText } from '../../spec/validate.ts';
import { observerFor } from '../../cli/observe.ts';
import { reapClosedRuns } from '../../temporal/reaper.ts';
import { startPipelineRun } from '../../temporal/runs.ts';
import { HAS_SERVERS, eventually, historyEvents, mlflowRun, skipLine, startLive, waitStatus, type LiveEnv } from './support/live.ts';

skipLine('test/temporal/cancel.live.test.ts');

const spec = (pidFile: string) => `
version: 1
defaults: { retry: { maximum_attempts: 1 }, heartbeat_timeout: 4s }
pipelines:
  long:
    steps:
      prepare: { uses: noop }
      train: { uses: shell, needs: [prepare], queue: gpu, with: { run: "echo $$ > ${pidFile}; exec sleep 120" } }
      report: { uses: noop, needs: [train], when: always }
`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!HAS_SERVERS)('cancel and terminate on the real Temporal server', () => {
  let env: LiveEnv;
  beforeAll(async () => {
    env = await startLive('cancel');
  }, 120_000);
  afterAll(async () => env?.close(), 60_000);

  /** Starts `long` and waits until its training process runs; returns the handle and the pid. */
  const startLong = async (name: string) => {
    const pidFile = path.join(env.home, `${name}.pid`);
    const plan = compilePlan(validateSpecText(spec(pidFile), 'long.yaml').spec!, 'long');
    const h = await startPipelineRun(env.client, plan, env.settings, { workflowId: `${name}-${Date.now().toString(36)}`, observe: true });
    await waitStatus(h, (s) => s.steps.find((x) => x.id === 'train')?.status === 'running');
    const pid = await eventually(async () => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8').trim()), 60_000, 'training process started');
    expect(alive(pid)).toBe(true);
    return { h, pid };
  };

  it('Cancel: the step stops before the workflow closes, the run ends cancelled and its MLflow run KILLED', async () => {
    const { h, pid } = await startLong('cancelled');
    await h.cancel();
    await expect(h.result()).rejects.toMatchObject({ cause: { name: 'CancelledFailure' } });
    // closed only after the worker confirmed the step stopped: its process is already gone
    expect(alive(pid)).toBe(false);
    const types = (await historyEvents(h)).map((e) => e.eventType);
    const canceledStep = types.indexOf('EVENT_TYPE_ACTIVITY_TASK_CANCELED');
    expect(canceledStep).toBeGreaterThan(types.indexOf('EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED'));
    expect(types.lastIndexOf('EVENT_TYPE_ACTIVITY_TASK_COMPLETED')).toBeGreaterThan(canceledStep); // observeRun(runFinished)
    expect(types.at(-1)).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED');
    const run = await eventually(async () => {
      const r = await mlflowRun('long', h.workflowId);
      return r?.status === 'KILLED' && r;
    }, 60_000, 'MLflow run KILLED');
    expect(run.tags['trademl.pipeline']).toBe('long');
  });

  it('Terminate: the step is stopped by the server (heartbeat answered NotFound), the sweep ends the MLflow run KILLED', async () => {
    const { h, pid } = await startLong('terminated');
    await h.terminate('terminate test');
    expect((await h.describe()).status.name).toBe('TERMINATED');
    // the next heartbeat (every ~1.3 s, throttled to 0.8 × 4 s) is answered NotFound: the worker aborts the step
    await eventually(async () => !alive(pid), 30_000, 'training process stopped after Terminate');
    expect((await mlflowRun('long', h.workflowId))?.status).toBe('RUNNING');
    const observer = await observerFor(env.home);
    const log = pino({ level: 'silent' });
    const reaped = await eventually(async () => {
      const r = await reapClosedRuns({ client: env.client, taskQueue: `${env.settings.taskQueuePrefix}-cpu`, observer, home: env.home, log });
      return r.includes(h.workflowId) && r;
    }, 60_000, 'terminated run found by the sweep');
    expect(reaped).toContain(h.workflowId);
    expect((await mlflowRun('long', h.workflowId))?.status).toBe('KILLED');
    // remembered: a second sweep does not observe it again
    expect(await reapClosedRuns({ client: env.client, taskQueue: `${env.settings.taskQueuePrefix}-cpu`, observer, home: env.home, log })).not.toContain(h.workflowId);
  });
});
