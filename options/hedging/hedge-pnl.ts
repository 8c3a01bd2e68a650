/**
 * Hedged P&L of a SHORT ATM straddle (strike K) on a discrete path S₀ … S_N, hedged with δᵢ units of
 * the underlying held over (tᵢ, tᵢ₊₁], proportional costs c on every change of the hedge
 * (including the final unwind), no financing (zero rate, as in Buehler et al. 2019's experiments):
 *
 *   P&L = premium − |S_N − K| + Σᵢ δᵢ·(S_{i+1} − Sᵢ) − c·Σᵢ |δᵢ − δᵢ₋₁|·Sᵢ − c·|δ_{N−1}|·S_N,   δ₋₁ = 0.
 *
 * Units: whatever units S is in (paths are normalised to S₀ = 1, so P&L is a fraction of notional).
 */
import { normCdf } from '../pricing/normal.ts';

/** A hedger: the hedge δᵢ at step i from (ln(Sᵢ/K), fraction of time left, previous hedge). */
export type Hedger = (logMoneyness: number, timeLeft: number, prevDelta: number, step: number) => number;

/** Black–Scholes ATM straddle price (zero rate): S·(2Φ(σ√T/2) − 1) at K = S, general K via d1, d2. */
export function bsStraddle(s: number, k: number, sigma: number, t: number): number {
  const sq = sigma * Math.sqrt(t);
  const d1 = (Math.log(s / k) + 0.5 * sq * sq) / sq;
  const c = s * normCdf(d1) - k * normCdf(d1 - sq);
  return 2 * c - (s - k);
}

/** Black–Scholes delta hedge of a short straddle (hold +Δ_straddle = 2Φ(d1) − 1) with constant vol σ over `t` years. */
export function bsDeltaHedger(sigma: number, t: number): Hedger {
  return (x, tau) => {
    const sq = sigma * Math.sqrt(Math.max(tau * t, 1e-12));
    return 2 * normCdf((x + 0.5 * sq * sq) / sq) - 1;
  };
}

/** P&L of one path (`path` = N + 1 prices) under `hedger` (see module formula). */
export function shortStraddlePnl(path: ArrayLike<number>, strike: number, premium: number, hedger: Hedger, costRate: number): number {
  const N = path.length - 1;
  let pnl = premium - Math.abs(path[N]! - strike);
  let prev = 0;
  for (let i = 0; i < N; i++) {
    const d = hedger(Math.log(path[i]! / strike), (N - i) / N, prev, i);
    pnl += d * (path[i + 1]! - path[i]!) - costRate * Math.abs(d - prev) * path[i]!;
    prev = d;
  }
  return pnl - costRate * Math.abs(prev) * path[N]!;
}
