import { distance } from 'fastest-levenshtein';

/**
 * Header-name matching for delimited source files: names are compared trimmed, unquoted, with
 * inner whitespace collapsed and case-folded (`" Adj  Close "` matches `adj close`); a missing
 * column is reported with the closest header the file does have.
 */

/** Header names are compared trimmed, unquoted, with inner whitespace runs collapsed to one space. */
export function normalizeHeaderName(h: string): string {
  return h.trim().replace(/^"(.*)"$/, '$1').trim().replace(/\s+/g, ' ');
}

/** The comparison form of a header name: normalised, Unicode NFKC, lower case. */
export function foldHeader(h: string): string {
  return normalizeHeaderName(h).normalize('NFKC').toLowerCase();
}

/**
 * The header name closest to `name` (case-folded edit distance, or containment), or undefined when
 * nothing is reasonably close (distance above max(2, 40% of the name's length)).
 */
export function closestHeader(header: readonly string[], name: string): string | undefined {
  const want = foldHeader(name);
  let best: { h: string; d: number } | undefined;
  for (const h of header) {
    const f = foldHeader(h);
    const d = f.includes(want) || want.includes(f) ? Math.abs(f.length - want.length) * 0.5 : distance(f, want);
    if (!best || d < best.d) best = { h, d };
  }
  return best && best.d <= Math.max(2, 0.4 * want.length) ? best.h : undefined;
}

/** Index of the first of `alternatives` present in `header` (folded comparison), or -1. */
export function findColumn(header: readonly string[], alternatives: readonly string[]): number {
  const folded = header.map(foldHeader);
  for (const a of alternatives) {
    const i = folded.indexOf(foldHeader(a));
    if (i >= 0) return i;
  }
  return -1;
}

/**
 * A short, escaped excerpt of untrusted text for an error message: at most `max` characters,
 * JSON-quoted, control, bidi and zero-width characters written as \uXXXX escapes.
 */
export function excerpt(text: string, max = 60): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  const esc = JSON.stringify(cut).replace(/[\u007f-\u009f\u00ad\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return text.length > max ? `${esc}…` : esc;
}

/** Header names as an escaped list for messages (each name ≤ 40 characters, at most 16 names). */
export function headerExcerpt(header: readonly string[]): string {
  const shown = header.slice(0, 16).map((h) => excerpt(h, 40));
  return `[${shown.join(', ')}${header.length > 16 ? `, … (+${header.length - 16})` : ''}]`;
}
