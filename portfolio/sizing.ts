import type { TradingCalendar } from '../calendar/calendar.ts';
import { impactCost, linearCosts, type CostConfig } from '../execution/cost_models.ts';
import type { PortfolioConfig } from './config.ts';

/**
 * Sizing of the book actually held (issue 14, item 8). One decision per date, in date order, with
 * information ≤ that date:
 *  1. the held book of the previous decision earns today's close-to-close returns; net of the cost of
 *     the trades that built it, divided by its effective leverage L̄ (the EMA of the multipliers at the
 *     trade rate, which is what the smoothed book carries), that is one per-unit net return u_t;
 *  2. the multiplier L_t = clamp(min(vol target, fractional Kelly), min_leverage, max_leverage) from the
 *     trailing u's: vol target = annual / (σ(u)·√B), Kelly = f·μ̃(u)/σ²(u) with μ̃ shrunk toward 0
 *     ({@link shrunkMean}); a component still in warm-up (< min_obs values of u) is left out, and with
 *     neither available L = min(1, max_leverage);
 *  3. target = clip(L_t · base book, ±per_name_cap); held_t = held_{t−1} + λ(target − held_{t−1})
 *     (Gârleanu & Pedersen 2013), a name without a close today closed at once; the first decision
 *     holds the target itself.
 * The same step runs in the backtest (portfolio/construct.ts `buildWeights`) and in deployment
 * (portfolio/score_book.ts `scoreBook`), so the deployed book is the gated one.
 */

/** State of the held book between two decisions (N names). */
export interface SizerState {
  /** Weights held after the last decision, length N (fractions of capital). */
  held: Float64Array;
  /** Whether any decision has been made yet. */
  started: boolean;
  /** Effective leverage of the held book: EMA at the trade rate of the multipliers chosen. */
  leverageBar: number;
  /** Per-unit net returns u of the held book on days it held a position, oldest first (at most the longer window). */
  unitReturns: number[];
  /** Cost (fraction of capital) of the last decision's trades, charged against the next day's return. */
  lastCost: number;
}

/** One date's market rows for the sizer (each length N, aligned with the state's names). */
export interface SizerRow {
  /** Close of the date (> 0 = priced, tradable). */
  close: ArrayLike<number>;
  /** Close-to-close simple return of the date (NaN = unknown, counts 0). */
  ret: ArrayLike<number>;
  /** Trailing daily σ and ADV (USD) known at the date, for the impact of the trades; optional. */
  sigma?: ArrayLike<number>;
  adv?: ArrayLike<number>;
}

/** Multiplier of one decision and its components (NaN while a component is in warm-up). */
export interface SizerDecision {
  leverage: number;
  kelly: number;
  volLeverage: number;
}

/** A fresh state for N names (nothing held, no history). */
export function emptySizerState(N: number): SizerState {
  return { held: new Float64Array(N), started: false, leverageBar: 1, unitReturns: [], lastCost: 0 };
}

/**
 * Fractional-Kelly leverage f·max(0, μ/σ²) for a per-period mean μ and variance σ² (same period):
 * the growth-optimal leverage of a strategy with expected return μ and risk σ² (Kelly 1956; Thorp 2006),
 * scaled by the fraction f. NaN if σ² = 0. The caller floors it at `min_leverage`.
 */
export function kellyLeverage(mean: number, variance: number, fraction: number): number {
  if (!(variance > 0)) return NaN;
  return fraction * Math.max(0, mean / variance);
}

/**
 * Shrunk per-bar mean return μ̃ = k·μ̂, the posterior mean under a normal prior μ ~ N(0, τ²) with
 * τ = s·σ/√B (s = prior standard deviation of the annual Sharpe ratio, B bars per year) and sampling
 * variance σ²/n of the mean of n bars:  k = τ²/(τ² + σ²/n) = n·s² / (n·s² + B).
 * Normal–normal Bayes shrinkage toward zero (cf. Jorion 1986 on Bayes–Stein estimation of means;
 * Kan & Zhou 2007 on estimation risk in plug-in mean–variance/Kelly leverage). With n = 126 daily bars
 * and s = 1 it keeps a third of the sample mean.
 */
export function shrunkMean(mean: number, n: number, priorSharpe: number, barsPerYear: number): number {
  const s2 = priorSharpe * priorSharpe;
  return (mean * n * s2) / (n * s2 + barsPerYear);
}

