import type { PricePanel } from '../backtest/panel.ts';
import type { TradingCalendar } from '../calendar/calendar.ts';
import type { PortfolioConfig } from './config.ts';
import { rankInto } from '../backtest/engine.ts';

/** Reusable buffers of {@link baseBookRow} (all length N). */
export interface BookScratch {
  idx: Uint32Array;
  z: Float64Array;
  vals: Float64Array;
  sorted: Float64Array;
  ranks: Float64Array;
}

/** Allocates {@link BookScratch} for N names. */
export function bookScratch(N: number): BookScratch {
  return { idx: new Uint32Array(N), z: new Float64Array(N), vals: new Float64Array(N), sorted: new Float64Array(N), ranks: new Float64Array(N) };
}

/** Result of {@link buildWeights} for one path (arrays aligned with the panel). */
export interface BuiltWeights {
  /** Final target weights, T×N row-major; 0 where no position. Decided at the close of each date. */
  weights: Float64Array;
  /** Multiplier applied to the base book on each date (after Kelly, vol target and max leverage). */
  leverage: Float64Array;
  /** Fractional-Kelly leverage f·max(0, μ/σ²) per date (NaN before `kelly.min_obs`). */
  kelly: Float64Array;
  /** Vol-target leverage target/σ_ann per date (NaN before `vol_target.min_obs`). */
  volLeverage: Float64Array;
}

/**
 * Cross-sectional base book of one date, in place into `out` (length N).
 * rank (average ties) → z-score of the ranks → split into long (z > 0) and short (z < 0) books
 * sized (gross ± net)/2 (long-only: one book of size `gross`) → per-name cap by water-filling
 * (excess redistributed pro rata to uncapped names; if n·cap < book size, every name sits at the cap
 * and the book is smaller). Names with a non-finite score or no close on the date get 0.
 * Fewer than `min_names` valid names → all 0.
 */
export function baseBookRow(score: Float64Array, close: Float64Array, rowOff: number, N: number, cfg: PortfolioConfig, out: Float64Array, scratch: BookScratch): void {
  out.fill(0);
  const { idx, z } = scratch;
  let n = 0;
  for (let i = 0; i < N; i++) {
    const s = score[rowOff + i]!;
    if (s === s && Number.isFinite(s) && close[rowOff + i]! > 0) idx[n++] = i;
  }
  if (n < cfg.min_names) return;
  const sub = idx.subarray(0, n);
  // average ranks 0..n-1 (ties averaged), then z-score (mean (n−1)/2, std of ranks)
  const vals = scratch.vals.subarray(0, n);
  for (let k = 0; k < n; k++) vals[k] = score[rowOff + sub[k]!]!;
  rankInto(vals, n, scratch.sorted, scratch.ranks);
  for (let k = 0; k < n; k++) z[sub[k]!] = scratch.ranks[k]!;
  const mean = (n - 1) / 2;
  let ss = 0;
  for (let k = 0; k < n; k++) ss += (z[sub[k]!]! - mean) ** 2;
  const sd = Math.sqrt(ss / n);
  if (!(sd > 0)) return;
  for (let k = 0; k < n; k++) z[sub[k]!] = (z[sub[k]!]! - mean) / sd;
  if (cfg.mode === 'long_only') {
    fillBook(sub, z, 1, cfg.gross, cfg.per_name_cap, out);
  } else {
    fillBook(sub, z, 1, (cfg.gross + cfg.net_target) / 2, cfg.per_name_cap, out);
    fillBook(sub, z, -1, (cfg.gross - cfg.net_target) / 2, cfg.per_name_cap, out);
  }
}

/** Water-filling: weights ∝ side·z over names with side·z > 0, summing to `size`, each ≤ cap. */
function fillBook(names: Uint32Array, z: Float64Array, side: 1 | -1, size: number, cap: number, out: Float64Array): void {
  if (size <= 0) return;
  let m = 0;
  let free = 0;
  for (let k = 0; k < names.length; k++) {
    const v = side * z[names[k]!]!;
    if (v > 0) {
      m++;
      free += v;
    }
  }
  if (m === 0) return;
  if (m * cap <= size) {
    for (let k = 0; k < names.length; k++) if (side * z[names[k]!]! > 0) out[names[k]!] = side * cap;
    return;
  }
  // Iterate: scale the uncapped names to fill what the capped ones leave; cap any that exceed.
  // `out` holds ±cap for capped names and 0 for the others while iterating.
  let nCapped = 0;
  for (let iter = 0; iter <= m; iter++) {
    const scale = (size - nCapped * cap) / free;
    let newly = 0;
    for (let k = 0; k < names.length; k++) {
      const i = names[k]!;
      const v = side * z[i]!;
      if (v <= 0 || out[i] !== 0) continue;
      if (v * scale > cap + 1e-15) {
        out[i] = side * cap;
        nCapped++;
        free -= v;
        newly++;
      }
    }
    if (newly === 0 || free <= 0) {
      for (let k = 0; k < names.length; k++) {
        const i = names[k]!;
        const v = side * z[i]!;
        if (v > 0 && out[i] === 0) out[i] = side * v * scale;
      }
      return;
    }
  }
}

