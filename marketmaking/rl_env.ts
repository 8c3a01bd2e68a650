import type { DiscreteEnv } from '../execution/rl/dqn.ts';
import type { Rng } from '../rl/rng.ts';
import type { AsParams } from './avellaneda_stoikov.ts';
import type { MmFill, MmMarket } from './markets/market.ts';
import { MM_ACTIONS, modifiedAsQuotes } from './policy.ts';

/**
 * RL market-making environment over any {@link MmMarket}: the agent picks one of
 * {@link MM_ACTIONS} (spread and skew multipliers on the A-S quotes) each step.
 * State: [q/qMax, (T − t)/T, realised-vol ratio − 1, book imbalance].
 * Reward (scaled by one lot's per-step PnL standard deviation, ℓσ√dt): ΔW/(ℓσ√dt) − (φ/2)·q²
 * with φ = γσ√dt — the per-step mean–variance certainty equivalent of A-S's exponential utility
 * with the same γ (inventory variance per step ≈ q²ℓ²σ²dt), so RL optimises the same criterion.
 */
export class MmEnv implements DiscreteEnv {
  readonly stateSize = 4;
  readonly actionCount = MM_ACTIONS.length;
  private w = 0;
  /** Fills of the last step. */
  lastFills: MmFill[] = [];
  private readonly scale: number;
  private readonly phi: number;
  private readonly T: number;

  constructor(readonly market: MmMarket, readonly p: AsParams, readonly qMax: number) {
    this.scale = market.lotValue * p.sigma * Math.sqrt(market.dt);
    this.phi = p.gamma * p.sigma * Math.sqrt(market.dt);
    this.T = market.steps * market.dt;
    if (!(this.scale > 0)) throw new RangeError(`MM env: one lot's PnL scale ℓσ√dt must be > 0 (got ${this.scale})`);
  }

  state(): Float64Array {
    const [v, imb] = this.market.features();
    return Float64Array.of(this.market.inventory() / this.qMax, this.market.timeToHorizon() / this.T, v - 1, imb);
  }

  reset(rng: Rng): Float64Array {
    this.market.reset(rng);
    this.w = this.market.wealth();
    return this.state();
  }

  /** Starts evaluation episode `i` of the market. */
  begin(i: number): Float64Array {
    this.market.begin(i);
    this.w = this.market.wealth();
    return this.state();
  }

  step(action: number): { next: Float64Array; reward: number; done: boolean } {
    const a = MM_ACTIONS[action];
    if (!a) throw new RangeError(`action ${action} outside 0..${MM_ACTIONS.length - 1}`);
    const qu = modifiedAsQuotes(this.market, this.p, this.qMax, a.spread, a.skew);
    this.lastFills = this.market.quote(qu.bid, qu.ask);
    const w = this.market.wealth();
    const q = this.market.inventory();
    const reward = (w - this.w) / this.scale - (this.phi / 2) * q * q;
    this.w = w;
    return { next: this.state(), reward, done: this.market.done() };
  }
}
