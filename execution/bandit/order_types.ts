import type { LobReplay, ReplayCheckpoints } from '../../lob/replay.ts';
import { EVENT, type Side } from '../../lob/types.ts';
import { shortfallBps } from '../schedules/executor.ts';

/**
 * Order types a child order can be worked with, each run in the LOB replay (lob/replay.ts) for a
 * window of W seconds, after which any unfilled rest is sent as a market order (so every arm
 * completes the child and the slippages are comparable):
 * - `limit`: one limit order at our touch (best bid for a buy) for the whole window.
 * - `market`: one market order at the start, walking the visible book (what the visible levels
 *   cannot fill waits for the window's end, like every other arm's rest).
 * - `POV`: participation of rate ρ in the traded volume: after each recorded execution, market
 *   orders top our filled quantity up to ρ × (volume traded since the start).
 * - `pegged`: a primary-peg limit order that follows our touch: whenever the best price on our side
 *   changes, it is cancelled and re-sent at the new touch (losing its queue position).
 * Slippage = implementation shortfall against the mid at the child's arrival, bps (lower is better).
 */
export const ORDER_TYPES = ['limit', 'market', 'POV', 'pegged'] as const;
/** One of {@link ORDER_TYPES}. */
export type OrderType = (typeof ORDER_TYPES)[number];

/** One child order. */
export interface ChildOrder {
  start: number;
  side: Side;
  shares: number;
  windowSeconds: number;
}

/** Outcome of one child order under one order type. */
export interface ChildOutcome {
  slippageBps: number;
  makerShares: number;
  /** Shares the visible book could not fill even at the window's end (charged at the worst visible level). */
  unfilled: number;
}

/** Works `child` with order type `type` on a fresh replay from `cp`; deterministic. `povRate` ∈ (0, 1]. */
export function executeOrderType(cp: ReplayCheckpoints, child: ChildOrder, type: OrderType, povRate = 0.2): ChildOutcome {
  if (!(povRate > 0 && povRate <= 1)) throw new RangeError(`POV rate must be in (0, 1], got ${povRate}`);
  const r = cp.atTime(child.start);
  const m0 = r.book.mid();
  const end = child.start + child.windowSeconds;
  const { side, shares } = child;
  let notional = 0;
  let filled = 0;
  const take = (q: number) => {
    const { result } = r.market(side, q);
    notional += result.notional;
    filled += result.filled;
  };
  const touch = () => (side === 1 ? r.book.bestBid() : r.book.bestAsk());
  if (type === 'market') take(shares);
  else if (type === 'limit' || type === 'pegged') {
    let o = r.limit(side, touch(), shares);
    const settle = () => {
      const rest = r.cancel(o.id);
      notional += o.notional;
      filled += o.filled;
      return rest;
    };
    while (!r.done && r.session.messages.time[r.cursor]! < end && o.remaining > 0) {
      r.step();
      if (type === 'pegged' && o.active && touch() !== o.price && Number.isFinite(touch())) {
        const rest = settle();
        o = r.limit(side, touch(), rest);
      }
    }
    settle();
  } else {
    let volume = 0;
    while (!r.done && r.session.messages.time[r.cursor]! < end && filled < shares) {
      const ev = r.step();
      if (ev.type === EVENT.EXECUTE_VISIBLE || ev.type === EVENT.EXECUTE_HIDDEN) volume += ev.size;
      const deficit = Math.min(shares, Math.floor(povRate * volume)) - filled;
      if (deficit > 0) take(deficit);
    }
  }
  r.advanceTo(end);
  let unfilled = 0;
  if (filled < shares) {
    take(shares - filled);
    unfilled = shares - filled;
    if (unfilled > 0) notional += unfilledCharge(r, side, unfilled);
  }
  const maker = r.fills.reduce((a, f) => a + (f.maker ? f.size : 0), 0);
  return { slippageBps: shortfallBps(side, notional, shares, m0), makerShares: maker, unfilled };
}

/** Shares the visible book cannot take are charged at the worst visible opposite price. */
function unfilledCharge(r: LobReplay, side: Side, q: number): number {
  const opp = r.book.sideOf(side === 1 ? -1 : 1).levels;
  return q * (opp.length ? opp[opp.length - 1]!.price : r.book.mid());
}
