/**
 * A CPCV fold's trials share the native training data (models/learner.ts NativeDataCache): on a
 * real S&P slice, trials fitted through one cache save the same model bytes and predict the same
 * values as trials each fitted on data built afresh, for XGBoost (one DMatrix per set) and LightGBM
 * (one Dataset per set and binning params); the cache refuses another set under a key it holds and
 * frees every handle.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Panel } from '../../cv/panel.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { NativeDataCache, type Learner, type LearnerParams, type TrainingSet } from '../../models/learner.ts';
import { liveLgbmHandles } from '../../models/lightgbm/binding.ts';
import { datasetKey, lightgbmLearner, lightgbmParams } from '../../models/lightgbm/learner.ts';
import { liveHandles } from '../../models/xgboost/binding.ts';
import { xgboostLearner } from '../../models/xgboost/learner.ts';
import { dateRows, loadLearnerPanel, slice } from './sp500_matrix.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Saved-model and prediction digests of each trial, fitted through `reuse` or each on fresh data. */
async function fitTrials(learner: Learner, trials: LearnerParams[], fit: TrainingSet, valid: TrainingSet, reuse?: NativeDataCache): Promise<string[]> {
  const out: string[] = [];
  for (const params of trials) {
    const m = await learner.fit(fit, { params, numRounds: 60, valid, earlyStoppingRounds: 8, reuse });
    try {
      const p = m.predict(valid.X, valid.nRows);
      out.push(`${m.bestIteration} ${sha(m.save())} ${sha(new Uint8Array(p.buffer, p.byteOffset, p.byteLength))}`);
    } finally {
      m.free();
    }
  }
  return out;
}

describe.skipIf(!hasSharedData())('trials sharing a fold’s native data (real S&P slice)', () => {
  let panel: Panel;
  let fit: TrainingSet;
  let valid: TrainingSet;
  beforeAll(async () => {
    panel = await loadLearnerPanel();
    const nDates = panel.uniqueDates.length;
    const [a, b] = dateRows(panel, 0, Math.floor(nDates * 0.8));
    const [c, d] = dateRows(panel, Math.floor(nDates * 0.8), nDates);
    const last = panel.dateIdx[b - 1]!;
    fit = slice(panel, a, b, (i) => panel.ret[i]!, { weight: (i) => Math.pow(0.5, (last - panel.dateIdx[i]!) / 126) });
    valid = slice(panel, c, d, (i) => panel.ret[i]!);
  });

  it('XGBoost: one DMatrix per set serves trials of other depths and rates, model for model the same', async () => {
    const base = { objective: 'reg:squarederror', eval_metric: 'rmse', tree_method: 'hist', max_bin: 64, subsample: 0.8, colsample_bytree: 0.8, min_child_weight: 50, seed: 42, nthread: 2 };
    const trials = [{ ...base, max_depth: 3, eta: 0.1 }, { ...base, max_depth: 5, eta: 0.2 }, { ...base, max_depth: 3, eta: 0.2, max_bin: 32 }];
    const before = { ...liveHandles };
    const fresh = await fitTrials(xgboostLearner, trials, fit, valid);
    const reuse = new NativeDataCache();
    const shared = await fitTrials(xgboostLearner, trials, fit, valid, reuse);
    expect(liveHandles.dmatrix).toBe(before.dmatrix + 2);
    reuse.free();
    expect(shared).toEqual(fresh);
    expect(new Set(fresh).size).toBe(3);
    expect(liveHandles).toEqual(before);
  });

  it('LightGBM: one Dataset per set and binning params (min_data_in_leaf pre-filters features), model for model the same', async () => {
    const base = { objective: 'regression', metric: 'l2', max_bin: 63, bagging_fraction: 0.8, bagging_freq: 1, feature_fraction: 0.8, seed: 42, num_threads: 2 };
    const trials = [{ ...base, num_leaves: 15, learning_rate: 0.1, min_data_in_leaf: 50 }, { ...base, num_leaves: 31, learning_rate: 0.05, min_data_in_leaf: 50 }, { ...base, num_leaves: 15, learning_rate: 0.1, min_data_in_leaf: 200 }];
    expect(datasetKey(lightgbmParams(trials[0]!))).toBe(datasetKey(lightgbmParams(trials[1]!)));
    expect(datasetKey(lightgbmParams(trials[0]!))).not.toBe(datasetKey(lightgbmParams(trials[2]!)));
    const before = { ...liveLgbmHandles };
    const fresh = await fitTrials(lightgbmLearner, trials, fit, valid);
    const reuse = new NativeDataCache();
    const shared = await fitTrials(lightgbmLearner, trials, fit, valid, reuse);
    // train + valid for min_data_in_leaf 50, and again for 200
    expect(liveLgbmHandles.dataset).toBe(before.dataset + 4);
    reuse.free();
    expect(shared).toEqual(fresh);
    expect(new Set(fresh).size).toBe(3);
    expect(liveLgbmHandles).toEqual(before);
  });

  it('refuses another training set under a key it holds', async () => {
    const reuse = new NativeDataCache();
    const params = { objective: 'reg:squarederror', tree_method: 'hist', max_depth: 2, nthread: 2 };
    try {
      (await xgboostLearner.fit(fit, { params, numRounds: 2, reuse })).free();
      await expect(xgboostLearner.fit({ ...fit }, { params, numRounds: 2, reuse })).rejects.toThrow(/another training set; use one cache per fold/);
    } finally {
      reuse.free();
    }
  });
});
