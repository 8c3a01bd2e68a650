import { EVENT, type LobMessages, type LobSnapshots, type Side, snapAskPrice, snapAskSize, snapBidPrice, snapBidSize } from './types.ts';

/**
 * Price-time priority limit order book rebuilt from LOBSTER messages.
 *
 * Each price level holds a FIFO queue of resting orders (id, shares, arrival event). Orders that
 * rest in the book before the data can tell us their identity — the seed book and any level that
 * enters the visible window from beyond it — are kept as one *anonymous* block per level at the
 * front of its queue (they predate every order submitted later). Messages are applied exactly:
 * type 1 appends to the back of the level's queue, types 2/3/4 reduce the named order (or the
 * anonymous block when the id is unknown), type 5 (hidden execution), 6 (cross) and 7 (halt) leave
 * the visible book unchanged.
 *
 * Visible window: a LOBSTER level-L message file holds only the events inside the L visible levels
 * of each side (checked on both samples: no message lies beyond the previous row's window), so the
 * book keeps exactly L levels per side. A level pushed beyond L by a new inner level is dropped (no
 * further message will update it); when a level empties and the window uncovers level L from
 * beyond it, that one level's price and size are read from the snapshot row of the same event —
 * the only snapshot input after the seed ({@link OrderBook.edgeRefills} counts them).
 */

/** One resting order. `seq` = index of the message that submitted it; −1 for anonymous blocks. */
export interface RestingOrder {
  id: number;
  size: number;
  seq: number;
}

/** A price level: its FIFO queue and total visible shares. */
export class PriceLevel {
  total = 0;
  readonly orders: RestingOrder[] = [];
  constructor(readonly price: number) {}
}

/** One side of the book, best level first (bids descending, asks ascending). */
export class BookSide {
  readonly levels: PriceLevel[] = [];
  constructor(readonly side: Side) {}

  /** True when price `a` is strictly better than `b` for this side (higher bid, lower ask). */
  better(a: number, b: number): boolean {
    return this.side === 1 ? a > b : a < b;
  }

  /** Index of the level at `price`, or −1. */
  indexOf(price: number): number {
    const L = this.levels;
    for (let i = 0; i < L.length; i++) if (L[i]!.price === price) return i;
    return -1;
  }

  /** The level at `price`, creating it in sorted position when absent. Returns [level, index]. */
  getOrCreate(price: number): [PriceLevel, number] {
    const L = this.levels;
    let i = 0;
    while (i < L.length && this.better(L[i]!.price, price)) i++;
    if (i < L.length && L[i]!.price === price) return [L[i]!, i];
    const lv = new PriceLevel(price);
    L.splice(i, 0, lv);
    return [lv, i];
  }

  /** Best price, or NaN when the side is empty. */
  bestPrice(): number {
    return this.levels.length ? this.levels[0]!.price : NaN;
  }

  /** Best size (shares), 0 when empty. */
  bestSize(): number {
    return this.levels.length ? this.levels[0]!.total : 0;
  }

  /** Sum of shares on the first `k` levels. */
  depth(k: number): number {
    let s = 0;
    for (let i = 0; i < Math.min(k, this.levels.length); i++) s += this.levels[i]!.total;
    return s;
  }

  clone(): BookSide {
    const c = new BookSide(this.side);
    for (const lv of this.levels) {
      const n = new PriceLevel(lv.price);
      n.total = lv.total;
      for (const o of lv.orders) n.orders.push({ id: o.id, size: o.size, seq: o.seq });
      c.levels.push(n);
    }
    return c;
  }
}

/** What the last applied message did to the visible book (read by the replay for queue tracking). */
export interface AppliedEvent {
  /** Message index. */
  index: number;
  type: number;
  /** Side of the resting order the message concerns (LOBSTER `direction`). */
  side: Side;
  price: number;
  /** Shares added (type 1) or removed (types 2/3/4); hidden executions report their size too. */
  size: number;
  /** Arrival index of the affected resting order; −1 anonymous (predates everything we know). */
  orderSeq: number;
  /** True when the message emptied a level (and possibly triggered an edge refill). */
  levelRemoved: boolean;
}

