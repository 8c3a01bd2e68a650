/**
 * LightGBM → ONNX parity on a real S&P 500 slice: onnxruntime's outputs equal LightGBM's own
 * predictions (double, from the saved text model reloaded) within 1e-6 on every row and column,
 * for regression, binary and multiclass, and for each of LightGBM's missing-value modes
 * (NaN, None = use_missing=false, Zero = zero_as_missing).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { hasSharedData } from '../../lib/paths.ts';
import type { Panel } from '../../cv/panel.ts';
import { LgbmBooster } from '../../models/lightgbm/binding.ts';
import { lightgbmLearner, type LightgbmModel } from '../../models/lightgbm/learner.ts';
import type { LearnerParams } from '../../models/learner.ts';
import { lightgbmToOnnx, lightgbmTransform, type LgbmModelJson } from '../../models/onnx/lightgbm.ts';
import { openOnnxScorer } from '../../models/onnx/score.ts';
import { loadLearnerPanel, maxAbsDiff, slice } from './sp500_matrix.ts';

describe.skipIf(!hasSharedData())('LightGBM ONNX export on real S&P data', () => {
  let panel: Panel;
  beforeAll(async () => {
    panel = await loadLearnerPanel();
  });

  /** Fits on the whole slice, exports, scores all rows with onnxruntime; returns the max |Δ| and the dump. */
  async function parity(params: LearnerParams, y: (i: number) => number, width: number, rounds = 40): Promise<{ maxDiff: number; scoreDiff: number; dump: LgbmModelJson }> {
    const set = slice(panel, 0, panel.n, y);
    const model = await lightgbmLearner.fit(set, { params: { num_leaves: 31, learning_rate: 0.1, min_data_in_leaf: 50, ...params }, numRounds: rounds });
    let ref: LgbmBooster | undefined;
    try {
      expect(model.width).toBe(width);
      ref = LgbmBooster.fromString(new TextDecoder().decode(model.save()));
      const want = ref.predict(set.X, set.nRows, set.nFeatures);
      expect(Array.from(model.predict(set.X, set.nRows))).toEqual(Array.from(Float32Array.from(want)));
      const scorer = await openOnnxScorer(model.toOnnx(panel.featureNames));
      const out = await scorer.run(set.X, set.nRows, set.nFeatures);
      await scorer.release();
      // the score output: the prediction, 2p − 1 (binary) or P(+1) − P(−1) (3 classes)
      const score = Float64Array.from({ length: set.nRows }, (_, i) => (width === 3 ? want[i * 3 + 2]! - want[i * 3]! : lightgbmTransform(String(params.objective)).op === 'Sigmoid' ? 2 * want[i]! - 1 : want[i]!));
      const dump = JSON.parse((model as LightgbmModel).dump()) as LgbmModelJson;
      return { maxDiff: maxAbsDiff(out.Y!, want), scoreDiff: maxAbsDiff(out.score!, score), dump };
    } finally {
      ref?.free();
      model.free();
    }
  }

  const missingTypes = (d: LgbmModelJson): Set<string> => {
    const seen = new Set<string>();
    const walk = (n: Record<string, unknown>): void => {
      if (typeof n.missing_type === 'string') seen.add(n.missing_type);
      if (n.left_child) walk(n.left_child as Record<string, unknown>);
      if (n.right_child) walk(n.right_child as Record<string, unknown>);
    };
    for (const t of d.tree_info) walk(t.tree_structure as Record<string, unknown>);
    return seen;
  };

  it('the slice has warm-up NaNs and exact zeros (rank features), so every missing-value path is exercised', () => {
    expect(panel.n).toBeGreaterThan(10_000);
    expect(panel.X.some((v) => Number.isNaN(v))).toBe(true);
    expect(panel.X.some((v) => v === 0)).toBe(true);
  });

  it('regression: ONNX equals LightGBM within 1e-6 (NaN-missing splits follow default_left)', async () => {
    const r = await parity({ objective: 'regression' }, (i) => panel.ret[i]!, 1);
    expect(missingTypes(r.dump).has('NaN')).toBe(true);
    expect(r.maxDiff).toBeLessThanOrEqual(1e-6);
    expect(r.scoreDiff).toBeLessThanOrEqual(1e-6);
  });

  it('binary: probabilities within 1e-6, also with sigmoid ≠ 1', async () => {
    const up = (i: number): number => (panel.ret[i]! > 0 ? 1 : 0);
    const r = await parity({ objective: 'binary' }, up, 1);
    expect(r.dump.objective).toMatch(/^binary sigmoid:1/);
    expect(r.maxDiff).toBeLessThanOrEqual(1e-6);
    expect(r.scoreDiff).toBeLessThanOrEqual(2e-6);
    const s = await parity({ objective: 'binary', sigmoid: 2.5 }, up, 1, 20);
    expect(s.dump.objective).toMatch(/sigmoid:2\.5/);
    expect(s.maxDiff).toBeLessThanOrEqual(1e-6);
  });

  it('multiclass (softprob over the 3 triple-barrier classes): every probability within 1e-6', async () => {
    const r = await parity({ objective: 'multiclass', num_class: 3 }, (i) => panel.label[i]! + 1, 3);
    expect(r.dump.num_tree_per_iteration).toBe(3);
    expect(r.maxDiff).toBeLessThanOrEqual(1e-6);
    expect(r.scoreDiff).toBeLessThanOrEqual(2e-6);
  });

  it('zero_as_missing (missing_type Zero) and use_missing=false (None) stay exact', async () => {
    const z = await parity({ objective: 'regression', zero_as_missing: true }, (i) => panel.ret[i]!, 1, 25);
    expect(missingTypes(z.dump).has('Zero')).toBe(true);
    expect(z.maxDiff).toBeLessThanOrEqual(1e-6);
    const n = await parity({ objective: 'regression', use_missing: false }, (i) => panel.ret[i]!, 1, 25);
    expect([...missingTypes(n.dump)]).toEqual(['None']);
    expect(n.maxDiff).toBeLessThanOrEqual(1e-6);
  });

  it('refuses what TreeEnsembleRegressor cannot express, naming it', () => {
    const base: LgbmModelJson = { num_class: 1, num_tree_per_iteration: 1, max_feature_idx: 0, objective: 'regression', tree_info: [] };
    expect(() => lightgbmToOnnx({ ...base, objective: 'poisson' }, { featureNames: ['a'] })).toThrow(/objective "poisson" is not supported/);
    expect(() => lightgbmToOnnx(base, { featureNames: ['a', 'b'] })).toThrow(/2 feature names for a LightGBM model with 1 features/);
    const cat = { ...base, tree_info: [{ tree_index: 0, tree_structure: { split_feature: 0, threshold: '1||2', decision_type: '==', left_child: { leaf_value: 1 }, right_child: { leaf_value: 2 } } }] };
    expect(() => lightgbmToOnnx(cat, { featureNames: ['a'] })).toThrow(/categorical split/);
  });
});
