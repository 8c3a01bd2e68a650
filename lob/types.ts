/**
 * In-memory form of one LOBSTER session (one symbol, one day) as columnar typed arrays.
 *
 * Units: prices in LOBSTER price units (1/10,000 USD, integers: 5,853,300 = $585.33), sizes in
 * shares, times in seconds after local midnight (exchange time, ns precision as delivered).
 * Built from the canonical `messages` / `book` tables of `ingest.lob` (docs/contracts.md) by
 * lob/load.ts; the simulator never reads CSV itself.
 */

/** LOBSTER event types (LOBSTER documentation, "Message file"). */
export const EVENT = {
  SUBMIT: 1,
  PARTIAL_CANCEL: 2,
  DELETE: 3,
  EXECUTE_VISIBLE: 4,
  EXECUTE_HIDDEN: 5,
  CROSS: 6,
  HALT: 7,
} as const;

/** Side of a resting order: +1 buy (bid), −1 sell (ask), as LOBSTER's `direction`. */
export type Side = 1 | -1;

/** LOBSTER price units per US dollar. */
export const PRICE_UNITS_PER_USD = 10_000;

/** Message stream, one entry per event, in file order. */
export interface LobMessages {
  n: number;
  /** Seconds after midnight. */
  time: Float64Array;
  /** Event type 1..7 ({@link EVENT}). */
  type: Uint8Array;
  /** Order reference number (0 for hidden executions). */
  orderId: Float64Array;
  /** Shares. */
  size: Int32Array;
  /** Price units (1/10,000 USD). */
  price: Int32Array;
  /** +1 buy limit order, −1 sell limit order (an execution of a sell order is a buyer-initiated trade). */
  direction: Int8Array;
}

/**
 * Book snapshots: row k is the book after message k. Row-major [n × levels × 4] with, per level,
 * ask_price, ask_size, bid_price, bid_size (price units, shares). An empty level has price 0 and
 * size 0 (LOBSTER writes ±9,999,999,999; the ingest writes NULL).
 */
export interface LobSnapshots {
  n: number;
  levels: number;
  data: Int32Array;
}

/** One symbol-day. */
export interface LobSession {
  symbol: string;
  date: string;
  /** Number of visible levels per side in the snapshots (5 for the GOOG sample, 10 for AAPL). */
  levels: number;
  /** Minimum price increment in price units (100 = $0.01 for NASDAQ stocks above $1). */
  tick: number;
  messages: LobMessages;
  book: LobSnapshots;
}

/** Snapshot accessors: level is 0-based (0 = best). */
export function snapAskPrice(b: LobSnapshots, row: number, level: number): number {
  return b.data[(row * b.levels + level) * 4]!;
}
/** Ask size (shares) at `level` (0 = best) of snapshot `row`. */
export function snapAskSize(b: LobSnapshots, row: number, level: number): number {
  return b.data[(row * b.levels + level) * 4 + 1]!;
}
/** Bid price (price units) at `level` (0 = best) of snapshot `row`. */
export function snapBidPrice(b: LobSnapshots, row: number, level: number): number {
  return b.data[(row * b.levels + level) * 4 + 2]!;
}
/** Bid size (shares) at `level` (0 = best) of snapshot `row`. */
export function snapBidSize(b: LobSnapshots, row: number, level: number): number {
  return b.data[(row * b.levels + level) * 4 + 3]!;
}

/** Mid price (price units) of snapshot `row`; NaN when a side is empty. */
export function snapMid(b: LobSnapshots, row: number): number {
  const a = snapAskPrice(b, row, 0);
  const bid = snapBidPrice(b, row, 0);
  return a > 0 && bid > 0 ? (a + bid) / 2 : NaN;
}

/** First message index with time ≥ t (binary search; n when none). */
export function eventAtOrAfter(m: LobMessages, t: number): number {
  let lo = 0;
  let hi = m.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (m.time[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
