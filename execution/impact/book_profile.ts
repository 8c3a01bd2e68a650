import { type LobSession, snapAskPrice, snapAskSize, snapBidPrice, snapBidSize, snapMid } from '../../lob/types.ts';
import { blockBootstrap, type Estimate, ols } from './stats.ts';
import { consecutiveBlocks, timeGrid, type TimeGrid } from './tape.ts';

/**
 * Time-weighted book statistics on a regular grid (default every second): quoted spread, depth
 * profile, the cost of walking the book, mid volatility. Confidence intervals: moving-block
 * bootstrap over consecutive `blockSeconds` stretches of the grid (Künsch 1989), since successive
 * book states are strongly autocorrelated. Prices in price units (1/10,000 USD) unless the name
 * says ticks, bps or USD.
 */

/** Options shared by the book statistics. */
export interface ProfileOptions {
  dt?: number;
  blockSeconds?: number;
  reps?: number;
  seed?: number;
  grid?: TimeGrid;
}

function gridOf(s: LobSession, o: ProfileOptions): { grid: TimeGrid; blocks: number[][] } {
  const grid = o.grid ?? timeGrid(s, o.dt ?? 1);
  return { grid, blocks: consecutiveBlocks(grid.rows.length, Math.max(1, Math.round((o.blockSeconds ?? 60) / grid.dt))) };
}

/** Quoted spread profile: time-weighted mean (ticks, with CI), quantiles, share of time at each spread. */
export interface SpreadProfile {
  meanTicks: Estimate;
  meanBps: Estimate;
  medianTicks: number;
  p10Ticks: number;
  p90Ticks: number;
  /** Fraction of grid time at each spread (ticks), sorted by spread. */
  distribution: { ticks: number; fraction: number }[];
}

/** Spread (best ask − best bid) over the grid; see {@link SpreadProfile}. Throws when the grid is empty. */
export function spreadProfile(s: LobSession, o: ProfileOptions = {}): SpreadProfile {
  const { grid, blocks } = gridOf(s, o);
  const n = grid.rows.length;
  if (n < 2) throw new RangeError(`${s.symbol}: spread profile needs at least 2 grid points`);
  const ticks = new Float64Array(n);
  const bps = new Float64Array(n);
  for (let g = 0; g < n; g++) {
    const r = grid.rows[g]!;
    const sp = snapAskPrice(s.book, r, 0) - snapBidPrice(s.book, r, 0);
    ticks[g] = sp / s.tick;
    bps[g] = (sp / snapMid(s.book, r)) * 1e4;
  }
  const mean = (x: Float64Array) => (idx: number[]) => idx.reduce((a, i) => a + x[i]!, 0) / idx.length;
  const sorted = Float64Array.from(ticks).sort();
  const q = (p: number) => sorted[Math.min(n - 1, Math.floor(p * (n - 1)))]!;
  const counts = new Map<number, number>();
  for (const t of ticks) counts.set(t, (counts.get(t) ?? 0) + 1);
  return {
    meanTicks: blockBootstrap(blocks, mean(ticks), { reps: o.reps, seed: o.seed }),
    meanBps: blockBootstrap(blocks, mean(bps), { reps: o.reps, seed: o.seed }),
    medianTicks: q(0.5), p10Ticks: q(0.1), p90Ticks: q(0.9),
    distribution: [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([t, c]) => ({ ticks: t, fraction: c / n })),
  };
}

/** Mean visible shares at each level (1 = best) per side, time-weighted, with block-bootstrap CIs. */
export interface DepthProfile {
  ask: Estimate[];
  bid: Estimate[];
  /** Mean distance of level k from the mid, ticks (ask side and bid side averaged). */
  distanceTicks: number[];
}

/** Depth profile over the grid; see {@link DepthProfile}. Empty levels count as 0 shares. */
export function depthProfile(s: LobSession, o: ProfileOptions = {}): DepthProfile {
  const { grid, blocks } = gridOf(s, o);
  const n = grid.rows.length;
  const L = s.levels;
  const ask: Estimate[] = [];
  const bid: Estimate[] = [];
  const distanceTicks: number[] = [];
  for (let l = 0; l < L; l++) {
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    let dist = 0;
    let dn = 0;
    for (let g = 0; g < n; g++) {
      const r = grid.rows[g]!;
      a[g] = snapAskSize(s.book, r, l);
      b[g] = snapBidSize(s.book, r, l);
      const mid = snapMid(s.book, r);
      const ap = snapAskPrice(s.book, r, l);
      const bp = snapBidPrice(s.book, r, l);
      if (ap > 0 && bp > 0) {
        dist += (ap - mid + (mid - bp)) / 2 / s.tick;
        dn++;
      }
    }
    const mean = (x: Float64Array) => (idx: number[]) => idx.reduce((acc, i) => acc + x[i]!, 0) / idx.length;
    ask.push(blockBootstrap(blocks, mean(a), { reps: o.reps, seed: o.seed }));
    bid.push(blockBootstrap(blocks, mean(b), { reps: o.reps, seed: o.seed }));
    distanceTicks.push(dn ? dist / dn : NaN);
  }
  return { ask, bid, distanceTicks };
}

