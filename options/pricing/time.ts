/**
 * Year fractions for the NIFTY chains. Convention (stated once, used everywhere in options/):
 * valuation is at the 15:30 IST close of the trade date and expiry is at the 15:30 IST close of the
 * expiry date, so T = (calendar days between the two dates) / 365 — ACT/365 on whole days, with no
 * trading-hour adjustment. On the expiry date itself T = 0.
 */

const MS_PER_DAY = 86_400_000;

/** Days per year of the ACT/365 convention used for option time to expiry. */
export const DAYS_PER_YEAR = 365;

/** Calendar days from `from` to `to` (ISO `YYYY-MM-DD`, UTC midnight arithmetic; negative when `to` < `from`). Throws on malformed dates. */
export function calendarDays(from: string, to: string): number {
  const a = Date.parse(`${from}T00:00:00Z`);
  const b = Date.parse(`${to}T00:00:00Z`);
  if (Number.isNaN(a) || Number.isNaN(b)) throw new Error(`calendarDays: bad ISO date "${Number.isNaN(a) ? from : to}"`);
  return Math.round((b - a) / MS_PER_DAY);
}

/** Time to expiry in years, ACT/365 from the trade date's 15:30 IST close to the expiry's 15:30 IST close. */
export function yearFraction(date: string, expiry: string): number {
  return calendarDays(date, expiry) / DAYS_PER_YEAR;
}
