import type { LobSession } from '../../lob/types.ts';
import { EVENT } from '../../lob/types.ts';
import { intervalLength, roundTrades, type Schedule, twapSchedule } from './schedule.ts';

/**
 * VWAP: child orders proportional to an expected volume profile v_1..v_N (shares per interval, e.g.
 * from {@link volumeProfile} on data before the episode): x_k = X(1 − Σ_{j≤k} v_j / Σ v_j).
 * A profile with no volume falls back to TWAP (stated in the name). Throws when the profile length
 * differs from N or holds a negative value.
 */
export function vwapSchedule(shares: number, horizonSeconds: number, profile: number[]): Schedule {
  const N = profile.length;
  intervalLength(horizonSeconds, N);
  if (profile.some((v) => !(v >= 0))) throw new RangeError('volume profile values must be ≥ 0 shares');
  const tot = profile.reduce((a, v) => a + v, 0);
  if (tot === 0) return { ...twapSchedule(shares, horizonSeconds, N), name: 'VWAP (no volume: TWAP)' };
  let cum = 0;
  const x = [shares];
  for (const v of profile) {
    cum += v;
    x.push(shares * (1 - cum / tot));
  }
  x[N] = 0;
  return { name: 'VWAP', shares, horizonSeconds, trades: roundTrades(shares, x) };
}

/**
 * Expected traded volume per interval of an episode starting at `start` (seconds after midnight)
 * with N intervals of τ seconds, from the data *before* the episode only: the executions (types 4
 * and 5, shares) of the `lookbackWindows` preceding windows of length N·τ, bucketed by their
 * position in their window and averaged. With one sample day there is no intraday seasonal curve to
 * learn across days; this profile is the recent-volume pattern. Windows that would start before the
 * session are skipped; an all-zero profile makes {@link vwapSchedule} fall back to TWAP.
 */
export function volumeProfile(s: LobSession, start: number, horizonSeconds: number, intervals: number, lookbackWindows = 3): number[] {
  const tau = intervalLength(horizonSeconds, intervals);
  const prof = new Array<number>(intervals).fill(0);
  const m = s.messages;
  const first = m.time[0]!;
  let used = 0;
  for (let w = 1; w <= lookbackWindows; w++) {
    const w0 = start - w * horizonSeconds;
    if (w0 < first) break;
    used++;
    for (let i = 0; i < m.n; i++) {
      const t = m.time[i]!;
      if (t < w0) continue;
      if (t >= w0 + horizonSeconds) break;
      if (m.type[i] === EVENT.EXECUTE_VISIBLE || m.type[i] === EVENT.EXECUTE_HIDDEN) prof[Math.min(intervals - 1, Math.floor((t - w0) / tau))]! += m.size[i]!;
    }
  }
  return used ? prof.map((v) => v / used) : prof;
}
