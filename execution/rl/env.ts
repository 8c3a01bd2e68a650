import { depthImbalance, RollingMidVol } from '../../lob/features.ts';
import type { LobReplay, ReplayCheckpoints } from '../../lob/replay.ts';
import type { Side } from '../../lob/types.ts';
import type { Rng } from '../../rl/rng.ts';
import { deadlineCharge, type EpisodeSpec } from '../schedules/executor.ts';
import type { DiscreteEnv } from './dqn.ts';

/**
 * Optimal-execution environment on the LOB replay (cf. Nevmyvaka, Feng & Kearns 2006, "Reinforcement
 * learning for optimized trade execution"). A parent order of X shares (buy or sell) must be done
 * within T seconds; the agent decides every τ = T/N seconds.
 * - State (5, scaled to O(1)): quoted spread / `spreadScale` ticks; level-1 depth imbalance signed
 *   against us (side·(D_bid − D_ask)/(D_bid + D_ask): > 0 = pressure in the direction we trade);
 *   short-term mid volatility (bps/√s over the last 30 s) / `volScale`; time remaining (1 → 0);
 *   inventory remaining (1 → 0).
 * - Actions: how to work this step's child (q = ⌈remaining / steps left⌉, the TWAP pace): passive
 *   limits `offsetTicks` inside our touch (0 = join the queue; capped one tick inside the spread),
 *   resting for τ and then cancelled — the rest either stays in inventory or (`crossAtEnd`) is sent
 *   as a market order, which makes the TWAP-passive child one of the actions; aggressive `touch`
 *   (IOC at the opposite best: level 1 only) or `walk` (market order through the book).
 * - Reward: −implementation shortfall (bps of X at the arrival mid m₀) of the step's fills; at the
 *   deadline the remaining inventory is sent as a market order, its cost is part of the last
 *   reward, and a penalty `penaltyBps`·(remaining/X) is subtracted. Σ rewards = −IS − penalty.
 */
export interface ExecAction {
  name: string;
  mode: 'passive' | 'touch' | 'walk';
  offsetTicks: number;
  /** Passive only: send the unfilled rest as a market order at the step's end instead of keeping it. */
  crossAtEnd: boolean;
}

/** The action set (see the module comment). */
export const EXEC_ACTIONS: readonly ExecAction[] = [
  { name: 'passive join', mode: 'passive', offsetTicks: 0, crossAtEnd: false },
  { name: 'passive +2 ticks', mode: 'passive', offsetTicks: 2, crossAtEnd: false },
  { name: 'passive +5 ticks', mode: 'passive', offsetTicks: 5, crossAtEnd: false },
  { name: 'passive join, cross rest at step end', mode: 'passive', offsetTicks: 0, crossAtEnd: true },
  { name: 'passive +5 ticks, cross rest at step end', mode: 'passive', offsetTicks: 5, crossAtEnd: true },
  { name: 'aggressive touch (IOC)', mode: 'touch', offsetTicks: 0, crossAtEnd: false },
  { name: 'aggressive walk (market)', mode: 'walk', offsetTicks: 0, crossAtEnd: false },
];

/** Environment settings. */
export interface ExecEnvConfig {
  shares: number;
  horizonSeconds: number;
  steps: number;
  penaltyBps: number;
  spreadScale: number;
  volScale: number;
}

/** A pool of episode starts: a session (as checkpoints) and the window [from, to] starts are drawn from. */
export interface EpisodeSource {
  cp: ReplayCheckpoints;
  from: number;
  to: number;
  weight: number;
}

/** Result of one executed episode (for evaluation). */
export interface EnvEpisode {
  shortfallBps: number;
  unfilledAtDeadline: number;
  actions: number[];
}

const VOL_WINDOW = 30;

/** See the module comment. */
export class ExecutionEnv implements DiscreteEnv {
  readonly stateSize = 5;
  readonly actionCount = EXEC_ACTIONS.length;
  private r!: LobReplay;
  private vol!: RollingMidVol;
  private spec!: EpisodeSpec;
  private m0 = 0;
  private k = 0;
  private remaining = 0;
  private notional = 0;
  private leftAtDeadline = 0;

  constructor(readonly cfg: ExecEnvConfig, readonly sources: EpisodeSource[] = []) {
    if (!Number.isInteger(cfg.shares) || cfg.shares <= 0 || !Number.isInteger(cfg.steps) || cfg.steps < 1 || !(cfg.horizonSeconds > 0)) {
      throw new RangeError(`execution env needs whole shares > 0, whole steps ≥ 1 and a horizon > 0 (got ${cfg.shares}, ${cfg.steps}, ${cfg.horizonSeconds})`);
    }
  }

  /** Draws a source (by weight), a start (whole second) and a side, then {@link begin}s that episode. */
  reset(rng: Rng): Float64Array {
    if (!this.sources.length) throw new RangeError('execution env has no episode sources to draw from');
    const tot = this.sources.reduce((a, s) => a + s.weight, 0);
    let u = rng.next() * tot;
    let src = this.sources[0]!;
    for (const s of this.sources) if ((u -= s.weight) < 0) { src = s; break; }
    const span = Math.max(0, Math.floor(src.to - this.cfg.horizonSeconds - src.from));
    const start = src.from + rng.int(span + 1);
    const side: Side = rng.next() < 0.5 ? 1 : -1;
    return this.begin(src.cp, { start, side, shares: this.cfg.shares, horizonSeconds: this.cfg.horizonSeconds });
  }

