/**
 * Cross-sectional normalisation of a feature panel, one date at a time.
 *
 * The panel is column-major: one Float64Array per feature, rows sorted by (date, symbol), NaN for a
 * missing value (SQL NULL). `blockStarts` holds the first row of every date plus a final sentinel
 * equal to the row count, so rows `blockStarts[b] .. blockStarts[b+1]-1` are the cross-section of one
 * date. A value is normalised using only the rows of its own date, which keeps the result
 * point-in-time: truncating the panel after date t changes nothing at or before t.
 *
 * This runs in TypeScript rather than SQL on purpose: DuckDB sorts every feature's
 * `PARTITION BY date ORDER BY value` window separately (measured ~185 ms per feature on the
 * 619k-row S&P panel, 2 threads), while this sort-per-date-block pass costs ~40 ms per feature.
 */
import { sortPairsFrom } from '../lib/ranks.ts';

/** How a feature is normalised across symbols on each date. */
export type Normalization = 'rank' | 'zscore' | 'none';

/**
 * Indices where the (sorted) day numbers change, plus a final sentinel `days.length`.
 * Throws if `days` is not non-decreasing (the panel must be sorted by date).
 */
export function dateBlocks(days: Int32Array): Int32Array {
  const starts: number[] = [];
  for (let i = 0; i < days.length; i++) {
    if (i === 0 || days[i] !== days[i - 1]) {
      if (i > 0 && days[i] < days[i - 1]) throw new Error(`panel is not sorted by date at row ${i}`);
      starts.push(i);
    }
  }
  starts.push(days.length);
  return Int32Array.from(starts);
}

/**
 * In place: replaces every non-NaN value by its cross-sectional rank mapped to [−0.5, 0.5]:
 * `(r − 1)/(n − 1) − 0.5`, where r ∈ [1, n] is the value's rank among the n non-missing values of its
 * date, ties taking their average rank (the usual "fractional ranking"). A date with a single
 * non-missing value maps it to 0. NaN (missing) stays NaN.
 */
export function rankNormalize(values: Float64Array, blockStarts: Int32Array): void {
  let maxBlock = 0;
  for (let b = 0; b + 1 < blockStarts.length; b++) maxBlock = Math.max(maxBlock, blockStarts[b + 1] - blockStarts[b]);
  const vals = new Float64Array(maxBlock);
  const rows = new Int32Array(maxBlock);
  const keys = new Float64Array(maxBlock);
  const idx = new Int32Array(maxBlock);
  for (let b = 0; b + 1 < blockStarts.length; b++) {
    const lo = blockStarts[b];
    const hi = blockStarts[b + 1];
    let m = 0;
    for (let i = lo; i < hi; i++) {
      const x = values[i];
      if (x === x) {
        vals[m] = x;
        rows[m] = i;
        m++;
      }
    }
    if (m === 0) continue;
    if (m === 1) {
      values[rows[0]] = 0;
      continue;
    }
    sortPairsFrom(vals, rows, m, keys, idx);
    const scale = 1 / (m - 1);
    let a = 0;
    while (a < m) {
      let e = a + 1;
      while (e < m && keys[e] === keys[a]) e++;
      // 0-based positions a..e-1 share the average 0-based rank (a + e - 1) / 2.
      const r = (a + e - 1) * 0.5 * scale - 0.5;
      for (let q = a; q < e; q++) values[idx[q]] = r;
      a = e;
    }
  }
}

/**
 * In place: replaces every non-NaN value by its cross-sectional z-score
 * `(x − mean)/std` (mean and sample std, n − 1, of the date's non-missing values), then winsorises
 * it to [−clip, clip]. Dates with fewer than two values, or zero dispersion, map their values to 0.
 * NaN stays NaN. Means use a two-pass sum in row order (deterministic).
 */
export function zscoreNormalize(values: Float64Array, blockStarts: Int32Array, clip: number): void {
  for (let b = 0; b + 1 < blockStarts.length; b++) {
    const lo = blockStarts[b];
    const hi = blockStarts[b + 1];
    let n = 0;
    let sum = 0;
    for (let i = lo; i < hi; i++) {
      const x = values[i];
      if (x === x) {
        n++;
        sum += x;
      }
    }
    if (n === 0) continue;
    const mean = sum / n;
    let ss = 0;
    for (let i = lo; i < hi; i++) {
      const x = values[i];
      if (x === x) ss += (x - mean) * (x - mean);
    }
    const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
    for (let i = lo; i < hi; i++) {
      const x = values[i];
      if (x !== x) continue;
      if (!(sd > 0)) {
        values[i] = 0;
        continue;
      }
      const z = (x - mean) / sd;
      values[i] = z > clip ? clip : z < -clip ? -clip : z;
    }
  }
}
