import { describe, expect, it } from 'vitest';
import { averageRanks } from '../../cv/metrics.ts';
import { averageRanksInto, sortFloat32, sortPairs, sortPairsFrom } from '../../lib/ranks.ts';

/** Fractional ranking (0-based) by a comparator sort: the reference, independent of lib/ranks. */
function referenceRanks(c: readonly number[]): number[] {
  const sorted = [...c].sort((a, b) => a - b);
  return c.map((x) => (sorted.findIndex((y) => y === x) + sorted.findLastIndex((y) => y === x)) / 2);
}

describe('lib/ranks', () => {
  it('sortPairs sorts keys ascending and permutes the index alongside', () => {
    const n = 1000;
    const k = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
    const orig = Float64Array.from(k);
    const ix = Int32Array.from({ length: n }, (_, i) => i);
    sortPairs(k, ix, 0, n - 1);
    for (let i = 1; i < n; i++) expect(k[i]! >= k[i - 1]!).toBe(true);
    for (let i = 0; i < n; i++) expect(orig[ix[i]!]).toBe(k[i]);
  });

  it('averageRanksInto equals a comparator sort\'s fractional ranking (0-based), ties and −0 included', () => {
    const cases = [
      [3, 1, 2],
      [1, 1, 1, 1],
      [0, -0, 0.5, -0.5, 0.5, 0.5],
      Array.from({ length: 505 }, (_, i) => Math.round(Math.cos(i * 7.1) * 20) / 4),
      [42],
    ];
    for (const c of cases) {
      const v = Float64Array.from(c);
      const out = new Float64Array(v.length);
      averageRanksInto(v, v.length, new Float64Array(v.length), new Int32Array(v.length), out);
      expect(Array.from(out)).toEqual(referenceRanks(c));
    }
  });
  it('sortPairsFrom sorts with its tags through the distribution pass: heavy tails, ±Infinity, a subnormal range, ties, one value, every size', () => {
    const cauchy = (i: number) => Math.tan(Math.PI * ((Math.sin(i * 12.9898) * 43758.5453) % 1) * 0.999) * 0.02;
    const cases: number[][] = [
      Array.from({ length: 505 }, (_, i) => cauchy(i)),
      Array.from({ length: 64 }, (_, i) => (i === 3 ? Infinity : i === 9 ? -Infinity : Math.cos(i))),
      Array.from({ length: 64 }, (_, i) => (i % 2 ? -Infinity : Infinity)),
      Array.from({ length: 100 }, (_, i) => 5e-324 * (i % 7)),
      Array.from({ length: 100 }, (_, i) => (i % 3 ? -1.7e308 : 1.7e308)),
      Array.from({ length: 200 }, () => 0.25),
      Array.from({ length: 333 }, (_, i) => (i % 5 === 0 ? -0 : Math.round(Math.sin(i) * 8) / 8)),
      ...[1, 2, 31, 32, 33, 5000].map((n) => Array.from({ length: n }, (_, i) => Math.sin(i * 3.7) * 10 ** (i % 5))),
    ];
    for (const c of cases) {
      const n = c.length;
      const v = Float64Array.from(c);
      const tag = Int32Array.from({ length: n }, (_, i) => 1000 + i);
      const keys = new Float64Array(n);
      const order = new Int32Array(n);
      sortPairsFrom(v, tag, n, keys, order);
      const want = Float64Array.from(c).sort();
      for (let p = 0; p < n; p++) {
        expect(keys[p] === want[p]).toBe(true); // −0 and +0 tie
        expect(v[order[p]! - 1000]).toBe(keys[p]);
      }
      expect(new Set(order).size).toBe(n);
      const out = new Float64Array(n);
      averageRanksInto(v, n, new Float64Array(n), new Int32Array(n), out);
      expect(Array.from(out)).toEqual(referenceRanks(c));
      expect(Array.from(averageRanks(c), (r) => r - 1)).toEqual(referenceRanks(c));
    }
  });
  it('sortFloat32 gives the native sort\'s order bit for bit: negatives, ±0, subnormals, ±Infinity, ties; NaN refused', () => {
    const special = [-0, 0, -Infinity, Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38, 0.5, 0.5, -0.5];
    const x = Float32Array.from({ length: 5000 }, (_, i) => (i < special.length ? special[i]! : Math.sin(i * 12.9898) * 10 ** ((i % 13) - 6)));
    const want = Float32Array.from(x).sort();
    sortFloat32(x);
    expect(new Uint32Array(x.buffer)).toEqual(new Uint32Array(want.buffer));
    expect(() => sortFloat32(Float32Array.from([1, NaN, 2]))).toThrow(/value 1 is NaN/);
  });
});
