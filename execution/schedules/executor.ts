import type { LobReplay, ReplayCheckpoints } from '../../lob/replay.ts';
import type { Side } from '../../lob/types.ts';
import type { Schedule } from './schedule.ts';

/**
 * Executes a trade schedule as child orders in the LOB replay (lob/replay.ts) and measures the
 * implementation shortfall (Perold 1988) against the arrival mid:
 *   IS = side · (Σ pᵢqᵢ / X − m₀) / m₀ · 10⁴ bps,
 * side +1 for a buy, −1 for a sell, m₀ the mid when the parent order arrives, over all X shares.
 * Child style `market`: n_k shares walk the book at the start of interval k (the AC cost model).
 * Child style `passive`: n_k shares join the queue at our touch (best bid for a buy) at the start
 * of interval k; what is unfilled at the interval's end is cancelled and sent as a market order.
 * Shares a market order cannot fill because the visible book is exhausted are carried to the next
 * interval; at the deadline any rest is charged at the worst visible opposite price plus
 * `unfilledPenaltyBps` (reported as `unfilledAtDeadline`; never silently dropped).
 */
export type ChildStyle = 'market' | 'passive';

/** One parent order. */
export interface EpisodeSpec {
  /** Arrival time, seconds after midnight. */
  start: number;
  side: Side;
  shares: number;
  horizonSeconds: number;
}

/** Outcome of one executed parent order. */
export interface ExecutionResult {
  strategy: string;
  start: number;
  side: Side;
  shares: number;
  arrivalMid: number;
  /** Σ price·shares including the deadline charge (price units × shares). */
  notional: number;
  shortfallBps: number;
  /** Shares filled passively (our resting orders). */
  makerShares: number;
  /** Shares the visible book could not fill by the deadline. */
  unfilledAtDeadline: number;
}

/** Default penalty on shares left at the deadline (bps of the arrival mid). */
export const DEFAULT_UNFILLED_PENALTY_BPS = 25;

/** Shortfall (bps) of `notional` over `shares` against the arrival mid `m0` for `side`. */
export function shortfallBps(side: Side, notional: number, shares: number, m0: number): number {
  return ((side * (notional / shares - m0)) / m0) * 1e4;
}

/** Charge for `rest` shares left at the deadline: worst visible opposite price ± penalty (price units × shares). */
export function deadlineCharge(r: LobReplay, side: Side, rest: number, m0: number, penaltyBps: number): number {
  const opp = r.book.sideOf(side === 1 ? -1 : 1).levels;
  const worst = opp.length ? opp[opp.length - 1]!.price : m0;
  return rest * (worst + (side * penaltyBps * m0) / 1e4);
}

/**
 * Runs `schedule` for `spec` on a fresh replay from `cp` positioned at spec.start. Deterministic.
 * Throws RangeError when the schedule's shares/horizon disagree with the spec or the episode runs
 * past the end of the session.
 */
export function executeSchedule(cp: ReplayCheckpoints, spec: EpisodeSpec, schedule: Schedule, style: ChildStyle, penaltyBps = DEFAULT_UNFILLED_PENALTY_BPS): ExecutionResult {
  if (schedule.shares !== spec.shares || schedule.horizonSeconds !== spec.horizonSeconds) {
    throw new RangeError(`schedule ${schedule.name} is for ${schedule.shares} sh over ${schedule.horizonSeconds}s, the episode for ${spec.shares} sh over ${spec.horizonSeconds}s`);
  }
  const m = cp.session.messages;
  if (spec.start + spec.horizonSeconds > m.time[m.n - 1]!) throw new RangeError(`episode ${spec.start}+${spec.horizonSeconds}s runs past the session end ${m.time[m.n - 1]}`);
  const r = cp.atTime(spec.start);
  const m0 = r.book.mid();
  const N = schedule.trades.length;
  const tau = spec.horizonSeconds / N;
  let notional = 0;
  let carry = 0;
  for (let k = 0; k < N; k++) {
    r.advanceTo(spec.start + k * tau);
    const want = schedule.trades[k]! + carry;
    carry = 0;
    if (want <= 0) continue;
    if (style === 'market') {
      const { result } = r.market(spec.side, want);
      notional += result.notional;
      carry = result.unfilled;
      continue;
    }
    const touch = spec.side === 1 ? r.book.bestBid() : r.book.bestAsk();
    const o = r.limit(spec.side, touch, want);
    r.advanceTo(spec.start + (k + 1) * tau - 1e-9);
    const rest = r.cancel(o.id);
    notional += o.notional;
    if (rest > 0) {
      const { result } = r.market(spec.side, rest);
      notional += result.notional;
      carry = result.unfilled;
    }
  }
  const maker = r.fills.reduce((a, f) => a + (f.maker ? f.size : 0), 0);
  if (carry > 0) {
    r.advanceTo(spec.start + spec.horizonSeconds);
    const { result } = r.market(spec.side, carry);
    notional += result.notional;
    carry = result.unfilled;
    if (carry > 0) notional += deadlineCharge(r, spec.side, carry, m0, penaltyBps);
  }
  return { strategy: schedule.name + (style === 'passive' ? ' passive' : ''), start: spec.start, side: spec.side, shares: spec.shares, arrivalMid: m0, notional, shortfallBps: shortfallBps(spec.side, notional, spec.shares, m0), makerShares: maker, unfilledAtDeadline: carry };
}

/** Parent orders starting every `stride` s in [from, to − T], each as a buy and as a sell. */
export function episodeStarts(from: number, to: number, stride: number, shares: number, horizonSeconds: number): EpisodeSpec[] {
  if (!(stride > 0)) throw new RangeError(`stride must be > 0 seconds, got ${stride}`);
  const out: EpisodeSpec[] = [];
  for (let t = from; t + horizonSeconds <= to; t += stride) for (const side of [1, -1] as const) out.push({ start: t, side, shares, horizonSeconds });
  return out;
}
