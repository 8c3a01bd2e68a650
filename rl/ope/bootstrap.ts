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
 * Episode-level nonparametric bootstrap (Efron): draws `resamples` multiplicity vectors (n draws with
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

/** Percentile interval at two-sided `level` around `estimate` from bootstrap replicates. */
export function percentileInterval(estimate: number, replicates: number[], level: number): Interval {
  const xs = replicates.filter(Number.isFinite).sort((a, b) => a - b);
  const m = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const se = Math.sqrt(xs.reduce((a, b) => a + (b - m) * (b - m), 0) / Math.max(1, xs.length - 1));
  const alpha = (1 - level) / 2;
  return { estimate, lcb: quantileSorted(xs, alpha), ucb: quantileSorted(xs, 1 - alpha), se };
}
