/**
 * Small time-series statistics used by the options features and strategies. All are trailing
 * (point in time): a value at index i uses elements ≤ i only.
 */

/** Arithmetic mean (NaN for an empty input). */
export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
}

/** Sample standard deviation (n − 1), NaN for fewer than 2 values. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/**
 * Trailing z-score of the last element over the last `window` elements (itself included):
 * (x_i − mean)/sample std. NaN when fewer than `window` values, any is non-finite, or the std is 0.
 */
export function trailingZ(xs: readonly number[], window: number): number {
  if (xs.length < window) return NaN;
  const w = xs.slice(-window);
  if (!w.every(Number.isFinite)) return NaN;
  const sd = sampleStd(w);
  return sd > 0 ? (w[w.length - 1]! - mean(w)) / sd : NaN;
}

/** Daily log returns ln(c_i/c_{i−1}) of a close series (length n − 1). */
export function logReturns(closes: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < closes.length; i++) out.push(Math.log(closes[i]! / closes[i - 1]!));
  return out;
}

/** Empirical quantile (linear interpolation between order statistics, type 7); NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  return s[lo]! + (h - lo) * ((s[Math.min(lo + 1, s.length - 1)]! - s[lo]!));
}

/**
 * CVaR (expected shortfall) at level α of a P&L sample: minus the mean of the worst ⌈(1 − α)·n⌉
 * outcomes (Rockafellar & Uryasev 2000), so a positive number is a loss. NaN for an empty sample.
 */
export function cvar(pnl: readonly number[], alpha = 0.95): number {
  if (pnl.length === 0) return NaN;
  const s = [...pnl].sort((a, b) => a - b);
  const n = Math.max(1, Math.ceil((1 - alpha) * s.length));
  return -mean(s.slice(0, n));
}