/** Thrown when a message cannot be applied to the reconstructed book (a reconstruction error). */
export class BookReconstructionError extends Error {
  override name = 'BookReconstructionError';
}

/** Order book with exactly `depth` visible levels per side (see the module comment). */
export class OrderBook {
  bids: BookSide;
  asks: BookSide;
  /** Levels taken from snapshots at the window edge after the seed (see module comment). */
  edgeRefills = 0;
  halted = false;
  readonly last: AppliedEvent = { index: -1, type: 0, side: 1, price: 0, size: 0, orderSeq: -1, levelRemoved: false };

  constructor(readonly depthLevels: number) {
    this.bids = new BookSide(1);
    this.asks = new BookSide(-1);
  }

  /**
   * Seeds a book from snapshot `row` (the book after message `row`): each non-empty level becomes one
   * anonymous block. Throws RangeError for a row outside the snapshots.
   */
  static fromSnapshot(snap: LobSnapshots, row: number): OrderBook {
    if (row < 0 || row >= snap.n) throw new RangeError(`snapshot row ${row} outside 0..${snap.n - 1}`);
    const b = new OrderBook(snap.levels);
    for (let l = 0; l < snap.levels; l++) {
      const ap = snapAskPrice(snap, row, l);
      if (ap > 0) b.addAnonymous(b.asks, ap, snapAskSize(snap, row, l));
      const bp = snapBidPrice(snap, row, l);
      if (bp > 0) b.addAnonymous(b.bids, bp, snapBidSize(snap, row, l));
    }
    return b;
  }

  private addAnonymous(s: BookSide, price: number, size: number): void {
    const [lv] = s.getOrCreate(price);
    lv.orders.unshift({ id: 0, size, seq: -1 });
    lv.total += size;
  }

  sideOf(side: Side): BookSide {
    return side === 1 ? this.bids : this.asks;
  }

  /** Best bid / ask (price units), NaN when empty. */
  bestBid(): number {
    return this.bids.bestPrice();
  }
  bestAsk(): number {
    return this.asks.bestPrice();
  }
  /** Mid price (price units), NaN when a side is empty. */
  mid(): number {
    return (this.bids.bestPrice() + this.asks.bestPrice()) / 2;
  }
  /** Quoted spread (price units), NaN when a side is empty. */
  spread(): number {
    return this.asks.bestPrice() - this.bids.bestPrice();
  }

  /**
   * Applies message `i` of `m`. `snap` (the snapshots of the same session) is needed only for the
   * edge refill when the message empties a level; pass it whenever replaying LOBSTER data. Throws
   * {@link BookReconstructionError} when the message references liquidity the book does not hold.
   */
  apply(m: LobMessages, i: number, snap?: LobSnapshots): AppliedEvent {
    const type = m.type[i]!;
    const side = m.direction[i]! as Side;
    const price = m.price[i]!;
    const size = m.size[i]!;
    const ev = this.last;
    ev.index = i;
    ev.type = type;
    ev.side = side;
    ev.price = price;
    ev.size = size;
    ev.orderSeq = -1;
    ev.levelRemoved = false;
    if (type === EVENT.SUBMIT) {
      const s = this.sideOf(side);
      const [lv] = s.getOrCreate(price);
      lv.orders.push({ id: m.orderId[i]!, size, seq: i });
      lv.total += size;
      ev.orderSeq = i;
      if (s.levels.length > this.depthLevels) s.levels.length = this.depthLevels;
    } else if (type === EVENT.PARTIAL_CANCEL || type === EVENT.DELETE || type === EVENT.EXECUTE_VISIBLE) {
      this.reduce(m, i, side, price, size, type === EVENT.DELETE);
      if (ev.levelRemoved && snap) this.refillEdge(this.sideOf(side), snap, i);
    } else if (type === EVENT.HALT) {
      // LOBSTER halt messages carry price −1 (trading halted), 0 (quoting resumes), 1 (trading resumes).
      if (price === -1) this.halted = true;
      else if (price === 1) this.halted = false;
    }
    return ev;
  }

