/**
 * File-name patterns for `trademl data init`: where the symbol sits in a set of file names
 * (`AAPL_data.csv` → `{symbol}_data.csv`, `NIFTY_50_2000_2022.csv` → `{symbol}_????_????.csv`).
 */

const SEPARATORS = new Set(['_', '-', '.', ' ']);

/** Digits masked as `?` so that year ranges and dates line up across names. */
function mask(name: string): string {
  return name.replace(/\d/g, '?');
}

/** Longest common suffix of strings. */
function commonSuffix(xs: string[]): string {
  if (!xs.length) return '';
  let s = xs[0]!;
  for (const x of xs.slice(1)) {
    let k = 0;
    while (k < s.length && k < x.length && s[s.length - 1 - k] === x[x.length - 1 - k]) k++;
    s = s.slice(s.length - k);
  }
  return s;
}

/**
 * The pattern whose `{symbol}` is the part of each name before a common (digit-masked) suffix
 * that starts at a separator; the suffix keeps `?` where names carry digits. Returns undefined
 * when no such suffix leaves a non-empty, distinct-enough symbol in every name.
 */
export function symbolPattern(names: string[]): { pattern: string; symbols: string[] } | undefined {
  if (!names.length) return undefined;
  let suffix = commonSuffix(names.map(mask));
  // The suffix must begin at a separator (`_data.csv`, `.csv`), not in the middle of a symbol.
  while (suffix.length && !SEPARATORS.has(suffix[0]!)) suffix = suffix.slice(1);
  if (!suffix) return undefined;
  const symbols = names.map((n) => n.slice(0, n.length - suffix.length));
  if (symbols.some((s) => !s)) return undefined;
  // Keep literal characters where every name agrees (e.g. `_data.csv`), `?` where names differ.
  const tails = names.map((n) => n.slice(n.length - suffix.length));
  const lit = [...suffix].map((ch, i) => (ch === '?' && tails.every((t) => t[i] === tails[0]![i]) ? tails[0]![i]! : ch)).join('');
  return { pattern: `{symbol}${lit}`, symbols };
}

/** The file-name stem as a symbol (`NIFTY_50.csv` → `NIFTY_50`). */
export function stemOf(name: string): string {
  return name.replace(/\.[A-Za-z0-9]+$/, '');
}
