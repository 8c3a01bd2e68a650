/**
 * Point-in-time indicators of the rule strategies, all read through a {@link PointInTimeView}
 * (so they cannot see past the decision date).
 */
import type { PointInTimeView } from '../backtest/view.ts';
import type { DateChainIv, ExpirySlice } from '../pricing/chain-iv.ts';
import { black76Greeks } from '../pricing/black76.ts';
import { mean, sampleStd } from '../stats/series.ts';

/**
 * IV rank: fraction of the last `window` dates (≤ asOf, today included) whose front ATM IV is ≤ today's
 * (a percentile rank in [0, 1]). NaN when fewer than `minObs` finite values.
 */
export function ivRank(view: PointInTimeView, window = 60, minObs = 20): number {
  const xs = view.lastDates(window).map((d) => view.feature(d)?.values.atm_iv ?? NaN).filter(Number.isFinite);
  const today = view.feature()?.values.atm_iv ?? NaN;
  if (xs.length < minObs || !Number.isFinite(today)) return NaN;
  return xs.filter((x) => x <= today).length / xs.length;
}

/**
 * Bollinger bandwidth (Bollinger 2001) of the last `n` closes: (upper − lower)/middle = 4·σₙ/MAₙ with
 * the population σ (bands at ±2σ). NaN when fewer than `n` closes.
 */
export function bollingerBandwidth(closes: readonly number[], n = 20): number {
  if (closes.length < n) return NaN;
  const w = closes.slice(-n);
  const m = mean(w);
  const sd = Math.sqrt(w.reduce((s, x) => s + (x - m) ** 2, 0) / n);
  return (4 * sd) / m;
}

/** Bollinger squeeze: today's bandwidth at or below the `q` quantile of the last `lookback` bandwidths (NIFTY closes ≤ asOf). */
export function bollingerSqueeze(view: PointInTimeView, lookback = 120, q = 0.2): { squeeze: boolean; bandwidth: number; rank: number } {
  const closes = view.closes(lookback + 20).map((c) => c.close);
  if (closes.length < lookback + 20) return { squeeze: false, bandwidth: NaN, rank: NaN };
  const bw: number[] = [];
  for (let i = 20; i <= closes.length; i++) bw.push(bollingerBandwidth(closes.slice(0, i)));
  const today = bw[bw.length - 1]!;
  const hist = bw.slice(-lookback);
  const rank = hist.filter((x) => x <= today).length / hist.length;
  return { squeeze: rank <= q, bandwidth: today, rank };
}

/** Total open interest of a date's chain (index units), all expiries and both types. */
export function totalOi(chain: DateChainIv | undefined): number {
  if (!chain) return NaN;
  return chain.slices.reduce((s, x) => s + x.contracts.reduce((u, c) => u + (c.oi ?? 0), 0), 0);
}

/** Σ put OI / Σ call OI of a chain (NaN without call OI). */
export function pcrOi(chain: DateChainIv | undefined): number {
  if (!chain) return NaN;
  let p = 0;
  let c = 0;
  for (const s of chain.slices) for (const x of s.contracts) (x.type === 'P' ? (p += x.oi ?? 0) : (c += x.oi ?? 0));
  return c > 0 ? p / c : NaN;
}

/**
 * Net gamma exposure of a slice at a hypothetical spot S′ under the SqueezeMetrics convention
 * (dealers long the calls and short the puts the public holds): Σ_calls Γ·OI − Σ_puts Γ·OI, each Γ
 * re-evaluated by Black-76 at F′ = F·S′/S with the contract's own IV; index units per point.
 * This convention differs on purpose from the `dealer_gamma` feature (dealers short everything),
 * because a gamma *flip* needs a sign change.
 */
export function netGammaAt(slice: ExpirySlice, spot: number, spotAlt: number): number {
  const F = (slice.forward * spotAlt) / spot;
  let g = 0;
  for (const c of slice.contracts) {
    if (c.reason !== null || !((c.oi ?? 0) > 0)) continue;
    const gamma = black76Greeks({ type: c.type, forward: F, strike: c.strike, t: slice.t, vol: c.iv, df: slice.df }, slice.rate).gamma;
    g += (c.type === 'C' ? 1 : -1) * gamma * c.oi!;
  }
  return g;
}

/** Gamma-flip level: the spot nearest today's where {@link netGammaAt} changes sign, scanning ±`range` in 0.25 % steps; NaN when none. */
export function gammaFlip(slice: ExpirySlice, spot: number, range = 0.08): number {
  let best = NaN;
  let prev: { s: number; g: number } | null = null;
  for (let x = -range; x <= range + 1e-12; x += 0.0025) {
    const s = spot * (1 + x);
    const g = netGammaAt(slice, spot, s);
    if (prev && Math.sign(prev.g) !== Math.sign(g) && g !== 0) {
      const cross = prev.s + ((0 - prev.g) / (g - prev.g)) * (s - prev.s);
      if (!Number.isFinite(best) || Math.abs(cross - spot) < Math.abs(best - spot)) best = cross;
    }
    prev = { s, g };
  }
  return best;
}

/** Sample z-score of the last value of `xs` within `xs` (NaN with < 3 finite values or zero spread). */
export function lastZ(xs: readonly number[]): number {
  const f = xs.filter(Number.isFinite);
  if (f.length < 3) return NaN;
  const sd = sampleStd(f);
  return sd > 0 ? (xs[xs.length - 1]! - mean(f)) / sd : NaN;
}