  private reduce(m: LobMessages, i: number, side: Side, price: number, size: number, isDelete: boolean): void {
    const s = this.sideOf(side);
    const li = s.indexOf(price);
    if (li < 0) throw new BookReconstructionError(`message ${i + 1} (type ${m.type[i]}, order ${m.orderId[i]}, ${size} sh @ ${price}, side ${side}): no such level in the reconstructed book`);
    const lv = s.levels[li]!;
    if (size > lv.total) throw new BookReconstructionError(`message ${i + 1}: removes ${size} sh from level ${price} (side ${side}) holding ${lv.total}`);
    const id = m.orderId[i]!;
    const q = lv.orders;
    let k = -1;
    for (let j = 0; j < q.length; j++) if (q[j]!.seq >= 0 && q[j]!.id === id) { k = j; break; }
    if (k >= 0) {
      const o = q[k]!;
      if (size > o.size) throw new BookReconstructionError(`message ${i + 1}: removes ${size} sh from order ${id} holding ${o.size}`);
      if (isDelete && size !== o.size) throw new BookReconstructionError(`message ${i + 1}: deletes ${size} sh of order ${id} which holds ${o.size}`);
      o.size -= size;
      this.last.orderSeq = o.seq;
      if (o.size === 0) q.splice(k, 1);
    } else {
      // Unknown id: the order predates what the data shows us, so it sits in the anonymous front block(s).
      let rest = size;
      for (let j = 0; j < q.length && rest > 0; ) {
        const o = q[j]!;
        if (o.seq >= 0) { j++; continue; }
        const take = Math.min(rest, o.size);
        o.size -= take;
        rest -= take;
        if (o.size === 0) q.splice(j, 1);
        else j++;
      }
      if (rest > 0) throw new BookReconstructionError(`message ${i + 1}: order ${id} (${size} sh @ ${price}) is unknown and the anonymous queue at that level holds only ${size - rest}`);
    }
    lv.total -= size;
    if (lv.total === 0) {
      s.levels.splice(li, 1);
      this.last.levelRemoved = true;
    }
  }

  /** Takes the level uncovered at the window edge from snapshot `row` (see module comment). */
  private refillEdge(s: BookSide, snap: LobSnapshots, row: number): void {
    const l = s.levels.length;
    if (l >= this.depthLevels) return;
    const p = s.side === 1 ? snapBidPrice(snap, row, l) : snapAskPrice(snap, row, l);
    if (p <= 0) return; // the side really is thinner than L levels
    const worst = l ? s.levels[l - 1]!.price : NaN;
    if (l && !s.better(worst, p)) throw new BookReconstructionError(`snapshot row ${row + 1}: level ${l + 1} at ${p} is not beyond the reconstructed worst level ${worst}`);
    const size = s.side === 1 ? snapBidSize(snap, row, l) : snapAskSize(snap, row, l);
    this.addAnonymous(s, p, size);
    this.edgeRefills++;
  }

  /** Writes the visible book in LOBSTER snapshot layout (L × [ask_p, ask_s, bid_p, bid_s]) at `out[offset]`. */
  writeVisible(out: Int32Array, offset = 0): void {
    for (let l = 0; l < this.depthLevels; l++) {
      const a = this.asks.levels[l];
      const b = this.bids.levels[l];
      const o = offset + 4 * l;
      out[o] = a ? a.price : 0;
      out[o + 1] = a ? a.total : 0;
      out[o + 2] = b ? b.price : 0;
      out[o + 3] = b ? b.total : 0;
    }
  }

  /** Deep copy (queues included). */
  clone(): OrderBook {
    const c = new OrderBook(this.depthLevels);
    c.bids = this.bids.clone();
    c.asks = this.asks.clone();
    c.edgeRefills = this.edgeRefills;
    c.halted = this.halted;
    return c;
  }
}
