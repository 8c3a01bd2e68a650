import { describe, expect, it } from 'vitest';
import { dateBlocks, rankNormalize, zscoreNormalize } from '../../features/normalize.ts';
import { crossSectionalMean, rollingBeta, rollingDrawdown, rollingStd, rollingZ } from '../../features/rolling.ts';

// Synthetic inputs with hand-computed answers (math only; the real-data checks are in features.test.ts).
describe('cross-sectional normalisation', () => {
  it('ranks per date into [−0.5, 0.5] with average ranks for ties, NaN kept, singletons at 0', () => {
    const days = Int32Array.from([1, 1, 1, 1, 1, 2, 2, 3]);
    const v = Float64Array.from([3, 1, NaN, 3, 2, 7, 5, 4]);
    rankNormalize(v, dateBlocks(days));
    // Date 1: values 1, 2, 3, 3 → ranks 1, 2, 3.5, 3.5 → (r − 1)/3 − 0.5.
    const want = [2.5 / 3 - 0.5, -0.5, NaN, 2.5 / 3 - 0.5, 1 / 3 - 0.5, 0.5, -0.5, 0];
    want.forEach((w, i) => (Number.isNaN(w) ? expect(v[i]).toBeNaN() : expect(v[i], `row ${i}`).toBeCloseTo(w, 14)));
  });

  it('ranks a large block like a sort (quicksort path)', () => {
    const n = 1000;
    const v = Float64Array.from({ length: n }, (_, i) => ((i * 7919) % n) / 10);
    const expected = Array.from(v).map((x) => x * 10 / (n - 1) - 0.5);
    rankNormalize(v, dateBlocks(new Int32Array(n)));
    v.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 12));
  });

  it('z-scores per date with the sample std and winsorises at ±clip', () => {
    const days = Int32Array.from([1, 1, 1, 1, 2, 2, 3]);
    const v = Float64Array.from([1, 2, 3, 10, 5, 5, 8]);
    zscoreNormalize(v, dateBlocks(days), 1.2);
    const m = 4;
    const sd = Math.sqrt((9 + 4 + 1 + 36) / 3);
    expect(v[0]).toBeCloseTo(Math.max(-1.2, (1 - m) / sd), 12);
    expect(v[1]).toBeCloseTo((2 - m) / sd, 12);
    expect(v[3]).toBe(1.2); // (10 − 4)/4.08 = 1.47 → clipped
    expect(Array.from(v.subarray(4))).toEqual([0, 0, 0]); // no dispersion / single value
  });

  it('refuses an unsorted panel', () => {
    expect(() => dateBlocks(Int32Array.from([2, 1]))).toThrow(/not sorted/);
  });
});

describe('rolling statistics', () => {
  it('std, z and beta over complete windows only; NaN inputs blank the windows that contain them', () => {
    const x = Float64Array.from([1, 2, 3, 4, NaN, 6, 7, 8]);
    const out = new Float64Array(x.length);
    rollingStd(x, 3, 1, out);
    expect(Array.from(out)).toEqual([NaN, NaN, 1, 1, NaN, NaN, NaN, 1]);
    rollingZ(Float64Array.from([1, 2, 6]), 3, 2, true, out.subarray(0, 3));
    expect(out[2]).toBeCloseTo((6 - 3) / (2 * Math.sqrt(14 / 3)), 12);
    const mkt = Float64Array.from([0.01, -0.02, 0.03, 0.0, 0.01]);
    const y = Float64Array.from(Array.from(mkt, (m) => 1.5 * m + 0.002));
    const b = new Float64Array(5);
    rollingBeta(y, mkt, 4, b);
    expect(Number.isNaN(b[2]!)).toBe(true);
    expect(b[3]).toBeCloseTo(1.5, 12);
    expect(b[4]).toBeCloseTo(1.5, 12);
  });

  it('drawdown from the trailing max (deque) and the per-date equal-weight mean', () => {
    const x = Float64Array.from([10, 12, 9, 11, 8, 13, NaN, 5, 6, 7]);
    const out = new Float64Array(x.length);
    rollingDrawdown(x, 3, out);
    const want = [NaN, NaN, 9 / 12 - 1, 11 / 12 - 1, 8 / 11 - 1, 0, NaN, NaN, NaN, 7 / 7 - 1];
    want.forEach((w, i) => (Number.isNaN(w) ? expect(out[i], `row ${i}`).toBeNaN() : expect(out[i], `row ${i}`).toBeCloseTo(w, 14)));
    const m = crossSectionalMean(Float64Array.from([1, NaN, 3, 5, NaN]), dateBlocks(Int32Array.from([1, 1, 1, 2, 3])));
    expect(Array.from(m.subarray(0, 4))).toEqual([2, 2, 2, 5]);
    expect(m[4]).toBeNaN();
  });
});
