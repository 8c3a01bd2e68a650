import { type LobSession, snapAskPrice, snapBidPrice, snapMid } from '../../lob/types.ts';
import { blockBootstrap, type Estimate, ols } from './stats.ts';
import { consecutiveBlocks, marketOrders, type MarketOrder, timeBlocks, timeGrid } from './tape.ts';

/**
 * Fill probability of a passive order against distance from the mid and time, and the arrival
 * intensity λ(δ) = A·e^{−kδ} of aggressor orders reaching depth δ (Avellaneda & Stoikov 2008, §2.4;
 * Guéant, Lehalle & Fernandez-Tapia 2013 calibrate the same form). Distances in ticks or USD as
 * named; horizons and rates in seconds.
 */

/** Fill probability at one (distance, horizon). */
export interface FillProbability {
  distanceTicks: number;
  horizonSeconds: number;
  /** P(an aggressor trades at or through our price, or the opposite quote reaches it, within the horizon). */
  touch: Estimate;
  /** P(an aggressor trades strictly through our price): a fill whatever our queue position. */
  through: Estimate;
}

/**
 * For each grid time t (every `dt` s), each side and each distance d (ticks), a virtual limit order
 * at the mid ∓ d ticks (rounded away from the mid to the tick grid) is "touched" within horizon H
 * when a recorded aggressor order on its side reaches its price, or the opposite best quote reaches
 * it (a crossing order), in (t, t + H]. Touch is an upper bound on the fill probability of an order
 * queued at that price; "through" (strictly beyond the price) a lower bound. Grid points whose
 * horizon passes the end of the session are dropped. Intervals: block bootstrap over 60-s blocks.
 */
export function fillProbabilities(s: LobSession, distancesTicks: number[], horizons: number[], opts: { dt?: number; blockSeconds?: number; reps?: number; seed?: number } = {}): FillProbability[] {
  const m = s.messages;
  const grid = timeGrid(s, opts.dt ?? 1);
  const orders = marketOrders(s);
  const tEnd = m.time[m.n - 1]!;
  const out: FillProbability[] = [];
  for (const H of horizons) {
    const usable = Array.from(grid.times).findIndex((t) => t + H > tEnd);
    const ng = usable < 0 ? grid.times.length : usable;
    if (ng < 10) throw new RangeError(`${s.symbol}: horizon ${H}s leaves ${ng} grid points (need ≥ 10)`);
    // For each grid point: the lowest sell-aggressor price / lowest ask, highest buy-aggressor price / highest bid in (t, t+H].
    const minSellTrade = new Float64Array(ng).fill(Infinity);
    const maxBuyTrade = new Float64Array(ng).fill(-Infinity);
    const minAsk = new Float64Array(ng).fill(Infinity);
    const maxBid = new Float64Array(ng).fill(-Infinity);
    let o0 = 0;
    for (let g = 0; g < ng; g++) {
      const t = grid.times[g]!;
      while (o0 < orders.length && orders[o0]!.time <= t) o0++;
      for (let k = o0; k < orders.length && orders[k]!.time <= t + H; k++) {
        const o = orders[k]!;
        if (o.sign === -1) minSellTrade[g] = Math.min(minSellTrade[g]!, o.worstPrice);
        else maxBuyTrade[g] = Math.max(maxBuyTrade[g]!, o.worstPrice);
      }
      for (let r = grid.rows[g]! + 1; r < m.n && m.time[r]! <= t + H; r++) {
        const a = snapAskPrice(s.book, r, 0);
        const b = snapBidPrice(s.book, r, 0);
        if (a > 0) minAsk[g] = Math.min(minAsk[g]!, a);
        if (b > 0) maxBid[g] = Math.max(maxBid[g]!, b);
      }
    }
    const blocks = consecutiveBlocks(ng, Math.max(1, Math.round((opts.blockSeconds ?? 60) / grid.dt)));
    for (const d of distancesTicks) {
      const touch = new Float64Array(ng);
      const through = new Float64Array(ng);
      for (let g = 0; g < ng; g++) {
        const mid = snapMid(s.book, grid.rows[g]!);
        const bidP = Math.floor((mid - d * s.tick) / s.tick) * s.tick;
        const askP = Math.ceil((mid + d * s.tick) / s.tick) * s.tick;
        const tb = minSellTrade[g]! <= bidP || minAsk[g]! <= bidP ? 1 : 0;
        const ta = maxBuyTrade[g]! >= askP || maxBid[g]! >= askP ? 1 : 0;
        touch[g] = (tb + ta) / 2;
        through[g] = ((minSellTrade[g]! < bidP ? 1 : 0) + (maxBuyTrade[g]! > askP ? 1 : 0)) / 2;
      }
      const mean = (x: Float64Array) => (idx: number[]) => idx.reduce((a, i) => a + x[i]!, 0) / idx.length;
      const bo = { reps: opts.reps ?? 300, seed: opts.seed };
      out.push({ distanceTicks: d, horizonSeconds: H, touch: blockBootstrap(blocks, mean(touch), bo), through: blockBootstrap(blocks, mean(through), bo) });
    }
  }
  return out;
}

