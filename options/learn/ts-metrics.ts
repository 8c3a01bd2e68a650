/**
 * Time-series signal metrics for a single-instrument sleeve (one row per date), where the
 * cross-sectional IC of cv/metrics.ts (correlation across symbols on one date) does not exist:
 *
 * - IC = Pearson correlation over dates of the score with the realised label; rank IC = Spearman
 *   (cv/metrics.ts `pearson`/`spearman` on the pooled rows), t-stat of a correlation ρ on n pairs
 *   t = ρ·√((n − 2)/(1 − ρ²)) (Fisher 1915, the exact null distribution is Student's t with n − 2 df).
 * - Hit rate = share of rows where sign(score) = sign(label) (non-zero both).
 * - Sign stream: per date, the mean over its rows of sign(score)·r, r the realised return per bar
 *   held (cv/panel.ts `retDaily`): long the hedged straddle when the predicted P&L is positive, short
 *   otherwise, one unit of premium. The trial return stream of the ledger (DSR, PBO).
 * NaN scores or labels are skipped; NaN when fewer than 3 usable pairs.
 */
import { pearson, spearman } from '../../cv/metrics.ts';

/** Pooled IC figures of a score against a label over `rows` (all rows when omitted). */
export interface TsIc {
  ic: number;
  rank_ic: number;
  rank_ic_tstat: number;
  hit_rate: number;
  n: number;
}

/** IC, rank IC, its t-stat and the hit rate of `score` vs `label` on `rows`. */
export function tsIc(score: ArrayLike<number>, label: ArrayLike<number>, rows?: ArrayLike<number>): TsIc {
  const xs: number[] = [];
  const ys: number[] = [];
  const m = rows ? rows.length : score.length;
  for (let k = 0; k < m; k++) {
    const i = rows ? rows[k]! : k;
    const s = score[i]!, l = label[i]!;
    if (Number.isNaN(s) || Number.isNaN(l)) continue;
    xs.push(s);
    ys.push(l);
  }
  const n = xs.length;
  if (n < 3) return { ic: NaN, rank_ic: NaN, rank_ic_tstat: NaN, hit_rate: NaN, n };
  const ric = spearman(xs, ys);
  let hits = 0, both = 0;
  for (let i = 0; i < n; i++) {
    if (xs[i] === 0 || ys[i] === 0) continue;
    both++;
    if (Math.sign(xs[i]!) === Math.sign(ys[i]!)) hits++;
  }
  return { ic: pearson(xs, ys), rank_ic: ric, rank_ic_tstat: Math.abs(ric) < 1 ? ric * Math.sqrt((n - 2) / (1 - ric * ric)) : NaN, hit_rate: both ? hits / both : NaN, n };
}

/**
 * Per date (blocks[d]..blocks[d+1] are its rows) the mean of sign(score)·retDaily over rows with
 * both finite; NaN on dates without one.
 */
export function signStream(blocks: Int32Array, score: ArrayLike<number>, retDaily: ArrayLike<number>): Float64Array {
  const nDates = blocks.length - 1;
  const out = new Float64Array(nDates).fill(NaN);
  for (let d = 0; d < nDates; d++) {
    let s = 0, c = 0;
    for (let i = blocks[d]!; i < blocks[d + 1]!; i++) {
      const x = score[i]!, r = retDaily[i]!;
      if (Number.isNaN(x) || Number.isNaN(r)) continue;
      s += Math.sign(x) * r;
      c++;
    }
    if (c) out[d] = s / c;
  }
  return out;
}
