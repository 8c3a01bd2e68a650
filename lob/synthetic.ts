import { Rng } from '../rl/rng.ts';
import { OrderBook } from './book.ts';
import { EVENT, type LobMessages, type LobSession, type Side, snapAskPrice, snapBidPrice } from './types.ts';

/**
 * Synthetic order flow calibrated to a stretch of a real LOBSTER session, written as a LOBSTER
 * session (messages + level-L snapshots) that the replay (lob/replay.ts) consumes like real data.
 *
 * Model: zero-intelligence order flow with the event structure of Cont, Stoikov & Talreja (2010)
 * ("A stochastic model for order book dynamics", Oper. Res. 58(3)) and *empirical* ingredients from
 * the calibration window: limit submissions arrive at a constant rate with (side, distance from the
 * opposite best in ticks, shares) resampled jointly from the recorded submissions (distance ≥ 1, so
 * they never cross); market orders arrive at a constant rate with (sign, shares) resampled from the
 * recorded aggressor orders and walk the book FIFO; cancellations arrive at level l (0 = best) at
 * rate c_l·D_l, D_l the level's resting shares and c_l = recorded cancellations at l per share-second
 * of depth at l (levels beyond the window use the deepest c), and delete an order chosen with
 * probability ∝ its size. Event gaps are exponential with the current total rate (intensities are
 * constant between events). Hidden liquidity is not modelled. The full book is kept internally;
 * like LOBSTER, only messages inside the visible L levels are written, so the replay's edge-refill
 * rule applies unchanged. Seeded and deterministic.
 */

/** Empirical ingredients of the order flow (see the module comment). */
export interface OrderFlowModel {
  submitRatePerSecond: number;
  marketRatePerSecond: number;
  /** c_l: cancellations per second per resting share at level l (0 = best), pooled over sides. */
  cancelRatePerShare: number[];
  submits: { side: Side; distanceTicks: number; shares: number }[];
  markets: { sign: Side; shares: number }[];
  tick: number;
  levels: number;
}

/**
 * Calibrates {@link OrderFlowModel} from the messages of `s` with time in [from, to). Executions at
 * the same time and direction count as one aggressor order; depth integrals ∫D_l dt use the
 * snapshots (the book after each message). Throws when the window holds fewer than 50
 * submissions, cancellations or aggressor orders.
 */
export function calibrateOrderFlow(s: LobSession, from: number, to: number): OrderFlowModel {
  const m = s.messages;
  const L = s.levels;
  const submits: OrderFlowModel['submits'] = [];
  const markets: OrderFlowModel['markets'] = [];
  const cancelCount = new Array<number>(L).fill(0);
  const depthTime = new Array<number>(L).fill(0);
  let nCancel = 0;
  for (let i = 1; i < m.n; i++) {
    const t = m.time[i]!;
    if (t < from) continue;
    if (t >= to) break;
    const r = i - 1;
    const dt = t - Math.max(from, m.time[r]!);
    for (let l = 0; l < L; l++) depthTime[l] += dt * (s.book.data[(r * L + l) * 4 + 1]! + s.book.data[(r * L + l) * 4 + 3]!);
    const ty = m.type[i]!;
    const side = m.direction[i]! as Side;
    if (ty === EVENT.SUBMIT) {
      const opp = side === 1 ? snapAskPrice(s.book, r, 0) : snapBidPrice(s.book, r, 0);
      if (opp > 0) submits.push({ side, distanceTicks: Math.max(1, Math.round((side * (opp - m.price[i]!)) / s.tick)), shares: m.size[i]! });
    } else if (ty === EVENT.DELETE || ty === EVENT.PARTIAL_CANCEL) {
      for (let l = 0; l < L; l++) {
        if ((side === 1 ? snapBidPrice(s.book, r, l) : snapAskPrice(s.book, r, l)) === m.price[i]) {
          cancelCount[l]++;
          nCancel++;
          break;
        }
      }
    } else if (ty === EVENT.EXECUTE_VISIBLE || ty === EVENT.EXECUTE_HIDDEN) {
      const sameGroup = (m.type[i - 1] === EVENT.EXECUTE_VISIBLE || m.type[i - 1] === EVENT.EXECUTE_HIDDEN) && m.time[i - 1] === t && m.direction[i - 1] === side;
      if (sameGroup && markets.length) markets[markets.length - 1]!.shares += m.size[i]!;
      else markets.push({ sign: (side === -1 ? 1 : -1) as Side, shares: m.size[i]! });
    }
  }
  for (const [k, v] of [['submissions', submits.length], ['cancellations', nCancel], ['aggressor orders', markets.length]] as const) {
    if (v < 50) throw new RangeError(`${s.symbol} ${from}..${to}: only ${v} ${k} to calibrate the order flow (need ≥ 50)`);
  }
  const T = to - from;
  return {
    submitRatePerSecond: submits.length / T, marketRatePerSecond: markets.length / T,
    cancelRatePerShare: cancelCount.map((c, l) => (depthTime[l]! > 0 ? c / depthTime[l]! : 0)),
    submits, markets, tick: s.tick, levels: L,
  };
}

/** Growable message buffer. */
class MessageWriter {
  n = 0;
  time: number[] = [];
  type: number[] = [];
  id: number[] = [];
  size: number[] = [];
  price: number[] = [];
  dir: number[] = [];
  rows: number[] = [];
}

const CHUNK = 100;

/**
 * Generates `seconds` of synthetic flow from `model`, starting from the book of snapshot row
 * `seedRow` of `seedSession` at its time (seed levels are split into orders of ≤ 100 shares).
 * Returns a LobSession (symbol `<symbol>-SIM`) whose row 0 is the seed book.
 */
