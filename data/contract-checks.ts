import path from 'node:path';
import { closest } from 'fastest-levenshtein';
import { UserError } from '../lib/errors.ts';
import type { OhlcvColumnName, OhlcvContract } from './contract-schema.ts';
import { foldHeader } from './headers.ts';

/** Where the symbol of an OHLCV row comes from. */
export type SymbolSource = 'column' | 'file_name' | 'fixed';

/** The alternatives of a `columns` entry (a name or a list of names), or [] when it is not mapped. */
export function columnAlternatives(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Source globs of a contract as a list. */
export function globsOf(files: string | string[]): string[] {
  return Array.isArray(files) ? files : [files];
}

/** True when some glob puts `{name}` in its file-name part. */
export function globsCapture(files: string | string[], name: 'symbol' | 'date'): boolean {
  return globsOf(files).some((g) => path.basename(g).includes(`{${name}}`));
}

/** The symbol source of a validated OHLCV contract (a column wins over the file name, which is then only checked). */
export function symbolSourceOf(c: OhlcvContract): SymbolSource {
  if (c.symbol !== undefined) return 'fixed';
  if (c.columns.symbol !== undefined) return 'column';
  return 'file_name';
}

/** The layout of an OHLCV contract: declared, or `per_symbol` with `{symbol}`, `per_date` with `{date}`, else `long`. */
export function layoutOf(c: OhlcvContract): 'per_symbol' | 'per_date' | 'long' {
  if (c.source.layout) return c.source.layout;
  if (globsCapture(c.source.files, 'symbol') || c.symbol !== undefined) return 'per_symbol';
  if (globsCapture(c.source.files, 'date')) return 'per_date';
  return 'long';
}

/**
 * Semantic checks of an OHLCV contract beyond its schema; throws UserError at `at(path)`
 * (`file:line:col`) with how to fix it:
 * - exactly one symbol source: a column (`columns.symbol`, optionally checked against `{symbol}`
 *   in the file names), the file name (`{symbol}` in `source.files`) or a fixed `symbol:`;
 * - a date source: `columns.date` or `{date}` in the file names;
 * - placeholders only in the file-name part of a glob, each at most once;
 * - the declared `layout` matches the symbol/date sources;
 * - with an exact `source.header`, every mapped column is in it (naming the closest header);
 * - `optional_columns` only name mapped columns.
 */
export function checkOhlcvContract(c: OhlcvContract, at: (p: (string | number)[]) => string): void {
  const fail = (p: (string | number)[], msg: string): never => {
    throw new UserError(`${at(p)} ${p.join('.')}: ${msg}`);
  };
  globsOf(c.source.files).forEach((g, i) => {
    const p = Array.isArray(c.source.files) ? ['source', 'files', i] : ['source', 'files'];
    for (const ph of ['{symbol}', '{date}']) {
      if (path.dirname(g).includes(ph)) fail(p, `${ph} is only allowed in the file-name part of "${g}", not in a folder`);
      if (g.split(ph).length > 2) fail(p, `${ph} appears more than once in "${g}"`);
    }
    const unknown = /\{(?!symbol\}|date\})[^}]*\}/.exec(path.basename(g));
    if (unknown) fail(p, `unknown placeholder ${unknown[0]} in "${g}"; allowed placeholders: {symbol}, {date}`);
  });
  const fileSymbol = globsCapture(c.source.files, 'symbol');
  if (c.symbol !== undefined && (c.columns.symbol !== undefined || fileSymbol || c.symbols)) {
    fail(['symbol'], 'a fixed symbol excludes columns.symbol, {symbol} in source.files and symbols: — keep one symbol source');
  }
  if (c.symbol === undefined && c.columns.symbol === undefined && !fileSymbol) {
    fail(['columns'], 'no symbol source: map columns.symbol (a column), put {symbol} in source.files (the file name, e.g. "{symbol}.csv"), or set symbol: <value> (one fixed symbol)');
  }
  if (c.columns.date === undefined && !globsCapture(c.source.files, 'date')) {
    fail(['columns'], 'no date source: map columns.date (a column) or put {date} in source.files (the file name, e.g. "{date}.csv" with source.file_date_format)');
  }
  const layout = c.source.layout;
  if (layout === 'per_symbol' && !fileSymbol && c.symbol === undefined && c.columns.symbol === undefined) fail(['source', 'layout'], 'per_symbol needs a symbol per file');
  if (layout === 'per_date' && !globsCapture(c.source.files, 'date') && c.columns.date === undefined) fail(['source', 'layout'], 'per_date needs a date per file');
  if (c.source.header) {
    const folded = c.source.header.map(foldHeader);
    for (const k of Object.keys(c.columns) as OhlcvColumnName[]) {
      const alts = columnAlternatives(c.columns[k]);
      if (alts.length && !alts.some((a) => folded.includes(foldHeader(a)))) {
        const near = closest(foldHeader(alts[0]!), folded);
        fail(['columns', k], `"${alts.join('" / "')}" is not in source.header [${c.source.header.join(', ')}]${near ? `; closest header: "${c.source.header[folded.indexOf(near)]}"` : ''}`);
      }
    }
  }
  c.source.optional_columns.forEach((k, i) => {
    if (c.columns[k] === undefined) fail(['source', 'optional_columns', i], `"${k}" is not mapped in columns; map it or remove it from optional_columns`);
  });
}
