import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { executeStep, type ExecuteRequest } from '../../executor/execute.ts';
import type { UpstreamStep } from '../../kinds/types.ts';
import type { PlanStep } from '../../engine/plan.ts';
import { PROJECT_ROOT, dataRoot } from '../../lib/paths.ts';
import { makeTestContext, tempDir } from '../support/context.ts';
import { putSp500Slice } from './rawdata.ts';

function step(id: string, uses: string, needs: string[], w: Record<string, unknown> = {}, inputs: PlanStep['inputs'] = {}): PlanStep {
  return {
    id,
    uses,
    kind_version: '1',
    needs,
    with: w,
    inputs,
    provides: {},
    queue: 'cpu',
    retry: { maximum_attempts: 1, initial_interval_ms: 1000, backoff_coefficient: 2, maximum_interval_ms: 1000, non_retryable: [] },
    timeout_ms: 120_000,
    heartbeat_timeout_ms: 60_000,
    cache: true,
    when: 'on_success',
    on_failure: 'fail',
    on_failure_timeout_ms: 0,
  };
}

describe('cache through the executor', () => {
  it('editing one window of the feature config re-runs features and its dependents only, not labels', async () => {
    const ctx = makeTestContext();
    const ref = await putSp500Slice(ctx, ['AAPL', 'MSFT', 'XOM'], { from: '2016-06-01' });
    // A private project root holding a copy of the feature config, so the test can edit it.
    const root = tempDir('trademl-featcache-');
    mkdirSync(path.join(root, 'configs', 'features'), { recursive: true });
    const cfg = path.join(root, 'configs', 'features', 'equities.yml');
    copyFileSync(path.join(PROJECT_ROOT, 'configs', 'features', 'equities.yml'), cfg);
    const env = { artifacts: ctx.artifacts, home: ctx.home, log: pino({ level: 'silent' }), progress: () => {}, signal: new AbortController().signal, projectRoot: root, dataRoot: dataRoot() };
    const audit: UpstreamStep = { uses: 'qc.audit', status: 'succeeded', outputs: { curated: { ...ref, dataset: 'sp500_all_stocks_5yr', calendar: 'nyse' }, status: 'GREEN' }, provides: { curated: 'ohlcv.daily@1' } };
    const ohlcv = { ohlcv: [{ step: 'audit', output: 'curated' }] };

    const runAll = async () => {
      const req = (s: PlanStep, upstream: Record<string, UpstreamStep>): ExecuteRequest => ({ runId: 'r', pipeline: 'p', step: s, params: {}, attempt: 1, upstream });
      const features = await executeStep(req(step('features', 'features.equities', ['audit'], {}, ohlcv), { audit }), env);
      const labels = await executeStep(req(step('labels', 'labels.triple_barrier', ['audit'], { max_h: 5 }, ohlcv), { audit }), env);
      const downstream = await executeStep(
        req(step('fit', 'noop', ['features', 'labels']), {
          audit,
          features: { uses: 'features.equities', status: 'succeeded', outputs: features.outputs, provides: {} },
          labels: { uses: 'labels.triple_barrier', status: 'succeeded', outputs: labels.outputs, provides: {} },
        }),
        env,
      );
      return { features, labels, downstream };
    };

    const first = await runAll();
    expect([first.features.cacheHit, first.labels.cacheHit, first.downstream.cacheHit]).toEqual([false, false, false]);
    const again = await runAll();
    expect([again.features.cacheHit, again.labels.cacheHit, again.downstream.cacheHit]).toEqual([true, true, true]);

    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('{ kind: momentum, window: 20 }', '{ kind: momentum, window: 21 }'));
    const edited = await runAll();
    expect(edited.features.cacheHit).toBe(false);
    expect(edited.labels.cacheHit).toBe(true);
    expect(edited.downstream.cacheHit).toBe(false);
    expect(edited.features.outputs.registry_digest).not.toBe(first.features.outputs.registry_digest);
    expect(edited.features.outputs.feature_names).toContain('mom_21');
  });
});
