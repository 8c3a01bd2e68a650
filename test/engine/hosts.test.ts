/**
 * One failure classification, one loop: a step throwing a user error behaves the same in the
 * embedded runtime and under the Temporal host (the real activity, the loop with host retries
 * applying the step's RetryPolicy the way Temporal does).
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { RunLoop, type LoopHost, type StepFailure, type StepRunRequest, type StepRunResult } from '../../engine/loop.ts';
import type { Plan, PlanStep } from '../../engine/plan.ts';
import { PROJECT_ROOT, dataRoot } from '../../lib/paths.ts';
import { createTemporalActivities } from '../../temporal/activities.ts';
import { tempDir } from '../support/context.ts';
import { planFromYaml } from '../support/specs.ts';

const spec = `version: 1
defaults: { retry: { maximum_attempts: 3, initial_interval: 10ms, backoff_coefficient: 1, maximum_interval: 10ms } }
pipelines:
  p:
    steps:
      ingest: { uses: ingest.ohlcv, with: { dataset: crypto_binance_spot_1h } }
      flaky: { uses: fail, with: { times: 1 } }
      after: { uses: noop, needs: [ingest] }
`;

/** The Temporal host of the loop, with the real runStep activity and Temporal's retry rule. */
class ActivityHost implements LoopHost {
  readonly retries = 'host' as const;
  readonly attempts: Record<string, number> = {};
  private readonly acts;
  constructor(home: string) {
    this.acts = createTemporalActivities({ artifacts: new ArtifactStore(path.join(home, 'artifacts')), projectRoot: PROJECT_ROOT, dataRoot: dataRoot(), log: pino({ level: 'silent' }) });
  }
  now() {
    return Date.now();
  }
  async runStep(step: PlanStep, req: StepRunRequest): Promise<StepRunResult> {
    for (let attempt = 1; ; attempt++) {
      this.attempts[step.id] = attempt;
      try {
        return (await new MockActivityEnvironment({ attempt }).run(this.acts.runStep, req)) as StepRunResult;
      } catch (e) {
        const f = e as ApplicationFailure;
        expect(f).toBeInstanceOf(ApplicationFailure);
        // Temporal's RetryPolicy: stop on nonRetryable, on a non-retryable type, or when attempts are spent
        const final = f.nonRetryable || step.retry.non_retryable.includes(f.type ?? '') || attempt >= step.retry.maximum_attempts;
        if (final) throw { message: f.message, type: f.type ?? 'Error', nonRetryable: f.nonRetryable === true, attempts: attempt, cancelled: false } satisfies StepFailure;
      }
    }
  }
  cancelStep() {}
  async waitFor(cond: () => boolean, timeoutMs?: number) {
    const until = Date.now() + (timeoutMs ?? 60_000);
    while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    return cond();
  }
}

describe('both hosts classify a step failure the same way', () => {
  it('a UserError thrown by a step fails it at once (1 attempt) in both; a retryable error is retried in both', async () => {
    const plan: Plan = planFromYaml(spec, 'p');
    const embedded = await new EmbeddedRuntime({ home: path.join(tempDir(), 'home') }).start(plan);
    const host = new ActivityHost(tempDir());
    const temporal = await new RunLoop(plan, host, { runId: 'wf-hosts' }).run();

    for (const s of [embedded.state.steps.ingest!, temporal.state.steps.ingest!]) {
      expect(s.status).toBe('failed');
      expect(s.error?.type).toBe('UserError');
      expect(s.error?.message).toMatch(/crypto_binance_spot_1h is kind klines/);
    }
    expect(embedded.state.steps.ingest!.attempt).toBe(1);
    expect(host.attempts.ingest).toBe(1);
    expect(temporal.view.steps.find((s) => s.id === 'ingest')!.attempts).toBe(1);

    for (const s of [embedded.state.steps.flaky!, temporal.state.steps.flaky!]) expect(s).toMatchObject({ status: 'succeeded', outputs: { attempts: 2 } });
    expect(embedded.state.steps.after).toMatchObject({ status: 'skipped', skipReason: 'upstream_failed' });
    expect(temporal.state.steps.after).toMatchObject({ status: 'skipped', skipReason: 'upstream_failed' });
    expect(embedded.status).toBe('failed');
    expect(temporal.status).toBe('failed');
  });
});
