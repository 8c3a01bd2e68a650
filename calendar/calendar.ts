/**
 * Trading calendars: the time axis every panel, CV split, metric and backtest uses.
 *
 * A {@link TradingCalendar} names a market's session grid at one bar frequency and says how many
 * bars make a year, so that daily US equities (252 sessions), 24×7 crypto (365 days, 8,760 hours)
 * and intraday bars annualise correctly. Bars are addressed by index (0, 1, 2, …) on the sorted
 * bar timestamps of a panel ({@link BarIndex}); embargoes and horizons are counted in bars.
 *
 * This is the only module that knows how many sessions an exchange trades per year: no other file
 * may hard-code an annualisation constant. Pure (no Node imports): usable in workflow code.
 */

/** Bar frequencies a calendar can be declared at. */
export type BarFrequency = '1d' | '1h' | '1m';

/** How the sessions of a calendar are decided (see calendar/sessions.ts for the rules). */
export type SessionRule = 'nyse' | 'weekdays' | '24x7' | 'inferred' | 'nse';

/** The serialisable description of a calendar, carried in artifact contracts (`calendar` field). */
export interface CalendarDescriptor {
  /** Stable name, e.g. `nyse`, `24x7`, `24x7@1h`, `nyse@1m`. */
  name: string;
  rule: SessionRule;
  frequency: BarFrequency;
  /** Bars per year used to annualise (mean × barsPerYear, std × √barsPerYear). */
  bars_per_year: number;
}

/** Trading sessions per year on exchange calendars, by convention (AFML ch. 14 and common practice). */
const EXCHANGE_SESSIONS_PER_YEAR = 252;
/** Calendar days per year for markets that trade every day. */
const CALENDAR_DAYS_PER_YEAR = 365;
/** Regular-session minutes per trading day on NYSE/NASDAQ (09:30–16:00 ET). */
const NYSE_MINUTES_PER_SESSION = 390;
/** Regular-session hours per trading day on NYSE/NASDAQ, rounded up to whole hourly bars (09:30–16:00 → 7 bars). */
const NYSE_HOURS_PER_SESSION = 7;

const DESCRIPTORS: Record<string, CalendarDescriptor> = {
  nyse: { name: 'nyse', rule: 'nyse', frequency: '1d', bars_per_year: EXCHANGE_SESSIONS_PER_YEAR },
  nse: { name: 'nse', rule: 'nse', frequency: '1d', bars_per_year: EXCHANGE_SESSIONS_PER_YEAR },
  weekdays: { name: 'weekdays', rule: 'weekdays', frequency: '1d', bars_per_year: EXCHANGE_SESSIONS_PER_YEAR },
  inferred: { name: 'inferred', rule: 'inferred', frequency: '1d', bars_per_year: EXCHANGE_SESSIONS_PER_YEAR },
  '24x7': { name: '24x7', rule: '24x7', frequency: '1d', bars_per_year: CALENDAR_DAYS_PER_YEAR },
  '24x7@1h': { name: '24x7@1h', rule: '24x7', frequency: '1h', bars_per_year: CALENDAR_DAYS_PER_YEAR * 24 },
  '24x7@1m': { name: '24x7@1m', rule: '24x7', frequency: '1m', bars_per_year: CALENDAR_DAYS_PER_YEAR * 24 * 60 },
  'nyse@1h': { name: 'nyse@1h', rule: 'nyse', frequency: '1h', bars_per_year: EXCHANGE_SESSIONS_PER_YEAR * NYSE_HOURS_PER_SESSION },
  'nyse@1m': { name: 'nyse@1m', rule: 'nyse', frequency: '1m', bars_per_year: EXCHANGE_SESSIONS_PER_YEAR * NYSE_MINUTES_PER_SESSION },
};

/** Names {@link calendarFor} accepts. */
export const CALENDAR_NAMES: readonly string[] = Object.keys(DESCRIPTORS);

/** A market's session grid at one bar frequency. */
export class TradingCalendar {
  readonly name: string;
  readonly rule: SessionRule;
  readonly frequency: BarFrequency;
  /** Bars per year (252 for daily exchange sessions, 365 for daily 24×7, 8,760 for hourly 24×7). */
  readonly barsPerYear: number;

  constructor(d: CalendarDescriptor) {
    if (!(d.bars_per_year > 0)) throw new RangeError(`calendar ${d.name}: bars_per_year must be > 0, got ${d.bars_per_year}`);
    this.name = d.name;
    this.rule = d.rule;
    this.frequency = d.frequency;
    this.barsPerYear = d.bars_per_year;
  }

