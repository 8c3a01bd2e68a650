import { calendarDates } from '../../calendar/sessions.ts';
import { loadListedCalendar } from '../calendars.ts';

/**
 * The calendar a set of trading dates most likely follows, for `trademl data init`: `24x7` when
 * weekends trade, else the exchange calendar (`nyse`, `nse`) or `weekdays` whose sessions over
 * the data's range agree best with the dates (Jaccard ≥ 0.97), else `inferred`.
 */
export function guessCalendar(projectRoot: string, dates: string[]): { calendar: 'nyse' | 'nse' | 'weekdays' | '24x7' | 'inferred'; agreement: number; note: string } {
  const set = new Set(dates);
  if (set.size < 20) return { calendar: 'inferred', agreement: 0, note: `only ${set.size} distinct dates in the sample: calendar inferred from the data` };
  const sorted = [...set].sort();
  const lo = sorted[0]!;
  const hi = sorted[sorted.length - 1]!;
  const weekend = sorted.filter((d) => [0, 6].includes(new Date(`${d}T00:00:00Z`).getUTCDay())).length;
  if (weekend / sorted.length > 0.2) return { calendar: '24x7', agreement: 1, note: `${weekend} of ${sorted.length} dates are weekends: 24x7 market` };
  const nse = loadListedCalendar(projectRoot, 'nse');
  const cands = {
    nyse: calendarDates('nyse', lo, hi),
    nse: calendarDates('weekdays', lo, hi, nse.holidays, nse.special.map((s) => s.date)),
    weekdays: calendarDates('weekdays', lo, hi),
  };
  let best: { calendar: keyof typeof cands; agreement: number } = { calendar: 'weekdays', agreement: -1 };
  for (const [name, sessions] of Object.entries(cands) as [keyof typeof cands, string[]][]) {
    const inter = sessions.filter((d) => set.has(d)).length;
    const agreement = inter / (sessions.length + set.size - inter);
    if (agreement > best.agreement + 1e-9) best = { calendar: name, agreement };
  }
  if (best.agreement < 0.97) return { calendar: 'inferred', agreement: best.agreement, note: `no declared calendar fits the dates (best ${best.calendar} ${(100 * best.agreement).toFixed(1)}%): inferred from the data` };
  return { calendar: best.calendar, agreement: best.agreement, note: `dates agree ${(100 * best.agreement).toFixed(2)}% with the ${best.calendar} calendar over ${lo}..${hi}` };
}