/** Fitted arrival intensity λ(δ) = A·e^{−kδ}, δ in USD from the mid, λ per second per side. */
export interface ArrivalIntensity {
  A: Estimate;
  k: Estimate;
  /** Empirical points (δ USD, λ per second) the fit used. */
  points: { deltaUsd: number; lambdaPerSecond: number; count: number }[];
  seconds: number;
  orders: number;
  r2: number;
}

/**
 * Fits λ(δ) = A·e^{−kδ} (Avellaneda & Stoikov 2008 eq. 2.10 form): δᵢ = sign·(worst execution price −
 * mid before) of each aggressor order, λ(δ) = #{δᵢ ≥ δ} / (2·T) (per side per second) on a grid of
 * `gridTicks`-tick steps from the smallest observed depth while at least `minCount` orders remain;
 * then OLS of ln λ on δ. Intervals: block bootstrap (60-s blocks of orders, refitted). With
 * `orders` (a subset, e.g. a training window) pass the window length as `seconds`.
 * Throws when fewer than 3 grid points qualify.
 */
export function arrivalIntensity(s: LobSession, opts: { gridTicks?: number; minCount?: number; blockSeconds?: number; reps?: number; seed?: number; orders?: MarketOrder[]; seconds?: number } = {}): ArrivalIntensity {
  const orders = (opts.orders ?? marketOrders(s)).filter((o) => o.midBefore > 0);
  const m = s.messages;
  const T = opts.seconds ?? m.time[m.n - 1]! - m.time[0]!;
  const delta = orders.map((o) => (o.sign * (o.worstPrice - o.midBefore)) / 1e4);
  const step = ((opts.gridTicks ?? 2) * s.tick) / 1e4;
  const minCount = opts.minCount ?? 10;
  const fitIdx = (idx: number[]) => {
    const ds = idx.map((i) => delta[i]!).sort((a, b) => a - b);
    const lo = Math.max(0, ds[0] ?? 0);
    const pts: { deltaUsd: number; lambdaPerSecond: number; count: number }[] = [];
    let j = 0;
    for (let d = lo; ; d += step) {
      while (j < ds.length && ds[j]! < d - 1e-12) j++;
      const c = ds.length - j;
      if (c < minCount) break;
      pts.push({ deltaUsd: d, lambdaPerSecond: c / (2 * T), count: c });
    }
    if (pts.length < 3) throw new RangeError(`${s.symbol}: only ${pts.length} intensity grid points with ≥ ${minCount} orders (need 3)`);
    const f = ols([pts.map(() => 1), pts.map((p) => p.deltaUsd)], pts.map((p) => Math.log(p.lambdaPerSecond)));
    return { A: Math.exp(f.beta[0]!), k: -f.beta[1]!, pts, r2: f.r2 };
  };
  const all = fitIdx(orders.map((_, i) => i));
  const blocks = timeBlocks(orders.map((o) => o.time), opts.blockSeconds ?? 60);
  const bo = { reps: opts.reps ?? 300, seed: opts.seed };
  const safe = (f: (idx: number[]) => number) => (idx: number[]) => {
    try {
      return f(idx);
    } catch {
      return NaN;
    }
  };
  return {
    A: blockBootstrap(blocks, safe((idx) => fitIdx(idx).A), bo),
    k: blockBootstrap(blocks, safe((idx) => fitIdx(idx).k), bo),
    points: all.pts, seconds: T, orders: orders.length, r2: all.r2,
  };
}