  /** Starts the given episode (the volatility estimate is warmed up on the 30 s before it). */
  begin(cp: ReplayCheckpoints, spec: EpisodeSpec): Float64Array {
    this.spec = spec;
    this.r = cp.atTime(spec.start - VOL_WINDOW);
    this.vol = new RollingMidVol(1, VOL_WINDOW);
    this.vol.observe(this.r.time, this.r.book.mid());
    this.advance(spec.start);
    this.m0 = this.r.book.mid();
    this.k = 0;
    this.remaining = spec.shares;
    this.notional = 0;
    this.leftAtDeadline = 0;
    return this.state();
  }

  private advance(t: number): void {
    const time = this.r.session.messages.time;
    while (!this.r.done && time[this.r.cursor]! <= t) {
      this.r.step();
      this.vol.observe(this.r.time, this.r.book.mid());
    }
  }

  private state(): Float64Array {
    const b = this.r.book;
    const sp = b.spread() / this.r.session.tick;
    return Float64Array.of(
      Number.isFinite(sp) ? sp / this.cfg.spreadScale : 0,
      this.spec.side * depthImbalance(b, 1),
      this.vol.value() / this.cfg.volScale,
      1 - this.k / this.cfg.steps,
      this.remaining / this.spec.shares,
    );
  }

  /** Works this step's child with `action`, advances τ, returns the scaled next state and reward. */
  step(action: number): { next: Float64Array; reward: number; done: boolean } {
    const a = EXEC_ACTIONS[action];
    if (!a) throw new RangeError(`action ${action} outside 0..${EXEC_ACTIONS.length - 1}`);
    const { side, shares } = this.spec;
    const tau = this.spec.horizonSeconds / this.cfg.steps;
    const tNext = this.spec.start + (this.k + 1) * tau;
    const before = this.notional;
    const filledBefore = shares - this.remaining;
    const q = Math.ceil(this.remaining / (this.cfg.steps - this.k));
    if (q > 0) {
      const b = this.r.book;
      const tick = this.r.session.tick;
      if (a.mode === 'walk') {
        const { result } = this.r.market(side, q);
        this.take(result.filled, result.notional);
        this.advance(tNext);
      } else if (a.mode === 'touch') {
        const opp = side === 1 ? b.bestAsk() : b.bestBid();
        if (opp > 0) {
          const o = this.r.limit(side, opp, q, true);
          this.take(o.filled, o.notional);
        }
        this.advance(tNext);
      } else {
        const own = side === 1 ? b.bestBid() : b.bestAsk();
        const opp = side === 1 ? b.bestAsk() : b.bestBid();
        // offsetTicks inside our touch, never closer than one tick to the opposite best, never behind our touch.
        let price = Number.isFinite(own) ? own + side * a.offsetTicks * tick : opp - side * tick;
        if (side === 1) price = Math.max(Number.isFinite(own) ? own : -Infinity, Math.min(price, opp - tick));
        else price = Math.min(Number.isFinite(own) ? own : Infinity, Math.max(price, opp + tick));
        const o = this.r.limit(side, price, q);
        this.advance(tNext - 1e-9);
        const rest = this.r.cancel(o.id);
        this.take(o.filled, o.notional);
        if (a.crossAtEnd && rest > 0) {
          const { result } = this.r.market(side, rest);
          this.take(result.filled, result.notional);
        }
        this.advance(tNext);
      }
    } else {
      this.advance(tNext);
    }
    this.k++;
    const done = this.k >= this.cfg.steps;
    let penalty = 0;
    if (done && this.remaining > 0) {
      penalty = (this.cfg.penaltyBps * this.remaining) / shares;
      this.leftAtDeadline = this.remaining;
      const { result } = this.r.market(side, this.remaining);
      this.take(result.filled, result.notional);
      if (this.remaining > 0) {
        this.notional += deadlineCharge(this.r, side, this.remaining, this.m0, this.cfg.penaltyBps);
        this.remaining = 0;
      }
    }
    const filledNow = shares - this.remaining - filledBefore;
    const stepCost = ((side * (this.notional - before - filledNow * this.m0)) / (shares * this.m0)) * 1e4;
    return { next: this.state(), reward: -stepCost - penalty, done };
  }

  private take(filled: number, notional: number): void {
    this.remaining -= filled;
    this.notional += notional;
  }

  /** Implementation shortfall (bps) of the finished episode, deadline completion included, penalty excluded. */
  shortfallBps(): number {
    return ((this.spec.side * (this.notional / this.spec.shares - this.m0)) / this.m0) * 1e4;
  }

  /** Shares that were still open at the deadline (before the forced market order). */
  openAtDeadline(): number {
    return this.leftAtDeadline;
  }

  /** Runs one full episode with `policy` (state → action) from `spec`; deterministic. */
  run(cp: ReplayCheckpoints, spec: EpisodeSpec, policy: (s: Float64Array) => number): EnvEpisode {
    let s = this.begin(cp, spec);
    const actions: number[] = [];
    for (let done = false; !done; ) {
      const a = policy(s);
      actions.push(a);
      const st = this.step(a);
      s = st.next;
      done = st.done;
    }
    return { shortfallBps: this.shortfallBps(), unfilledAtDeadline: this.openAtDeadline(), actions };
  }
}
