import { arrivalIntensity } from '../execution/impact/fill.ts';
import { midVolatility } from '../execution/impact/book_profile.ts';
import { blockBootstrap, type Estimate, ols } from '../execution/impact/stats.ts';
import { consecutiveBlocks, marketOrders, timeGrid } from '../execution/impact/tape.ts';
import type { LobSession } from '../lob/types.ts';
import type { Bars } from './klines.ts';

/**
 * Calibration of the A-S inputs σ, A, k (λ(δ) = A·e^{−kδ}).
 */

/** A-S inputs with intervals and the units they are in. */
export interface AsCalibration {
  sigma: Estimate;
  A: Estimate;
  k: Estimate;
  units: { price: string; time: string };
  /** Empirical (δ, λ) points behind the fit. */
  points: { delta: number; lambda: number }[];
  approximations: string[];
}

/**
 * From the LOB over [from, to] (seconds after midnight): σ = std of 1-s mid changes (USD/√s,
 * block bootstrap), A and k from the depth reached by recorded aggressor orders
 * (execution/impact/fill.ts `arrivalIntensity`; δ in USD from the mid, λ per side per second).
 */
export function calibrateAsFromLob(s: LobSession, from: number, to: number): AsCalibration {
  const grid = timeGrid(s, 1, from, to);
  const vol = midVolatility(s, { grid, reps: 200 });
  const scale = vol.usdPerSqrtSecond / vol.bpsPerSqrtSecond.value;
  const sigma: Estimate = { ...vol.bpsPerSqrtSecond, value: vol.usdPerSqrtSecond, se: vol.bpsPerSqrtSecond.se * scale, lo: vol.bpsPerSqrtSecond.lo * scale, hi: vol.bpsPerSqrtSecond.hi * scale };
  const orders = marketOrders(s).filter((o) => o.time >= from && o.time < to);
  const fit = arrivalIntensity(s, { orders, reps: 200, seconds: to - from });
  return {
    sigma, A: fit.A, k: fit.k,
    units: { price: 'USD per share', time: 'seconds' },
    points: fit.points.map((p) => ({ delta: p.deltaUsd, lambda: p.lambdaPerSecond })),
    approximations: [
      'λ(δ) counts aggressor orders whose deepest execution reached ≥ δ from the mid before them, per side per second (Avellaneda & Stoikov §2.4): an order at δ is assumed filled whenever such an order arrives (no queue ahead).',
      `fitted on [${from.toFixed(0)}, ${to.toFixed(0)}] s of one day; σ assumes arithmetic Brownian motion over the episode.`,
    ],
  };
}

/**
 * From hourly bars with index in [from, to): σ = std of hourly log returns (per √hour, log-price
 * units); touch probabilities P(δ) = share of bars whose high reached prev_close·e^{δ} (ask side) or
 * whose low reached prev_close·e^{−δ} (bid side), sides pooled; λ(δ) = −ln(1 − P(δ)) per hour (a
 * Poisson arrival count with P(at least one) = P(δ)); OLS of ln λ on δ over δ ∈ `deltas` with
 * 2% < P < 98%. Intervals: block bootstrap over blocks of 168 bars (one week). Only bars whose
 * previous bar is exactly one hour earlier are used.
 */
export function calibrateAsFromBars(b: Bars, from: number, to: number, deltas: number[] = Array.from({ length: 30 }, (_, i) => 0.0005 * (i + 1))): AsCalibration {
  const up: number[] = [];
  const dn: number[] = [];
  const ret: number[] = [];
  for (let i = Math.max(1, from); i < to; i++) {
    if (b.ts[i]! - b.ts[i - 1]! !== 3600) continue;
    const c0 = b.close[i - 1]!;
    up.push(Math.log(b.high[i]! / c0));
    dn.push(Math.log(c0 / b.low[i]!));
    ret.push(Math.log(b.close[i]! / c0));
  }
  if (ret.length < 500) throw new RangeError(`${b.symbol}: only ${ret.length} usable hourly bars in [${from}, ${to}) (need ≥ 500)`);
  // Per-week block sufficient statistics, so the bootstrap resamples blocks without touching bars again.
  const weeks = consecutiveBlocks(ret.length, 168);
  const stats = weeks.map((w) => {
    let s1 = 0;
    let s2 = 0;
    const hits = deltas.map((d) => w.reduce((a, i) => a + (up[i]! >= d ? 1 : 0) + (dn[i]! >= d ? 1 : 0), 0));
    for (const i of w) {
      s1 += ret[i]!;
      s2 += ret[i]! * ret[i]!;
    }
    return { n: w.length, s1, s2, hits };
  });
  const blocks = weeks.map((_, b) => [b]);
  const sd = (bs: number[]) => {
    let n = 0;
    let s1 = 0;
    let s2 = 0;
    for (const b of bs) {
      n += stats[b]!.n;
      s1 += stats[b]!.s1;
      s2 += stats[b]!.s2;
    }
    return Math.sqrt(Math.max(0, (s2 - (s1 * s1) / n) / (n - 1)));
  };
  const fitIdx = (bs: number[]) => {
    let n = 0;
    const hit = deltas.map(() => 0);
    for (const b of bs) {
      n += stats[b]!.n;
      stats[b]!.hits.forEach((h, j) => (hit[j]! += h));
    }
    const pts: { delta: number; lambda: number }[] = [];
    deltas.forEach((d, j) => {
      const P = hit[j]! / (2 * n);
      if (P > 0.02 && P < 0.98) pts.push({ delta: d, lambda: -Math.log(1 - P) });
    });
    if (pts.length < 3) return { A: NaN, k: NaN, pts };
    const f = ols([pts.map(() => 1), pts.map((p) => p.delta)], pts.map((p) => Math.log(p.lambda)));
    return { A: Math.exp(f.beta[0]!), k: -f.beta[1]!, pts };
  };
  const all = fitIdx(blocks.map((_, b) => b));
  if (!Number.isFinite(all.k)) throw new RangeError(`${b.symbol}: fewer than 3 touch-probability points within (2%, 98%)`);
  const bo = { reps: 300, seed: 3 };
  return {
    sigma: blockBootstrap(blocks, sd, bo), A: blockBootstrap(blocks, (idx) => fitIdx(idx).A, bo), k: blockBootstrap(blocks, (idx) => fitIdx(idx).k, bo),
    units: { price: 'log-price (δ = 0.001 ≈ 10 bps)', time: 'hours' },
    points: all.pts,
    approximations: [
      'touch = fill: a quote is filled when the bar range reaches it (no queue, unlimited depth at our price, our size does not move the market)',
      'at most one fill per side per bar; quotes are set at the bar open from the previous close',
      'λ(δ) = −ln(1 − P(touch within the hour)) treats touches as the first arrival of a Poisson process of constant intensity within the hour',
      'A-S is applied to log-prices (geometric Brownian motion treated as arithmetic over an episode)',
    ],
  };
}
