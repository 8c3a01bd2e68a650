import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { calendarDates } from '../../calendar/sessions.ts';
import { resolveCalendar, ruleSessions } from '../../data/calendars.ts';
import { loadContractFile } from '../../data/contract.ts';
import { dataRoot, hasSharedData, PROJECT_ROOT } from '../../lib/paths.ts';
import { tempDir } from './helpers.ts';
import { writeFileSync } from 'node:fs';

const MON: Record<string, string> = { JAN: '01', FEB: '02', MAR: '03', APR: '04', MAY: '05', JUN: '06', JUL: '07', AUG: '08', SEP: '09', OCT: '10', NOV: '11', DEC: '12' };

/** Dates of a shipped India index file (ISO, or NSE's DD-MON-YYYY). */
function datesOf(file: string): string[] {
  return readFileSync(path.join(dataRoot(), 'india_indices', file), 'utf8').trim().split('\n').slice(1).map((l) => {
    const d = l.split(',')[0]!.trim();
    const m = /^(\d{2})-([A-Za-z]{3})-(\d{4})$/.exec(d);
    return m ? `${m[3]}-${MON[m[2]!.toUpperCase()]}-${m[1]}` : d;
  }).sort();
}

describe('calendars', () => {
  it('special sessions are added to any rule; declared holidays removed', () => {
    expect(calendarDates('weekdays', '2025-01-31', '2025-02-03', [], ['2025-02-01'])).toEqual(['2025-01-31', '2025-02-01', '2025-02-03']);
    expect(calendarDates('nyse', '2015-07-02', '2015-07-06', ['2015-07-06'])).toEqual(['2015-07-02']);
  });

  it('nse: weekdays minus the listed holidays plus its special sessions (Muhurat on Diwali, budget Saturdays)', () => {
    const nse = resolveCalendar(PROJECT_ROOT, 'nse');
    expect(nse.source).toBe('configs/data/calendars/nse.yml');
    const s = ruleSessions(nse, '2020-10-26', '2020-11-20');
    expect(s).toContain('2020-11-14'); // Saturday Muhurat trading
    expect(s).not.toContain('2020-11-16'); // Diwali Balipratipada
    expect(ruleSessions(nse, '2025-02-01', '2025-02-01')).toEqual(['2025-02-01']);
    const extra = resolveCalendar(PROJECT_ROOT, { kind: 'nse', holidays: ['2025-02-03'], special_sessions: [{ date: '2025-02-02', name: 'test' }], min_fraction: 0.5 });
    expect(ruleSessions(extra, '2025-02-01', '2025-02-04')).toEqual(['2025-02-01', '2025-02-02', '2025-02-04']);
  });

  it.skipIf(!hasSharedData())('nse equals the sessions of NSE’s own files: NIFTY 50 2000-01-03..2022-08-26 and India VIX 2012..2026', () => {
    const nse = resolveCalendar(PROJECT_ROOT, 'nse');
    const nifty = datesOf('NIFTY_50_2000_2022.csv');
    expect(ruleSessions(nse, nifty[0]!, nifty.at(-1)!)).toEqual(nifty);
    const vix = datesOf('india_vix_nse_2012_2026.csv');
    expect(ruleSessions(nse, vix[0]!, vix.at(-1)!)).toEqual(vix);
  });

  it('an unknown calendar lists the allowed values, at file:line:col', () => {
    const f = path.join(tempDir(), 'x.yml');
    writeFileSync(f, 'name: x\nkind: ohlcv\nsource: { files: "a/{symbol}.csv" }\ncolumns: { date: d, open: o, high: h, low: l, close: c }\ncalendar: nsee\n');
    expect(() => loadContractFile(f)).toThrow(/x\.yml:5:1 calendar: Invalid option: expected one of "nyse"\|"nse"\|"weekdays"\|"inferred"\|"24x7"/);
    writeFileSync(f, 'name: x\nkind: ohlcv\nsource: { files: "a/{symbol}.csv" }\ncolumns: { date: d, open: o, high: h, low: l, close: c }\ncalendar: { kind: nse, holyday: [] }\n');
    expect(() => loadContractFile(f)).toThrow(/calendar: unknown field "holyday" \(did you mean "holidays"\?\); allowed fields: kind, holidays, special_sessions, min_fraction/);
  });
});