/** Mean and sample variance of the last `window` values of xs (n = how many were used). */
function tailMoments(xs: readonly number[], window: number): { mean: number; variance: number; n: number } {
  const n = Math.min(window, xs.length);
  if (n < 2) return { mean: NaN, variance: NaN, n };
  let s = 0;
  for (let k = xs.length - n; k < xs.length; k++) s += xs[k]!;
  const mean = s / n;
  let ss = 0;
  for (let k = xs.length - n; k < xs.length; k++) ss += (xs[k]! - mean) ** 2;
  return { mean, variance: ss / (n - 1), n };
}

/** The multiplier from the held book's trailing per-unit net returns (step 2 of the module doc). */
export function sizerLeverage(unitReturns: readonly number[], cfg: PortfolioConfig, cal: TradingCalendar): SizerDecision {
  let volLeverage = NaN;
  let kelly = NaN;
  const v = tailMoments(unitReturns, cfg.vol_target.window);
  if (v.n >= cfg.vol_target.min_obs && v.variance > 0) volLeverage = cfg.vol_target.annual / Math.sqrt(v.variance * cal.barsPerYear);
  const k = tailMoments(unitReturns, cfg.kelly.window);
  if (k.n >= cfg.kelly.min_obs && k.variance > 0) kelly = kellyLeverage(shrunkMean(k.mean, k.n, cfg.kelly.prior_sharpe, cal.barsPerYear), k.variance, cfg.kelly.fraction);
  let L = cfg.max_leverage;
  let constrained = false;
  if (cfg.vol_target.enabled && Number.isFinite(volLeverage)) ((L = Math.min(L, volLeverage)), (constrained = true));
  if (cfg.kelly.enabled && Number.isFinite(kelly)) ((L = Math.min(L, kelly)), (constrained = true));
  L = constrained ? Math.max(cfg.min_leverage, L) : Math.min(1, cfg.max_leverage);
  return { leverage: L, kelly, volLeverage };
}

/**
 * One decision of the held book (steps 1–3 of the module doc), in place: `state.held` becomes the
 * weights held after today's trades (the row the backtest receives), `base` is today's base book
 * (portfolio/construct.ts `baseBookRow`, length N). With `costs`, the trades' cost (fees, half-spread,
 * square-root impact at today's σ/ADV when the row carries them; execution/cost_models.ts) is charged
 * against tomorrow's u.
 */
export function sizerStep(state: SizerState, base: ArrayLike<number>, row: SizerRow, cfg: PortfolioConfig, cal: TradingCalendar, costs?: CostConfig): SizerDecision {
  const h = state.held;
  const N = h.length;
  if (state.started) {
    let g = 0;
    let positioned = false;
    for (let i = 0; i < N; i++) {
      const w = h[i]!;
      if (w === 0) continue;
      positioned = true;
      const r = row.ret[i]!;
      if (r === r) g += w * r;
    }
    if (positioned && state.leverageBar > 0) {
      state.unitReturns.push((g - state.lastCost) / state.leverageBar);
      const keep = Math.max(cfg.vol_target.window, cfg.kelly.window);
      if (state.unitReturns.length > keep) state.unitReturns.splice(0, state.unitReturns.length - keep);
    }
  }
  const d = sizerLeverage(state.unitReturns, cfg, cal);
  const cap = cfg.per_name_cap;
  const lambda = cfg.trade_rate;
  let traded = 0;
  let impact = 0;
  for (let i = 0; i < N; i++) {
    let tgt = base[i]! * d.leverage;
    if (tgt > cap) tgt = cap;
    else if (tgt < -cap) tgt = -cap;
    const prev = h[i]!;
    const w = !state.started || lambda >= 1 ? tgt : row.close[i]! > 0 ? prev + lambda * (tgt - prev) : 0;
    const dw = Math.abs(w - prev);
    if (costs && dw > 0) {
      traded += dw;
      if (row.sigma && row.adv) impact += impactCost(dw, row.sigma[i]!, row.adv[i]!, costs);
    }
    h[i] = w;
  }
  const lin = costs ? linearCosts(traded, costs) : { fee: 0, spread: 0 };
  state.lastCost = lin.fee + lin.spread + impact;
  state.leverageBar = state.started ? state.leverageBar + Math.min(1, lambda) * (d.leverage - state.leverageBar) : d.leverage;
  state.started = true;
  return d;
}
