import type { TradingCalendar } from '../calendar/calendar.ts';
import { moments, quantile, median } from '../governance/stats.ts';
import type { PathSeries } from './engine.ts';

/**
 * Performance metrics of one path (fractions, not percent), annualised with the bars per year B of
 * the data's calendar (calendar/calendar.ts `barsPerYear`).
 */
export interface PathMetrics {
  n_days: number;
  /** Mean per-bar net return × B. */
  ann_return: number;
  /** Compound annual growth rate of the net equity curve. */
  cagr: number;
  /** Std of per-bar net returns × √B. */
  ann_vol: number;
  /** Annualised Sharpe (mean/std·√B, zero risk-free rate) of net returns. */
  sharpe: number;
  /** Same on gross returns (before costs). */
  sharpe_gross: number;
  /** Annualised Sortino: mean / downside deviation (root mean square of min(r, 0)) · √B. */
  sortino: number;
  /** Maximum drawdown of the compounded net equity curve, positive fraction (0.2 = −20%). */
  max_drawdown: number;
  /** CAGR / max drawdown. */
  calmar: number;
  /** Mean per-bar one-way turnover Σ|Δw| and its annualised value (× B). */
  turnover_daily: number;
  turnover_annual: number;
  /** Share of days with a position whose net return is > 0. */
  hit_rate: number;
  /** Expected shortfall at 95%: minus the mean of the worst 5% daily net returns (positive = loss). */
  cvar_95: number;
  /** Mean gross exposure Σ|w|. */
  gross_exposure: number;
  /** Cost drag by component: mean per-bar cost × B × 1e4 (annualised bps of capital). */
  cost_drag_bps: { fee: number; spread: number; impact: number; borrow: number; total: number };
}

/**
 * Metrics of a path over the bars [from, T): `from` skips the leading bars without any position (the
 * warm-up of a walk-forward path), so the statistics are not diluted by flat bars before trading starts.
 * `cal` annualises (mean × B, σ × √B, Sharpe = mean/σ·√B; CAGR over n/B years).
 */
export function pathMetrics(s: PathSeries, cal: TradingCalendar, from = 0): PathMetrics {
  const net = s.net.subarray(from);
  const n = net.length;
  const m = moments(net);
  const mg = moments(s.gross.subarray(from));
  let eq = 1;
  let peak = 1;
  let mdd = 0;
  let dd2 = 0;
  let hits = 0;
  let active = 0;
  let to = 0;
  let ge = 0;
  for (let i = 0; i < n; i++) {
    const r = net[i]!;
    eq *= 1 + r;
    if (eq > peak) peak = eq;
    const dd = 1 - eq / peak;
    if (dd > mdd) mdd = dd;
    if (r < 0) dd2 += r * r;
    if (s.grossExposure[from + i]! > 0 || (from + i > 0 && s.grossExposure[from + i - 1]! > 0)) {
      active++;
      if (r > 0) hits++;
    }
    to += s.turnover[from + i]!;
    ge += s.grossExposure[from + i]!;
  }
  const years = cal.years(n);
  const cagr = n > 0 && eq > 0 ? Math.pow(eq, 1 / years) - 1 : -1;
  const downside = n > 0 ? Math.sqrt(dd2 / n) : 0;
  const sorted = Array.from(net).sort((a, b) => a - b);
  const k = Math.max(1, Math.floor(0.05 * n));
  const cvar = n > 0 ? -sorted.slice(0, k).reduce((a, b) => a + b, 0) / k : NaN;
  const drag = (x: Float64Array): number => (n > 0 ? cal.annualizeMean(x.subarray(from).reduce((a, b) => a + b, 0) / n) * 1e4 : 0);
  const fee = drag(s.fee);
  const spread = drag(s.spread);
  const impact = drag(s.impact);
  const borrow = drag(s.borrow);
  return {
    n_days: n,
    ann_return: cal.annualizeMean(m.mean),
    cagr,
    ann_vol: cal.annualizeVol(m.std),
    sharpe: cal.sharpe(m.mean, m.std),
    sharpe_gross: cal.sharpe(mg.mean, mg.std),
    sortino: cal.sharpe(m.mean, downside),
    max_drawdown: mdd,
    calmar: mdd > 0 ? cagr / mdd : 0,
    turnover_daily: n > 0 ? to / n : 0,
    turnover_annual: n > 0 ? cal.annualizeMean(to / n) : 0,
    hit_rate: active > 0 ? hits / active : 0,
    cvar_95: cvar,
    gross_exposure: n > 0 ? ge / n : 0,
    cost_drag_bps: { fee, spread, impact, borrow, total: fee + spread + impact + borrow },
  };
}

/** Index of the first day with a non-zero position or trade (0 when none). */
export function firstActiveDay(s: PathSeries): number {
  for (let i = 0; i < s.net.length; i++) if (s.grossExposure[i]! > 0 || s.turnover[i]! > 0) return i;
  return 0;
}

/** Distribution of a metric across paths. */
export interface Distribution {
  min: number;
  p25: number;
  median: number;
  mean: number;
  p75: number;
  max: number;
  std: number;
}

/** Summary of `values` (finite ones). */
export function distribution(values: readonly number[]): Distribution {
  const v = values.filter(Number.isFinite);
  const m = moments(v);
  return {
    min: v.length ? Math.min(...v) : NaN,
    p25: quantile(v, 0.25),
    median: median(v),
    mean: m.mean,
    p75: quantile(v, 0.75),
    max: v.length ? Math.max(...v) : NaN,
    std: Number.isFinite(m.std) ? m.std : 0,
  };
}

/** Aggregate over CPCV paths: the median of every scalar metric, plus the Sharpe distribution. */
export function aggregateMetrics(per: readonly PathMetrics[]): { median: Record<string, number>; sharpe_distribution: Distribution; n_paths: number } {
  const keys = ['ann_return', 'cagr', 'ann_vol', 'sharpe', 'sharpe_gross', 'sortino', 'max_drawdown', 'calmar', 'turnover_daily', 'turnover_annual', 'hit_rate', 'cvar_95', 'gross_exposure'] as const;
  const med: Record<string, number> = {};
  for (const k of keys) med[k] = median(per.map((p) => p[k]));
  for (const c of ['fee', 'spread', 'impact', 'borrow', 'total'] as const) med[`cost_drag_bps_${c}`] = median(per.map((p) => p.cost_drag_bps[c]));
  return { median: med, sharpe_distribution: distribution(per.map((p) => p.sharpe)), n_paths: per.length };
}
