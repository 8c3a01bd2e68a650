import { moments, normCdf } from './stats.ts';

/** Inputs of the Probabilistic Sharpe Ratio, all per period (daily), NOT annualised. */
export interface PsrInput {
  /** Observed Sharpe ratio per period (mean / std of the return series). */
  sr: number;
  /** Benchmark Sharpe ratio SR* per period. */
  srBenchmark: number;
  /** Number of return observations T. */
  n: number;
  /** Skewness γ3 of the returns. */
  skew: number;
  /** Kurtosis γ4 of the returns (NOT excess: normal = 3). */
  kurt: number;
}

/**
 * Probabilistic Sharpe Ratio (Bailey & López de Prado 2012; eq. in Bailey & López de Prado 2014,
 * "The Deflated Sharpe Ratio"):
 *   PSR(SR*) = Φ( (SR − SR*)·√(T − 1) / √(1 − γ3·SR + (γ4 − 1)/4 · SR²) ).
 * Sharpe ratios are per period (daily for daily returns). Returns a probability in [0, 1];
 * NaN when T < 2 or the variance term is not positive.
 */
export function probabilisticSharpe(p: PsrInput): number {
  if (!(p.n >= 2) || !Number.isFinite(p.sr)) return NaN;
  const v = 1 - p.skew * p.sr + ((p.kurt - 1) / 4) * p.sr * p.sr;
  if (!(v > 0)) return NaN;
  return normCdf(((p.sr - p.srBenchmark) * Math.sqrt(p.n - 1)) / Math.sqrt(v));
}

/** PSR of a daily return series against a per-period benchmark SR* (default 0). */
export function psrOfReturns(returns: ArrayLike<number>, srBenchmark = 0): { psr: number; sr: number; n: number; skew: number; kurt: number } {
  const m = moments(returns);
  const sr = m.std > 0 ? m.mean / m.std : NaN;
  return { psr: probabilisticSharpe({ sr, srBenchmark, n: m.n, skew: m.skew, kurt: m.kurt }), sr, n: m.n, skew: m.skew, kurt: m.kurt };
}
