import { z } from 'zod';
import type { PricePanel } from '../backtest/panel.ts';
import type { TradingCalendar } from '../calendar/calendar.ts';

/**
 * Transaction-cost model configuration (configs/costs.yml). Units:
 * - `capital_usd`: notional capital the fractional weights refer to (USD); only used to size
 *   trades against ADV for market impact.
 * - `fee_bps`, `half_spread_bps`: basis points of traded notional, charged on the execution day.
 * - `impact.coefficient` Y: dimensionless; impact rate = Y·σ_daily·√(traded USD / ADV USD)
 *   (square-root law, Almgren, Thum, Hauptmann & Li 2005; Tóth et al. 2011).
 * - `borrow.tiers[].annual_bps`: annualised borrow fee on short notional, charged per bar (÷ the
 *   calendar's bars per year) for each bar a short is held; tier chosen by the name's ADV (most liquid
 *   tier whose `min_adv_usd` it meets).
 */
export const costConfigSchema = z
  .object({
    capital_usd: z.number().positive().default(100_000_000),
    fee_bps: z.number().min(0).default(0.5),
    half_spread_bps: z.number().min(0).default(5),
    impact: z
      .object({
        coefficient: z.number().min(0).default(0.5),
        sigma_window: z.number().int().min(2).default(20),
        adv_window: z.number().int().min(1).default(20),
        /** Rate (bps of traded notional) charged when a name has no ADV/σ yet (e.g. IPO warm-up). */
        missing_bps: z.number().min(0).default(50),
      })
      .strict()
      .default({ coefficient: 0.5, sigma_window: 20, adv_window: 20, missing_bps: 50 }),
    borrow: z
      .object({
        tiers: z
          .array(z.object({ min_adv_usd: z.number().min(0), annual_bps: z.number().min(0) }).strict())
          .min(1)
          .default([
            { min_adv_usd: 100_000_000, annual_bps: 25 },
            { min_adv_usd: 20_000_000, annual_bps: 75 },
            { min_adv_usd: 0, annual_bps: 300 },
          ]),
      })
      .strict()
      .default({
        tiers: [
          { min_adv_usd: 100_000_000, annual_bps: 25 },
          { min_adv_usd: 20_000_000, annual_bps: 75 },
          { min_adv_usd: 0, annual_bps: 300 },
        ],
      }),
  })
  .strict();
export type CostConfig = z.output<typeof costConfigSchema>;

/** Per-cell risk/liquidity inputs derived from prices, each with information ≤ its date. */
export interface RiskInputs {
  /** Close-to-close simple return of day t (close_t / close_{t−1} − 1); NaN when either close is missing. */
  ret: Float64Array;
  /** Trailing std of daily log returns over the window ending at t (daily, not annualised). */
  sigma: Float64Array;
  /** Trailing mean of close·volume (USD) over the window ending at t − 1 (excludes day t). */
  adv: Float64Array;
}

/**
 * Computes returns, trailing daily σ and ADV for every (t, i) of a panel. σ needs at least half the
 * window of returns, ADV at least one day; otherwise NaN (the cost model then charges `missing_bps`).
 */
export function riskInputs(p: PricePanel, sigmaWindow = 20, advWindow = 20): RiskInputs {
  const { T, N, close, volume } = p;
  const ret = new Float64Array(T * N).fill(NaN);
  const sigma = new Float64Array(T * N).fill(NaN);
  const adv = new Float64Array(T * N).fill(NaN);
  const lr = new Float64Array(T);
  const dv = new Float64Array(T);
  for (let i = 0; i < N; i++) {
    let s1 = 0;
    let s2 = 0;
    let cnt = 0;
    let vs = 0;
    let vc = 0;
    for (let t = 0; t < T; t++) {
      const k = t * N + i;
      const c = close[k]!;
      const cPrev = t > 0 ? close[k - N]! : NaN;
      const ok = c > 0 && cPrev > 0;
      if (ok) ret[k] = c / cPrev - 1;
      lr[t] = ok ? Math.log(c / cPrev) : NaN;
      if (ok) {
        s1 += lr[t]!;
        s2 += lr[t]! * lr[t]!;
        cnt++;
      }
      if (t >= sigmaWindow) {
        const old = lr[t - sigmaWindow]!;
        if (!Number.isNaN(old)) {
          s1 -= old;
          s2 -= old * old;
          cnt--;
        }
      }
      if (cnt >= Math.max(2, Math.ceil(sigmaWindow / 2))) {
        const m = s1 / cnt;
        sigma[k] = Math.sqrt(Math.max(0, (s2 - cnt * m * m) / (cnt - 1)));
      }
      // ADV over [t − advWindow, t − 1].
      if (vc > 0) adv[k] = vs / vc;
      const v = volume[k]!;
      dv[t] = c > 0 && v >= 0 ? c * v : NaN;
      if (!Number.isNaN(dv[t]!)) {
        vs += dv[t]!;
        vc++;
      }
      if (t - advWindow >= 0 && !Number.isNaN(dv[t - advWindow]!)) {
        vs -= dv[t - advWindow]!;
        vc--;
      }
    }
  }
  return { ret, sigma, adv };
}

/** Annualised borrow fee (bps) for a name with `advUsd` of daily dollar volume (tier lookup). */
export function borrowAnnualBps(advUsd: number, tiers: CostConfig['borrow']['tiers']): number {
  const sorted = [...tiers].sort((a, b) => b.min_adv_usd - a.min_adv_usd);
  const a = Number.isFinite(advUsd) ? advUsd : 0;
  for (const t of sorted) if (a >= t.min_adv_usd) return t.annual_bps;
  return sorted[sorted.length - 1]!.annual_bps;
}

/**
 * Square-root market impact of one trade, as a fraction of capital:
 *   |Δw| · Y · σ_daily · √(|Δw|·capital / ADV).
 * Falls back to |Δw|·missing_bps/1e4 when σ or ADV is unknown or ADV ≤ 0.
 */
export function impactCost(dw: number, sigmaDaily: number, advUsd: number, cfg: CostConfig): number {
  const a = Math.abs(dw);
  if (a === 0) return 0;
  if (!(sigmaDaily >= 0) || !(advUsd > 0)) return (a * cfg.impact.missing_bps) / 1e4;
  return a * cfg.impact.coefficient * sigmaDaily * Math.sqrt((a * cfg.capital_usd) / advUsd);
}

/** Linear costs (fees + half-spread) of a traded notional fraction `traded` = Σ|Δw|, fractions of capital. */
export function linearCosts(traded: number, cfg: CostConfig): { fee: number; spread: number } {
  return { fee: (traded * cfg.fee_bps) / 1e4, spread: (traded * cfg.half_spread_bps) / 1e4 };
}

/**
 * One bar's borrow charge (fraction of capital) for a short weight `w` (< 0) held overnight:
 * −w · annual_bps / 1e4 / (bars per year of `cal`).
 */
export function borrowCost(w: number, advUsd: number, cfg: CostConfig, cal: TradingCalendar): number {
  if (w >= 0) return 0;
  return cal.perBar((-w * borrowAnnualBps(advUsd, cfg.borrow.tiers)) / 1e4);
}
