/**
 * Operators on the real Temporal dev server (cpu + gpu workers in this process): retry of a
 * fault-injected failed step (CLI Update, API Signal), retry from a succeeded step, skip, abort,
 * approve and reject (CLI and API Updates), re-run from a step after the operator window closed
 * (`trademl temporal rerun`), and what the run shows while it waits: search attributes, current
 * details, activity summaries with the step kind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { compilePlan } from '../../spec/compile.ts';
import { validateSpecText } from '../../spec/validate.ts';
import { startPipelineRun } from '../../temporal/runs.ts';
import { abortUpdate, approveUpdate, rejectUpdate, retrySignal, retryUpdate, type PipelineStatus } from '../../temporal/workflow/api.ts';
import { trademl } from './support/cli.ts';
import { HAS_SERVERS, eventually, historyEvents, scheduledSteps, skipLine, startLive, waitStatus, type LiveEnv } from './support/live.ts';

skipLine('test/temporal/operators.live.test.ts');

const SPEC = `
version: 1
defaults: { retry: { maximum_attempts: 1, initial_interval: 100ms }, heartbeat_timeout: 10s, on_failure_timeout: 10m }
pipelines:
  ops:
    params: { dataset: t17_dataset }
    steps:
      a: { uses: noop, with: { outputs: { rows: 3 } } }
      b: { uses: fail, needs: [a], queue: gpu, with: { times: 1, type: VendorDown, message: "vendor feed down (\${{ params.dataset }})" } }
      c: { uses: noop, needs: [b], with: { outputs: { rows: "\${{ steps.a.outputs.rows }}" } } }
  stuck:
    steps:
      a: { uses: noop }
      b: { uses: fail, needs: [a], with: { type: VendorDown } }
      c: { uses: noop, needs: [b] }
  gated:
    steps:
      gate: { uses: noop, with: { outputs: { passed: true, sharpe: 1.25 } } }
      approve: { uses: approval, needs: [gate], with: { timeout: 10m } }
      promote: { uses: noop, needs: [approve], with: { outputs: { model: eq_t17, version: "7", model_uri: "models:/eq_t17@champion" } } }
`;

/** A pipeline whose operator window closes after a second. */
const WINDOW_SPEC = `
version: 1
defaults: { retry: { maximum_attempts: 1 }, on_failure_timeout: 1s }
pipelines:
  window:
    steps:
      a: { uses: noop, with: { outputs: { rows: 5 } } }
      b: { uses: fail, needs: [a], with: { times: 1, type: VendorDown } }
      c: { uses: noop, needs: [b] }
`;

