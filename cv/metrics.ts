/**
 * Cross-sectional signal metrics on a panel sorted by (date, symbol), where `blocks[d]..blocks[d+1]`
 * are the rows of date d. NaN predictions/labels are skipped.
 *
 * - IC: Pearson correlation between the signal and the realised label across symbols on one date;
 *   rank IC: Spearman (Pearson of average ranks). Mean over dates; ICIR = mean / stdev of the daily
 *   series (Grinold & Kahn, *Active Portfolio Management*, ch. 6 "information coefficient").
 * - Classification: log loss and ROC AUC (Mann–Whitney U statistic).
 * - Long/short stream: the daily return of a dollar-neutral, rank-weighted long/short portfolio.
 */
import { averageRanksInto, sortFloat32 } from '../lib/ranks.ts';

/**
 * Average ranks (1-based, ties get their mean rank) of `values` (no NaN: callers skip them; ±0 tie).
 * The pair sort of lib/ranks.ts, then +1: exact for these half-integers, so the ranks are the same
 * numbers a comparator sort gives.
 */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const ranks = new Float64Array(n);
  averageRanksInto(Float64Array.from(values), n, new Float64Array(n), new Int32Array(n), ranks);
  for (let i = 0; i < n; i++) ranks[i]! += 1;
  return ranks;
}

/** Pearson correlation; NaN when fewer than 3 points or a side has zero variance. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n < 3) return NaN;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i]! - mx, b = y[i]! - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  if (sxx <= 0 || syy <= 0) return NaN;
  return sxy / Math.sqrt(sxx * syy);
}

/** Spearman rank correlation (Pearson on average ranks). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return pearson(averageRanks(x), averageRanks(y));
}

/** Row ranges of each date: blocks[d] = first row of date d, blocks[nDates] = nRows. */
export function dateBlocks(dateIdx: Int32Array, nDates: number): Int32Array {
  const blocks = new Int32Array(nDates + 1).fill(-1);
  for (let i = dateIdx.length - 1; i >= 0; i--) blocks[dateIdx[i]!] = i;
  blocks[nDates] = dateIdx.length;
  for (let d = nDates - 1; d >= 0; d--) if (blocks[d] === -1) blocks[d] = blocks[d + 1]!;
  for (let i = 1; i < dateIdx.length; i++) if (dateIdx[i]! < dateIdx[i - 1]!) throw new Error('dateBlocks: rows are not sorted by date');
  return blocks;
}

/** Scratch buffers of one date's rows for the daily loops (typed, reused across dates). */
class DayRows {
  readonly x: Float64Array;
  readonly y: Float64Array;
  private readonly rx: Float64Array;
  private readonly ry: Float64Array;
  private readonly keys: Float64Array;
  private readonly order: Int32Array;
  n = 0;

  constructor(blocks: Int32Array) {
    let max = 0;
    for (let d = 0; d + 1 < blocks.length; d++) max = Math.max(max, blocks[d + 1]! - blocks[d]!);
    [this.x, this.y, this.rx, this.ry, this.keys] = Array.from({ length: 5 }, () => new Float64Array(max));
    this.order = new Int32Array(max);
  }

  /** Holds the rows lo..hi-1 where both `a` and `b` are numbers (and `include` is set); returns how many. */
  collect(lo: number, hi: number, a: ArrayLike<number>, b: ArrayLike<number>, include?: Uint8Array): number {
    let n = 0;
    for (let i = lo; i < hi; i++) {
      if (include && !include[i]) continue;
      const p = a[i]!, l = b[i]!;
      if (Number.isNaN(p) || Number.isNaN(l)) continue;
      this.x[n] = p;
      this.y[n++] = l;
    }
    return (this.n = n);
  }

  /** 1-based average ranks of the first n values of `v` (as {@link averageRanks}). */
  ranks(v: Float64Array, out: Float64Array): Float64Array {
    averageRanksInto(v, this.n, this.keys, this.order, out);
    for (let i = 0; i < this.n; i++) out[i]! += 1;
    return out.subarray(0, this.n);
  }

  /** Spearman of the held rows (Pearson of average ranks, as {@link spearman}). */
  spearman(): number {
    return pearson(this.ranks(this.x, this.rx), this.ranks(this.y, this.ry));
  }

  /** {@link spearman} with the held labels' ranks given (`ry`, length n: the ranks of exactly the held y). */
  spearmanWith(ry: Float64Array): number {
    return pearson(this.ranks(this.x, this.rx), ry);
  }
}

