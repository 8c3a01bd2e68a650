import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../lib/errors.ts';
import { calendarDates, type CalendarRule } from '../calendar/sessions.ts';
import { CALENDAR_KINDS, specialSessionSchema, type CalendarSpec } from './contract-schema.ts';
import { parseWithSchema, readYamlFile } from './yaml-issues.ts';

/**
 * Trading calendars of datasets: a contract's `calendar:` resolved to session dates.
 * `nyse`: NYSE rules (calendar/sessions.ts); `weekdays`; `24x7`; `nse`: weekdays minus the NSE
 * holiday list declared in configs/data/calendars/nse.yml (with its sources) plus its special
 * sessions; `inferred`: the dates on which at least `min_fraction` of the live symbols traded.
 * A contract may add holidays and special sessions (weekend sessions such as budget days or
 * Muhurat trading) to any of them.
 */

/** Calendars whose holidays are a declared list in configs/data/calendars/<name>.yml. */
export const LISTED_CALENDARS = ['nse'] as const;

const listedCalendarSchema = z.strictObject({
  name: z.string(),
  timezone: z.string(),
  /** Years the list is complete for; sessions outside are weekdays only (reported as a warning). */
  covers: z.strictObject({ from: z.string(), to: z.string() }),
  /** Holidays by year: `"2025": [02-26, 03-14]` (month-day). */
  holidays: z.record(z.string().regex(/^\d{4}$/), z.array(z.string().regex(/^\d{2}-\d{2}$/))),
  special_sessions: z.array(specialSessionSchema).default([]),
});

/** A calendar spec resolved to its rule and declared dates. */
export interface ResolvedCalendar {
  kind: (typeof CALENDAR_KINDS)[number];
  holidays: string[];
  specialSessions: { date: string; name: string }[];
  minFraction: number;
  /** Range the declared lists are complete for (listed calendars only). */
  covers?: { from: string; to: string };
  /** Where the lists came from (listed calendars: the config file). */
  source?: string;
}

const dateOf = (s: string | { date: string; name: string }) => (typeof s === 'string' ? { date: s, name: '' } : s);

/** Reads configs/data/calendars/<name>.yml; throws UserError (file:line:col) when missing or invalid. */
export function loadListedCalendar(projectRoot: string, name: string): { holidays: string[]; special: { date: string; name: string }[]; covers: { from: string; to: string }; file: string } {
  const file = path.join(projectRoot, 'configs', 'data', 'calendars', `${name}.yml`);
  if (!existsSync(file)) throw new UserError(`calendar ${name}: its holiday list ${file} is missing (restore it from the repository)`);
  const { value, doc, text } = readYamlFile(file);
  const c = parseWithSchema(listedCalendarSchema, value, file, doc, text);
  const holidays = Object.entries(c.holidays).flatMap(([y, days]) => days.map((d) => `${y}-${d}`));
  for (const h of holidays) if (!Number.isFinite(Date.parse(`${h}T00:00:00Z`))) throw new UserError(`${file}: holiday ${h} is not a real date`);
  return { holidays: holidays.sort(), special: c.special_sessions.map(dateOf), covers: c.covers, file };
}

/** Resolves a contract calendar spec (name or object) with the listed holidays of `nse`. */
export function resolveCalendar(projectRoot: string, spec: CalendarSpec): ResolvedCalendar {
  const o = typeof spec === 'string' ? { kind: spec, holidays: [], special_sessions: [], min_fraction: 0.5 } : spec;
  const out: ResolvedCalendar = { kind: o.kind, holidays: [...o.holidays], specialSessions: o.special_sessions.map(dateOf), minFraction: o.min_fraction };
  if ((LISTED_CALENDARS as readonly string[]).includes(o.kind)) {
    const l = loadListedCalendar(projectRoot, o.kind);
    out.holidays.push(...l.holidays);
    out.specialSessions.push(...l.special);
    out.covers = l.covers;
    out.source = path.relative(projectRoot, l.file);
  }
  out.holidays = [...new Set(out.holidays)].sort();
  out.specialSessions = [...new Map(out.specialSessions.map((s) => [s.date, s])).values()].sort((a, b) => (a.date < b.date ? -1 : 1));
  return out;
}

/**
 * Session dates (YYYY-MM-DD) of a rule-based resolved calendar over [from, to]: its rule minus the
 * holidays plus the special sessions. Throws for `inferred` (those come from the data).
 */
export function ruleSessions(cal: ResolvedCalendar, from: string, to: string): string[] {
  if (cal.kind === 'inferred') throw new Error('inferred calendars have no rule sessions');
  const rule: CalendarRule = cal.kind === 'nyse' ? 'nyse' : cal.kind === '24x7' ? '24x7' : 'weekdays';
  return calendarDates(rule, from, to, cal.holidays, cal.specialSessions.map((s) => s.date));
}

/** Warnings about a resolved calendar for data over [from, to] (a listed calendar used outside its years). */
export function calendarWarnings(cal: ResolvedCalendar, from: string, to: string): string[] {
  if (!cal.covers) return [];
  const out: string[] = [];
  if (from < cal.covers.from || to > cal.covers.to) {
    out.push(`calendar ${cal.kind}: the holiday list (${cal.source}) covers ${cal.covers.from}..${cal.covers.to} but the data spans ${from}..${to}; outside it every weekday counts as a session — extend the list`);
  }
  return out;
}
