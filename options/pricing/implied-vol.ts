/**
 * Black-76 implied volatility: the σ with black76Price(σ) = observed price.
 *
 * Method: the price is converted to its undiscounted out-of-the-money equivalent
 * q = p/D − max(±(F − K), 0) (put–call parity), which is strictly increasing in σ from 0 to its
 * upper bound (F for an OTM call, K for an OTM put). The root is bracketed in [σ_min, σ_max]
 * and found by Newton steps on the vega, each step accepted only when it stays inside the current
 * bracket (otherwise bisection), with an iteration cap; when the cap is hit, Brent's method
 * (Brent 1973, ch. 4) finishes on the remaining bracket. Convergence: |q(σ) − q| ≤ `priceTol`.
 * No root → NaN with a reason: `zero_time` (T ≤ 0), `non_positive_price`, `below_intrinsic`
 * (p ≤ D·intrinsic: no positive σ), `above_upper_bound` (p ≥ D·F for a call / D·K for a put),
 * `above_vol_cap` (the root lies above σ_max), `no_convergence`.
 */
import { otmUndiscounted } from './black76.ts';
import type { OptionType } from '../data/chain.ts';

/** Why an implied volatility does not exist (or was not found). */
export type IvFailure = 'zero_time' | 'non_positive_price' | 'below_intrinsic' | 'above_upper_bound' | 'above_vol_cap' | 'no_convergence';

/** Result of one inversion. */
export interface IvResult {
  /** Annualised implied vol (decimal), NaN when `reason` is set. */
  iv: number;
  reason: IvFailure | null;
  /** Newton + Brent iterations used. */
  iterations: number;
  method: 'newton' | 'brent' | null;
}

/** Solver settings. */
export interface IvOptions {
  /** Lower vol bound (decimal), default 1e-4. */
  volMin?: number;
  /** Upper vol bound (decimal), default 5 (500 vol points). */
  volMax?: number;
  /** Absolute tolerance on the undiscounted price, INR, default 1e-10. */
  priceTol?: number;
  /** Newton iteration cap, default 50. */
  maxNewton?: number;
  /** Brent iteration cap, default 200. */
  maxBrent?: number;
}

const fail = (reason: IvFailure, iterations = 0): IvResult => ({ iv: NaN, reason, iterations, method: null });

/**
 * Implied vol of a Black-76 price `price` (INR per unit of the index) for an option of `type`
 * on forward `forward` and strike `strike`, `t` years to expiry and discount factor `df`.
 * Throws RangeError for non-positive forward/strike/df; every other failure is a NaN with a reason.
 */
export function impliedVol(type: OptionType, price: number, forward: number, strike: number, t: number, df: number, opts: IvOptions = {}): IvResult {
  if (!(forward > 0) || !(strike > 0) || !(df > 0)) throw new RangeError(`impliedVol: forward, strike and df must be > 0 (F=${forward}, K=${strike}, D=${df})`);
  if (!(t > 0)) return fail('zero_time');
  if (!(price > 0)) return fail('non_positive_price');
  const und = price / df;
  const otmIsCall = strike >= forward;
  const parity = forward - strike;
  const q = (type === 'C') === otmIsCall ? und : type === 'C' ? und - parity : und + parity;
  const upper = otmIsCall ? forward : strike;
  if (!(q > 0)) return fail('below_intrinsic');
  if (q >= upper) return fail('above_upper_bound');
  return solveOtm(q, forward, strike, t, opts);
}

