import type { PricePanel } from '../backtest/panel.ts';
import type { TradingCalendar } from '../calendar/calendar.ts';
import type { PortfolioConfig } from './config.ts';
import { averageRanksInto } from '../lib/ranks.ts';
import type { CostConfig, RiskInputs } from '../execution/cost_models.ts';
import { emptySizerState, sizerStep } from './sizing.ts';

export { kellyLeverage, shrunkMean } from './sizing.ts';

/**
 * Optional inputs of {@link buildWeights}: the cost model (and its σ/ADV) for the held book's net
 * returns; `out`, a T×N buffer the weights are written into (every cell), for callers that build
 * many books in turn (the gate's trials) and would otherwise allocate 5 MB a book.
 */
export interface BuildOptions {
  costs?: CostConfig;
  risk?: Pick<RiskInputs, 'sigma' | 'adv'>;
  out?: Float64Array;
}

/**
 * Reusable buffers of {@link baseBookRow} (all length N). `idx` lists the date's valid columns; `vals`,
 * `ranks` and `z` are dense over those names (`vals` holds their scores, then their book weights).
 */
export interface BookScratch {
  idx: Uint32Array;
  z: Float64Array;
  vals: Float64Array;
  sorted: Float64Array;
  order: Int32Array;
  ranks: Float64Array;
}

/** Allocates {@link BookScratch} for N names. */
export function bookScratch(N: number): BookScratch {
  return { idx: new Uint32Array(N), z: new Float64Array(N), vals: new Float64Array(N), sorted: new Float64Array(N), order: new Int32Array(N), ranks: new Float64Array(N) };
}

/** Result of {@link buildWeights} for one path (arrays aligned with the panel). */
export interface BuiltWeights {
  /** Final target weights, T×N row-major; 0 where no position. Decided at the close of each date. */
  weights: Float64Array;
  /** Multiplier applied to the base book on each date (vol target, Kelly when enabled, floor and ceiling). */
  leverage: Float64Array;
  /** Fractional-Kelly leverage f·max(0, μ̃/σ²) of the held book per date (NaN before `kelly.min_obs`). */
  kelly: Float64Array;
  /** Vol-target leverage target/σ_ann of the held book per date (NaN before `vol_target.min_obs`). */
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
  const { idx, vals, z } = scratch;
  let n = 0;
  for (let i = 0; i < N; i++) {
    const s = score[rowOff + i]!;
    if (Number.isFinite(s) && close[rowOff + i]! > 0) {
      idx[n] = i;
      vals[n++] = s;
    }
  }
  if (n < cfg.min_names) return;
  // average ranks 0..n-1 (ties averaged), then z-score (mean (n−1)/2, std of ranks). The ranks and
  // (r − mean) are multiples of ½, so Σ(r − mean)² is exact in any order.
  const ranks = scratch.ranks;
  averageRanksInto(vals, n, scratch.sorted, scratch.order, ranks);
  const mean = (n - 1) / 2;
  let ss = 0;
  for (let k = 0; k < n; k++) {
    const d = ranks[k]! - mean;
    ss += d * d;
  }
  const sd = Math.sqrt(ss / n);
  if (!(sd > 0)) return;
  for (let k = 0; k < n; k++) z[k] = (ranks[k]! - mean) / sd;
  const longOnly = cfg.mode === 'long_only';
  const sizeL = longOnly ? cfg.gross : (cfg.gross + cfg.net_target) / 2;
  const sizeS = longOnly ? 0 : (cfg.gross - cfg.net_target) / 2;
  if (scaleAll(n, z, sizeL, sizeS, cfg.per_name_cap, idx, out)) return;
  // z and the book are dense over the n valid names (k order = column order); scattered at the end.
  const w = vals;
  w.fill(0, 0, n);
  fillBook(n, z, 1, sizeL, cfg.per_name_cap, w);
  fillBook(n, z, -1, sizeS, cfg.per_name_cap, w);
  for (let k = 0; k < n; k++) out[idx[k]!] = w[k]!;
}

/**
 * The common case of {@link fillBook} on both sides in one pass: when on each side with a book
 * (size > 0, some name on it) the cap binds on no name (m·cap > size, and the largest side·z times
 * size/Σ side·z stays within the cap), every weight is z·size/Σ — exactly what fillBook's first
 * iteration leaves — written straight into out[idx[k]]. Returns false (out untouched) otherwise.
 */