  /** The JSON form carried by artifact contracts. */
  descriptor(): CalendarDescriptor {
    return { name: this.name, rule: this.rule, frequency: this.frequency, bars_per_year: this.barsPerYear };
  }

  /** Annualised mean from a per-bar mean (arithmetic: mean × bars per year). */
  annualizeMean(perBar: number): number {
    return perBar * this.barsPerYear;
  }

  /** Annualised volatility from a per-bar standard deviation (σ × √bars per year, i.i.d. scaling). */
  annualizeVol(perBar: number): number {
    return perBar * Math.sqrt(this.barsPerYear);
  }

  /** Annualised Sharpe ratio from per-bar mean and standard deviation (zero risk-free rate); 0 when std is 0. */
  sharpe(mean: number, std: number): number {
    return std > 0 ? (mean / std) * Math.sqrt(this.barsPerYear) : 0;
  }

  /** √(bars per year): the factor that annualises a per-bar Sharpe ratio. */
  get sqrtBarsPerYear(): number {
    return Math.sqrt(this.barsPerYear);
  }

  /** Per-bar rate of an annual rate charged pro rata (e.g. borrow fees: annual_bps / bars per year). */
  perBar(annualRate: number): number {
    return annualRate / this.barsPerYear;
  }

  /** Length of a span of `bars` bars in years. */
  years(bars: number): number {
    return bars / this.barsPerYear;
  }

  /** Number of bars in `days` calendar days (rounded): converts a calendar-day interval to bars. */
  barsInCalendarDays(days: number): number {
    const perCalendarDay = this.barsPerYear / CALENDAR_DAYS_PER_YEAR;
    return Math.round(days * perCalendarDay);
  }
}

const cache = new Map<string, TradingCalendar>();

/**
 * The calendar named `name` (see {@link CALENDAR_NAMES}; `<rule>@<freq>` for intraday). Throws a
 * RangeError listing the known names for anything else.
 */
export function calendarFor(name: string): TradingCalendar {
  let c = cache.get(name);
  if (!c) {
    const d = DESCRIPTORS[name];
    if (!d) throw new RangeError(`unknown calendar "${name}"; known calendars: ${CALENDAR_NAMES.join(', ')}`);
    c = new TradingCalendar(d);
    cache.set(name, c);
  }
  return c;
}

/** A calendar from its descriptor (as carried in an artifact), validated against the known ones when named. */
export function calendarFromDescriptor(d: CalendarDescriptor): TradingCalendar {
  const known = DESCRIPTORS[d.name];
  if (known && known.bars_per_year === d.bars_per_year) return calendarFor(d.name);
  return new TradingCalendar(d);
}

/** The US equities daily calendar (NYSE sessions, 252 bars a year). */
export const NYSE_DAILY: TradingCalendar = calendarFor('nyse');

/**
 * Bar index of a panel: the sorted unique bar timestamps (any integer unit: days since the epoch,
 * epoch seconds, epoch ms) and the index of each. Bars absent from the panel do not exist for it:
 * index i+1 is the next bar the data has, so embargoes and horizons in bars count real sessions.
 */
export class BarIndex {
  private readonly pos = new Map<number, number>();

  /** @param times sorted, strictly increasing bar timestamps; throws RangeError otherwise. */
  constructor(readonly times: ArrayLike<number>) {
    for (let i = 0; i < times.length; i++) {
      if (i > 0 && !(times[i]! > times[i - 1]!)) throw new RangeError(`bar timestamps must be strictly increasing (index ${i}: ${times[i - 1]} then ${times[i]})`);
      this.pos.set(times[i]!, i);
    }
  }

  get length(): number {
    return this.times.length;
  }

  /** Index of the bar at `t`; -1 when the panel has no such bar. */
  indexOf(t: number): number {
    return this.pos.get(t) ?? -1;
  }

  /** Timestamp of bar `i`; throws RangeError outside [0, length). */
  timeAt(i: number): number {
    if (!(i >= 0 && i < this.times.length)) throw new RangeError(`bar index ${i} outside [0, ${this.times.length})`);
    return this.times[i]!;
  }

  /** Index of the first bar at or after `t` (length when none): binary search. */
  ceil(t: number): number {
    let lo = 0, hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
