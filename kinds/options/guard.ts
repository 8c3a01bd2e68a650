/**
 * The RED-data guard of the options kinds, restricted to the dates a step actually uses: the India
 * indices audit reaches back to 2000 (NIFTY BANK has only closes before 2005, a 2013 VIX print sits
 * outside its range), so a whole-dataset RED would refuse a sleeve that reads 2015–2025 only. A
 * verdict refuses the step when one of its RED dates lies in [from, to]; RED dates outside the
 * window are logged, not fatal. Same message and error class as data/guard.ts `assertNotRed`.
 */
import type { QualityInput } from '../../data/guard.ts';
import { DataQualityError } from '../../lib/errors.ts';

/**
 * Throws DataQualityError when any verdict in `verdicts` has a RED date within [from, to] (ISO
 * dates, inclusive). Returns the number of RED dates outside the window (for the log).
 */
export function assertNotRedWithin(verdicts: readonly QualityInput[], from: string, to: string): number {
  let outside = 0;
  for (const { step, value: a } of verdicts) {
    if (a.status !== 'RED') continue;
    const inside = a.red_dates.filter((d) => d >= from && d <= to);
    outside += a.red_dates.length - inside.length;
    if (inside.length === 0) continue;
    const shown = inside.slice(0, 10).join(', ') + (inside.length > 10 ? ` … (+${inside.length - 10} more)` : '');
    throw new DataQualityError(
      `refusing to use RED data: audit "${step}" of dataset ${a.dataset} is RED on ${inside.length} date(s) inside ${from}..${to}: ${shown}` +
        ` [${a.red_reasons.map((r) => `${r.rule}: ${r.count}`).join('; ')}] — fix or backfill the data, then retry this run` +
        (a.red_hints.length ? `\n  ${a.red_hints.join('\n  ')}` : ''),
      { audit_step: step, red_dates: inside, window: { from, to } },
    );
  }
  return outside;
}
