import { columnAlternatives, globsOf } from '../contract-checks.ts';
import type { OhlcvColumnName, OhlcvContract } from '../contract-schema.ts';
import { closestHeader, findColumn, foldHeader, headerExcerpt } from '../headers.ts';
import { scanSourceFile, type ScannedFile } from '../scan.ts';
import { resolveSources, type FileFailure } from '../source-files.ts';
import { checkAbort } from './common.ts';

/** Canonical OHLCV source columns, in raw-table order. */
export const OHLCV_FIELDS = ['date', 'symbol', 'open', 'high', 'low', 'close', 'volume', 'adj_close'] as const satisfies readonly OhlcvColumnName[];

/** A source file that passed its structural contract, with where each canonical column is in it. */
export interface PreparedFile extends ScannedFile {
  /** Index of the file among all prepared files (the `file_no` of its rows). */
  no: number;
  /** Column index of each canonical field in this file's header, -1 when absent (optional or unmapped). */
  map: Record<(typeof OHLCV_FIELDS)[number], number>;
  /** Symbol / date the file name says it holds. */
  symbol?: string;
  date?: string;
  /** Files with equal `group` share one column layout and are loaded together. */
  group: string;
}

/** Prepared files, the files that failed (quarantined whole), and how many files the sources named. */
export interface PreparedSources {
  files: PreparedFile[];
  failures: FileFailure[];
  total: number;
}

/**
 * Maps the canonical columns onto one file's header (names trimmed and case-folded; each
 * `columns` entry may list alternatives). Returns the column indices, or a failure naming the
 * missing column and the closest header the file has. A mapped column that appears twice fails
 * the file (a header that repeats its columns).
 */
export function mapColumns(c: OhlcvContract, header: string[], rel: string): { map: PreparedFile['map'] } | { code: 'missing_column' | 'wrong_header'; reason: string } {
  const map = {} as PreparedFile['map'];
  const folded = header.map(foldHeader);
  for (const k of OHLCV_FIELDS) {
    const alts = columnAlternatives(c.columns[k]);
    if (!alts.length) {
      map[k] = -1;
      continue;
    }
    const i = findColumn(header, alts);
    if (i >= 0 && folded.indexOf(folded[i]!) !== folded.lastIndexOf(folded[i]!)) {
      return { code: 'wrong_header', reason: `source file ${rel} line 1: column "${header[i]}" (columns.${k}) appears more than once in the header ${headerExcerpt(header)}; remove the repeated columns` };
    }
    if (i < 0 && !(c.source.optional_columns as readonly string[]).includes(k)) {
      const near = closestHeader(header, alts[0]!);
      return {
        code: 'missing_column',
        reason: `source file ${rel} line 1: no column "${alts.join('" or "')}" (columns.${k}) in the header ${headerExcerpt(header)}` +
          (near ? `; closest header: "${near}" — map columns.${k} to it or rename the column` : ` — add the column, map columns.${k} to another one, or list ${k} in source.optional_columns`),
      };
    }
    map[k] = i;
  }
  return { map };
}

/**
 * Resolves, reads (safely, once) and structurally checks every source file of an OHLCV contract,
 * in path order, then maps its columns. A file that fails (refused, unreadable, bad encoding,
 * malformed or truncated records, wrong header, missing column, no data rows) is returned as a
 * failure with its reason instead of stopping the ingest; a declared symbol without a file is a
 * `missing_file` failure. Throws only for contract-level problems (a glob matching nothing).
 */
export function prepareOhlcvFiles(c: OhlcvContract, dataRoot: string, signal?: AbortSignal): PreparedSources {
  const { files, missing } = resolveSources(dataRoot, globsOf(c.source.files), c.symbols, c.source.exclude);
  const failures: FileFailure[] = [...missing];
  const prepared: PreparedFile[] = [];
  const header = c.source.header;
  for (const f of files) {
    checkAbort(signal, 'scan');
    const at = { symbol: f.symbol, date: f.date };
    const r = scanSourceFile(f.abs, dataRoot, { delimiter: c.source.delimiter, expectedHeader: header ?? 'any', fold: true }, f.root);
    if ('failure' in r) {
      failures.push({ ...r.failure, ...at });
      continue;
    }
    const s = r.file;
    if (s.rows === 0) {
      failures.push({ rel: s.rel, code: 'no_data_rows', line: 1, reason: `source file ${s.rel} has a header but no data rows; re-download it or remove it`, ...at });
      continue;
    }
    const m = mapColumns(c, s.header ?? [], s.rel);
    if ('code' in m) {
      failures.push({ rel: s.rel, code: m.code, line: 1, reason: m.reason, ...at });
      continue;
    }
    const group = JSON.stringify([s.header, OHLCV_FIELDS.map((k) => m.map[k])]);
    prepared.push({ ...s, no: prepared.length, map: m.map, symbol: f.symbol, date: f.date, group });
  }
  return { files: prepared, failures, total: files.length + missing.length };
}
