/**
 * Heston (1993) parameters fitted to NIFTY data by regression on the discretised variance equation,
 * with India VIX² as the observed variance: v_t = (VIX_t/100)².
 *
 *   Euler: v_{t+1} − v_t = κ(θ − v_t)Δ + ξ√v_t·√Δ·ε_t   ⇒   Δv/√v_t = (κθΔ)·(1/√v_t) − (κΔ)·√v_t + ξ√Δ·ε_t
 *
 * OLS of y = Δv/√v on (1/√v, √v) without intercept gives a = κθΔ and b = −κΔ, so κ = −b/Δ,
 * θ = a/(κΔ), ξ = std(residual)/√Δ; ρ = correlation of the variance residuals with the NIFTY
 * log-return shocks r_t/√(v_t Δ); v₀ = the last v. Δ = one session of calendar nse
 * (calendar/calendar.ts: 1 / bars per year).
 * Caveats, stated: VIX² is the market's 30-day risk-neutral expected variance, not the instantaneous
 * variance, so θ is a risk-neutral level and κ, ξ are those of a smoothed series (ξ understated).
 * Dates are matched (both series must have the date). Throws with fewer than 60 matched dates.
 */
import { calendarFor } from '../../calendar/calendar.ts';
import type { DailyClose } from '../data/index-series.ts';
import type { HestonParams } from './simulate.ts';

/** Fit result with the inputs' coverage. */
export interface HestonFit extends HestonParams {
  n: number;
  from: string;
  to: string;
  /** Feller ratio 2κθ/ξ² (≥ 1: v stays positive in continuous time). */
  feller: number;
}

/** Fits Heston on the dates `from`..`to` (inclusive) of the NIFTY and VIX close series. */
export function fitHestonToVix(nifty: readonly DailyClose[], vix: readonly DailyClose[], from: string, to: string, dt = calendarFor('nse').years(1)): HestonFit {
  const vmap = new Map(vix.map((c) => [c.date, c.close]));
  const pts = nifty.filter((c) => c.date >= from && c.date <= to && vmap.has(c.date) && vmap.get(c.date)! > 0).map((c) => ({ date: c.date, s: c.close, v: (vmap.get(c.date)! / 100) ** 2 }));
  if (pts.length < 60) throw new RangeError(`fitHestonToVix: only ${pts.length} dates with both NIFTY and VIX in ${from}..${to}`);
  let sxx = 0, sxz = 0, szz = 0, sxy = 0, szy = 0;
  const rows: Array<{ x: number; z: number; y: number; ret: number; v: number }> = [];
  for (let i = 1; i < pts.length; i++) {
    const v = pts[i - 1]!.v;
    const r = Math.sqrt(v);
    const x = 1 / r;
    const z = r;
    const y = (pts[i]!.v - v) / r;
    rows.push({ x, z, y, ret: Math.log(pts[i]!.s / pts[i - 1]!.s), v });
    sxx += x * x; sxz += x * z; szz += z * z; sxy += x * y; szy += z * y;
  }
  const det = sxx * szz - sxz * sxz;
  const a = (sxy * szz - szy * sxz) / det;
  const b = (szy * sxx - sxy * sxz) / det;
  const kappa = -b / dt;
  const theta = a / (kappa * dt);
  const res = rows.map((q) => q.y - a * q.x - b * q.z);
  const mr = res.reduce((s, e) => s + e, 0) / res.length;
  const sdr = Math.sqrt(res.reduce((s, e) => s + (e - mr) ** 2, 0) / (res.length - 1));
  const xi = sdr / Math.sqrt(dt);
  const shocks = rows.map((q) => q.ret / Math.sqrt(q.v * dt));
  const ms = shocks.reduce((s, e) => s + e, 0) / shocks.length;
  let cov = 0, vs = 0;
  for (let i = 0; i < res.length; i++) {
    cov += (res[i]! - mr) * (shocks[i]! - ms);
    vs += (shocks[i]! - ms) ** 2;
  }
  const rho = cov / Math.sqrt(vs * res.reduce((s, e) => s + (e - mr) ** 2, 0));
  return { kappa, theta, xi, rho, v0: pts[pts.length - 1]!.v, n: pts.length, from: pts[0]!.date, to: pts[pts.length - 1]!.date, feller: (2 * kappa * theta) / (xi * xi) };
}
