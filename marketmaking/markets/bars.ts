import type { Rng } from '../../rl/rng.ts';
import type { Bars } from '../klines.ts';
import type { MmFill, MmMarket } from './market.ts';

/**
 * Market making on hourly bars (Binance klines). A-S price units are log-prices; time units hours.
 * Approximations (stated, not hidden): quotes are set at the bar open from the previous close; a
 * quote is filled — one lot, at its own price — when the bar's range touches it (low ≤ bid,
 * high ≥ ask): touch = fill, no queue, our size never moves the market, at most one fill per side
 * per bar; marks at the close. One lot = `lotUsd` of notional at the fill price (inventory in lots
 * ≈ notional / lotUsd). Episodes are `steps` consecutive bars without gaps; evaluation episodes
 * tile [from, to) bar indices, training ones start uniformly in it.
 */
export class BarsMarket implements MmMarket {
  readonly dt = 1;
  readonly lotValue: number;
  private i0 = 0;
  private k = 0;
  private coins = 0;
  private cash = 0;
  private readonly evalStarts: number[] = [];
  private readonly validStarts: number[] = [];

  constructor(readonly bars: Bars, readonly steps: number, readonly from: number, readonly to: number, readonly lotUsd: number, readonly volScale: number) {
    this.lotValue = lotUsd;
    for (let i = Math.max(1, from); i + steps <= to; i++) {
      // a start is valid when the previous bar and the next `steps` bars are consecutive hours
      if (bars.ts[i + steps - 1]! - bars.ts[i - 1]! === steps * 3600) this.validStarts.push(i);
    }
    for (let i = Math.max(1, from); i + steps <= to; i += steps) if (bars.ts[i + steps - 1]! - bars.ts[i - 1]! === steps * 3600) this.evalStarts.push(i);
    if (!this.validStarts.length) throw new RangeError(`${bars.symbol}: no gap-free run of ${steps} hourly bars in [${from}, ${to})`);
  }

  private start(i: number): void {
    this.i0 = i;
    this.k = 0;
    this.coins = 0;
    this.cash = 0;
  }
  reset(rng: Rng): void {
    this.start(this.validStarts[rng.int(this.validStarts.length)]!);
  }
  begin(i: number): void {
    this.start(this.evalStarts[i]!);
  }
  episodes(): number {
    return this.evalStarts.length;
  }
  /** Bar index of the bar about to be quoted. */
  private get bar(): number {
    return this.i0 + this.k;
  }
  timeToHorizon(): number {
    return this.steps - this.k;
  }
  /** Log of the previous close (the reference the next bar's quotes are set from). */
  mid(): number {
    return Math.log(this.bars.close[this.bar - 1]!);
  }
  /** Inventory in lots of current notional: coins × previous close / lotUsd. */
  inventory(): number {
    return (this.coins * this.bars.close[this.bar - 1]!) / this.lotUsd;
  }
  wealth(): number {
    return this.cash + this.coins * this.bars.close[this.bar - 1]!;
  }
  features(): [number, number] {
    // realised volatility of the last 24 hourly log returns relative to the calibrated σ
    let s2 = 0;
    let n = 0;
    for (let j = Math.max(1, this.bar - 24); j < this.bar; j++) {
      const r = Math.log(this.bars.close[j]! / this.bars.close[j - 1]!);
      s2 += r * r;
      n++;
    }
    return [n ? Math.sqrt(s2 / n) / this.volScale : 1, 0];
  }
  done(): boolean {
    return this.k >= this.steps;
  }

  quote(bid: number | null, ask: number | null): MmFill[] {
    const j = this.bar;
    const ref = this.bars.close[j - 1]!;
    const fills: MmFill[] = [];
    if (bid !== null) {
      const p = Math.exp(bid);
      if (this.bars.low[j]! <= p) {
        const c = this.lotUsd / p;
        this.coins += c;
        this.cash -= c * p;
        fills.push({ side: 1, lots: 1, price: p, mid: ref });
      }
    }
    if (ask !== null) {
      const p = Math.exp(ask);
      if (this.bars.high[j]! >= p) {
        const c = this.lotUsd / p;
        this.coins -= c;
        this.cash += c * p;
        fills.push({ side: -1, lots: 1, price: p, mid: ref });
      }
    }
    this.k++;
    return fills;
  }
}
