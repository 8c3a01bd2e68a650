/**
 * Raw SVI fit of one expiry slice of the real chain, with residuals in vol points and QC flags.
 *
 * Points: the OTM smile (puts below F, calls at/above; clean quotes only, pricing/chain-iv.ts) of contracts with an IV, a price ≥ `minPrice`
 * (the 0.05-tick floor makes far-wing IVs meaningless) and |Black-76 delta| ≥ `minDelta`.
 * Weights: Black-76 vega / max vega (vega weighting on total variance). Residual of point i:
 * 100·(√(w_SVI(kᵢ)/T) − σᵢ) vol points.
 * QC flags: `too_few_points` (< 5 points: no fit), `short_expiry` (T < 3 days), `butterfly_arbitrage`
 * (Durrleman g < 0 on the fitted k-range ± 0.1), `large_residual` (median |residual| > 1 vol point),
 * `rho_at_bound` (|ρ| > 0.999), `sigma_at_bound` (σ at the fit's lower bound 1e-3: a kinked smile), `not_converged`.
 */
import type { ContractIv, ExpirySlice } from '../pricing/chain-iv.ts';
import { otmSmile } from '../pricing/chain-iv.ts';
import { median } from '../pricing/forward.ts';
import { fitSviQuasiExplicit, type SmilePoint } from './svi-fit.ts';
import { sviButterflyCheck, sviW, type SviParams } from './svi.ts';

/** QC flag of a slice fit. */
export type SliceFlag = 'too_few_points' | 'short_expiry' | 'butterfly_arbitrage' | 'large_residual' | 'rho_at_bound' | 'sigma_at_bound' | 'not_converged';

/** SVI fit of one slice. */
export interface SliceFit {
  expiry: string;
  t: number;
  params: SviParams | null;
  /** Points used: k, market IV, fitted IV (decimals), residual (vol points), weight. */
  points: Array<{ k: number; strike: number; iv: number; fit: number; residualVolPts: number; weight: number }>;
  /** Median |residual|, vol points (NaN without a fit). */
  medianAbsResidual: number;
  /** Vega-weighted RMS residual, vol points. */
  rmseVolPts: number;
  minG: number;
  flags: SliceFlag[];
}

/** Point-selection settings. */
export interface SliceFitOptions {
  minPrice?: number;
  minDelta?: number;
}

/** Smile points of a slice per the module's selection rule. */
export function slicePoints(slice: ExpirySlice, opts: SliceFitOptions = {}): ContractIv[] {
  const minPrice = opts.minPrice ?? 1;
  const minDelta = opts.minDelta ?? 0.02;
  return otmSmile(slice).filter((c) => c.price >= minPrice && Math.abs(c.delta / slice.df) >= minDelta && c.vega > 0);
}

/** Fits raw SVI to one slice (never throws on data problems: they become flags). */
export function fitSlice(slice: ExpirySlice, opts: SliceFitOptions = {}): SliceFit {
  const flags: SliceFlag[] = [];
  if (slice.t < 3 / 365) flags.push('short_expiry');
  const pts = slicePoints(slice, opts);
  const base = { expiry: slice.expiry, t: slice.t };
  if (pts.length < 5) return { ...base, params: null, points: [], medianAbsResidual: NaN, rmseVolPts: NaN, minG: NaN, flags: [...flags, 'too_few_points'] };
  const vmax = Math.max(...pts.map((c) => c.vega));
  const obs: SmilePoint[] = pts.map((c) => ({ k: c.k, w: c.iv * c.iv * slice.t, weight: c.vega / vmax }));
  const fit = fitSviQuasiExplicit(obs);
  const points = pts.map((c, i) => {
    const f = Math.sqrt(Math.max(sviW(fit.params, c.k), 0) / slice.t);
    return { k: c.k, strike: c.strike, iv: c.iv, fit: f, residualVolPts: 100 * (f - c.iv), weight: obs[i]!.weight };
  });
  const sw = points.reduce((s, p) => s + p.weight, 0);
  const rmse = Math.sqrt(points.reduce((s, p) => s + p.weight * p.residualVolPts ** 2, 0) / sw);
  const med = median(points.map((p) => Math.abs(p.residualVolPts)));
  const ks = points.map((p) => p.k);
  const bf = sviButterflyCheck(fit.params, Math.min(...ks) - 0.1, Math.max(...ks) + 0.1, 0.002);
  if (!bf.arbitrageFree) flags.push('butterfly_arbitrage');
  if (med > 1) flags.push('large_residual');
  if (Math.abs(fit.params.rho) > 0.999) flags.push('rho_at_bound');
  if (fit.params.sigma <= 1.0001e-3) flags.push('sigma_at_bound');
  if (!fit.converged) flags.push('not_converged');
  return { ...base, params: fit.params, points, medianAbsResidual: med, rmseVolPts: rmse, minG: bf.minG, flags };
}
