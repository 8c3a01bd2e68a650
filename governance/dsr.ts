import { moments, normInv } from './stats.ts';
import { probabilisticSharpe } from './psr.ts';

/** Euler–Mascheroni constant γ. */
export const EULER_GAMMA = 0.5772156649015329;

/**
 * Expected maximum Sharpe ratio of N independent trials under the null of zero skill
 * (Bailey & López de Prado 2014, eq. for SR0):
 *   SR0 = √V[SR_n] · ( (1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)) ).
 * `varTrialSr` is the variance of the trials' per-period Sharpe ratios. Returns 0 for N = 1.
 * Throws RangeError for N < 1 or a negative variance.
 */
export function expectedMaxSharpe(nTrials: number, varTrialSr: number): number {
  if (!(nTrials >= 1)) throw new RangeError(`expectedMaxSharpe: number of trials must be >= 1, got ${nTrials}`);
  if (!(varTrialSr >= 0)) throw new RangeError(`expectedMaxSharpe: variance of trial Sharpe ratios must be >= 0, got ${varTrialSr}`);
  if (nTrials === 1) return 0;
  return Math.sqrt(varTrialSr) * ((1 - EULER_GAMMA) * normInv(1 - 1 / nTrials) + EULER_GAMMA * normInv(1 - 1 / (nTrials * Math.E)));
}

/** Result of {@link deflatedSharpe}. All Sharpe ratios per period (daily). */
export interface DsrResult {
  dsr: number;
  sr: number;
  sr0: number;
  n_trials: number;
  var_trial_sr: number;
  t: number;
  skew: number;
  kurt: number;
}

/**
 * Deflated Sharpe Ratio (Bailey & López de Prado 2014): DSR = PSR(SR0), the probability that the
 * true Sharpe ratio exceeds the expected maximum of N unskilled trials, given the selected strategy's
 * daily returns (skewness, kurtosis, length T) and the trial ledger (N, V[SR_n]).
 * Worked example of the paper: SR = 2.5/√250, T = 1250, γ3 = −3, γ4 = 10, N = 100, V = 0.5/250 → ≈ 0.9004.
 */
export function deflatedSharpe(returns: ArrayLike<number>, nTrials: number, varTrialSr: number): DsrResult {
  const m = moments(returns);
  const sr = m.std > 0 ? m.mean / m.std : NaN;
  const sr0 = expectedMaxSharpe(nTrials, varTrialSr);
  const dsr = probabilisticSharpe({ sr, srBenchmark: sr0, n: m.n, skew: m.skew, kurt: m.kurt });
  return { dsr, sr, sr0, n_trials: nTrials, var_trial_sr: varTrialSr, t: m.n, skew: m.skew, kurt: m.kurt };
}

/** Per-period Sharpe ratio of each trial's return stream and their sample variance (n − 1). */
export function trialSharpeStats(trials: ReadonlyArray<ArrayLike<number>>): { sharpes: number[]; variance: number } {
  const sharpes = trials.map((r) => {
    const m = moments(r);
    return m.std > 0 ? m.mean / m.std : NaN;
  });
  const fin = sharpes.filter(Number.isFinite);
  const v = fin.length >= 2 ? moments(fin).std ** 2 : 0;
  return { sharpes, variance: v };
}