/**
 * One label's 1-based average ranks on every date (rows `blocks[d]..blocks[d+1]`, NaN labels
 * skipped), computed once for the many daily ICs taken against it (every fold, path, trial and
 * feature). {@link dailyIc} given them ranks only the signal on a date whose usable rows are all of
 * the label's usable rows there (the same count, since they are a subset): the very values the
 * label's ranks would be computed from, so every IC is bit for bit the one computed without them.
 * The label must not change after they are built.
 */
export class LabelRanks {
  /** Per date: the rows with a number label. */
  readonly usable: Int32Array;
  private readonly start: Int32Array;
  private readonly values: Float64Array;

  constructor(readonly blocks: Int32Array, readonly label: ArrayLike<number>) {
    const nDates = blocks.length - 1;
    this.usable = new Int32Array(nDates);
    this.start = new Int32Array(nDates + 1);
    this.values = new Float64Array(blocks[nDates]! - blocks[0]!);
    const day = new DayRows(blocks);
    const out = new Float64Array(day.x.length);
    let off = 0;
    for (let d = 0; d < nDates; d++) {
      this.start[d] = off;
      const n = day.collect(blocks[d]!, blocks[d + 1]!, label, label);
      this.usable[d] = n;
      this.values.set(day.ranks(day.y, out), off);
      off += n;
    }
    this.start[nDates] = off;
  }

  /** The ranks of date d's usable labels, in row order. */
  of(d: number): Float64Array {
    return this.values.subarray(this.start[d]!, this.start[d + 1]!);
  }
}

/**
 * Daily IC series: `ic[d]`, `rankIc[d]` (NaN where the date has < 3 usable rows or `rows` excludes it).
 * `labelRanks`, built from these `blocks` and this `label`, saves ranking the label again (the
 * figures are the same to the bit); other ones throw an Error.
 */
export function dailyIc(blocks: Int32Array, pred: ArrayLike<number>, label: ArrayLike<number>, include?: Uint8Array, labelRanks?: LabelRanks): { ic: Float64Array; rankIc: Float64Array } {
  if (labelRanks && (labelRanks.blocks !== blocks || labelRanks.label !== label)) throw new Error('dailyIc: labelRanks were built for other date blocks or another label');
  const nDates = blocks.length - 1;
  const ic = new Float64Array(nDates).fill(NaN);
  const rankIc = new Float64Array(nDates).fill(NaN);
  const day = new DayRows(blocks);
  for (let d = 0; d < nDates; d++) {
    const n = day.collect(blocks[d]!, blocks[d + 1]!, pred, label, include);
    if (n < 3) continue;
    ic[d] = pearson(day.x.subarray(0, n), day.y.subarray(0, n));
    rankIc[d] = labelRanks && n === labelRanks.usable[d] ? day.spearmanWith(labelRanks.of(d)) : day.spearman();
  }
  return { ic, rankIc };
}

/** Mean, sample stdev and count of the finite values. */
export function meanStd(values: ArrayLike<number>): { mean: number; std: number; n: number } {
  let n = 0, s = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) {
    n++;
    s += values[i]!;
  }
  if (n === 0) return { mean: NaN, std: NaN, n };
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) v += (values[i]! - mean) ** 2;
  return { mean, std: n > 1 ? Math.sqrt(v / (n - 1)) : NaN, n };
}

/** Summary of a daily IC series pair: mean IC, mean rank IC, ICIR (mean/stdev of daily rank IC), t-stat, dates. */
export interface IcSummary {
  ic: number;
  rank_ic: number;
  icir: number;
  rank_ic_tstat: number;
  n_dates: number;
}

/** Mean IC, mean rank IC, ICIR = mean/stdev of the daily rank IC, its t-stat ICIR·√n and the number of dates n. */
export function summarizeIc(ic: ArrayLike<number>, rankIc: ArrayLike<number>): IcSummary {
  const a = meanStd(ic), r = meanStd(rankIc);
  const icir = r.std > 0 ? r.mean / r.std : NaN;
  return { ic: a.mean, rank_ic: r.mean, icir, rank_ic_tstat: icir * Math.sqrt(r.n), n_dates: r.n };
}

