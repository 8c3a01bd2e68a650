import { describe, expect, it } from 'vitest';
import { BookReconstructionError, OrderBook } from '../../lob/book.ts';
import { depthImbalance, RollingMidVol, spreadTicks } from '../../lob/features.ts';
import { loadLobSessions } from '../../lob/load.ts';
import { LobReplay, ReplayCheckpoints } from '../../lob/replay.ts';
import { snapAskPrice, snapBidPrice, type LobSession } from '../../lob/types.ts';
import { verifyAgainstSnapshots } from '../../lob/verify.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { syntheticSession } from './helpers.ts';

describe.skipIf(!hasSharedData())('LOBSTER replay reproduces the orderbook files', () => {
  const sessions = loadLobSessions();

  it('every row of GOOG (5 levels, 20,000 rows) and AAPL (10 levels, 999 rows) matches exactly', async () => {
    const ss = await sessions;
    const checks = ss.map(verifyAgainstSnapshots);
    expect(checks.map((c) => [c.symbol, c.levels, c.rows])).toEqual([['AAPL', 10, 999], ['GOOG', 5, 20_000]]);
    for (const c of checks) {
      expect(c.mismatchedCells).toBe(0);
      expect(c.mismatchedRows).toBe(0);
      expect(c.events).toBe(c.rows - 1);
      // Levels uncovered at the window edge are the only snapshot input after the seed: at most one per event.
      expect(c.edgeRefills).toBeGreaterThan(0);
      expect(c.edgeRefills).toBeLessThan(c.rows);
    }
  });

  it('premise of the edge refill: no message lies beyond the previous row\'s visible window', async () => {
    for (const s of await sessions) {
      const m = s.messages;
      let outside = 0;
      for (let i = 1; i < m.n; i++) {
        if (m.type[i] === 5 || m.type[i] === 7) continue;
        const worst = m.direction[i] === -1 ? snapAskPrice(s.book, i - 1, s.levels - 1) : snapBidPrice(s.book, i - 1, s.levels - 1);
        if (worst > 0 && (m.direction[i] === -1 ? m.price[i]! > worst : m.price[i]! < worst)) outside++;
      }
      expect(outside).toBe(0);
    }
  });

  it('a tampered message is detected (mismatch or reconstruction error)', async () => {
    const goog = (await sessions).find((s) => s.symbol === 'GOOG')!;
    const i = Array.from(goog.messages.type).findIndex((t, k) => k > 100 && t === 1);
    const copy: LobSession = { ...goog, messages: { ...goog.messages, size: goog.messages.size.slice() } };
    copy.messages.size[i] += 1;
    let detected = false;
    try {
      detected = verifyAgainstSnapshots(copy).mismatchedRows > 0;
    } catch (e) {
      detected = e instanceof BookReconstructionError;
    }
    expect(detected).toBe(true);
  });

  it('checkpoints give the same book as a replay from the start', async () => {
    const goog = (await sessions).find((s) => s.symbol === 'GOOG')!;
    const cp = new ReplayCheckpoints(goog, 997);
    const a = cp.at(12_345);
    const b = LobReplay.fromStart(goog);
    b.advanceEvents(12_345 - 1);
    const ra = new Int32Array(20);
    const rb = new Int32Array(20);
    a.book.writeVisible(ra);
    b.book.writeVisible(rb);
    expect(Array.from(ra)).toEqual(Array.from(rb));
    expect(Array.from(ra)).toEqual(Array.from(goog.book.data.subarray(12_344 * 20, 12_345 * 20)));
  });
});

// Seed book (after message 1): asks 10100×100, 10200×200, 10300×300; bids 10000×150, 9900×100, 9800×100.
const SEED: [number, number, number, number][] = [[10100, 100, 10000, 150], [10200, 200, 9900, 100], [10300, 300, 9800, 100]];

