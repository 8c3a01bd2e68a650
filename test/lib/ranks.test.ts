import { describe, expect, it } from 'vitest';
import { averageRanks } from '../../cv/metrics.ts';
import { averageRanksInto, sortFloat32, sortPairs } from '../../lib/ranks.ts';

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

  it('averageRanksInto equals the fractional ranking of cv/metrics averageRanks (0-based), ties and −0 included', () => {
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
      expect(Array.from(out)).toEqual(Array.from(averageRanks(c), (r) => r - 1));
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
