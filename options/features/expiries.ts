/**
 * Which expiries the per-date features read. "Front" = the nearest live expiry with at least
 * `minDays` calendar days to go (default 5: the last days before expiry carry pin and gamma noise
 * that is not the month's volatility), "second" = the next one after it. Point in time: only the
 * date's own chain is used.
 */
import type { DateChainIv, ExpirySlice } from '../pricing/chain-iv.ts';
import { calendarDays } from '../pricing/time.ts';

/** Front and second expiry slices of a date (null when absent). */
export function frontAndSecond(chain: DateChainIv, minDays = 5): { front: ExpirySlice | null; second: ExpirySlice | null } {
  const live = chain.slices.filter((s) => calendarDays(chain.date, s.expiry) >= minDays && Number.isFinite(s.forward)).sort((a, b) => a.t - b.t);
  return { front: live[0] ?? null, second: live[1] ?? null };
}