/** Root of otmUndiscounted(F, K, σ√T) = q for 0 < q < upper bound (the kernel of {@link impliedVol}). */
function solveOtm(q: number, forward: number, strike: number, t: number, opts: IvOptions): IvResult {
  const volMin = opts.volMin ?? 1e-4;
  const volMax = opts.volMax ?? 5;
  const tol = opts.priceTol ?? 1e-10;
  const maxNewton = opts.maxNewton ?? 50;
  const maxBrent = opts.maxBrent ?? 200;
  const sq = Math.sqrt(t);
  const f = (v: number) => otmUndiscounted(forward, strike, v * sq) - q;
  let lo = volMin;
  let hi = volMax;
  const flo = f(lo);
  if (flo >= 0) return Math.abs(flo) <= tol ? { iv: lo, reason: null, iterations: 0, method: 'newton' } : fail('below_intrinsic');
  const fhi = f(hi);
  if (fhi < 0) return fail('above_vol_cap');
  // Initial guess: Brenner–Subrahmanyam ATM approximation σ ≈ √(2π/T)·q/F, clipped into the bracket.
  let v = Math.min(Math.max((Math.sqrt((2 * Math.PI) / t) * q) / forward, lo * 2), hi / 2);
  let it = 0;
  for (; it < maxNewton; it++) {
    const fv = f(v);
    if (Math.abs(fv) <= tol) return { iv: v, reason: null, iterations: it + 1, method: 'newton' };
    if (fv < 0) lo = v;
    else hi = v;
    const s = v * sq;
    const d1 = (Math.log(forward / strike) + 0.5 * s * s) / s;
    const vega = forward * Math.exp(-0.5 * d1 * d1) / Math.sqrt(2 * Math.PI) * sq;
    let next = vega > 0 ? v - fv / vega : NaN;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (hi - lo <= 1e-15 * hi) break;
    v = next;
  }
  const b = brent(f, lo, hi, tol, maxBrent);
  if (b.root === null) return fail('no_convergence', it + b.iterations);
  return { iv: b.root, reason: null, iterations: it + b.iterations, method: 'brent' };
}

/**
 * Brent's root finder on [a, b] with f(a) < 0 < f(b) (Brent 1973, ch. 4; the zeroin algorithm).
 * Stops when |f(x)| ≤ `ftol`; returns root null when the cap is reached first.
 */
export function brent(f: (x: number) => number, a: number, b: number, ftol: number, maxIter: number): { root: number | null; iterations: number } {
  let fa = f(a);
  let fb = f(b);
  if (fa * fb > 0) throw new RangeError(`brent: the interval [${a}, ${b}] does not bracket a root (f(a)=${fa}, f(b)=${fb})`);
  let c = a;
  let fc = fa;
  let d = b - a;
  let e = d;
  for (let i = 1; i <= maxIter; i++) {
    if ((fb > 0 && fc > 0) || (fb < 0 && fc < 0)) {
      c = a;
      fc = fa;
      d = b - a;
      e = d;
    }
    if (Math.abs(fc) < Math.abs(fb)) {
      a = b; b = c; c = a;
      fa = fb; fb = fc; fc = fa;
    }
    const tol1 = 2 * Number.EPSILON * Math.abs(b);
    const xm = 0.5 * (c - b);
    if (Math.abs(fb) <= ftol) return { root: b, iterations: i };
    if (Math.abs(xm) <= tol1) return { root: null, iterations: i };
    if (Math.abs(e) >= tol1 && Math.abs(fa) > Math.abs(fb)) {
      const s = fb / fa;
      let p: number;
      let qq: number;
      if (a === c) {
        p = 2 * xm * s;
        qq = 1 - s;
      } else {
        const qa = fa / fc;
        const r = fb / fc;
        p = s * (2 * xm * qa * (qa - r) - (b - a) * (r - 1));
        qq = (qa - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) qq = -qq;
      p = Math.abs(p);
      if (2 * p < Math.min(3 * xm * qq - Math.abs(tol1 * qq), Math.abs(e * qq))) {
        e = d;
        d = p / qq;
      } else {
        d = xm;
        e = d;
      }
    } else {
      d = xm;
      e = d;
    }
    a = b;
    fa = fb;
    b += Math.abs(d) > tol1 ? d : xm > 0 ? tol1 : -tol1;
    fb = f(b);
  }
  return { root: null, iterations: maxIter };
}
