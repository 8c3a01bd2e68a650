import ms from 'ms';

/** Matches the duration strings pipelines.yaml accepts: `500ms`, `10s`, `30m`, `72h`, `7d`. */
export const DURATION_RE = /^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$/;

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

/** Formats milliseconds for humans: `850ms`, `12.3s`, `4m05s`, `1h02m`. */
export function formatDuration(msValue: number): string {
  if (msValue < 1000) return `${Math.round(msValue)}ms`;
  if (msValue < 60_000) return `${(msValue / 1000).toFixed(1)}s`;
  const s = Math.round(msValue / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
