import type { FileFailure } from '../source-files.ts';

/**
 * The universe an OHLCV ingest was expected to deliver, and what it lost. A symbol is expected
 * when the contract declares it (`symbols:`), a file name names it (`{symbol}`), or a row of the
 * raw files carries it (quarantined rows and rows of quarantined files included). An expected
 * symbol with no usable row in the table is lost: the audit counts its dates as missing instead
 * of silently shrinking the universe.
 */

/** A symbol the ingest lost entirely. */
export interface LostSymbol {
  symbol: string;
  /** Why it was expected. */
  expected_because: 'declared' | 'file_name' | 'raw_rows';
  /** Date span of its quarantined rows (null when none carried a date: the whole dataset range counts). */
  first_date: string | null;
  last_date: string | null;
  /** Failure codes of its files and rules of its quarantined rows. */
  reasons: string[];
  /** Files that named it (quarantined or empty). */
  files: string[];
  /** True when the loss comes from the ingest's own quarantine (a file or rows), false when no source had it at all. */
  quarantined: boolean;
}

/** Raw-row evidence of a symbol: the date span and rules of its quarantined rows. */
export interface SeenSymbol {
  symbol: string;
  first: string | null;
  last: string | null;
  rules: string[];
}

/**
 * Symbols expected but absent from the table, sorted by symbol.
 * `present` = symbols of the table; `failures` = files quarantined whole (with the symbol their
 * name carries); `fileSymbols` = symbols of the files that were read; `seen` = symbols of
 * quarantined rows (and rows of quarantined files).
 */
export function lostSymbols(input: { declared?: string[]; fileSymbols: (string | undefined)[]; failures: FileFailure[]; seen: SeenSymbol[]; present: Set<string> }): LostSymbol[] {
  const out = new Map<string, LostSymbol>();
  const get = (s: string, because: LostSymbol['expected_because']): LostSymbol | undefined => {
    if (input.present.has(s)) return undefined;
    let e = out.get(s);
    if (!e) {
      e = { symbol: s, expected_because: because, first_date: null, last_date: null, reasons: [], files: [], quarantined: false };
      out.set(s, e);
    }
    return e;
  };
  for (const s of input.declared ?? []) get(s, 'declared');
  for (const s of input.fileSymbols) if (s !== undefined) get(s, 'file_name');
  for (const f of input.failures) {
    if (f.symbol === undefined) continue;
    const e = get(f.symbol, 'file_name');
    if (!e) continue;
    e.reasons.push(f.code);
    e.files.push(f.rel);
    e.quarantined = e.quarantined || f.code !== 'missing_file';
  }
  for (const s of input.seen) {
    const e = get(s.symbol, 'raw_rows');
    if (!e) continue;
    e.first_date = s.first;
    e.last_date = s.last;
    e.reasons.push(...s.rules);
    e.quarantined = true;
  }
  return [...out.values()]
    .map((e) => ({ ...e, reasons: [...new Set(e.reasons)].sort(), files: [...new Set(e.files)].sort() }))
    .sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
}
