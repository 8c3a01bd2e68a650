import type { OrderBook } from './book.ts';

/**
 * Book-state features used as RL state and bandit context. Prices in LOBSTER price units
 * (1/10,000 USD) unless a name says ticks or bps.
 */

/** Quoted spread in ticks (best ask − best bid) / tick; NaN when a side is empty. */
export function spreadTicks(book: OrderBook, tick: number): number {
  return book.spread() / tick;
}

/**
 * Depth imbalance over the first `k` levels, (D_bid − D_ask)/(D_bid + D_ask) ∈ [−1, 1]
 * (Cartea, Jaimungal & Penalva 2015, §4.2); 0 for an empty book. Positive = more resting bids.
 */
export function depthImbalance(book: OrderBook, k = 1): number {
  const b = book.bids.depth(k);
  const a = book.asks.depth(k);
  return a + b > 0 ? (b - a) / (a + b) : 0;
}

/** Microprice (Stoikov 2018's weighted mid): (P_ask·Q_bid + P_bid·Q_ask)/(Q_bid + Q_ask), price units. */
export function microprice(book: OrderBook): number {
  const qa = book.asks.bestSize();
  const qb = book.bids.bestSize();
  if (qa + qb === 0) return book.mid();
  return (book.bestAsk() * qb + book.bestBid() * qa) / (qa + qb);
}

/**
 * Short-term mid volatility: standard deviation of mid log returns sampled every `dt` seconds over
 * the last `window` seconds, in bps per √second (not annualised). Feed it with {@link observe} after
 * each applied message; the grid t₀ + k·dt (t₀ = first observation) is sampled with the mid prevailing
 * at each grid time, once an observation after it arrives.
 */
export class RollingMidVol {
  private readonly samples: number[] = [];
  private nextT = NaN;
  private lastMid = NaN;
  private readonly cap: number;

  constructor(readonly dt = 1, readonly window = 30) {
    if (!(dt > 0) || !(window >= 2 * dt)) throw new RangeError(`RollingMidVol needs dt > 0 and window ≥ 2·dt (got dt ${dt}, window ${window})`);
    this.cap = Math.round(window / dt) + 1;
  }

  /** Records that the mid is `mid` (price units) from time `t` (seconds) on. */
  observe(t: number, mid: number): void {
    if (!(mid > 0)) return;
    if (Number.isNaN(this.nextT)) this.nextT = t;
    // Grid points before t are sampled with the mid that prevailed there (updates at a grid time count).
    while (this.nextT < t) {
      this.samples.push(this.lastMid);
      if (this.samples.length > this.cap) this.samples.shift();
      this.nextT += this.dt;
    }
    this.lastMid = mid;
  }

  /** Current estimate (bps/√s); 0 with fewer than 3 samples. */
  value(): number {
    const s = this.samples;
    if (s.length < 3) return 0;
    let m = 0;
    let m2 = 0;
    const n = s.length - 1;
    for (let i = 1; i < s.length; i++) {
      const r = Math.log(s[i]! / s[i - 1]!) * 1e4;
      m += r;
      m2 += r * r;
    }
    m /= n;
    const v = Math.max(0, (m2 - n * m * m) / (n - 1));
    return Math.sqrt(v / this.dt);
  }
}
