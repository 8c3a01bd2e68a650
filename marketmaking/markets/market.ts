import type { Rng } from '../../rl/rng.ts';

/**
 * A market a market maker quotes into, one decision step at a time. Prices passed to and from
 * {@link MmMarket.quote} are in the market's *A-S price units* (USD per share for a LOB, log-price
 * for bars); inventory is in lots; wealth is mark-to-market in currency (USD/USDT).
 */
export interface MmFill {
  /** +1 we bought (our bid was hit), −1 we sold. */
  side: 1 | -1;
  lots: number;
  /** Currency price per unit of the fill and the mid at that moment. */
  price: number;
  mid: number;
}

/** The market interface every simulator (arrival model, LOB replay, hourly bars) implements. */
export interface MmMarket {
  /** Decisions per episode. */
  readonly steps: number;
  /** Length of one decision step in A-S time units. */
  readonly dt: number;
  /** Currency change of wealth per lot per unit move of the A-S price (shares per lot; USD per lot for log-prices). */
  readonly lotValue: number;
  /** Starts a random episode (draws from `rng`). */
  reset(rng: Rng): void;
  /** Starts evaluation episode `i` (0 ≤ i < episodes()) deterministically. */
  begin(i: number): void;
  /** Number of evaluation episodes. */
  episodes(): number;
  /** T − t in A-S time units. */
  timeToHorizon(): number;
  /** Current mid in A-S price units. */
  mid(): number;
  inventory(): number;
  /** Cash + inventory × mid, currency. */
  wealth(): number;
  /** Two extra state features of order one: realised-volatility ratio and book imbalance (0 where none). */
  features(): [number, number];
  /** Rests `bid`/`ask` (A-S price units; null = no quote) for one step, then advances; returns fills. */
  quote(bid: number | null, ask: number | null): MmFill[];
  done(): boolean;
}
