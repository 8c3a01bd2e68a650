/**
 * Trading calendars by rule (no I/O). Dates are `YYYY-MM-DD` strings, UTC-based arithmetic.
 *
 * `nyse`: weekdays minus the NYSE full-day holidays by the exchange's published rules (NYSE Rule
 * 7.2 / holiday schedule): New Year's Day, Martin Luther King Jr. Day (3rd Mon Jan, from 1998),
 * Washington's Birthday (3rd Mon Feb), Good Friday, Memorial Day (last Mon May), Juneteenth (from
 * 2022), Independence Day, Labor Day (1st Mon Sep), Thanksgiving (4th Thu Nov), Christmas — a
 * Saturday holiday is observed the Friday before (except New Year's Day), a Sunday holiday the
 * Monday after — plus the unscheduled closures the exchange announced (listed below).
 * `weekdays`: Monday..Friday. `24x7`: every day. Declared `holidays` are removed from any of them;
 * declared special sessions (an exchange opening on a weekend or a holiday: budget-day Saturdays,
 * Diwali Muhurat trading) are added back. Exchanges whose holidays follow no rule (NSE: lunar
 * festivals) are weekdays plus a declared holiday list, which the caller supplies
 * (configs/data/calendars/<name>.yml, read by data/calendars.ts).
 */

/** Unscheduled NYSE full-day closures (national mourning days, weather), from NYSE announcements. */
export const NYSE_SPECIAL_CLOSURES: readonly string[] = [
  '2001-09-11', '2001-09-12', '2001-09-13', '2001-09-14', // September 11
  '2004-06-11', // President Reagan
  '2007-01-02', // President Ford
  '2012-10-29', '2012-10-30', // Hurricane Sandy
  '2018-12-05', // President G. H. W. Bush
  '2025-01-09', // President Carter
];

const DAY = 86_400_000;

/** `YYYY-MM-DD` of a UTC epoch-ms instant. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** UTC epoch ms of a `YYYY-MM-DD` date; throws on anything else. */
export function parseIsoDate(d: string): number {
  const ms = Date.parse(`${d}T00:00:00Z`);
  if (!Number.isFinite(ms)) throw new Error(`bad date "${d}" (expected YYYY-MM-DD)`);
  return ms;
}

/** Easter Sunday (Gregorian) of `year`: anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
export function easterSunday(year: number): string {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return isoDate(Date.UTC(year, month - 1, day));
}

/** The n-th (1-based) given weekday (0 = Sunday) of a month (1-based); n = -1 for the last. */
function nthWeekday(year: number, month: number, weekday: number, n: number): string {
  if (n > 0) {
    const first = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
    const day = 1 + ((weekday - first + 7) % 7) + (n - 1) * 7;
    return isoDate(Date.UTC(year, month - 1, day));
  }
  const lastDay = new Date(Date.UTC(year, month, 0));
  const back = (lastDay.getUTCDay() - weekday + 7) % 7;
  return isoDate(lastDay.getTime() - back * DAY);
}

/** Saturday → Friday before, Sunday → Monday after. */
function observed(year: number, month: number, day: number, saturdayToFriday = true): string | null {
  const ms = Date.UTC(year, month - 1, day);
  const wd = new Date(ms).getUTCDay();
  if (wd === 6) return saturdayToFriday ? isoDate(ms - DAY) : null;
  if (wd === 0) return isoDate(ms + DAY);
  return isoDate(ms);
}

/** NYSE full-day holidays of `year` (scheduled rules + special closures), sorted. */
export function nyseHolidays(year: number): string[] {
  const out = new Set<string>();
  const add = (d: string | null) => d && out.add(d);
  add(observed(year, 1, 1, false)); // a Saturday New Year's Day is not observed on Dec 31
  if (year >= 1998) add(nthWeekday(year, 1, 1, 3));
  add(nthWeekday(year, 2, 1, 3));
  add(isoDate(parseIsoDate(easterSunday(year)) - 2 * DAY));
  add(nthWeekday(year, 5, 1, -1));
  if (year >= 2022) add(observed(year, 6, 19));
  add(observed(year, 7, 4));
  add(nthWeekday(year, 9, 1, 1));
  add(nthWeekday(year, 11, 4, 4));
  add(observed(year, 12, 25));
  for (const d of NYSE_SPECIAL_CLOSURES) if (d.startsWith(String(year))) out.add(d);
  return [...out].sort();
}

export type CalendarRule = 'nyse' | 'weekdays' | '24x7';

/**
 * Session dates of a rule-based calendar between `from` and `to` inclusive (YYYY-MM-DD), minus
 * `extraHolidays`, plus `specialSessions` that fall in the range (a declared session wins over a
 * weekend or a holiday). Throws on a malformed date or from > to.
 */
export function calendarDates(
  rule: CalendarRule,
  from: string,
  to: string,
  extraHolidays: readonly string[] = [],
  specialSessions: readonly string[] = [],
): string[] {
  const a = parseIsoDate(from);
  const b = parseIsoDate(to);
  if (a > b) throw new Error(`calendar range ${from}..${to} is empty`);
  const closed = new Set(extraHolidays);
  if (rule === 'nyse') {
    for (let y = new Date(a).getUTCFullYear(); y <= new Date(b).getUTCFullYear(); y++) for (const h of nyseHolidays(y)) closed.add(h);
  }
  const special = new Set(specialSessions);
  const out: string[] = [];
  for (let t = a; t <= b; t += DAY) {
    const d = isoDate(t);
    if (special.has(d)) {
      out.push(d);
      continue;
    }
    const wd = new Date(t).getUTCDay();
    if (rule !== '24x7' && (wd === 0 || wd === 6)) continue;
    if (!closed.has(d)) out.push(d);
  }
  return out;
}
