import { Rng } from '../../rl/rng.ts';
import { type AsParams, fillIntensity } from '../avellaneda_stoikov.ts';
import type { MmFill, MmMarket } from './market.ts';

/**
 * The simulation of Avellaneda & Stoikov (2008) §3: mid s_{t+dt} = s_t + σ·√dt·Z (Gaussian
 * increments), and in each sub-step of length `subDt` our bid (ask) at distance δ is hit with
 * probability 1 − exp(−A·e^{−kδ}·subDt) (at least one Poisson arrival), one lot per hit, at most one
 * hit per side per sub-step. Quotes are held for a decision step of `substeps` sub-steps. Prices
 * in USD; one lot = `lotShares` shares (wealth in USD = lotShares × per-share PnL). Evaluation
 * episode i uses seed `evalSeed + i`.
 */
export class ArrivalMarket implements MmMarket {
  readonly dt: number;
  readonly lotValue: number;
  private s = 0;
  private q = 0;
  private cash = 0;
  private k = 0;
  private rng!: Rng;

  constructor(
    readonly p: AsParams,
    readonly s0: number,
    readonly steps: number,
    readonly subDt: number,
    readonly substeps: number,
    readonly lotShares: number,
    readonly evalEpisodes: number,
    readonly evalSeed: number,
  ) {
    if (!(steps >= 1 && subDt > 0 && substeps >= 1 && lotShares > 0)) throw new RangeError('arrival market needs steps ≥ 1, sub-step > 0, substeps ≥ 1, lot > 0');
    this.dt = subDt * substeps;
    this.lotValue = lotShares;
  }

  private start(rng: Rng): void {
    this.rng = rng;
    this.s = this.s0;
    this.q = 0;
    this.cash = 0;
    this.k = 0;
  }
  reset(rng: Rng): void {
    this.start(new Rng(Math.floor(rng.next() * 2 ** 31)));
  }
  begin(i: number): void {
    this.start(new Rng(this.evalSeed + i));
  }
  episodes(): number {
    return this.evalEpisodes;
  }
  timeToHorizon(): number {
    return (this.steps - this.k) * this.dt;
  }
  mid(): number {
    return this.s;
  }
  inventory(): number {
    return this.q;
  }
  wealth(): number {
    return (this.cash + this.q * this.s) * this.lotShares;
  }
  features(): [number, number] {
    return [1, 0];
  }
  done(): boolean {
    return this.k >= this.steps;
  }

  quote(bid: number | null, ask: number | null): MmFill[] {
    const fills: MmFill[] = [];
    for (let j = 0; j < this.substeps; j++) {
      if (bid !== null && this.rng.next() < 1 - Math.exp(-fillIntensity(this.s - bid, this.p) * this.subDt)) {
        this.q += 1;
        this.cash -= bid;
        fills.push({ side: 1, lots: 1, price: bid, mid: this.s });
      }
      if (ask !== null && this.rng.next() < 1 - Math.exp(-fillIntensity(ask - this.s, this.p) * this.subDt)) {
        this.q -= 1;
        this.cash += ask;
        fills.push({ side: -1, lots: 1, price: ask, mid: this.s });
      }
      this.s += this.p.sigma * Math.sqrt(this.subDt) * this.rng.normal();
    }
    this.k++;
    return fills;
  }
}
