import type { Rng } from '../../rl/rng.ts';
import type { MmFill, MmMarket } from './market.ts';

/**
 * Training-only mixture of markets with the same step length and lot value: each reset picks one
 * market with probability ∝ its weight and delegates the episode to it (e.g. the calibrated arrival
 * model plus the training part of the replay). Evaluation goes to the individual markets.
 */
export class MixtureMarket implements MmMarket {
  readonly steps: number;
  readonly dt: number;
  readonly lotValue: number;
  private cur: MmMarket;

  constructor(readonly parts: { market: MmMarket; weight: number }[]) {
    if (!parts.length) throw new RangeError('a market mixture needs at least one market');
    const m0 = parts[0]!.market;
    for (const p of parts) {
      if (p.market.dt !== m0.dt || p.market.steps !== m0.steps || p.market.lotValue !== m0.lotValue) throw new RangeError('mixed markets must share step length, steps per episode and lot value');
    }
    this.steps = m0.steps;
    this.dt = m0.dt;
    this.lotValue = m0.lotValue;
    this.cur = m0;
  }
  reset(rng: Rng): void {
    const tot = this.parts.reduce((a, p) => a + p.weight, 0);
    let u = rng.next() * tot;
    this.cur = this.parts[this.parts.length - 1]!.market;
    for (const p of this.parts) if ((u -= p.weight) < 0) { this.cur = p.market; break; }
    this.cur.reset(rng);
  }
  begin(_i: number): void {
    throw new RangeError('a market mixture is for training; evaluate on its markets one by one');
  }
  episodes(): number {
    return 0;
  }
  timeToHorizon(): number {
    return this.cur.timeToHorizon();
  }
  mid(): number {
    return this.cur.mid();
  }
  inventory(): number {
    return this.cur.inventory();
  }
  wealth(): number {
    return this.cur.wealth();
  }
  features(): [number, number] {
    return this.cur.features();
  }
  quote(bid: number | null, ask: number | null): MmFill[] {
    return this.cur.quote(bid, ask);
  }
  done(): boolean {
    return this.cur.done();
  }
}
