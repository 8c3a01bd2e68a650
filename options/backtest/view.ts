/**
 * The point-in-time view a signal sees: the solved chains, NIFTY spot and optional per-date feature
 * rows, readable only up to the decision date `asOf`. Any read of a later date throws
 * {@link LookAheadError} — the backtest engine hands a signal nothing else, so a signal that tries to
 * use its own fill price (the next session's settle) is caught.
 */
import type { OptionType } from '../data/chain.ts';
import type { OptionsFeatureRow } from '../features/compute.ts';
import type { ContractIv, DateChainIv, ExpirySlice } from '../pricing/chain-iv.ts';
import type { ChainIndex } from '../pricing/lookup.ts';
import type { DailyClose } from '../data/index-series.ts';

/** Thrown when a signal reads data dated after its decision date. */
export class LookAheadError extends Error {
  constructor(readonly asOf: string, readonly requested: string, what: string) {
    super(`look-ahead: a signal deciding at the close of ${asOf} read ${what} dated ${requested}`);
    this.name = 'LookAheadError';
  }
}

/** Read-only, date-guarded access for signals. */
export class PointInTimeView {
  private readonly pos: number;

  constructor(
    private readonly index: ChainIndex,
    readonly asOf: string,
    private readonly features: ReadonlyMap<string, OptionsFeatureRow> = new Map(),
    private readonly nifty: readonly DailyClose[] = [],
    private readonly extra: ReadonlyMap<string, Record<string, number>> = new Map(),
  ) {
    this.pos = index.indexOf(asOf);
    if (this.pos < 0) throw new Error(`PointInTimeView: ${asOf} is not a date of the chain history`);
  }

  private guard(date: string, what: string): void {
    if (date > this.asOf) throw new LookAheadError(this.asOf, date, what);
  }

  /** Dates ≤ asOf, ascending. */
  dates(): string[] {
    return this.index.dates.slice(0, this.pos + 1);
  }

  /** The last `n` dates ≤ asOf (fewer at the start). */
  lastDates(n: number): string[] {
    return this.index.dates.slice(Math.max(0, this.pos + 1 - n), this.pos + 1);
  }

  /** The solved chain of `date` (default asOf); throws LookAheadError after asOf. */
  chain(date: string = this.asOf): DateChainIv | undefined {
    this.guard(date, 'the chain');
    return this.index.chain(date);
  }

  /** One expiry slice of `date` (default asOf); throws LookAheadError after asOf. */
  slice(expiry: string, date: string = this.asOf): ExpirySlice | undefined {
    this.guard(date, `slice ${expiry}`);
    return this.index.slice(date, expiry);
  }

  /** One contract of `date` (default asOf); throws LookAheadError after asOf. */
  contract(expiry: string, type: OptionType, strike: number, date: string = this.asOf): ContractIv | undefined {
    this.guard(date, `contract ${expiry} ${type} ${strike}`);
    return this.index.contract(date, expiry, type, strike);
  }

  /** NIFTY spot of `date` (default asOf), index points; throws LookAheadError after asOf. */
  spot(date: string = this.asOf): number {
    this.guard(date, 'the NIFTY spot');
    return this.index.spot(date);
  }

  /** Options feature row of `date` (default asOf); throws LookAheadError after asOf. */
  feature(date: string = this.asOf): OptionsFeatureRow | undefined {
    this.guard(date, 'the options features');
    return this.features.get(date);
  }

  /** The last `n` NIFTY 50 closes dated ≤ asOf (the long index history, for indicators such as Bollinger bands). */
  closes(n: number): DailyClose[] {
    let lo = 0;
    let hi = this.nifty.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.nifty[mid]!.date <= this.asOf) lo = mid + 1;
      else hi = mid;
    }
    return this.nifty.slice(Math.max(0, lo - n), lo);
  }

  /** Extra per-date inputs (e.g. market breadth) of `date`, guarded like everything else. */
  extraInputs(date: string = this.asOf): Record<string, number> | undefined {
    this.guard(date, 'extra inputs');
    return this.extra.get(date);
  }
}