export function simulateSession(model: OrderFlowModel, seedSession: LobSession, seedRow: number, seconds: number, seed: number): LobSession {
  const rng = new Rng(seed);
  const L = model.levels;
  const book = new OrderBook(1_000_000);
  const one: LobMessages = { n: 1, time: new Float64Array(1), type: new Uint8Array(1), orderId: new Float64Array(1), size: new Int32Array(1), price: new Int32Array(1), direction: new Int8Array(1) };
  let nextId = 1e9;
  const w = new MessageWriter();
  const seedBook = OrderBook.fromSnapshot(seedSession.book, seedRow);
  for (const side of [seedBook.bids, seedBook.asks]) {
    for (const lv of side.levels) {
      for (let left = lv.total; left > 0; left -= CHUNK) {
        const [tl] = book.sideOf(side.side).getOrCreate(lv.price);
        const q = Math.min(CHUNK, left);
        tl.orders.push({ id: nextId, size: q, seq: nextId++ });
        tl.total += q;
      }
    }
  }
  let t = seedSession.messages.time[seedRow]!;
  const levelIndex = (side: Side, price: number) => book.sideOf(side).indexOf(price);
  const emit = (type: number, id: number, size: number, price: number, dir: Side, visible: boolean) => {
    one.time[0] = t; one.type[0] = type; one.orderId[0] = id; one.size[0] = size; one.price[0] = price; one.direction[0] = dir;
    book.apply(one, 0);
    const after = levelIndex(dir, price);
    if (!(visible || (type === EVENT.SUBMIT && after >= 0 && after < L))) return;
    w.time.push(t); w.type.push(type); w.id.push(id); w.size.push(size); w.price.push(price); w.dir.push(dir);
    w.n++;
    writeRow(book, L, w.rows);
  };
  // Row 0: the seed (a no-op cross message, type 6, carries it).
  w.time.push(t); w.type.push(EVENT.CROSS); w.id.push(0); w.size.push(0); w.price.push(0); w.dir.push(1); w.n++;
  writeRow(book, L, w.rows);
  const tEnd = t + seconds;
  const c = model.cancelRatePerShare;
  const cOf = (l: number) => c[Math.min(l, c.length - 1)]!;
  for (;;) {
    let cancelRate = 0;
    for (const side of [book.bids, book.asks]) side.levels.forEach((lv, l) => (cancelRate += cOf(l) * lv.total));
    const total = model.submitRatePerSecond + model.marketRatePerSecond + cancelRate;
    t += -Math.log(1 - rng.next()) / total;
    if (t >= tEnd) break;
    const thin: Side | 0 = book.bids.levels.length < 2 ? 1 : book.asks.levels.length < 2 ? -1 : 0;
    const u = rng.next() * total;
    if (thin || u < model.submitRatePerSecond) {
      let d = model.submits[rng.int(model.submits.length)]!;
      if (thin) while (d.side !== thin) d = model.submits[rng.int(model.submits.length)]!;
      const opp = book.sideOf(d.side === 1 ? -1 : 1);
      const own = book.sideOf(d.side);
      const ref = opp.levels.length ? opp.bestPrice() : own.bestPrice() + d.side * model.tick;
      const price = ref - d.side * d.distanceTicks * model.tick;
      if (!(price > 0)) continue;
      emit(EVENT.SUBMIT, nextId++, d.shares, price, d.side, false);
    } else if (u < model.submitRatePerSecond + model.marketRatePerSecond) {
      const mo = model.markets[rng.int(model.markets.length)]!;
      const restSide = (mo.sign === 1 ? -1 : 1) as Side;
      for (let rest = mo.shares; rest > 0; ) {
        const s = book.sideOf(restSide);
        if (s.levels.length < 2) break;
        const lv = s.levels[0]!;
        const o = lv.orders[0]!;
        const q = Math.min(rest, o.size);
        rest -= q;
        emit(EVENT.EXECUTE_VISIBLE, o.id, q, lv.price, restSide, true);
      }
    } else {
      // Cancellation: level ∝ c_l·D_l, then an order ∝ its size (a uniformly drawn resting share).
      let x = u - model.submitRatePerSecond - model.marketRatePerSecond;
      let pick: { side: Side; l: number } | null = null;
      for (const side of [book.bids, book.asks]) {
        for (let l = 0; l < side.levels.length && !pick; l++) {
          x -= cOf(l) * side.levels[l]!.total;
          if (x < 0) pick = { side: side.side, l };
        }
      }
      if (!pick) continue;
      const s = book.sideOf(pick.side);
      if (s.levels.length < 2) continue;
      const lv = s.levels[pick.l]!;
      let share = rng.int(lv.total);
      let o = lv.orders[0]!;
      for (const q of lv.orders) {
        if (share < q.size) { o = q; break; }
        share -= q.size;
      }
      emit(EVENT.DELETE, o.id, o.size, lv.price, pick.side, pick.l < L);
    }
  }
  return toSession(w, `${seedSession.symbol}-SIM`, seedSession.date, L, model.tick);
}

function writeRow(book: OrderBook, L: number, rows: number[]): void {
  for (let l = 0; l < L; l++) {
    const a = book.asks.levels[l];
    const b = book.bids.levels[l];
    rows.push(a ? a.price : 0, a ? a.total : 0, b ? b.price : 0, b ? b.total : 0);
  }
}

function toSession(w: MessageWriter, symbol: string, date: string, L: number, tick: number): LobSession {
  return {
    symbol, date, levels: L, tick,
    messages: {
      n: w.n, time: Float64Array.from(w.time), type: Uint8Array.from(w.type), orderId: Float64Array.from(w.id),
      size: Int32Array.from(w.size), price: Int32Array.from(w.price), direction: Int8Array.from(w.dir),
    },
    book: { n: w.n, levels: L, data: Int32Array.from(w.rows) },
  };
}
