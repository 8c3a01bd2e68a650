import { type LobSession, snapAskSize, snapBidSize, snapMid } from '../../lob/types.ts';
import { type Estimate, ols, olsEstimate } from './stats.ts';
import { marketOrders, type MarketOrder, timeGrid } from './tape.ts';

/**
 * Price impact regressions on the order flow of one session (Almgren & Chriss 2000 §2 linear
 * impact; the flow regression is Kyle's λ as estimated in Hasbrouck 2007 ch. 5 and Cont, Kukanov &
 * Stoikov 2014 — here on signed traded volume). Intervals: OLS with HC1 robust standard errors
 * (normal 95% interval); the buckets do not overlap, so their errors are close to independent.
 */

/** Permanent-impact fit at one horizon. */
export interface PermanentImpact {
  horizonSeconds: number;
  buckets: number;
  /** Mid change in bps per 100 shares of signed aggressor volume in the bucket. */
  bpsPer100Shares: Estimate;
  /** Mid change in bps per unit of signed volume / mean touch depth (size at the best) at bucket start. */
  bpsPerTouchDepth: Estimate;
  /** AC permanent impact γ: USD per share of price move per share traded (= bps·mid/1e4/100). */
  gammaUsdPerShare2: number;
  r2Volume: number;
  r2Depth: number;
}

/**
 * For each horizon h (seconds), splits the session into consecutive non-overlapping buckets of
 * length h and regresses Δmid (bps of the starting mid) on signed aggressor volume (shares, buys
 * positive), with an intercept; and separately on signed volume divided by the mean best-level
 * size at the bucket start ("against depth"). Throws RangeError when a horizon leaves fewer than
 * 5 buckets. `range` restricts the buckets to [from, to] seconds after midnight (e.g. a training part).
 */
export function permanentImpact(s: LobSession, horizons: number[], range: { from?: number; to?: number } = {}): PermanentImpact[] {
  const orders = marketOrders(s);
  return horizons.map((h) => {
    const grid = timeGrid(s, h, range.from, range.to);
    const nb = grid.rows.length - 1;
    if (nb < 5) throw new RangeError(`${s.symbol}: horizon ${h}s leaves ${nb} buckets (need ≥ 5)`);
    const signed = new Float64Array(nb);
    let k = 0;
    for (let b = 0; b < nb; b++) {
      const t1 = grid.times[b + 1]!;
      while (k < orders.length && orders[k]!.time <= t1) {
        if (orders[k]!.time > grid.times[b]!) signed[b] += orders[k]!.sign * orders[k]!.shares;
        k++;
      }
    }
    const dm: number[] = [];
    const v: number[] = [];
    const vd: number[] = [];
    let midSum = 0;
    for (let b = 0; b < nb; b++) {
      const r0 = grid.rows[b]!;
      const m0 = snapMid(s.book, r0);
      const m1 = snapMid(s.book, grid.rows[b + 1]!);
      const depth = (snapAskSize(s.book, r0, 0) + snapBidSize(s.book, r0, 0)) / 2;
      dm.push(((m1 - m0) / m0) * 1e4);
      v.push(signed[b]! / 100);
      vd.push(depth > 0 ? signed[b]! / depth : 0);
      midSum += m0;
    }
    const ones = dm.map(() => 1);
    const fv = ols([ones, v], dm);
    const fd = ols([ones, vd], dm);
    const bps = olsEstimate(fv, 1);
    const meanMidUsd = midSum / nb / 1e4;
    return {
      horizonSeconds: h, buckets: nb, bpsPer100Shares: bps, bpsPerTouchDepth: olsEstimate(fd, 1),
      gammaUsdPerShare2: (bps.value / 1e4) * meanMidUsd / 100, r2Volume: fv.r2, r2Depth: fd.r2,
    };
  });
}

/** Realised temporary impact of the recorded aggressor orders. */
export interface RealisedTemporaryImpact {
  orders: number;
  /** Cost per share, sign·(VWAP − mid before)/mid before, bps: intercept ε and slope per 100 shares. */
  epsilonBps: Estimate;
  bpsPer100Shares: Estimate;
  /** Same cost regressed on shares / touch size before the order (depth consumed). */
  bpsPerTouchDepth: Estimate;
  /** Immediate mid move sign·(mid after − mid before), bps, on shares / touch size (the instantaneous permanent part). */
  midMoveBpsPerTouchDepth: Estimate;
  meanCostBps: number;
  meanShares: number;
}

/**
 * Regressions over every recorded aggressor order (lob tape, see {@link marketOrders}): execution
 * cost and immediate mid move against order size and against the depth it met. Hidden executions
 * inside the spread are included (they lower the average cost). Throws with fewer than 10 orders.
 */
export function realisedTemporaryImpact(s: LobSession, orders: MarketOrder[] = marketOrders(s)): RealisedTemporaryImpact {
  const ok = orders.filter((o) => o.midBefore > 0 && o.midAfter > 0 && o.touchSizeBefore > 0);
  if (ok.length < 10) throw new RangeError(`${s.symbol}: ${ok.length} usable aggressor orders (need ≥ 10)`);
  const cost = ok.map((o) => ((o.sign * (o.vwap - o.midBefore)) / o.midBefore) * 1e4);
  const move = ok.map((o) => ((o.sign * (o.midAfter - o.midBefore)) / o.midBefore) * 1e4);
  const size = ok.map((o) => o.shares / 100);
  const rel = ok.map((o) => o.shares / o.touchSizeBefore);
  const ones = ok.map(() => 1);
  const fs = ols([ones, size], cost);
  return {
    orders: ok.length,
    epsilonBps: olsEstimate(fs, 0),
    bpsPer100Shares: olsEstimate(fs, 1),
    bpsPerTouchDepth: olsEstimate(ols([ones, rel], cost), 1),
    midMoveBpsPerTouchDepth: olsEstimate(ols([ones, rel], move), 1),
    meanCostBps: cost.reduce((a, x) => a + x, 0) / cost.length,
    meanShares: ok.reduce((a, o) => a + o.shares, 0) / ok.length,
  };
}
