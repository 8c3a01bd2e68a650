import ms from 'ms';

/** Matches the duration strings pipelines.yaml accepts: `500ms`, `10s`, `30m`, `72h`, `7d`. */
export const DURATION_RE = /^\s*\d{1,12}(\.\d{1,6})?\s*(ms|s|m|h|d)\s*$/;

const DAY_MS = 86_400_000;

/**
 * Upper bounds of durations, ms. Every timer the hosts arm must stay below setTimeout's limit
 * (2^31 − 1 ms ≈ 24.8 days: past it Node fires after 1 ms), so attempt timeouts, sleeps and retry
 * delays stop at 7 days; waits for people (approvals, operators) at 30 days; a schedule's catch-up
 * window at 366 days (a Temporal setting, never a local timer).
 */
export const DURATION_LIMITS = {
  timer: 7 * DAY_MS,
  human: 30 * DAY_MS,
  catchup: 366 * DAY_MS,
} as const;

/** Bounds of one duration field: `min` (inclusive unless `minExclusive`) and `max` (inclusive), ms. */
export interface DurationBounds {
  min?: number;
  minExclusive?: boolean;
  max: number;
}

/**
 * Parses a duration string (`10s`, `30m`, `72h`, `1.5h`, `500ms`) to milliseconds.
 * Throws an Error naming the accepted forms when the string is not one of them.
 */
export function parseDuration(text: string): number {
  if (!DURATION_RE.test(text)) throw new Error(`bad duration "${text}": use a number and a unit, e.g. 500ms, 10s, 30m, 72h, 7d`);
  const v = ms(text.replace(/\s+/g, '') as ms.StringValue);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`bad duration "${text}"`);
  return v;
}

/**
 * Why a duration string breaks its bounds (a sentence naming the bound and a fix), or undefined
 * when it is well-formed and within them. Malformed strings are reported by the format check.
 */
export function durationBoundProblem(text: string, b: DurationBounds): string | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  const v = parseDuration(text);
  const min = b.min ?? 0;
  if (b.minExclusive ? v <= min : v < min) return `must be ${b.minExclusive ? 'more than' : 'at least'} ${formatBound(min)}, got ${text.trim()}`;
  if (v > b.max) return `must be at most ${formatBound(b.max)}, got ${text.trim()}`;
  return undefined;
}

/** A bound in the largest whole unit (`7d`, `24h`, `0s`) for messages. */
export function formatBound(msValue: number): string {
  for (const [unit, size] of [['d', DAY_MS], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (msValue >= size && msValue % size === 0) return `${msValue / size}${unit}`;
  }
  return msValue === 0 ? '0s' : `${msValue}ms`;
}

/** Formats milliseconds for humans: `850ms`, `12.3s`, `4m05s`, `1h02m`. */
export function formatDuration(msValue: number): string {
  if (msValue < 1000) return `${Math.round(msValue)}ms`;
  if (msValue < 60_000) return `${(msValue / 1000).toFixed(1)}s`;
  const s = Math.round(msValue / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