/**
 * Fractional-Kelly leverage f·max(0, μ/σ²) from a window of per-period returns of the unit base book
 * (μ, σ² = sample mean and variance, same period): the growth-optimal leverage of a strategy with
 * forecast return μ and risk σ² (Kelly 1956; Thorp 2006), scaled by the fraction f. NaN if σ² = 0.
 */
export function kellyLeverage(mean: number, variance: number, fraction: number): number {
  if (!(variance > 0)) return NaN;
  return fraction * Math.max(0, mean / variance);
}

/**
 * Target weights for one path: base book per date ({@link baseBookRow}), then one multiplier per date
 *   L_t = min(max_leverage, fractional Kelly_t, vol_target / σ_ann,t)
 * where Kelly and σ come from the unit base book's realised per-bar returns over trailing windows ending at t
 * (base_{t−1} · r_t, information ≤ t), σ_ann = √(variance · bars per year of `cal`). A component still in warm-up (< min_obs returns) is left out
 * (treated as no constraint; with both in warm-up L = min(1, max_leverage)). Finally |w| ≤ per_name_cap,
 * and with `trade_rate` λ < 1 the held book moves only part of the way to that target each day:
 *   w_t = w_{t−1} + λ·(target_t − w_{t−1})   (Gârleanu & Pedersen 2013, "aim portfolio"),
 * a convex combination, so caps still hold; a name with no close on t is closed (w_t = 0).
 * `scores` is T×N row-major (NaN = no prediction).
 */
export function buildWeights(scores: Float64Array, panel: PricePanel, ret: Float64Array, cfg: PortfolioConfig, cal: TradingCalendar): BuiltWeights {
  const { T, N, close } = panel;
  const base = new Float64Array(T * N);
  const row = new Float64Array(N);
  const scratch = bookScratch(N);
  for (let t = 0; t < T; t++) {
    baseBookRow(scores, close, t * N, N, cfg, row, scratch);
    base.set(row, t * N);
  }
  // realised daily return of the unit base book: b_t = Σ base_{t−1,i} · r_{t,i}
  const b = new Float64Array(T).fill(NaN);
  for (let t = 1; t < T; t++) {
    let g = 0;
    let any = false;
    for (let i = 0; i < N; i++) {
      const w = base[(t - 1) * N + i]!;
      if (w === 0) continue;
      any = true;
      const r = ret[t * N + i]!;
      if (r === r) g += w * r;
    }
    if (any) b[t] = g;
  }
  const kelly = trailing(b, cfg.kelly.window, cfg.kelly.min_obs, (m, v) => kellyLeverage(m, v, cfg.kelly.fraction));
  const volLev = trailing(b, cfg.vol_target.window, cfg.vol_target.min_obs, (_m, v) => (v > 0 ? cfg.vol_target.annual / Math.sqrt(v * cal.barsPerYear) : NaN));
  const leverage = new Float64Array(T);
  const weights = new Float64Array(T * N);
  const cap = cfg.per_name_cap;
  for (let t = 0; t < T; t++) {
    let L = cfg.max_leverage;
    let constrained = false;
    if (cfg.kelly.enabled && Number.isFinite(kelly[t]!)) {
      L = Math.min(L, kelly[t]!);
      constrained = true;
    }
    if (cfg.vol_target.enabled && Number.isFinite(volLev[t]!)) {
      L = Math.min(L, volLev[t]!);
      constrained = true;
    }
    if (!constrained) L = Math.min(1, cfg.max_leverage);
    leverage[t] = L;
    for (let i = 0; i < N; i++) {
      let w = base[t * N + i]! * L;
      if (w > cap) w = cap;
      else if (w < -cap) w = -cap;
      weights[t * N + i] = w;
    }
  }
  const lambda = cfg.trade_rate;
  if (lambda < 1) {
    for (let t = 1; t < T; t++) {
      for (let i = 0; i < N; i++) {
        const k = t * N + i;
        const c = close[k]!;
        weights[k] = c > 0 ? weights[k - N]! + lambda * (weights[k]! - weights[k - N]!) : 0;
      }
    }
  }
  return { weights, leverage, kelly, volLeverage: volLev };
}

/** f(mean, variance) over a trailing window of finite values ending at t (inclusive); NaN before minObs. */
function trailing(x: Float64Array, window: number, minObs: number, f: (mean: number, variance: number) => number): Float64Array {
  const T = x.length;
  const out = new Float64Array(T).fill(NaN);
  let s1 = 0;
  let s2 = 0;
  let n = 0;
  for (let t = 0; t < T; t++) {
    const v = x[t]!;
    if (v === v) {
      s1 += v;
      s2 += v * v;
      n++;
    }
    if (t >= window) {
      const o = x[t - window]!;
      if (o === o) {
        s1 -= o;
        s2 -= o * o;
        n--;
      }
    }
    if (n >= minObs && n >= 2) {
      const m = s1 / n;
      out[t] = f(m, Math.max(0, (s2 - n * m * m) / (n - 1)));
    }
  }
  return out;
}
