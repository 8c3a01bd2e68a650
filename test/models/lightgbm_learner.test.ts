/**
 * The LightGBM learner on a real S&P 500 slice: determinism (same seed → same saved bytes and
 * predictions, twice in one process, on the worker thread, and in a second process), early stopping
 * on the time-ordered validation tail, time-decay weights, lambdarank with per-date groups,
 * LightGBM's own error text, and no leaked handles.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasSharedData } from '../../lib/paths.ts';
import type { Panel } from '../../cv/panel.ts';
import type { FitOptions, TrainingSet } from '../../models/learner.ts';
import { liveLgbmHandles, openLightgbmLibrary } from '../../models/lightgbm/binding.ts';
import { LightgbmLearner, lightgbmLearner, relevanceGrades } from '../../models/lightgbm/learner.ts';
import { dateRows, loadLearnerPanel, maxAbsDiff, slice, tempDir } from './sp500_matrix.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const predSha = (p: Float32Array): string => sha(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
/** Row subsampling and feature subsampling on, so the seed matters. */
const RANDOM = { objective: 'regression', num_leaves: 31, learning_rate: 0.1, min_data_in_leaf: 50, bagging_fraction: 0.7, bagging_freq: 1, feature_fraction: 0.7, seed: 7 };

async function fitOnce(set: TrainingSet, opts: FitOptions, learner = lightgbmLearner): Promise<{ model: string; pred: string; values: Float32Array }> {
  const m = await learner.fit(set, opts);
  try {
    const values = m.predict(set.X, set.nRows);
    return { model: sha(m.save()), pred: predSha(values), values };
  } finally {
    m.free();
  }
}

describe('LightGBM library', () => {
  it('a missing lib_lightgbm.so says how to install it', () => {
    expect(() => openLightgbmLibrary('/nonexistent/lib_lightgbm.so')).toThrow(/cannot load lib_lightgbm\.so from \/nonexistent.*bash scripts\/native\.sh.*TRADEML_LIGHTGBM_LIB/s);
  });
});

