/**
 * Black (1976) prices and greeks of European options on a forward F.
 *
 *   d1 = (ln(F/K) + σ²T/2)/(σ√T),  d2 = d1 − σ√T
 *   C = D·[F·Φ(d1) − K·Φ(d2)],     P = D·[K·Φ(−d2) − F·Φ(−d1)]          (Black 1976, eq. 13–14)
 *
 * Units: F and K in index points (INR per unit of the index), T in years (ACT/365, options/pricing/time.ts),
 * σ annualised (0.15 = 15 vol points), D the discount factor to expiry. Prices are INR per unit of
 * the index (one NIFTY contract = lot size units). The out-of-the-money side is evaluated directly
 * and the in-the-money side through put–call parity C − P = D·(F − K), which avoids the loss of
 * precision of F·Φ(d1) − K·Φ(d2) deep in the money.
 */
import { normCdf, normPdf } from './normal.ts';
import type { OptionType } from '../data/chain.ts';

/** Inputs of a Black-76 valuation. */
export interface Black76Input {
  type: OptionType;
  /** Forward of the underlying to the option's expiry, index points. */
  forward: number;
  strike: number;
  /** Years to expiry (> 0 for a time value). */
  t: number;
  /** Annualised volatility (decimal). */
  vol: number;
  /** Discount factor to expiry, in (0, 1]. */
  df: number;
}

/** Undiscounted price of the out-of-the-money option at strike K (call when K ≥ F, else put). */
export function otmUndiscounted(forward: number, strike: number, totalVol: number): number {
  if (totalVol <= 0) return 0;
  const d1 = (Math.log(forward / strike) + 0.5 * totalVol * totalVol) / totalVol;
  const d2 = d1 - totalVol;
  return strike >= forward ? forward * normCdf(d1) - strike * normCdf(d2) : strike * normCdf(-d2) - forward * normCdf(-d1);
}

/**
 * Black-76 price, INR per unit of the index. At σ√T = 0 returns the discounted intrinsic value.
 * Throws RangeError for non-positive F or K, negative T or σ, or D outside (0, 1.5].
 */
export function black76Price(x: Black76Input): number {
  check(x);
  const s = x.vol * Math.sqrt(x.t);
  const otm = otmUndiscounted(x.forward, x.strike, s);
  const otmIsCall = x.strike >= x.forward;
  const parity = x.forward - x.strike; // C − P undiscounted
  const und = (x.type === 'C') === otmIsCall ? otm : x.type === 'C' ? otm + parity : otm - parity;
  return x.df * und;
}

/** Black-76 greeks of one option, per unit of the index. */
export interface Greeks {
  /** ∂V/∂F: D·Φ(d1) (call), −D·Φ(−d1) (put); dimensionless. Spot delta = (F/S)·∂V/∂F under constant carry. */
  delta: number;
  /** ∂²V/∂F² = D·φ(d1)/(F·σ√T); per index point. */
  gamma: number;
  /** ∂V/∂σ = D·F·φ(d1)·√T; INR per 1.00 of vol (divide by 100 for INR per vol point). */
  vega: number;
  /** ∂V/∂t at fixed F, σ (calendar time): r·V − D·F·φ(d1)·σ/(2√T); INR per year (÷365 per calendar day). */
  theta: number;
  d1: number;
  d2: number;
}

/**
 * Black-76 greeks (Hull, *Options, Futures and Other Derivatives*, §18.8 for futures options).
 * `rate` is the continuously-compounded rate with D = e^{−rT} (needed for theta only).
 * Returns NaN greeks (not zeros) when T = 0 or σ = 0, where they are not defined.
 */
export function black76Greeks(x: Black76Input, rate: number): Greeks {
  check(x);
  const sq = Math.sqrt(x.t);
  const s = x.vol * sq;
  if (!(s > 0)) return { delta: NaN, gamma: NaN, vega: NaN, theta: NaN, d1: NaN, d2: NaN };
  const d1 = (Math.log(x.forward / x.strike) + 0.5 * s * s) / s;
  const d2 = d1 - s;
  const pdf = normPdf(d1);
  const delta = x.type === 'C' ? x.df * normCdf(d1) : -x.df * normCdf(-d1);
  const gamma = (x.df * pdf) / (x.forward * s);
  const vega = x.df * x.forward * pdf * sq;
  const theta = rate * black76Price(x) - (x.df * x.forward * pdf * x.vol) / (2 * sq);
  return { delta, gamma, vega, theta, d1, d2 };
}

function check(x: Black76Input): void {
  if (!(x.forward > 0) || !(x.strike > 0)) throw new RangeError(`black76: forward and strike must be > 0 (F=${x.forward}, K=${x.strike})`);
  if (!(x.t >= 0) || !(x.vol >= 0)) throw new RangeError(`black76: t and vol must be ≥ 0 (t=${x.t}, vol=${x.vol})`);
  if (!(x.df > 0 && x.df <= 1.5)) throw new RangeError(`black76: discount factor must lie in (0, 1.5] (df=${x.df})`);
}

/**
 * Black–Scholes–Merton price of a European option on spot S with rate r and continuous yield q,
 * through Black-76 with F = S·e^{(r−q)T}, D = e^{−rT} (Hull §17.4 / §18.8).
 */
export function blackScholesPrice(type: OptionType, spot: number, strike: number, t: number, vol: number, rate: number, dividendYield = 0): number {
  const forward = spot * Math.exp((rate - dividendYield) * t);
  return black76Price({ type, forward, strike, t, vol, df: Math.exp(-rate * t) });
}
