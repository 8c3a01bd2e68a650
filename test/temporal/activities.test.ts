/** The Temporal step activities under MockActivityEnvironment: results, heartbeats, cancellation, failures. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import type { Plan, PlanStep } from '../../engine/plan.ts';
import type { RunObserver, StepRecord } from '../../tracking/observer.ts';
import { createTemporalActivities, toApplicationFailure, type StepHeartbeat } from '../../temporal/activities.ts';
import { StepError } from '../../lib/errors.ts';
import type { StepActivityRequest } from '../../temporal/workflow/api.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'trademl-temporal-act-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const artifacts = new ArtifactStore(path.join(dir, 'artifacts'));
const finished: StepRecord[] = [];
const observer: RunObserver = { async runStarted() {}, async stepFinished(s) { finished.push(s); }, async approvalDecided() {}, async runFinished() {} };
const acts = createTemporalActivities({ artifacts, projectRoot: dir, dataRoot: dir, log: pino({ level: 'silent' }), observer, heartbeatEveryMs: 20 });

function step(id: string, uses: string, w: Record<string, unknown>, over: Partial<PlanStep> = {}): PlanStep {
  return {
    id, uses, kind_version: '1', needs: [], with: w, inputs: {}, provides: {}, queue: 'cpu', cache: false, when: 'on_success', on_failure: 'wait', on_failure_timeout_ms: 60_000,
    retry: { maximum_attempts: 3, initial_interval_ms: 1000, backoff_coefficient: 2, maximum_interval_ms: 10_000, non_retryable: [] },
    timeout_ms: 30_000, heartbeat_timeout_ms: 3_000, ...over,
  };
}
const req = (s: PlanStep, attemptBase = 0): StepActivityRequest => ({ runId: 'wf-1', pipeline: 'p', step: s, params: {}, attemptBase, upstream: {}, force: false });

describe('runStep activity', () => {
  it('runs a step and returns small JSON with the Temporal attempt', async () => {
    const env = new MockActivityEnvironment({ attempt: 2 });
    const r = (await env.run(acts.runStep, req(step("a", "noop", { outputs: { rows: 3 } })))) as Awaited<ReturnType<typeof acts.runStep>>;
    expect(r).toMatchObject({ outputs: { rows: 3 }, cacheHit: false, attempt: 2 });
    expect(r.cacheKey).toMatch(/^sha256:/);
    // tracking runs outside the step attempt: the workflow observes finished steps (observeRun)
    expect(finished).toEqual([]);
  });

  it('heartbeats progress details while a long step runs', async () => {
    const env = new MockActivityEnvironment();
    const beats: StepHeartbeat[] = [];
    env.on('heartbeat', (d: StepHeartbeat) => beats.push(d));
    await env.run(acts.runStep, req(step('s', 'sleep', { duration: '400ms' })));
    expect(beats.length).toBeGreaterThan(3);
    expect(beats.every((b) => b.step === 's' && b.attempt === 1)).toBe(true);
    const fractions = beats.map((b) => b.fraction).filter((f): f is number => f !== undefined);
    expect(fractions.length).toBeGreaterThan(2);
    expect(Math.max(...fractions)).toBe(1);
  });

  it('stops a step when the activity is cancelled and reports the cancellation', async () => {
    const env = new MockActivityEnvironment();
    const t0 = Date.now();
    setTimeout(() => env.cancel(), 150);
    const err = await env.run(acts.runStep, req(step('s', 'sleep', { duration: '20s' }))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('maps a step failure to an ApplicationFailure: type, retryable, attempt in details; the activity tracks nothing', async () => {
    const before = finished.length;
    const s = step('f', 'fail', { times: 5, type: 'FlakyVendor' });
    const e1 = await new MockActivityEnvironment({ attempt: 1 }).run(acts.runStep, req(s)).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ApplicationFailure);
    expect(e1).toMatchObject({ type: 'FlakyVendor', nonRetryable: false, details: [{ attempt: 1 }] });
    expect(finished.length).toBe(before);
    const e3 = await new MockActivityEnvironment({ attempt: 3 }).run(acts.runStep, req(s, 2)).catch((e: unknown) => e);
    expect((e3 as ApplicationFailure).message).toContain('attempt 5'); // attemptBase 2 + Temporal attempt 3
    expect(finished.length).toBe(before);
  });

  it('keeps non-retryable failures non-retryable (bad `with`, StepError.nonRetryable)', async () => {
    const e = await new MockActivityEnvironment().run(acts.runStep, req(step('n', 'noop', { bogus: 1 }))).catch((x: unknown) => x);
    expect(e).toMatchObject({ type: 'InvalidWith', nonRetryable: true });
    expect(toApplicationFailure(new StepError({ message: 'red audit', type: 'DataQualityError', nonRetryable: true, details: { coverage: 0.5 } }), 1)).toMatchObject({ type: 'DataQualityError', nonRetryable: true, details: [{ attempt: 1, details: { coverage: 0.5 } }] });
    expect(toApplicationFailure(new TypeError('x is undefined'), 2)).toMatchObject({ type: 'TypeError', nonRetryable: false });
  });
});

describe('loadPlan activity', () => {
  it('loads a plan by URI and checks its digest', async () => {
    const { compilePlan } = await import('../../spec/compile.ts');
    const { validateSpecText } = await import('../../spec/validate.ts');
    const spec = validateSpecText('version: 1\npipelines:\n  p:\n    steps:\n      a: { uses: noop }\n', 'x.yaml').spec!;
    const plan: Plan = compilePlan(spec, 'p');
    const ref = await artifacts.putJson(plan, 'plan.json');
    const env = new MockActivityEnvironment();
    expect(await env.run(acts.loadPlan, { uri: ref.uri, digest: plan.digest })).toEqual(plan);
    await expect(env.run(acts.loadPlan, { uri: ref.uri, digest: 'sha256:' + '1'.repeat(64) })).rejects.toMatchObject({ type: 'PlanDigestMismatch' });
  });
});
