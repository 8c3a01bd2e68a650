import type { LobSession } from '../../lob/types.ts';

/** Message tuple: [time s, type, order id, shares, price units, direction]. */
export type Msg = [number, number, number, number, number, number];

/**
 * A hand-made LOBSTER session for tests with a known answer: `seed` is the book after message 1
 * (levels of [askPrice, askSize, bidPrice, bidSize]); `msgs` are messages 2..n. Snapshot rows after
 * the seed are zero (only the seed row and message replays are used).
 */
export function syntheticSession(levels: number, seed: [number, number, number, number][], msgs: Msg[]): LobSession {
  const all: Msg[] = [[0, 6, 0, 0, 0, 0], ...msgs];
  const n = all.length;
  const s: LobSession = {
    symbol: 'TEST', date: '2012-06-21', levels, tick: 100,
    messages: { n, time: new Float64Array(n), type: new Uint8Array(n), orderId: new Float64Array(n), size: new Int32Array(n), price: new Int32Array(n), direction: new Int8Array(n) },
    book: { n, levels, data: new Int32Array(n * levels * 4) },
  };
  all.forEach(([t, ty, id, sz, p, d], i) => {
    s.messages.time[i] = t; s.messages.type[i] = ty; s.messages.orderId[i] = id; s.messages.size[i] = sz; s.messages.price[i] = p; s.messages.direction[i] = d;
  });
  seed.forEach((lv, l) => lv.forEach((v, c) => (s.book.data[l * 4 + c] = v)));
  return s;
}