function scaleAll(n: number, z: Float64Array, sizeL: number, sizeS: number, cap: number, idx: Uint32Array, out: Float64Array): boolean {
  let mL = 0;
  let mS = 0;
  let freeL = 0;
  let freeS = 0;
  let maxL = 0;
  let maxS = 0;
  for (let k = 0; k < n; k++) {
    const v = z[k]!;
    const pos = v > 0;
    const neg = v < 0;
    mL += pos ? 1 : 0;
    mS += neg ? 1 : 0;
    freeL += pos ? v : 0;
    freeS += neg ? -v : 0;
    maxL = pos && v > maxL ? v : maxL;
    maxS = neg && -v > maxS ? -v : maxS;
  }
  const scaleL = sizeL > 0 && mL > 0 ? sizeL / freeL : 0;
  const scaleS = sizeS > 0 && mS > 0 ? sizeS / freeS : 0;
  if (scaleL > 0 && (mL * cap <= sizeL || maxL * scaleL > cap + 1e-15)) return false;
  if (scaleS > 0 && (mS * cap <= sizeS || maxS * scaleS > cap + 1e-15)) return false;
  for (let k = 0; k < n; k++) {
    const v = z[k]!;
    if (v > 0) {
      if (scaleL > 0) out[idx[k]!] = v * scaleL;
    } else if (v < 0 && scaleS > 0) out[idx[k]!] = v * scaleS;
  }
  return true;
}

/**
 * Water-filling over z[0..n): weights ∝ side·z over names with side·z > 0, summing to `size`, each
 * ≤ cap, into w (w[k] = 0 on entry for every name of this side).
 */
function fillBook(n: number, z: Float64Array, side: 1 | -1, size: number, cap: number, w: Float64Array): void {
  if (size <= 0) return;
  let m = 0;
  let free = 0;
  for (let k = 0; k < n; k++) {
    const v = side * z[k]!;
    if (v > 0) {
      m++;
      free += v;
    }
  }
  if (m === 0) return;
  if (m * cap <= size) {
    for (let k = 0; k < n; k++) if (side * z[k]! > 0) w[k] = side * cap;
    return;
  }
  // Iterate: scale the uncapped names to fill what the capped ones leave; cap any that exceed.
  // `w` holds ±cap for capped names and 0 for the others while iterating.
  let nCapped = 0;
  for (let iter = 0; iter <= m; iter++) {
    const scale = (size - nCapped * cap) / free;
    let newly = 0;
    for (let k = 0; k < n; k++) {
      const v = side * z[k]!;
      if (v <= 0 || w[k] !== 0) continue;
      if (v * scale > cap + 1e-15) {
        w[k] = side * cap;
        nCapped++;
        free -= v;
        newly++;
      }
    }
    if (newly === 0 || free <= 0) {
      for (let k = 0; k < n; k++) {
        const v = side * z[k]!;
        if (v > 0 && w[k] === 0) w[k] = side * v * scale;
      }
      return;
    }
  }
}

/**
 * Target weights for one path: base book per date ({@link baseBookRow}), then the held book's sizing
 * step per date (portfolio/sizing.ts `sizerStep`): multiplier L_t from the held book's own trailing
 * per-unit net returns (vol target on the held book; fractional Kelly with a shrunk mean when enabled;
 * floored at `min_leverage`, capped at `max_leverage`), |w| ≤ per_name_cap, and with `trade_rate` λ < 1
 *   w_t = w_{t−1} + λ·(target_t − w_{t−1})   (Gârleanu & Pedersen 2013, "aim portfolio"),
 * a convex combination, so caps still hold; a name with no close on t is closed (w_t = 0).
 * `scores` is T×N row-major (NaN = no prediction), `ret` the panel's close-to-close returns. With
 * `opts.costs` (and `opts.risk` for σ/ADV) the held book's returns are net of its trading costs.
 * Everything on row t uses information ≤ t.
 */
export function buildWeights(scores: Float64Array, panel: PricePanel, ret: Float64Array, cfg: PortfolioConfig, cal: TradingCalendar, opts: BuildOptions = {}): BuiltWeights {
  const { T, N, close } = panel;
  const row = new Float64Array(N);
  const scratch = bookScratch(N);
  const state = emptySizerState(N);
  const leverage = new Float64Array(T);
  const kelly = new Float64Array(T);
  const volLeverage = new Float64Array(T);
  const weights = opts.out ?? new Float64Array(T * N);
  if (weights.length !== T * N) throw new RangeError(`buildWeights: out has ${weights.length} cells, the panel ${T}×${N}`);
  for (let t = 0; t < T; t++) {
    const o = t * N;
    baseBookRow(scores, close, o, N, cfg, row, scratch);
    const r = { close: close.subarray(o, o + N), ret: ret.subarray(o, o + N), sigma: opts.risk?.sigma.subarray(o, o + N), adv: opts.risk?.adv.subarray(o, o + N) };
    const d = sizerStep(state, row, r, cfg, cal, opts.costs);
    leverage[t] = d.leverage;
    kelly[t] = d.kelly;
    volLeverage[t] = d.volLeverage;
    weights.set(state.held, o);
  }
  return { weights, leverage, kelly, volLeverage };
}

