import { createRequire } from 'node:module';

/** Minimal typed view of the parts of `jstat` (no bundled types) that governance uses. */
interface JStatNormal {
  cdf(x: number, mean: number, std: number): number;
  inv(p: number, mean: number, std: number): number;
}
const { jStat } = createRequire(import.meta.url)('jstat') as { jStat: { normal: JStatNormal } };

/** Standard normal CDF Φ(x) (jstat). */
export function normCdf(x: number): number {
  return jStat.normal.cdf(x, 0, 1);
}

/** Standard normal quantile Φ⁻¹(p), p ∈ (0, 1) (jstat). */
export function normInv(p: number): number {
  return jStat.normal.inv(p, 0, 1);
}

/** Sample moments of a return series (NaN entries skipped). */
export interface Moments {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1 denominator). */
  std: number;
  /** Skewness γ3 (population moment ratio m3 / m2^1.5). */
  skew: number;
  /** Kurtosis γ4, NOT excess (normal = 3), m4 / m2². */
  kurt: number;
}

/**
 * Mean, sample std, skewness and (non-excess) kurtosis of `x`, skipping NaN.
 * Skew/kurtosis use the population moment ratios, as in Bailey & López de Prado (2014).
 * Returns NaN fields when fewer than 2 finite values (std 0 gives skew 0, kurt 3).
 */
export function moments(x: ArrayLike<number>): Moments {
  let n = 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (Number.isFinite(v)) {
      n++;
      s += v;
    }
  }
  if (n < 2) return { n, mean: n ? s : NaN, std: NaN, skew: NaN, kurt: NaN };
  const mean = s / n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) continue;
    const d = v - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  const std = Math.sqrt((m2 * n) / (n - 1));
  if (m2 <= 0) return { n, mean, std: 0, skew: 0, kurt: 3 };
  return { n, mean, std, skew: m3 / Math.pow(m2, 1.5), kurt: m4 / (m2 * m2) };
}

/** Per-period (non-annualised) Sharpe ratio mean/std of `x`; NaN when std is 0 or n < 2. */
export function sharpe(x: ArrayLike<number>): number {
  const m = moments(x);
  return m.std > 0 ? m.mean / m.std : NaN;
}

/** Linear-interpolated quantile of a numeric array (q ∈ [0,1]); NaN for an empty array. */
export function quantile(values: readonly number[], q: number): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const pos = (v.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo]! + (v[hi]! - v[lo]!) * (pos - lo);
}

/** Median of the finite values (NaN if none). */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}