describe.skipIf(!HAS_SERVERS)('operators on the real Temporal server', () => {
  const spec = validateSpecText(SPEC, 'operators.yaml').spec!;
  const windowSpec = validateSpecText(WINDOW_SPEC, 'window.yaml').spec!;
  let env: LiveEnv;
  let cliEnv: Record<string, string>;
  /** Starts a run; `params` give it inputs of its own (succeeded steps of other runs are cache hits on the worker). */
  const start = (name: string, id: string, params?: Record<string, string>) =>
    startPipelineRun(env.client, compilePlan(name === 'window' ? windowSpec : spec, name, params ? { params } : {}), env.settings, { workflowId: `${id}-${Date.now().toString(36)}`, observe: false });
  const result = async (h: WorkflowHandle): Promise<PipelineStatus> => {
    try {
      return (await h.result()) as PipelineStatus;
    } catch (e) {
      if (e instanceof WorkflowFailedError) return (e.cause as unknown as { details: PipelineStatus[] }).details[0]!;
      throw e;
    }
  };

  beforeAll(async () => {
    env = await startLive('ops');
    cliEnv = { TRADEML_TASK_QUEUE_PREFIX: env.settings.taskQueuePrefix, TRADEML_HOME: env.home };
  }, 120_000);
  afterAll(async () => env?.close(), 60_000);

  it('retries a fault-injected failed step: from the CLI (Update) and with the retry Signal (API)', async () => {
    const [h1, h2] = await Promise.all([start('ops', 'ops-cli'), start('ops', 'ops-api')]);
    for (const h of [h1, h2]) {
      const waiting = await waitStatus(h, (s) => s.status === 'waiting_operator');
      expect(waiting.steps.find((s) => s.id === 'b')).toMatchObject({ status: 'failed', error: { type: 'VendorDown' } });
      // visibility while it waits: failed step and state as search attributes, details say how to act
      await eventually(async () => (await env.client.workflow.count(`WorkflowId = '${h.workflowId}' AND TrademlFailedStep = 'b' AND TrademlRunState = 'waiting_operator' AND TrademlDataset = 't17_dataset'`)).count === 1, 30_000, 'search attributes of the failed run');
      const meta = (await h.query('__temporal_workflow_metadata')) as { currentDetails?: string };
      expect(meta.currentDetails).toContain('waiting for an operator');
      expect(meta.currentDetails).toContain(`trademl temporal retry ${h.workflowId} --step b`);
    }
    const cli = await trademl(['temporal', 'retry', h1.workflowId, '--step', 'b', '--by', 'ops-cli'], cliEnv);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('retry: run is running');
    await h2.signal(retrySignal, { stepId: 'b', by: 'ops-api' });
    for (const h of [h1, h2]) {
      const final = (await h.result()) as PipelineStatus;
      expect(final.status).toBe('succeeded');
      expect(final.steps.find((s) => s.id === 'c')!.outputs).toEqual({ rows: 3 });
      const steps = scheduledSteps(await historyEvents(h));
      // only b re-ran (and c after it); a kept its outputs; b ran on the gpu queue, the rest on cpu
      expect(steps.map((s) => s.activityId)).toEqual(['a-1', 'b-1', 'b-2', 'c-1']);
      expect(steps.find((s) => s.step === 'b')!.taskQueue).toBe(`${env.settings.taskQueuePrefix}-gpu`);
      expect(steps.find((s) => s.step === 'a')!.summary).toBe('a (noop)');
      expect(steps.find((s) => s.step === 'b')!.summary).toBe('b (fail)');
    }
    expect(((await h1.result()) as PipelineStatus).actions).toMatchObject([{ action: 'retry', stepIds: ['b'], by: 'ops-cli' }]);
  });

  it('retries from a succeeded step (OperatorRequest.from): it and everything after it run again', async () => {
    const h = await start('ops', 'ops-from', { dataset: 'from_dataset' });
    await waitStatus(h, (s) => s.status === 'waiting_operator');
    await expect(h.executeUpdate(retryUpdate, { args: [{ stepId: 'a', by: 'ops' }] })).rejects.toMatchObject({ cause: { message: expect.stringMatching(/only a failed step/) } });
    const cli = await trademl(['temporal', 'retry', h.workflowId, '--from', 'a', '--by', 'ops'], cliEnv);
    expect(cli.code).toBe(0);
    expect((await h.result()) as PipelineStatus).toMatchObject({ status: 'succeeded' });
    expect(scheduledSteps(await historyEvents(h)).map((s) => s.activityId)).toEqual(['a-1', 'b-1', 'a-2', 'b-2', 'c-1']);
  });

  it('skip lets the dependents run (CLI); abort ends the run (API Update)', async () => {
    const [skipped, aborted] = await Promise.all([start('stuck', 'stuck-skip'), start('stuck', 'stuck-abort')]);
    await Promise.all([skipped, aborted].map((h) => waitStatus(h, (s) => s.status === 'waiting_operator')));
    const cli = await trademl(['temporal', 'skip', skipped.workflowId, '--step', 'b', '--by', 'ops'], cliEnv);
    expect(cli.code).toBe(0);
    const s = await result(skipped);
    expect(s.steps.find((x) => x.id === 'b')).toMatchObject({ status: 'skipped', skipReason: 'operator' });
    expect(s.steps.find((x) => x.id === 'c')!.status).toBe('succeeded');
    const after = await aborted.executeUpdate(abortUpdate, { args: [{ by: 'ops', reason: 'vendor gone' }] });
    expect(after.status).toBe('cancelled');
    await expect(aborted.result()).rejects.toMatchObject({ cause: { type: 'PipelineAborted' } });
  });

  it('approve from the CLI and reject through the API (Updates); the approver and model version become search attributes', async () => {
    const [ok, no] = await Promise.all([start('gated', 'gated-approve'), start('gated', 'gated-reject')]);
    for (const h of [ok, no]) await waitStatus(h, (s) => s.status === 'waiting_approval');
    await eventually(async () => (await env.client.workflow.count(`TaskQueue = '${env.settings.taskQueuePrefix}-cpu' AND TrademlPipeline = 'gated' AND TrademlRunState = 'waiting_approval'`)).count === 2, 30_000, 'both runs listed as waiting for approval');
    const meta = (await ok.query('__temporal_workflow_metadata')) as { currentDetails?: string };
    expect(meta.currentDetails).toMatch(/Waiting for approval\*\* of `approve`/);
    expect(meta.currentDetails).toContain('`gate` (noop): passed=true, sharpe=1.25');
    await expect(ok.executeUpdate(approveUpdate, { args: [{ by: ' ' }] })).rejects.toMatchObject({ cause: { message: expect.stringMatching(/approver name required/) } });
    const cli = await trademl(['temporal', 'approve', ok.workflowId, '--step', 'approve', '--by', 'Jane Doe', '--comment', 'DSR fine'], cliEnv);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('approved; run is running');
    const rejected = await no.executeUpdate(rejectUpdate, { args: [{ stepId: 'approve', by: 'Risk Desk', comment: 'PBO too high' }] });
    expect(rejected.steps.find((s) => s.id === 'approve')!.status).toBe('failed');
    expect(((await ok.result()) as PipelineStatus).status).toBe('succeeded');
    expect((await result(no)).steps.find((s) => s.id === 'promote')).toMatchObject({ status: 'skipped', skipReason: 'upstream_failed' });
    await eventually(async () => (await env.client.workflow.count(`WorkflowId = '${ok.workflowId}' AND TrademlApprover = 'Jane Doe' AND TrademlModelVersion = 'eq_t17@7' AND TrademlRunState = 'succeeded'`)).count === 1, 30_000, 'approver and model version attributes');
    await eventually(async () => (await env.client.workflow.count(`WorkflowId = '${no.workflowId}' AND TrademlApprover = 'Risk Desk' AND TrademlRunState = 'failed'`)).count === 1, 30_000, 'rejecting approver attribute');
  });

  it('re-runs from a step after the operator window closed: a new workflow reuses the succeeded outputs', async () => {
    const h = await start('window', 'window');
    const failed = await result(h);
    expect(failed.status).toBe('failed');
    const cli = await trademl(['temporal', 'rerun', h.workflowId, '--from', 'b', '--json'], cliEnv);
    expect(cli.stderr).toBe('');
    const { workflowId, rerun } = JSON.parse(cli.stdout) as { workflowId: string; rerun: string[] };
    expect(rerun).toEqual(['b', 'c']);
    const again = env.client.workflow.getHandle(workflowId);
    const final = (await again.result()) as PipelineStatus;
    expect(final.status).toBe('succeeded');
    expect(final.steps.find((s) => s.id === 'a')).toMatchObject({ status: 'succeeded', outputs: { rows: 5 } });
    expect(final.steps.find((s) => s.id === 'b')).toMatchObject({ status: 'succeeded', attempts: 2 });
    // a did not run again: only b and c were scheduled in the new run
    expect(scheduledSteps(await historyEvents(again)).map((s) => s.step)).toEqual(['b', 'c']);
    const open = await trademl(['temporal', 'rerun', workflowId, '--from', 'zz'], cliEnv);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('--from zz: no such step');
  });
});
