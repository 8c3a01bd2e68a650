import { type AppliedEvent, OrderBook } from './book.ts';
import { EVENT, type LobSession, type Side } from './types.ts';

/**
 * Deterministic replay of a LOBSTER session with our own (virtual) orders.
 *
 * The historical message stream is replayed unchanged through {@link OrderBook}; our orders are
 * *virtual*: they never alter the recorded book, and other traders' recorded messages are taken as
 * given (the standard non-intrusive replay assumption). Rules:
 * - Limit order (side, price, shares): the part marketable against the opposite side is executed at
 *   once by walking the book (taker); the rest rests at the **back** of the queue at its price:
 *   `ahead` = visible shares at that price when it arrives (0 at a new price inside the spread).
 * - Queue position: an execution (type 4, or hidden type 5) of `s` shares at our price first consumes
 *   the queue ahead, then fills us: fill = min(remaining, max(0, s − ahead)), ahead ← max(0, ahead − s).
 *   Cancellations (types 2, 3) reduce `ahead` only when the cancelled order is ahead of ours — known
 *   exactly from its arrival: anonymous orders (seed book, edge-refilled levels) predate ours and are
 *   ahead; orders submitted after ours are behind and do not move us. No proportional-cancellation
 *   assumption is needed.
 * - Trade-through: an execution on our side at a price worse than ours (a buy order of ours above
 *   the executed bid), or a new opposite-side limit order priced through ours, fills us at our limit
 *   price for min(remaining, its shares), since that aggressor would have met our order first.
 * - Market orders (and the marketable part of limits) walk the visible levels, best first. Liquidity
 *   we take at a price is remembered (`consumed`) and hidden from later orders of ours until the
 *   historical orders that were in front of the queue when we took it are executed or cancelled by
 *   the recorded messages (temporary impact of our own trades; no permanent impact on the replay).
 *   A walk that exhausts the visible levels leaves the rest unfilled (reported, never invented).
 * Units: price units (1/10,000 USD), shares, seconds after midnight.
 */

/** One fill of one of our orders. `side` is ours (+1 we buy, −1 we sell). */
export interface Fill {
  order: number;
  side: Side;
  time: number;
  /** Index of the message after which it happened (−1 before any). */
  event: number;
  price: number;
  size: number;
  /** True when our resting order provided liquidity, false when we crossed the spread. */
  maker: boolean;
  /** Mid of the book when the fill was recorded (price units). */
  mid: number;
}

/** State of one of our limit orders. */
export interface VirtualOrder {
  id: number;
  side: Side;
  price: number;
  size: number;
  remaining: number;
  /** Visible shares ahead of us in the queue at our price. */
  ahead: number;
  /** Message index at whose end the order arrived: orders with arrival seq > this are behind us. */
  entrySeq: number;
  active: boolean;
  filled: number;
  /** Σ price·shares of its fills (price units × shares). */
  notional: number;
}

/** Result of a market order / the marketable part of a limit order. */
export interface TakeResult {
  filled: number;
  /** Σ price·shares (price units × shares). */
  notional: number;
  /** Shares left because the visible book (minus our consumption) ran out or the limit stopped the walk. */
  unfilled: number;
}

interface Consumed {
  shares: number;
  /** Historical orders with arrival seq below this were in front when we took the liquidity. */
  seqLimit: number;
}

/** Replay cursor over one session, optionally with our virtual orders. */
export class LobReplay {
  /** Index of the next message to apply; the book holds the state after message `cursor − 1`. */
  cursor: number;
  readonly fills: Fill[] = [];
  private readonly active: VirtualOrder[] = [];
  private readonly all = new Map<number, VirtualOrder>();
  private nextId = 1;
  private readonly consumed: [Map<number, Consumed>, Map<number, Consumed>] = [new Map(), new Map()];

  /** `book` is the state after message `cursor − 1` (seed: {@link OrderBook.fromSnapshot}(…, 0), cursor 1). */
  constructor(readonly session: LobSession, readonly book: OrderBook, cursor: number) {
    if (cursor < 1 || cursor > session.messages.n) throw new RangeError(`replay cursor ${cursor} outside 1..${session.messages.n}`);
    this.cursor = cursor;
  }

  /** A replay seeded from snapshot row 1 (the book after message 1). */
  static fromStart(session: LobSession): LobReplay {
    return new LobReplay(session, OrderBook.fromSnapshot(session.book, 0), 1);
  }

  /** Time (s after midnight) of the last applied message. */
  get time(): number {
    return this.session.messages.time[this.cursor - 1]!;
  }

