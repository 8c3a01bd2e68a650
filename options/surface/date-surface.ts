/**
 * The implied-volatility surface of one date: raw SVI per expiry (surface/slice-fit.ts), an SSVI
 * surface over the expiries (surface/ssvi.ts) with θ_t = market ATM total variance (surface/atm.ts),
 * butterfly and calendar checks for both, residuals in vol points and the date's QC flags:
 * the union of the slice flags (prefixed by expiry) plus `svi_calendar_arbitrage` (checked on the
 * k-range covered by every slice's data),
 * `ssvi_butterfly_arbitrage`, `ssvi_calendar_arbitrage`, `ssvi_large_residual` (median |residual|
 * > 1.5 vol points), `ssvi_not_fitted` (fewer than 5 usable points or no θ).
 */
import type { DateChainIv } from '../pricing/chain-iv.ts';
import { median } from '../pricing/forward.ts';
import { atmFromSmile } from './atm.ts';
import { calendarCheck } from './calendar.ts';
import { fitSlice, slicePoints, type SliceFit } from './slice-fit.ts';
import { fitSsvi, ssviArbitrage, ssviW, type SsviArbitrage, type SsviParams, type SsviSlice } from './ssvi.ts';
import { otmSmile } from '../pricing/chain-iv.ts';
import { sviW } from './svi.ts';

/** Surface of one date. */
export interface DateSurface {
  date: string;
  slices: SliceFit[];
  ssvi: { params: SsviParams; thetas: Array<{ expiry: string; t: number; theta: number }>; medianAbsResidual: number; arbitrage: SsviArbitrage } | null;
  /** SVI calendar check between consecutive fitted slices. */
  sviCalendar: ReturnType<typeof calendarCheck>;
  /** Median |SVI residual| over all points of the date, vol points. */
  medianAbsResidual: number;
  flags: string[];
}

/** Fits the surface of one date (slices with T > 0 only). Never throws on data problems. */
export function fitDateSurface(chain: DateChainIv): DateSurface {
  const live = chain.slices.filter((s) => s.t > 0 && Number.isFinite(s.forward));
  const slices = live.map((s) => fitSlice(s));
  const flags: string[] = [];
  for (const f of slices) for (const fl of f.flags) flags.push(`${f.expiry}:${fl}`);
  const fitted = slices.filter((f) => f.params);
  // Checked on the k-range that every fitted slice's data covers (the wings beyond the data are extrapolation).
  const kLo = Math.max(...fitted.map((f) => Math.min(...f.points.map((p) => p.k))));
  const kHi = Math.min(...fitted.map((f) => Math.max(...f.points.map((p) => p.k))));
  const sviCalendar = fitted.length > 1 && kLo < kHi ? calendarCheck(fitted.map((f) => ({ expiry: f.expiry, t: f.t, w: (k: number) => sviW(f.params!, k) })), kLo, kHi) : [];
  if (sviCalendar.some((c) => !c.ok)) flags.push('svi_calendar_arbitrage');
  const ss: SsviSlice[] = [];
  for (const s of live) {
    const atm = atmFromSmile(otmSmile(s), s.t);
    const pts = slicePoints(s);
    if (atm.reason || pts.length === 0) continue;
    const vmax = Math.max(...pts.map((c) => c.vega));
    ss.push({ expiry: s.expiry, t: s.t, theta: atm.w, points: pts.map((c) => ({ k: c.k, w: c.iv * c.iv * s.t, weight: c.vega / vmax })) });
  }
  let ssvi: DateSurface['ssvi'] = null;
  if (ss.reduce((n, s) => n + s.points.length, 0) >= 5) {
    const fit = fitSsvi(ss);
    const res: number[] = [];
    for (const s of ss) for (const p of s.points) res.push(Math.abs(100 * (Math.sqrt(Math.max(ssviW(fit.params, s.theta, p.k), 0) / s.t) - Math.sqrt(p.w / s.t))));
    const arbitrage = ssviArbitrage(fit.params, ss);
    ssvi = { params: fit.params, thetas: ss.map((s) => ({ expiry: s.expiry, t: s.t, theta: s.theta })), medianAbsResidual: median(res), arbitrage };
    if (!arbitrage.butterflyFree) flags.push('ssvi_butterfly_arbitrage');
    if (!arbitrage.calendarFree) flags.push('ssvi_calendar_arbitrage');
    if (ssvi.medianAbsResidual > 1.5) flags.push('ssvi_large_residual');
  } else {
    flags.push('ssvi_not_fitted');
  }
  const all = fitted.flatMap((f) => f.points.map((p) => Math.abs(p.residualVolPts)));
  return { date: chain.date, slices, ssvi, sviCalendar, medianAbsResidual: median(all), flags };
}