describe.skipIf(!hasSharedData())('LightGBM learner on real S&P data', () => {
  let panel: Panel;
  let train: TrainingSet;
  beforeAll(async () => {
    panel = await loadLearnerPanel();
    train = slice(panel, 0, panel.n, (i) => panel.ret[i]!);
  });

  it('same seed → same model bytes and predictions: twice, on the worker thread, and in another process', async () => {
    // the event loop turns between rounds while training
    let ticks = 0, alive = true;
    const spin = (): void => {
      ticks++;
      if (alive) setImmediate(spin);
    };
    setImmediate(spin);
    const seen: number[] = [];
    const opts = { params: RANDOM, numRounds: 30 };
    const a = await fitOnce(train, { ...opts, onRound: () => seen.push(ticks) });
    alive = false;
    expect(seen.length).toBe(30);
    expect(seen[29]! - seen[1]!).toBeGreaterThan(0);
    const b = await fitOnce(train, opts);
    const c = await fitOnce(train, opts, new LightgbmLearner({ syncRoundBudgetMs: 0 }));
    expect(b).toEqual(a);
    expect(c.model).toBe(a.model);
    expect(c.pred).toBe(a.pred);
    // the seed is used: another seed grows other trees
    const d = await fitOnce(train, { params: { ...RANDOM, seed: 8 }, numRounds: 30 });
    expect(d.model).not.toBe(a.model);

    const file = path.join(tempDir('trademl-lgbm-det-'), 'm');
    writeFileSync(`${file}.json`, JSON.stringify({ nRows: train.nRows, nFeatures: train.nFeatures, params: RANDOM, numRounds: 30 }));
    const bin = new Float32Array(train.X.length + train.y.length);
    bin.set(train.X);
    bin.set(train.y, train.X.length);
    writeFileSync(`${file}.bin`, new Uint8Array(bin.buffer));
    const child = path.join(import.meta.dirname, 'lgbm_fit_child.ts');
    const out = execFileSync(process.execPath, ['--import', 'tsx', child, file], { encoding: 'utf8', timeout: 60_000 });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ model: a.model, pred: a.pred });
  });

  it('early stopping on the validation tail: stops 10 rounds after the best, predicts with the best iteration', async () => {
    const nDates = panel.uniqueDates.length;
    const [a, b] = dateRows(panel, 0, Math.floor(nDates * 0.8));
    const [c, d] = dateRows(panel, Math.floor(nDates * 0.8), nDates);
    const fit = slice(panel, a, b, (i) => panel.ret[i]!);
    const valid = slice(panel, c, d, (i) => panel.ret[i]!);
    const scores: number[] = [];
    const params = { objective: 'regression', num_leaves: 63, learning_rate: 0.2, min_data_in_leaf: 50 };
    const m = await lightgbmLearner.fit(fit, { params, numRounds: 400, valid, earlyStoppingRounds: 10, onRound: (_r, s) => scores.push(s!) });
    try {
      expect(m.rounds).toBeLessThan(400);
      expect(m.rounds - 1 - m.bestIteration).toBe(10);
      expect(scores.length).toBe(m.rounds);
      expect(m.validMetric).toBe('valid-l2');
      expect(m.validScore).toBe(Math.min(...scores));
      expect(scores[m.bestIteration]).toBe(m.validScore);
      // the same trees as training exactly bestIteration + 1 rounds without a validation set
      const ref = await fitOnce(fit, { params, numRounds: m.bestIteration + 1 });
      expect(predSha(m.predict(fit.X, fit.nRows))).toBe(ref.pred);
    } finally {
      m.free();
    }
  });

  it('time-decay weights change the model; weights of the wrong length are refused', async () => {
    const last = panel.dateIdx[panel.n - 1]!;
    const decay = (i: number): number => Math.pow(0.5, (last - panel.dateIdx[i]!) / 126);
    const params = { objective: 'regression', num_leaves: 15, learning_rate: 0.1, min_data_in_leaf: 50 };
    const plain = await fitOnce(train, { params, numRounds: 20 });
    const weighted = await fitOnce(slice(panel, 0, panel.n, (i) => panel.ret[i]!, { weight: decay }), { params, numRounds: 20 });
    expect(weighted.model).not.toBe(plain.model);
    expect(maxAbsDiff(weighted.values, plain.values)).toBeGreaterThan(1e-5);
    await expect(lightgbmLearner.fit({ ...train, weight: new Float32Array(5) }, { params, numRounds: 2 })).rejects.toThrow(/weight has 5 values, expected \d+ \(one per row\)/);
  });

  it('lambdarank with one query group per date: ndcg early-stopping metric (higher is better), ranks within dates', async () => {
    const nDates = panel.uniqueDates.length;
    const [a, b] = dateRows(panel, 0, Math.floor(nDates * 0.8));
    const [c, d] = dateRows(panel, Math.floor(nDates * 0.8), nDates);
    const mk = (lo: number, hi: number, w?: (i: number) => number): TrainingSet => {
      const s = slice(panel, lo, hi, (i) => panel.ret[i]!, { groups: true, weight: w });
      s.y = relevanceGrades(s.y, s.groups!, 5);
      return s;
    };
    const fit = mk(a, b);
    const valid = mk(c, d);
    expect(fit.groups!.length).toBe(Math.floor(nDates * 0.8));
    const scores: number[] = [];
    const params = { objective: 'lambdarank', num_leaves: 15, learning_rate: 0.05, min_data_in_leaf: 50 };
    const m = await lightgbmLearner.fit(fit, { params, numRounds: 60, valid, earlyStoppingRounds: 15, onRound: (_r, s) => scores.push(s!) });
    try {
      expect(m.validMetric).toBe('valid-ndcg@1');
      expect(m.validScore).toBe(Math.max(...scores));
      // in-sample: the scores order each date's rows like their relevance grades (mean Spearman > 0)
      const p = m.predict(fit.X, fit.nRows);
      let off = 0, sum = 0;
      for (const size of fit.groups!) {
        const rank = (v: ArrayLike<number>): number[] => {
          const idx = Array.from({ length: size }, (_, k) => k).sort((x, y) => v[off + x]! - v[off + y]!);
          const r = new Array<number>(size);
          idx.forEach((k, j) => (r[k] = j));
          return r;
        };
        const rp = rank(p), ry = rank(fit.y);
        let cov = 0;
        for (let k = 0; k < size; k++) cov += (rp[k]! - (size - 1) / 2) * (ry[k]! - (size - 1) / 2);
        sum += cov / ((size * (size * size - 1)) / 12);
        off += size;
      }
      expect(sum / fit.groups!.length).toBeGreaterThan(0.05);
    } finally {
      m.free();
    }
    // per-date weights (one per group) are accepted and change the model
    const last = panel.dateIdx[b - 1]!;
    const wfit = mk(a, b, (i) => Math.pow(0.5, (last - panel.dateIdx[i]!) / 126));
    expect(wfit.weight!.length).toBe(wfit.groups!.length);
    const w = await fitOnce(wfit, { params, numRounds: 10 });
    const u = await fitOnce(fit, { params, numRounds: 10 });
    expect(w.model).not.toBe(u.model);
    // without groups LightGBM itself refuses
    await expect(lightgbmLearner.fit({ ...fit, groups: undefined }, { params, numRounds: 5 })).rejects.toThrow(/LightGBMError|lightgbm .*failed: .*query/is);
  });

  it("bad parameters fail with LightGBM's own message and leak nothing", async () => {
    const before = { ...liveLgbmHandles };
    await expect(lightgbmLearner.fit(train, { params: { objective: 'nosuch' }, numRounds: 3 })).rejects.toThrow(/LGBM_\w+ failed: Unknown objective type name: nosuch/);
    await expect(lightgbmLearner.fit(train, { params: { objective: 'regression', num_leaves: 1 }, numRounds: 3 })).rejects.toThrow(/failed: .*num_leaves/);
    await expect(lightgbmLearner.fit(train, { params: { metric: 'l2 l1' }, numRounds: 3 })).rejects.toThrow(/without spaces/);
    expect(liveLgbmHandles).toEqual(before);
  });

  it('frees every handle: 300 fit/predict/save/export cycles and an aborted fit leave no live handle and bounded memory', async () => {
    const small = slice(panel, 0, 3000, (i) => panel.ret[i]!);
    const cycle = async (): Promise<void> => {
      const m = await lightgbmLearner.fit(small, { params: { objective: 'regression', num_leaves: 7, min_data_in_leaf: 50 }, numRounds: 3 });
      m.predict(small.X.subarray(0, 100 * small.nFeatures), 100);
      m.save();
      m.toOnnx(panel.featureNames);
      m.free();
      expect(() => m.predict(small.X.subarray(0, small.nFeatures), 1)).toThrow(/Booster used after free\(\)/);
    };
    for (let i = 0; i < 50; i++) await cycle();
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < 300; i++) await cycle();
    const ac = new AbortController();
    const aborted = lightgbmLearner.fit(small, { params: { objective: 'regression' }, numRounds: 50, signal: ac.signal, onRound: (r) => r === 2 && ac.abort() });
    await expect(aborted).rejects.toThrow(/cancelled/);
    expect(liveLgbmHandles).toEqual({ dataset: 0, booster: 0 });
    // a leaked Dataset of 3,000 × 8 plus a booster is ≥ 100 KB → 300 leaks ≥ 30 MB
    expect((process.memoryUsage().rss - rss0) / 2 ** 20).toBeLessThan(30);
  });
});