describe('queue position and order handling on a hand-made book', () => {
  it('our buy at the back of the queue fills only after the queue ahead is consumed', () => {
    const s = syntheticSession(3, SEED, [
      [1, 1, 7, 40, 10000, 1], // submitted after ours: behind us
      [2, 3, 7, 40, 10000, 1], // its deletion does not move us
      [3, 2, 3, 30, 10000, 1], // partial cancel of an order of the seed block: ahead of us → 120 ahead
      [4, 4, 3, 100, 10000, 1], // execution 100 → 20 ahead, no fill
      [5, 1, 8, 60, 10000, 1], // behind us
      [6, 4, 3, 20, 10000, 1], // one aggressor of 35 shares: 20 of the seed block (the rest of the queue ahead) …
      [6, 4, 8, 15, 10000, 1], // … then 15 recorded against an order behind us: in front of it, we get them
      [7, 4, 8, 10, 10000, 1], // queue ahead is empty: 10 more for us
    ]);
    const r = LobReplay.fromStart(s);
    const o = r.limit(1, 10000, 50);
    expect(o.ahead).toBe(150);
    r.advanceTo(3);
    expect(o.ahead).toBe(120);
    expect(o.filled).toBe(0);
    r.advanceTo(4);
    expect([o.ahead, o.filled]).toEqual([20, 0]);
    r.advanceTo(6);
    expect([o.ahead, o.filled]).toEqual([0, 15]);
    r.advanceTo(7);
    expect(o.filled).toBe(25);
    expect(r.fills.every((f) => f.maker && f.price === 10000)).toBe(true);
    expect(r.cancel(o.id)).toBe(25);
    expect(r.restingOrders()).toHaveLength(0);
  });

  it('trade-through and crossing submissions fill a resting order at its limit price', () => {
    const s = syntheticSession(3, SEED, [
      [1, 4, 0, 150, 10000, 1], // the whole best bid executes: level 10000 gone; our 10050 bid is better
      [2, 4, 0, 30, 9900, 1], // a seller trades through our price → 30 for us
      [3, 1, 9, 50, 10000, -1], // a sell limit at our price crosses us → our last 20
    ]);
    const r = LobReplay.fromStart(s);
    const o = r.limit(1, 10100, 50); // at the best ask: marketable, taken at once
    expect(o.filled).toBe(50);
    expect(o.notional).toBe(50 * 10100);
    const p = r.limit(1, 10000, 50); // joins the 150 at the best bid
    r.advanceTo(1);
    expect(p.filled).toBe(0); // 150 executed = exactly the queue ahead
    r.advanceTo(3);
    expect(p.filled).toBe(50);
    expect(r.fills.filter((f) => f.order === p.id).map((f) => f.size)).toEqual([30, 20]);
  });

  it('market orders walk the book and our consumed liquidity is not available twice', () => {
    const s = syntheticSession(3, SEED, [[1, 4, 0, 100, 10100, -1]]);
    const r = LobReplay.fromStart(s);
    const a = r.market(1, 250);
    expect(a.result).toEqual({ filled: 250, notional: 100 * 10100 + 150 * 10200, unfilled: 0 });
    const b = r.market(1, 100);
    expect(b.result.notional).toBe(50 * 10200 + 50 * 10300);
    const c = r.market(-1, 400);
    expect(c.result).toEqual({ filled: 350, notional: 150 * 10000 + 100 * 9900 + 100 * 9800, unfilled: 50 });
    r.advanceTo(1); // the recorded execution removes the 10100 level we had taken
    expect(r.book.bestAsk()).toBe(10200);
  });

  it('rejects bad orders with clear errors', () => {
    const r = LobReplay.fromStart(syntheticSession(3, SEED, [[1, 5, 0, 10, 10000, 1]]));
    expect(() => r.limit(1, 10050.5, 10)).toThrow(/multiple of the tick 100/);
    expect(() => r.market(1, 0)).toThrow(/positive whole number/);
    expect(() => r.cancel(99)).toThrow(/no order 99/);
    expect(() => verifyBook(syntheticSession(3, SEED, [[1, 3, 42, 500, 10000, 1]]))).toThrow(/removes 500 sh from level 10000 \(side 1\) holding 150/);
    expect(() => verifyBook(syntheticSession(3, SEED, [[1, 1, 5, 10, 10000, 1], [2, 3, 42, 155, 10000, 1]]))).toThrow(/order 42 \(155 sh @ 10000\) is unknown and the anonymous queue at that level holds only 150/);
    expect(() => verifyBook(syntheticSession(3, SEED, [[1, 1, 5, 10, 10000, 1], [2, 3, 5, 4, 10000, 1]]))).toThrow(/deletes 4 sh of order 5 which holds 10/);
  });

  it('book features: spread in ticks, imbalance, rolling volatility', () => {
    const b = OrderBook.fromSnapshot(syntheticSession(3, SEED, []).book, 0);
    expect(spreadTicks(b, 100)).toBe(1);
    expect(depthImbalance(b, 1)).toBeCloseTo((150 - 100) / 250, 12);
    expect(depthImbalance(b, 3)).toBeCloseTo((350 - 600) / 950, 12);
    const v = new RollingMidVol(1, 10);
    // mids alternate ±1 bp (log) every second: sample std of returns = 2 bps·√(n/(n−1)) for alternating ±2 bps jumps
    for (let t = 0; t <= 11; t++) v.observe(t, 10000 * Math.exp(((t % 2) * 2) / 1e4));
    const r = Array.from({ length: 10 }, (_, k) => (k % 2 === 0 ? 2 : -2));
    const mean = r.reduce((a, x) => a + x, 0) / r.length;
    const sd = Math.sqrt(r.reduce((a, x) => a + (x - mean) ** 2, 0) / (r.length - 1));
    expect(v.value()).toBeCloseTo(sd, 9);
  });
});

function verifyBook(s: LobSession): void {
  const b = OrderBook.fromSnapshot(s.book, 0);
  for (let i = 1; i < s.messages.n; i++) b.apply(s.messages, i);
}