/**
 * Cost of walking the visible book at snapshot `row` for `shares` on side `sign` (+1 buy: walks
 * the asks): Σ pₖqₖ/shares − mid, in price units per share (≥ half-spread); NaN when the visible
 * depth is smaller than `shares`.
 */
export function walkCost(s: LobSession, row: number, sign: 1 | -1, shares: number): number {
  let rest = shares;
  let notional = 0;
  for (let l = 0; l < s.levels && rest > 0; l++) {
    const p = sign === 1 ? snapAskPrice(s.book, row, l) : snapBidPrice(s.book, row, l);
    const q = sign === 1 ? snapAskSize(s.book, row, l) : snapBidSize(s.book, row, l);
    if (!(p > 0)) break;
    const take = Math.min(q, rest);
    notional += take * p;
    rest -= take;
  }
  if (rest > 0) return NaN;
  return sign * (notional / shares - snapMid(s.book, row));
}

/**
 * Linear temporary-impact fit from the book shape (Almgren & Chriss 2000, §2: h(n) = ε + η̂·n, per
 * share): for every grid time and both sides, the walking cost c(q) of each size q in `sizes` is
 * regressed on q. ε = intercept (≈ half-spread), η̂ = slope; both in USD per share (η̂ per share
 * traded). Intervals by block bootstrap of the refitted OLS. Sizes beyond the visible depth are
 * skipped. AC's η for a child order executed at once every τ seconds is η̂·τ (USD·s/share²).
 */
export function bookTemporaryImpact(s: LobSession, sizes: number[], o: ProfileOptions = {}): { epsilonUsd: Estimate; etaUsdPerShare: Estimate; r2: number; meanCostBps: { shares: number; bps: number }[] } {
  const { grid, blocks } = gridOf(s, o);
  const xs: number[] = [];
  const ys: number[] = [];
  const owner: number[] = [];
  const bySize = sizes.map(() => ({ sum: 0, n: 0 }));
  for (let g = 0; g < grid.rows.length; g++) {
    const r = grid.rows[g]!;
    const mid = snapMid(s.book, r);
    for (const sign of [1, -1] as const) {
      sizes.forEach((q, k) => {
        const c = walkCost(s, r, sign, q);
        if (!Number.isFinite(c)) return;
        xs.push(q);
        ys.push(c / 1e4);
        owner.push(g);
        bySize[k]!.sum += (c / mid) * 1e4;
        bySize[k]!.n++;
      });
    }
  }
  // Regroup the observation indices by their grid block.
  const blockOf = new Int32Array(grid.rows.length);
  blocks.forEach((b, bi) => b.forEach((g) => (blockOf[g] = bi)));
  const obsBlocks: number[][] = blocks.map(() => []);
  owner.forEach((g, i) => obsBlocks[blockOf[g]!]!.push(i));
  const fit = (idx: number[]) => ols([idx.map(() => 1), idx.map((i) => xs[i]!)], idx.map((i) => ys[i]!));
  const all = fit(xs.map((_, i) => i));
  const opts = { reps: o.reps ?? 200, seed: o.seed };
  return {
    epsilonUsd: blockBootstrap(obsBlocks, (idx) => fit(idx).beta[0]!, opts),
    etaUsdPerShare: blockBootstrap(obsBlocks, (idx) => fit(idx).beta[1]!, opts),
    r2: all.r2,
    meanCostBps: sizes.map((q, k) => ({ shares: q, bps: bySize[k]!.n ? bySize[k]!.sum / bySize[k]!.n : NaN })),
  };
}

/**
 * Mid volatility: sample standard deviation of mid log returns over the grid step, scaled to
 * bps per √second and to USD per √second (at the mean mid), with a block-bootstrap interval. Not
 * annualised (annualise with calendar/calendar.ts when needed).
 */
export function midVolatility(s: LobSession, o: ProfileOptions = {}): { bpsPerSqrtSecond: Estimate; usdPerSqrtSecond: number; meanMidUsd: number } {
  const { grid, blocks } = gridOf(s, o);
  const n = grid.rows.length;
  const r = new Float64Array(Math.max(0, n - 1));
  let midSum = 0;
  for (let g = 0; g < n; g++) {
    const m = snapMid(s.book, grid.rows[g]!);
    midSum += m;
    if (g > 0) r[g - 1] = Math.log(m / snapMid(s.book, grid.rows[g - 1]!)) * 1e4;
  }
  const rBlocks = blocks.map((b) => b.filter((g) => g > 0).map((g) => g - 1));
  const sd = (idx: number[]) => {
    const m = idx.reduce((a, i) => a + r[i]!, 0) / idx.length;
    return Math.sqrt(idx.reduce((a, i) => a + (r[i]! - m) ** 2, 0) / (idx.length - 1) / grid.dt);
  };
  const est = blockBootstrap(rBlocks, sd, { reps: o.reps, seed: o.seed });
  const meanMid = midSum / n / 1e4;
  return { bpsPerSqrtSecond: est, usdPerSqrtSecond: (est.value / 1e4) * meanMid, meanMidUsd: meanMid };
}