  /** True when every message has been applied. */
  get done(): boolean {
    return this.cursor >= this.session.messages.n;
  }

  /** Applies the next message and settles our resting orders against it. Throws when done. */
  step(): AppliedEvent {
    if (this.done) throw new RangeError(`replay of ${this.session.symbol}: no message after ${this.cursor}`);
    const ev = this.book.apply(this.session.messages, this.cursor, this.session.book);
    this.cursor++;
    if (ev.type === EVENT.PARTIAL_CANCEL || ev.type === EVENT.DELETE || ev.type === EVENT.EXECUTE_VISIBLE) this.decayConsumed(ev);
    if (this.active.length) this.settle(ev);
    return ev;
  }

  /** Applies every message with time ≤ `t` (seconds after midnight). Returns the number applied. */
  advanceTo(t: number): number {
    const time = this.session.messages.time;
    const n = this.session.messages.n;
    let k = 0;
    while (this.cursor < n && time[this.cursor]! <= t) {
      this.step();
      k++;
    }
    return k;
  }

  /** Applies up to `k` messages. */
  advanceEvents(k: number): void {
    for (let j = 0; j < k && !this.done; j++) this.step();
  }

  private settle(ev: AppliedEvent): void {
    const t = this.time;
    for (let j = 0; j < this.active.length; ) {
      const o = this.active[j]!;
      let fill = 0;
      if (ev.type === EVENT.SUBMIT && ev.side === -o.side && o.side * (o.price - ev.price) >= 0) {
        fill = Math.min(o.remaining, ev.size);
      } else if ((ev.type === EVENT.EXECUTE_VISIBLE || ev.type === EVENT.EXECUTE_HIDDEN) && ev.side === o.side) {
        if (o.side * (o.price - ev.price) > 0) fill = Math.min(o.remaining, ev.size);
        else if (o.price === ev.price) {
          fill = Math.min(o.remaining, Math.max(0, ev.size - o.ahead));
          o.ahead = Math.max(0, o.ahead - ev.size);
        }
      } else if ((ev.type === EVENT.PARTIAL_CANCEL || ev.type === EVENT.DELETE) && ev.side === o.side && ev.price === o.price && ev.orderSeq <= o.entrySeq) {
        o.ahead = Math.max(0, o.ahead - ev.size);
      }
      if (fill > 0) this.record(o, o.price, fill, true, t, ev.index);
      if (o.remaining === 0) this.active.splice(j, 1);
      else j++;
    }
  }

  private record(o: VirtualOrder, price: number, size: number, maker: boolean, time: number, event: number): void {
    o.remaining -= size;
    o.filled += size;
    o.notional += price * size;
    if (o.remaining === 0) o.active = false;
    this.fills.push({ order: o.id, side: o.side, time, event, price, size, maker, mid: this.book.mid() });
  }

  private decayConsumed(ev: AppliedEvent): void {
    // Our taken liquidity sits on the side we took from: asks for our buys (index 0), bids for our sells (1).
    const map = this.consumed[ev.side === -1 ? 0 : 1];
    const c = map.get(ev.price);
    if (!c) return;
    if (ev.levelRemoved) map.delete(ev.price);
    else if (ev.orderSeq < c.seqLimit) {
      c.shares -= Math.min(c.shares, ev.size);
      if (c.shares === 0) map.delete(ev.price);
    }
  }

  /**
   * Walks the opposite side for up to `size` shares (a market order, or the marketable part of a
   * limit order when `limit` is given: buys stop above it, sells below it). Fills are recorded under
   * order id `orderId`. Throws RangeError for a non-positive size.
   */
  private take(side: Side, size: number, limit: number, o: VirtualOrder): TakeResult {
    if (!(size > 0)) throw new RangeError(`order size must be > 0 shares, got ${size}`);
    const opp = this.book.sideOf(side === 1 ? -1 : 1);
    const map = this.consumed[side === 1 ? 0 : 1];
    let rest = size;
    let notional = 0;
    for (const lv of opp.levels) {
      if (rest === 0) break;
      if (side * (lv.price - limit) > 0) break;
      const c = map.get(lv.price);
      const avail = lv.total - Math.min(lv.total, c ? c.shares : 0);
      if (avail <= 0) continue;
      const q = Math.min(avail, rest);
      rest -= q;
      notional += q * lv.price;
      if (c) c.shares += q;
      else map.set(lv.price, { shares: q, seqLimit: this.cursor });
      this.record(o, lv.price, q, false, this.time, this.cursor - 1);
    }
    return { filled: size - rest, notional, unfilled: rest };
  }

