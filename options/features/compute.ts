/**
 * Computes the 16 options features (features/definitions.ts) per date from chain snapshots and
 * NIFTY 50 closes. Point in time by construction: the row of date t reads snapshots of dates ≤ t and
 * closes of dates < t plus the chain's own spot at t; nothing is normalised over the full sample.
 * A NaN carries a reason (`warmup`, `gap_in_window`, or the snapshot's reason).
 */
import { calendarFor } from '../../calendar/calendar.ts';
import type { DailyClose } from '../data/index-series.ts';
import { logReturns, sampleStd, trailingZ } from '../stats/series.ts';
import { OPTIONS_FEATURES, RV_WINDOW, Z_WINDOW, type OptionsFeature } from './definitions.ts';
import type { ChainSnapshot } from './snapshot.ts';

/** Features of one date. */
export interface OptionsFeatureRow {
  date: string;
  values: Record<OptionsFeature, number>;
  /** Why a value is NaN (only NaN features appear). */
  reasons: Partial<Record<OptionsFeature, string>>;
  /** 20-day realised vol, vol points (annualised), the VRP input. */
  rv20: number;
}

const NSE = calendarFor('nse');

/**
 * Realised vol at date t: sample std of the last `window` daily log returns of the NIFTY closes
 * dated < t followed by `spotT` (the chain's spot at t), × √(bars per year of calendar nse), in vol points.
 * NaN when fewer than window + 1 closes exist.
 */
export function realisedVol(nifty: readonly DailyClose[], date: string, spotT: number, window = RV_WINDOW): number {
  const end = firstOnOrAfter(nifty, date);
  const closes = [...nifty.slice(Math.max(0, end - window), end).map((c) => c.close), spotT];
  if (closes.length < window + 1 || !closes.every((c) => c > 0)) return NaN;
  return 100 * NSE.annualizeVol(sampleStd(logReturns(closes)));
}

/** Index of the first close dated ≥ `date` (binary search; `series` ascending). */
function firstOnOrAfter(series: readonly DailyClose[], date: string): number {
  let lo = 0;
  let hi = series.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (series[mid]!.date < date) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Feature rows for `snapshots` (any order; output ascending by date). */
export function computeOptionsFeatures(snapshots: readonly ChainSnapshot[], nifty: readonly DailyClose[]): OptionsFeatureRow[] {
  const snaps = [...snapshots].sort((a, b) => (a.date < b.date ? -1 : 1));
  const out: OptionsFeatureRow[] = [];
  const hist = { pcr: [] as number[], skew: [] as number[], gamma: [] as number[] };
  for (const s of snaps) {
    hist.pcr.push(s.pcrOi);
    hist.skew.push(s.skew25);
    hist.gamma.push(s.dealerGamma);
    const reasons: Partial<Record<OptionsFeature, string>> = {};
    const rv20 = realisedVol(nifty, s.date, s.spot);
    const termSlope = s.atmIv2 / s.atmIv1;
    const z = (xs: number[]) => trailingZ(xs, Z_WINDOW);
    const values: Record<OptionsFeature, number> = {
      atm_iv: s.atmIv1,
      skew_25d: s.skew25,
      pcr_volume: s.pcrVolume,
      pcr_oi: s.pcrOi,
      term_slope: termSlope,
      vrp: s.atmIv1 - rv20,
      dealer_gamma: s.dealerGamma,
      theta_per_notional: s.thetaPerNotional,
      pcr_oi_z21: z(hist.pcr),
      iv_rv_ratio: s.atmIv1 / rv20,
      skew_z21: z(hist.skew),
      gamma_z21: z(hist.gamma),
      put_wall: s.putWall,
      call_wall: s.callWall,
      max_pain_dist: s.maxPain,
      contango: Number.isFinite(termSlope) ? (termSlope > 1 ? 1 : 0) : NaN,
    };
    const why: Record<OptionsFeature, () => string> = {
      atm_iv: () => s.reasons.atmIv1!,
      skew_25d: () => s.reasons.skew25!,
      pcr_volume: () => s.reasons.pcrVolume!,
      pcr_oi: () => s.reasons.pcrOi!,
      term_slope: () => s.reasons.atmIv2 ?? s.reasons.atmIv1!,
      vrp: () => s.reasons.atmIv1 ?? 'rv20 warmup',
      dealer_gamma: () => s.reasons.dealerGamma!,
      theta_per_notional: () => s.reasons.thetaPerNotional!,
      pcr_oi_z21: () => zWhy(hist.pcr),
      iv_rv_ratio: () => s.reasons.atmIv1 ?? 'rv20 warmup',
      skew_z21: () => zWhy(hist.skew),
      gamma_z21: () => zWhy(hist.gamma),
      put_wall: () => s.reasons.putWall!,
      call_wall: () => s.reasons.callWall!,
      max_pain_dist: () => s.reasons.maxPain!,
      contango: () => s.reasons.atmIv2 ?? s.reasons.atmIv1!,
    };
    for (const f of OPTIONS_FEATURES) if (Number.isNaN(values[f])) reasons[f] = why[f]() ?? 'undefined';
    out.push({ date: s.date, values, reasons, rv20 });
  }
  return out;
}

function zWhy(xs: readonly number[]): string {
  if (xs.length < Z_WINDOW) return `warmup (${xs.length} of ${Z_WINDOW} dates)`;
  if (!xs.slice(-Z_WINDOW).every(Number.isFinite)) return 'gap_in_window (a NaN input among the last 21 dates)';
  return 'zero variance in window';
}
