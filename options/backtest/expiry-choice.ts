/**
 * Expiry choice for a trade decided at `view.asOf`: the nearest live expiry with at least
 * `minDays` calendar days to go and a parity forward (decision-date information only).
 */
import type { ExpirySlice } from '../pricing/chain-iv.ts';
import { calendarDays } from '../pricing/time.ts';
import type { PointInTimeView } from './view.ts';

/** The nearest expiry slice with ≥ `minDays` days, or undefined. */
export function frontExpiryFor(view: PointInTimeView, minDays: number): ExpirySlice | undefined {
  const chain = view.chain();
  return chain?.slices.filter((s) => Number.isFinite(s.forward) && calendarDays(view.asOf, s.expiry) >= minDays).sort((a, b) => a.t - b.t)[0];
}
