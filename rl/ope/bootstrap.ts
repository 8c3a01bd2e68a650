import { Rng } from '../rng.ts';

/** Point estimate with a percentile-bootstrap confidence interval. */
export interface Interval {
  estimate: number;
  lcb: number;
  ucb: number;
  /** standard deviation of the bootstrap replicates. */
  se: number;
}

/** Linear-interpolated quantile of a sorted array, q in [0, 1]. */
export function quantileSorted(xs: ArrayLike<number>, q: number): number {
  const n = xs.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return xs[lo]! + (xs[hi]! - xs[lo]!) * (pos - lo);
}

/**
 * Episode-level nonparametric bootstrap (Efron), for independent episodes only (episodes of CPCV
 * paths share dates: use {@link bootstrapDateBlocks}): draws `resamples` multiplicity vectors (n draws with
 * replacement from n episodes) and calls `stat(weights)` for each. Returns the replicate values of
 * every named statistic. Deterministic for a seed.
 */
export function bootstrapEpisodes<K extends string>(
  nEpisodes: number,
  resamples: number,
  seed: number,
  stat: (weights: Float64Array) => Record<K, number>,
  onProgress?: (done: number) => void,
): Record<K, number[]> {
  const rng = new Rng(seed);
  const out = {} as Record<K, number[]>;
  const w = new Float64Array(nEpisodes);
  for (let b = 0; b < resamples; b++) {
    w.fill(0);
    for (let j = 0; j < nEpisodes; j++) w[rng.int(nEpisodes)] += 1;
    const r = stat(w);
    for (const key of Object.keys(r) as K[]) (out[key] ??= []).push(r[key]);
    onProgress?.(b + 1);
  }
  return out;
}

/** Date blocks of the episodes: `of[i]` is the time-ordered index (0..n−1) of episode i's start date. */
export interface DateGroups {
  of: Int32Array;
  n: number;
  /** Mean block length of the stationary bootstrap, in start dates. */
  meanBlock: number;
}

/**
 * Groups episodes by start date (all paths' episodes of one date together), dates in time order.
 * `meanBlockDays` is the mean block length in trading days, converted to start dates with the mean
 * spacing of consecutive start dates (episodes of H days start every H days); `dayIndex` gives a
 * date's position on the trading calendar. Throws on an empty list.
 */
export function dateGroups(startDates: readonly string[], meanBlockDays: number, dayIndex: (date: string) => number): DateGroups {
  if (!startDates.length) throw new Error('date blocks need at least one episode');
  const dates = [...new Set(startDates)].sort();
  const idx = new Map(dates.map((d, k) => [d, k]));
  const span = dates.length > 1 ? (dayIndex(dates[dates.length - 1]!) - dayIndex(dates[0]!)) / (dates.length - 1) : 1;
  return { of: Int32Array.from(startDates, (d) => idx.get(d)!), n: dates.length, meanBlock: Math.max(1, meanBlockDays / Math.max(1, span)) };
}

/**
 * Stationary (date-block) bootstrap of Politis & Romano (1994, JASA 89:1303): a resample is n start
 * dates drawn as blocks of consecutive dates with random starts and geometric lengths of mean
 * `meanBlock` (wrapping circularly), so serial dependence within a block is kept; every episode of a
 * drawn date (all CPCV paths, which share the date's market moves) comes along with it. Episode i's
 * multiplicity is the number of times its date was drawn. Calls `stat(weights)` per resample and
 * returns the replicate values of every named statistic; deterministic for a seed.
 */
export function bootstrapDateBlocks<K extends string>(
  groups: DateGroups,
  resamples: number,
  seed: number,
  stat: (weights: Float64Array) => Record<K, number>,
  onProgress?: (done: number) => void,
): Record<K, number[]> {
  const rng = new Rng(seed);
  const out = {} as Record<K, number[]>;
  const G = groups.n;
  const draws = new Float64Array(G);
  const w = new Float64Array(groups.of.length);
  const pNew = 1 / groups.meanBlock;
  for (let b = 0; b < resamples; b++) {
    draws.fill(0);
    let pos = rng.int(G);
    for (let j = 0; j < G; j++) {
      if (j > 0) pos = rng.next() < pNew ? rng.int(G) : (pos + 1) % G;
      draws[pos] += 1;
    }
    for (let i = 0; i < w.length; i++) w[i] = draws[groups.of[i]!]!;
    const r = stat(w);
    for (const key of Object.keys(r) as K[]) (out[key] ??= []).push(r[key]);
    onProgress?.(b + 1);
  }
  return out;
}

/** Percentile interval at two-sided `level` around `estimate` from bootstrap replicates. */
export function percentileInterval(estimate: number, replicates: number[], level: number): Interval {
  const xs = replicates.filter(Number.isFinite).sort((a, b) => a - b);
  const m = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const se = Math.sqrt(xs.reduce((a, b) => a + (b - m) * (b - m), 0) / Math.max(1, xs.length - 1));
  const alpha = (1 - level) / 2;
  return { estimate, lcb: quantileSorted(xs, alpha), ucb: quantileSorted(xs, 1 - alpha), se };
}