/**
 * ROC AUC of `score` for the binary target `positive` (1/0): the Mann–Whitney statistic
 * U = Σ over positives of (#negatives scored below + ½ #negatives tied), AUC = U / (n₊·n₋)
 * (Mann & Whitney 1947; Hanley & McNeil 1982), which equals (R₊ − n₊(n₊+1)/2) / (n₊·n₋) with average
 * ranks for ties. Both classes' scores sorted (a radix sort when they are all float32 values, as a
 * model's predictions are; V8's numeric sort otherwise), then one merge pass over them:
 * no ranks of all rows and no binary search per row. U is a sum of half-integers below 2⁵³, exact
 * in any order, so the AUC is the same double as the rank-sum form gives. NaN scores are skipped
 * (±0 tie); NaN when a class is empty.
 */
export function rocAuc(score: ArrayLike<number>, positive: ArrayLike<number>): number {
  let nPos = 0;
  let nNeg = 0;
  for (let i = 0; i < score.length; i++) {
    if (Number.isNaN(score[i]!)) continue;
    if (positive[i]) nPos++;
    else nNeg++;
  }
  if (nPos === 0 || nNeg === 0) return NaN;
  // Scores that are all float32 values (a model's predictions) sort by radix; others natively.
  let f32 = true;
  for (let i = 0; i < score.length && f32; i++) {
    const v = score[i]!;
    f32 = Number.isNaN(v) || Math.fround(v) === v;
  }
  const pos = f32 ? new Float32Array(nPos) : new Float64Array(nPos);
  const neg = f32 ? new Float32Array(nNeg) : new Float64Array(nNeg);
  for (let i = 0, a = 0, b = 0; i < score.length; i++) {
    const v = score[i]!;
    if (Number.isNaN(v)) continue;
    if (positive[i]) pos[a++] = v;
    else neg[b++] = v;
  }
  if (pos instanceof Float32Array && neg instanceof Float32Array) {
    sortFloat32(pos);
    sortFloat32(neg);
  } else {
    pos.sort();
    neg.sort();
  }
  let u = 0;
  let below = 0;
  for (let a = 0; a < nPos; ) {
    const v = pos[a]!;
    let e = a + 1;
    while (e < nPos && pos[e] === v) e++;
    while (below < nNeg && neg[below]! < v) below++;
    let tied = below;
    while (tied < nNeg && neg[tied] === v) tied++;
    u += (e - a) * (below + (tied - below) / 2);
    a = e;
  }
  return u / (nPos * nNeg);
}

/**
 * Daily return of a dollar-neutral, rank-weighted long/short portfolio (the trial return stream).
 * On each date d with ≥ 3 usable rows: w_i = (rank_i − mean rank) / Σ|rank_j − mean rank|
 * (Σw = 0, Σ|w| = 1, i.e. gross exposure 1), return_d = Σ w_i · r_i where r_i = `retDaily[i]`, the
 * realised forward return per bar of holding (the label's log return divided by its length in bars).
 * NaN on dates without signal.
 */
export function longShortReturns(blocks: Int32Array, pred: ArrayLike<number>, retDaily: ArrayLike<number>): Float64Array {
  const nDates = blocks.length - 1;
  const out = new Float64Array(nDates).fill(NaN);
  const day = new DayRows(blocks);
  const r1 = new Float64Array(day.x.length);
  for (let d = 0; d < nDates; d++) {
    if (day.collect(blocks[d]!, blocks[d + 1]!, pred, retDaily) < 3) continue;
    const ranks = day.ranks(day.x, r1);
    const rs = day.y;
    const m = (ranks.length + 1) / 2;
    let gross = 0;
    for (let i = 0; i < ranks.length; i++) gross += Math.abs(ranks[i]! - m);
    if (gross === 0) continue;
    let ret = 0;
    for (let i = 0; i < ranks.length; i++) ret += ((ranks[i]! - m) / gross) * rs[i]!;
    out[d] = ret;
  }
  return out;
}

/**
 * Annualised Sharpe ratio √(bars per year) · mean/stdev of a per-bar return series (NaNs skipped;
 * NaN when the stdev is 0 or undefined). The bars per year come from the series' calendar
 * (calendar/calendar.ts `calendarFor(name).sqrtBarsPerYear`).
 */
export function annualizedSharpe(perBar: ArrayLike<number>, calendar: { readonly sqrtBarsPerYear: number }): number {
  const s = meanStd(perBar);
  return s.std > 0 ? (s.mean / s.std) * calendar.sqrtBarsPerYear : NaN;
}
