import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { LocalTracker } from '../../tracking/local.ts';
import { childRunName, seriesMetrics } from '../../tracking/stepRuns.ts';
import { TrackingObserver } from '../../tracking/trackingObserver.ts';
import { nightlyRunFixture } from './support/fixtures.ts';
import { nestedRunsSuite, viaTracker } from './support/nested.ts';
import { tempDir } from './support/tmp.ts';

delete process.env.MLFLOW_TRACKING_URI;

// Parent/child runs on the local tracker: nesting is tags (mlflow.parentRunId), so it models them alike.
nestedRunsSuite('local tracker', async () => {
  const home = tempDir('trademl-nested-local-');
  return viaTracker(new LocalTracker(path.join(home, 'tracking.duckdb'), new ArtifactStore(path.join(home, 'artifacts'))));
});

describe('metric histories from JSON documents', () => {
  it('per-split/per-path rows by their index field, nested rows, trials by position, columnar curves by step', () => {
    const doc = {
      per_split: [{ split: 3, ic: 0.1, test_groups: [1, 2], metrics: { auc: 0.6 } }, { split: 4, ic: 0.2 }],
      walk_forward: { folds: [{ fold: 1, rank_ic: 0.05 }] },
      trials: [{ trial_id: 'a', metrics: { mean_rank_ic: 0.01 } }, { trial_id: 'b', metrics: { mean_rank_ic: 0.02 } }],
      curves: { step: [0, 50], q_loss: [1.5, Number.NaN], v_loss: [0.3, 0.2] },
      features: [{ index: 0, window: 20 }],
      n: 5,
    };
    const m = seriesMetrics(doc, 'x', 7).map((x) => [x.key, x.step, x.value]);
    expect(m).toEqual([
      ['x.per_split.ic', 3, 0.1],
      ['x.per_split.metrics.auc', 3, 0.6],
      ['x.per_split.ic', 4, 0.2],
      ['x.walk_forward.folds.rank_ic', 1, 0.05],
      ['x.trials.metrics.mean_rank_ic', 0, 0.01],
      ['x.trials.metrics.mean_rank_ic', 1, 0.02],
      ['x.curves.q_loss', 0, 1.5],
      ['x.curves.v_loss', 0, 0.3],
      ['x.curves.v_loss', 50, 0.2],
    ]);
    expect(childRunName({ stepId: 'fit_h5', uses: 'fit.cpcv' })).toBe('fit_h5 (fit.cpcv)');
  });
});

describe('a blended version links each sleeve to its fit child', () => {
  it('tags trademl.fit_run_id.<sleeve> with the child run of each fit step', async () => {
    const home = tempDir('trademl-nested-sleeves-');
    const store = new ArtifactStore(path.join(home, 'artifacts'));
    const tracker = new LocalTracker(path.join(home, 'tracking.duckdb'), store);
    const observer = new TrackingObserver({ tracker, store, home, modelName: () => 'blend_xs' });
    const fx = await nightlyRunFixture(store, { runId: 'nested-two', approval: 'approved', twoSleeves: true });
    await observer.runStarted(fx.run);
    for (const s of fx.steps) await observer.stepFinished(s);
    const exp = await tracker.getOrCreateExperiment('trademl/nightly');
    const [parent] = await tracker.searchRuns(exp, { 'trademl.run_id': 'nested-two' });
    const child = async (step: string) => (await tracker.searchRuns(exp, { 'trademl.pipeline_run_id': 'nested-two', 'trademl.step': step }))[0]!;
    const [v] = await tracker.listModelVersions('blend_xs');
    expect(v!.runId).toBe(parent!.runId);
    expect(v!.tags).toMatchObject({ 'trademl.fit_run_id.h5': (await child('fit')).runId, 'trademl.fit_run_id.tb': (await child('fit_tb')).runId });
    expect(v!.tags['trademl.fit_run_id']).toBeUndefined();
    await tracker.close();
  });
});