  private newOrder(side: Side, price: number, size: number): VirtualOrder {
    if (side !== 1 && side !== -1) throw new RangeError(`side must be +1 (buy) or −1 (sell), got ${side}`);
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`order size must be a positive whole number of shares, got ${size}`);
    const o: VirtualOrder = { id: this.nextId++, side, price, size, remaining: size, ahead: 0, entrySeq: this.cursor - 1, active: true, filled: 0, notional: 0 };
    this.all.set(o.id, o);
    return o;
  }

  /** Market order for `size` shares walking the visible book; returns the order (filled/notional) and the walk result. */
  market(side: Side, size: number): { order: VirtualOrder; result: TakeResult } {
    const o = this.newOrder(side, side === 1 ? Number.MAX_SAFE_INTEGER : 0, size);
    const result = this.take(side, size, side === 1 ? Infinity : -Infinity, o);
    o.active = false;
    return { order: o, result };
  }

  /**
   * Limit order at `price` (price units; must be a positive multiple of the tick) for `size` shares.
   * With `ioc`, the unfilled rest is cancelled at once (immediate-or-cancel). Returns the order.
   */
  limit(side: Side, price: number, size: number, ioc = false): VirtualOrder {
    if (!(price > 0) || price % this.session.tick !== 0) throw new RangeError(`limit price ${price} must be a positive multiple of the tick ${this.session.tick}`);
    const o = this.newOrder(side, price, size);
    const best = side === 1 ? this.book.bestAsk() : this.book.bestBid();
    if (!Number.isNaN(best) && side * (price - best) >= 0) this.take(side, size, price, o);
    if (o.remaining === 0 || ioc) {
      o.active = false;
      return o;
    }
    const s = this.book.sideOf(side);
    const li = s.indexOf(price);
    o.ahead = li >= 0 ? s.levels[li]!.total : 0;
    this.active.push(o);
    return o;
  }

  /** Cancels our order `id`; returns its unfilled shares (0 when already done). Throws for an unknown id. */
  cancel(id: number): number {
    const o = this.all.get(id);
    if (!o) throw new RangeError(`no order ${id} of ours in this replay`);
    if (!o.active) return 0;
    o.active = false;
    const j = this.active.indexOf(o);
    if (j >= 0) this.active.splice(j, 1);
    return o.remaining;
  }

  /** Our order `id` (throws for an unknown id). */
  order(id: number): VirtualOrder {
    const o = this.all.get(id);
    if (!o) throw new RangeError(`no order ${id} of ours in this replay`);
    return o;
  }

  /** Our resting orders. */
  restingOrders(): readonly VirtualOrder[] {
    return this.active;
  }

  /** A copy of this replay's book at the same cursor, without our orders (a fresh episode start). */
  fork(): LobReplay {
    return new LobReplay(this.session, this.book.clone(), this.cursor);
  }
}

/**
 * Book checkpoints every `every` messages of one pass, so episodes can start anywhere in O(every)
 * replayed messages: {@link ReplayCheckpoints.at} returns a fresh replay whose book is the state
 * after message `cursor − 1`. Throws RangeError for `every` < 1.
 */
export class ReplayCheckpoints {
  private readonly books: OrderBook[] = [];

  constructor(readonly session: LobSession, readonly every = 1000) {
    if (!(every >= 1)) throw new RangeError(`checkpoint interval must be ≥ 1 message, got ${every}`);
    const r = LobReplay.fromStart(session);
    this.books.push(r.book.clone());
    while (!r.done) {
      r.step();
      if ((r.cursor - 1) % every === 0) this.books.push(r.book.clone());
    }
  }

  /** A fresh replay positioned at `cursor` (1..n): the book after message `cursor − 1`. */
  at(cursor: number): LobReplay {
    const n = this.session.messages.n;
    if (!(cursor >= 1 && cursor <= n)) throw new RangeError(`cursor ${cursor} outside 1..${n}`);
    const k = Math.min(Math.floor((cursor - 1) / this.every), this.books.length - 1);
    const r = new LobReplay(this.session, this.books[k]!.clone(), k * this.every + 1);
    r.advanceEvents(cursor - r.cursor);
    return r;
  }

  /** A fresh replay at the first message with time ≥ `t` (the book just before it). */
  atTime(t: number): LobReplay {
    const m = this.session.messages;
    let lo = 1;
    let hi = m.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (m.time[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return this.at(lo);
  }
}
