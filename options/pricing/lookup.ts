/**
 * Random access into a solved chain history (pricing/history.ts): contract, slice and spot by
 * date. Used by the targets, the backtest and the strategies; the history is not copied.
 */
import type { OptionType } from '../data/chain.ts';
import type { ContractIv, DateChainIv, ExpirySlice } from './chain-iv.ts';

/** Index over solved dates (ascending). */
export class ChainIndex {
  readonly dates: string[];
  private readonly byDate = new Map<string, DateChainIv>();
  private readonly contracts = new Map<string, ContractIv>();
  private readonly pos = new Map<string, number>();

  /** Builds the index; throws when the dates are not strictly ascending. */
  constructor(history: readonly DateChainIv[]) {
    this.dates = history.map((h) => h.date);
    for (let i = 0; i < history.length; i++) {
      const h = history[i]!;
      if (i > 0 && !(h.date > history[i - 1]!.date)) throw new Error(`ChainIndex: dates must be strictly ascending (${history[i - 1]!.date} then ${h.date})`);
      this.byDate.set(h.date, h);
      this.pos.set(h.date, i);
      for (const s of h.slices) for (const c of s.contracts) this.contracts.set(key(h.date, c.expiry, c.type, c.strike), c);
    }
  }

  /** Position of `date` in `dates`, −1 when absent. */
  indexOf(date: string): number {
    return this.pos.get(date) ?? -1;
  }

  /** The solved chain of `date` (undefined when the date is not in the history). */
  chain(date: string): DateChainIv | undefined {
    return this.byDate.get(date);
  }

  /** One expiry slice of `date`. */
  slice(date: string, expiry: string): ExpirySlice | undefined {
    return this.byDate.get(date)?.slices.find((s) => s.expiry === expiry);
  }

  /** One contract of `date` (IV, greeks, price). */
  contract(date: string, expiry: string, type: OptionType, strike: number): ContractIv | undefined {
    return this.contracts.get(key(date, expiry, type, strike));
  }

  /** NIFTY spot of a date (NaN when the date is unknown or has no spot). */
  spot(date: string): number {
    return this.byDate.get(date)?.spot ?? NaN;
  }
}

function key(date: string, expiry: string, type: OptionType, strike: number): string {
  return `${date}|${expiry}|${type}|${strike}`;
}
