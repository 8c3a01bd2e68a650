import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { LocalTracker } from '../../tracking/local.ts';
import { childRunName, seriesMetrics } from '../../tracking/stepRuns.ts';
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
