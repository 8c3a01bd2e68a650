import { depthImbalance, RollingMidVol } from '../../lob/features.ts';
import type { LobReplay, ReplayCheckpoints } from '../../lob/replay.ts';
import type { Rng } from '../../rl/rng.ts';
import type { MmFill, MmMarket } from './market.ts';

/**
 * Market making against the LOB replay (lob/replay.ts): each decision step our bid and ask (one
 * lot of `lotShares` each) rest as virtual limit orders — bid rounded down and ask up to the tick,
 * never crossing (a bid at or above the best ask is moved one tick below it, and vice versa) — for
 * `stepSeconds`, then are cancelled and re-quoted (queue position is lost on every re-quote).
 * Fills follow the replay's queue rules (queue ahead consumed first, trade-throughs fill). Prices
 * in the A-S units are USD per share; wealth in USD. Episodes of `steps` decisions start at
 * `starts` (evaluation) or uniformly in [from, to − steps·stepSeconds] (training).
 */
export class ReplayMarket implements MmMarket {
  readonly dt: number;
  readonly lotValue: number;
  private r!: LobReplay;
  private vol!: RollingMidVol;
  private t0 = 0;
  private k = 0;
  private q = 0;
  private cash = 0;

  constructor(
    readonly cp: ReplayCheckpoints,
    readonly steps: number,
    readonly stepSeconds: number,
    readonly lotShares: number,
    readonly starts: number[],
    readonly from: number,
    readonly to: number,
    /** Typical 30-s volatility (bps/√s) the first feature is divided by. */
    readonly volScale: number,
  ) {
    this.dt = stepSeconds;
    this.lotValue = lotShares;
  }

  private start(t: number): void {
    this.r = this.cp.atTime(t - 30);
    this.vol = new RollingMidVol(1, 30);
    this.advance(t);
    this.t0 = t;
    this.k = 0;
    this.q = 0;
    this.cash = 0;
  }
  private advance(t: number): void {
    const time = this.r.session.messages.time;
    while (!this.r.done && time[this.r.cursor]! <= t) {
      this.r.step();
      this.vol.observe(this.r.time, this.r.book.mid());
    }
  }
  reset(rng: Rng): void {
    const span = Math.max(0, Math.floor(this.to - this.steps * this.stepSeconds - this.from));
    this.start(this.from + rng.int(span + 1));
  }
  begin(i: number): void {
    this.start(this.starts[i]!);
  }
  episodes(): number {
    return this.starts.length;
  }
  timeToHorizon(): number {
    return (this.steps - this.k) * this.dt;
  }
  mid(): number {
    return this.r.book.mid() / 1e4;
  }
  inventory(): number {
    return this.q;
  }
  wealth(): number {
    return this.cash + this.q * this.lotShares * this.mid();
  }
  features(): [number, number] {
    return [this.vol.value() / this.volScale, depthImbalance(this.r.book, 1)];
  }
  done(): boolean {
    return this.k >= this.steps;
  }

  quote(bid: number | null, ask: number | null): MmFill[] {
    const tick = this.r.session.tick;
    const b = this.r.book;
    const ids: number[] = [];
    if (bid !== null && b.bestAsk() > 0) {
      const p = Math.min(Math.floor((bid * 1e4) / tick) * tick, b.bestAsk() - tick);
      if (p > 0) ids.push(this.r.limit(1, p, this.lotShares).id);
    }
    if (ask !== null && b.bestBid() > 0) {
      const p = Math.max(Math.ceil((ask * 1e4) / tick) * tick, b.bestBid() + tick);
      ids.push(this.r.limit(-1, p, this.lotShares).id);
    }
    const nFills = this.r.fills.length;
    this.advance(this.t0 + (this.k + 1) * this.stepSeconds - 1e-9);
    for (const id of ids) this.r.cancel(id);
    const fills: MmFill[] = [];
    for (const f of this.r.fills.slice(nFills)) {
      const lots = f.size / this.lotShares;
      this.q += f.side * lots;
      this.cash -= f.side * f.size * (f.price / 1e4);
      fills.push({ side: f.side, lots, price: f.price / 1e4, mid: f.mid / 1e4 });
    }
    this.advance(this.t0 + (this.k + 1) * this.stepSeconds);
    this.k++;
    return fills;
  }
}
