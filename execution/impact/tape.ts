import { EVENT, type LobSession, snapAskPrice, snapAskSize, snapBidPrice, snapBidSize, snapMid } from '../../lob/types.ts';

/**
 * Derived series of a LOBSTER session used by the impact calibration: aggressor (market) orders
 * and a regular time grid of book rows. Prices in price units (1/10,000 USD), sizes in shares,
 * times in seconds after midnight. The book rows are LOBSTER's snapshots, which the replay
 * reproduces exactly (lob/verify.ts), so they stand for the reconstructed book.
 */

/** One aggressor order: consecutive executions (types 4 and 5) at the same time and direction. */
export interface MarketOrder {
  /** First and last message index of the group. */
  first: number;
  last: number;
  time: number;
  /** +1 buyer-initiated (it executed resting sell orders), −1 seller-initiated. */
  sign: 1 | -1;
  shares: number;
  /** Σ price·shares / shares (price units). */
  vwap: number;
  /** Furthest execution price from the mid (price units). */
  worstPrice: number;
  /** Mid, best opposite price and its size just before the group (row first − 1). */
  midBefore: number;
  touchBefore: number;
  touchSizeBefore: number;
  /** Mid right after the group (row last). */
  midAfter: number;
}

/**
 * Groups the executions of `s` into aggressor orders (a marketable order that walks several
 * levels or hits several resting orders is reported as one message per resting order, all with
 * the same timestamp and direction). Groups starting at message 0 (no book before) are skipped.
 */
export function marketOrders(s: LobSession): MarketOrder[] {
  const m = s.messages;
  const out: MarketOrder[] = [];
  const isExec = (t: number) => t === EVENT.EXECUTE_VISIBLE || t === EVENT.EXECUTE_HIDDEN;
  for (let i = 1; i < m.n; ) {
    if (!isExec(m.type[i]!)) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < m.n && isExec(m.type[j + 1]!) && m.time[j + 1] === m.time[i] && m.direction[j + 1] === m.direction[i]) j++;
    let sh = 0;
    let notional = 0;
    const sign = (m.direction[i] === -1 ? 1 : -1) as 1 | -1;
    let worst = m.price[i]!;
    for (let k = i; k <= j; k++) {
      sh += m.size[k]!;
      notional += m.size[k]! * m.price[k]!;
      if (sign * (m.price[k]! - worst) > 0) worst = m.price[k]!;
    }
    const row = i - 1;
    out.push({
      first: i, last: j, time: m.time[i]!, sign, shares: sh, vwap: notional / sh, worstPrice: worst,
      midBefore: snapMid(s.book, row),
      touchBefore: sign === 1 ? snapAskPrice(s.book, row, 0) : snapBidPrice(s.book, row, 0),
      touchSizeBefore: sign === 1 ? snapAskSize(s.book, row, 0) : snapBidSize(s.book, row, 0),
      midAfter: snapMid(s.book, j),
    });
    i = j + 1;
  }
  return out;
}

/** A regular time grid over a session: `rows[g]` = the book row in force at `t0 + g·dt`. */
export interface TimeGrid {
  t0: number;
  dt: number;
  times: Float64Array;
  rows: Int32Array;
}

/**
 * Samples the session every `dt` seconds from its first message time (exclusive of the first row's
 * own time) to its last: the row in force at t is the last message with time ≤ t. Throws for dt ≤ 0.
 */
export function timeGrid(s: LobSession, dt = 1, from?: number, to?: number): TimeGrid {
  if (!(dt > 0)) throw new RangeError(`grid step must be > 0 seconds, got ${dt}`);
  const m = s.messages;
  const t0 = from ?? m.time[0]!;
  const t1 = to ?? m.time[m.n - 1]!;
  const n = Math.max(0, Math.floor((t1 - t0) / dt) + 1);
  const times = new Float64Array(n);
  const rows = new Int32Array(n);
  let r = 0;
  for (let g = 0; g < n; g++) {
    const t = t0 + g * dt;
    while (r + 1 < m.n && m.time[r + 1]! <= t) r++;
    times[g] = t;
    rows[g] = r;
  }
  return { t0, dt, times, rows };
}

/** Indices 0..n−1 split into consecutive blocks of `size` (the last may be shorter), for block bootstraps. */
export function consecutiveBlocks(n: number, size: number): number[][] {
  if (!(size >= 1)) throw new RangeError(`block size must be ≥ 1, got ${size}`);
  const out: number[][] = [];
  for (let i = 0; i < n; i += size) out.push(Array.from({ length: Math.min(size, n - i) }, (_, k) => i + k));
  return out;
}

/** Observations grouped by ⌊time / blockSeconds⌋ (consecutive buckets), for block bootstraps of event data. */
export function timeBlocks(times: ArrayLike<number>, blockSeconds: number): number[][] {
  if (!(blockSeconds > 0)) throw new RangeError(`block length must be > 0 seconds, got ${blockSeconds}`);
  const map = new Map<number, number[]>();
  for (let i = 0; i < times.length; i++) {
    const b = Math.floor(times[i]! / blockSeconds);
    let a = map.get(b);
    if (!a) map.set(b, (a = []));
    a.push(i);
  }
  return [...map.keys()].sort((x, y) => x - y).map((k) => map.get(k)!);
}
