import { describe, expect, it } from 'vitest';
import { averageRanks, dateBlocks, dailyIc, LabelRanks, longShortReturns, pearson, rocAuc, spearman, summarizeIc } from '../../cv/metrics.ts';
import { fitRidge, predictRidge } from '../../models/ridge.ts';
import { checkLeakage } from '../../cv/leakage.ts';

describe('metrics (known answers)', () => {
  it('average ranks with ties; Spearman of a monotone map is 1; Pearson of y=−2x+1 is −1', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    const x = [1, 2, 3, 4, 5, 6];
    expect(spearman(x, x.map((v) => Math.exp(v)))).toBeCloseTo(1, 12);
    expect(pearson(x, x.map((v) => -2 * v + 1))).toBeCloseTo(-1, 12);
    // hand-computed: x=[1,2,3], y=[1,3,2] → r = 0.5
    expect(pearson([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.5, 12);
  });

  it('AUC: perfect separation 1, reversed 0, one swapped pair of 2×2 = 0.75, ties count half', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(rocAuc([0.1, 0.5, 0.4, 0.9], [0, 0, 1, 1])).toBe(0.75);
    expect(rocAuc([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(rocAuc([0.1, NaN, 0.9], [0, 1, 1])).toBe(1);
    // brute-force pair count on a tie-heavy sample: P(s₊ > s₋) + ½·P(s₊ = s₋)
    const sc = Array.from({ length: 200 }, (_, i) => (i * 37) % 11), pos = sc.map((_, i) => ((i * 13) % 7 < 3 ? 1 : 0));
    let num = 0, den = 0;
    for (let i = 0; i < 200; i++) for (let j = 0; j < 200; j++) if (pos[i] && !pos[j]) {
      den++;
      num += sc[i]! > sc[j]! ? 1 : sc[i] === sc[j] ? 0.5 : 0;
    }
    expect(rocAuc(sc, pos)).toBeCloseTo(num / den, 12);
  });

  it.each([
    ['float32 scores (radix-sorted)', (x: number) => Math.fround(x)],
    ['float64 scores (natively sorted)', (x: number) => x + 1e-12],
  ])('AUC equals the rank-sum form (R₊ − n₊(n₊+1)/2)/(n₊n₋) to the bit: %s with ties, ±0 and NaN', (_, round) => {
    const n = 20_000;
    const sc = new Float64Array(n), pos = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = ((i * 2654435761) >>> 0) / 2 ** 32;
      sc[i] = i % 101 === 0 ? NaN : i % 89 === 0 ? (i % 2 ? -0 : 0) : round(Math.round(u * 3000) / 3000 - 0.5);
      pos[i] = ((i * 40503) >>> 0) % 1000 < 400 + 400 * u ? 1 : 0;
    }
    const keep = [...sc.keys()].filter((i) => !Number.isNaN(sc[i]!));
    const r = averageRanks(keep.map((i) => sc[i]!));
    let rPos = 0, nPos = 0;
    keep.forEach((i, k) => { if (pos[i]) (rPos += r[k]!), nPos++; });
    const nNeg = keep.length - nPos;
    expect(Object.is(rocAuc(sc, pos), (rPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg))).toBe(true);
    expect(rocAuc([1, 2], [1, 1])).toBeNaN();
  });

  it('daily IC per date block and ICIR', () => {
    const dateIdx = Int32Array.from([0, 0, 0, 1, 1, 1]);
    const blocks = dateBlocks(dateIdx, 2);
    expect(Array.from(blocks)).toEqual([0, 3, 6]);
    const d = dailyIc(blocks, [1, 2, 3, 1, 2, 3], [1, 3, 2, 3, 2, 1]);
    expect(d.ic[0]).toBeCloseTo(0.5, 12);
    expect(d.rankIc[1]).toBeCloseTo(-1, 12);
    const s = summarizeIc(d.ic, d.rankIc);
    expect(s.rank_ic).toBeCloseTo(-0.25, 12); // mean(0.5, −1)
    expect(s.icir).toBeCloseTo(-0.25 / Math.sqrt(((0.5 + 0.25) ** 2 + (-1 + 0.25) ** 2) / 1), 12);
  });

  it('daily IC with the label ranked once (LabelRanks) is bit for bit the IC without: ties, NaN signals, NaN labels, include masks', () => {
    // 40 dates of 3..60 rows; labels on a coarse grid (many ties), some NaN; signals with NaN on some dates
    let s = 7;
    const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    const dateIdx: number[] = [];
    for (let d = 0; d < 40; d++) for (let k = 0, m = 3 + Math.floor(rnd() * 58); k < m; k++) dateIdx.push(d);
    const n = dateIdx.length;
    const blocks = dateBlocks(Int32Array.from(dateIdx), 40);
    const label = Float64Array.from({ length: n }, () => (rnd() < 0.05 ? NaN : Math.round(rnd() * 8) / 8 - 0.5));
    const ranks = new LabelRanks(blocks, label);
    for (let trial = 0; trial < 5; trial++) {
      const pred = Float32Array.from({ length: n }, (_, i) => (dateIdx[i]! % 7 === trial && rnd() < 0.3 ? NaN : Math.round(rnd() * 20) / 20));
      const include = trial % 2 ? Uint8Array.from({ length: n }, (_, i) => (dateIdx[i]! % 3 === 0 || rnd() < 0.1 ? 1 : 0)) : undefined;
      const plain = dailyIc(blocks, pred, label, include);
      const cached = dailyIc(blocks, pred, label, include, ranks);
      expect(Array.from(cached.rankIc)).toEqual(Array.from(plain.rankIc));
      expect(Array.from(cached.ic)).toEqual(Array.from(plain.ic));
      expect(plain.rankIc.some((v) => Number.isFinite(v))).toBe(true);
    }
    expect(() => dailyIc(blocks, label, Float64Array.from(label), undefined, ranks)).toThrow(/another label/);
  });

  it('long/short stream is dollar-neutral with gross 1: constant returns earn 0; return = Σ w r', () => {
    const blocks = Int32Array.from([0, 4]);
    // ranks 1..4 → centred −1.5,−0.5,0.5,1.5; gross 4 → w = [−.375, −.125, .125, .375]
    expect(longShortReturns(blocks, [1, 2, 3, 4], [0.01, 0.01, 0.01, 0.01])[0]).toBeCloseTo(0, 15);
    expect(longShortReturns(blocks, [1, 2, 3, 4], [0, 0, 0, 0.04])[0]).toBeCloseTo(0.375 * 0.04, 15);
  });
});

describe('ridge (closed form)', () => {
  it('recovers known coefficients with λ = 0 and shrinks towards 0 as λ grows', () => {
    let s = 7;
    const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
    const n = 500;
    const x1 = Float64Array.from({ length: n }, rnd), x2 = Float64Array.from({ length: n }, rnd);
    const y = Float64Array.from({ length: n }, (_, i) => 0.3 + 2 * x1[i]! - 1 * x2[i]!);
    const f = fitRidge([x1, x2], y, 0);
    expect(f.weights[0]).toBeCloseTo(2, 10);
    expect(f.weights[1]).toBeCloseTo(-1, 10);
    expect(f.intercept).toBeCloseTo(0.3, 10);
    expect(predictRidge(f, [0.1, 0.2])).toBeCloseTo(0.3 + 0.2 - 0.2, 10);
    const g = fitRidge([x1, x2], y, 1);
    expect(Math.abs(g.weights[0]!)).toBeLessThan(2);
    expect(Math.abs(g.weights[0]!)).toBeGreaterThan(0);
    // ridge normal equations on centred data: (Sxx/n + λ)β = Sxy/n for one regressor
    const h = fitRidge([x1], y, 0.5);
    let mx = 0, my = 0;
    for (let i = 0; i < n; i++) { mx += x1[i]!; my += y[i]!; }
    mx /= n; my /= n;
    let sxx = 0, sxy = 0;
    for (let i = 0; i < n; i++) { sxx += (x1[i]! - mx) ** 2; sxy += (x1[i]! - mx) * (y[i]! - my); }
    expect(h.weights[0]).toBeCloseTo(sxy / n / (sxx / n + 0.5), 12);
  });

  it('skips non-finite rows and rejects singular systems with λ = 0', () => {
    const f = fitRidge([[1, 2, NaN, 4]], [2, 4, 100, 8], 0);
    expect(f.n).toBe(3);
    expect(f.weights[0]).toBeCloseTo(2, 12);
    expect(() => fitRidge([[1, 1, 1]], [1, 2, 3], 0)).toThrow(/singular/);
    expect(() => fitRidge([[1, 2]], [1, 2], -1)).toThrow(/lambda/);
  });
});

describe('leakage check', () => {
  it('flags a large OOF rank IC and names the leaking feature', () => {
    const r = checkLeakage(0.6, { mom_5: 0.01, leak_fwd: 0.95 }, { max_abs_mean_rank_ic: 0.1, max_abs_feature_rank_ic: 0.2 });
    expect(r.suspicious).toBe(true);
    expect(r.features.map((f) => f.name)).toEqual(['leak_fwd']);
    expect(checkLeakage(0.02, { mom_5: -0.03 }, { max_abs_mean_rank_ic: 0.1, max_abs_feature_rank_ic: 0.2 }).suspicious).toBe(false);
  });
});
