import { readdirSync } from 'node:fs';
import path from 'node:path';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { UserError } from '../../lib/errors.ts';
import { detectCorporateActions } from '../corporate-actions.ts';
import { globPath } from '../contract.ts';
import { readSourceBytes, relToRoot } from '../source-files.ts';
import { guessCalendar } from './calendar-guess.ts';
import { detectDelimiter, mapHeader, splitRecord, type InitField } from './columns.ts';
import { stemOf, symbolPattern } from './names.ts';

/** A sampled source file: its header, the fields it maps and sample values per field. */
export interface SampledFile {
  name: string;
  rel: string;
  delimiter: string;
  header: string[];
  map: Partial<Record<InitField, number>>;
  guessed: InitField[];
  /** Sample values by header index. */
  values: string[][];
}

/** Strptime formats `data init` tries on date values, most common first. */
export const DATE_FORMATS = ['%Y-%m-%d', '%d-%b-%Y', '%d-%m-%Y', '%d/%m/%Y', '%m/%d/%Y', '%Y/%m/%d', '%Y%m%d', '%d-%b-%y', '%d %b %Y', '%b %d, %Y', '%d.%m.%Y', '%Y-%m-%d %H:%M:%S'];
/** Strings read as missing when they appear among sample values. */
export const NULL_TOKENS = ['', '-', 'null', 'NULL', 'NA', 'N/A', 'nan', 'NaN'];

const numericLike = (v: string) => v.trim() !== '' && !NULL_TOKENS.includes(v.trim()) && Number.isFinite(Number(v.trim()));

/**
 * Reads (safely) up to `maxFiles` files of a folder, spread over the sorted names, and up to
 * `maxRows` records of each; maps their headers. Non-text or refused files are reported, not read.
 */
export function sampleFolder(dataRoot: string, folder: string, maxFiles: number, maxRows: number): { dir: string; names: string[]; files: SampledFile[]; skipped: { file: string; reason: string }[] } {
  const dir = globPath(dataRoot, folder);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.(csv|txt|tsv)$/i.test(n)).sort();
  } catch {
    throw new UserError(`data init: folder ${dir} does not exist or cannot be read (give a folder under the data root ${dataRoot}, or an absolute path)`);
  }
  if (!names.length) throw new UserError(`data init: no .csv/.txt/.tsv files in ${dir}`);
  const step = Math.max(1, Math.ceil(names.length / maxFiles));
  const picked = names.filter((_, i) => i % step === 0).slice(0, maxFiles);
  const files: SampledFile[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const name of picked) {
    const abs = path.join(dir, name);
    const rel = relToRoot(dataRoot, abs);
    const r = readSourceBytes(abs, rel, dataRoot);
    if ('failure' in r) {
      skipped.push({ file: rel, reason: r.failure.reason });
      continue;
    }
    const lines = r.buf.toString('utf8').replace(/^\ufeff/, '').split('\n').filter((l) => l.trim() !== '');
    if (lines.length < 2) {
      skipped.push({ file: rel, reason: 'no data rows' });
      continue;
    }
    const delimiter = detectDelimiter(lines[0]!);
    const header = splitRecord(lines[0]!, delimiter).map((h) => h.trim());
    const rows = lines.slice(1, 1 + maxRows).map((l) => splitRecord(l, delimiter));
    const values = header.map((_, i) => rows.map((row) => row[i] ?? ''));
    const { map, guessed } = mapHeader(header, (i) => values[i]!.filter(numericLike).length >= 0.8 * values[i]!.filter((v) => v.trim() !== '' && !NULL_TOKENS.includes(v.trim())).length && values[i]!.some(numericLike));
    files.push({ name, rel, delimiter, header, map, guessed, values });
  }
  return { dir, names, files, skipped };
}

/** The strptime formats (from {@link DATE_FORMATS}) that parse every non-empty sample value of each file, via DuckDB. */
export async function dateFormatsOf(files: SampledFile[]): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  await withDuckDB(async (con) => {
    for (const f of files) {
      const vals = [...new Set(f.values[f.map.date!]!.map((v) => v.trim()).filter((v) => v && !NULL_TOKENS.includes(v)))].slice(0, 300);
      if (!vals.length) {
        out.set(f.name, undefined);
        continue;
      }
      const list = vals.map(sqlString).join(', ');
      const probe = DATE_FORMATS.map((fmt, i) => `count(try_strptime(v, ${sqlString(fmt)}))::INTEGER AS f${i}`).join(', ');
      const r = (await queryRows<Record<string, number>>(con, `SELECT ${probe} FROM (SELECT unnest([${list}]) AS v)`))[0]!;
      out.set(f.name, DATE_FORMATS.find((_, i) => r[`f${i}`] === vals.length));
    }
  });
  return out;
}

/** All parsed sample dates (YYYY-MM-DD) of the files, by format, via DuckDB. */
export async function sampleDates(files: SampledFile[], formats: Map<string, string | undefined>): Promise<string[]> {
  const out = new Set<string>();
  await withDuckDB(async (con) => {
    for (const f of files) {
      const fmt = formats.get(f.name);
      if (!fmt) continue;
      const vals = f.values[f.map.date!]!.filter((v) => v.trim() && !NULL_TOKENS.includes(v.trim()));
      for (let i = 0; i < vals.length; i += 5000) {
        const list = vals.slice(i, i + 5000).map((v) => sqlString(v.trim())).join(', ');
        const r = await queryRows<{ d: string | null }>(con, `SELECT strftime(try_strptime(v, ${sqlString(fmt)}), '%Y-%m-%d') AS d FROM (SELECT unnest([${list}]) AS v)`);
        for (const x of r) if (x.d) out.add(x.d);
      }
    }
  });
  return [...out].sort();
}

/** Symbol source for the files: a symbol column, else a `{symbol}` file-name pattern, else a fixed symbol. */
export function symbolSource(files: SampledFile[], allNames: string[]): { kind: 'column' } | { kind: 'file_name'; pattern: string } | { kind: 'fixed'; symbol: string } {
  if (files.every((f) => f.map.symbol !== undefined)) return { kind: 'column' };
  if (allNames.length === 1) return { kind: 'fixed', symbol: stemOf(allNames[0]!) };
  const p = symbolPattern(allNames);
  if (p && new Set(p.symbols).size === p.symbols.length) return { kind: 'file_name', pattern: p.pattern };
  return { kind: 'file_name', pattern: `{symbol}${path.extname(allNames[0]!)}` };
}

/** Adjustment guess from the sample: split-like persistent one-day moves suggest unadjusted prices. */
export function adjustmentGuess(files: SampledFile[], formats: Map<string, string | undefined>): { prices: 'raw' | 'split_adjusted'; note: string } {
  if (files.some((f) => f.map.adj_close !== undefined)) return { prices: 'raw', note: 'an adjusted-close column is present: open/high/low/close are taken as raw and scaled by adj_close / close in the curated view' };
  const hits: string[] = [];
  for (const f of files) {
    if (f.map.close === undefined || !formats.get(f.name)) continue;
    const closes = f.values[f.map.close]!.map((v) => Number(v));
    const n = closes.length;
    const panel = { symbols: [f.name], start: Int32Array.of(0), end: Int32Array.of(n), day: Int32Array.from({ length: n }, (_, i) => i), open: new Float64Array(n), high: new Float64Array(n), low: new Float64Array(n), close: Float64Array.from(closes), volume: new Float64Array(n).fill(NaN) };
    for (const c of detectCorporateActions(panel, { min_move: 0.3, persist_days: 5, tolerance: 0.03 })) {
      // Only unmistakable ratios (2:1 and up, 1:2 and down): a 3:2-sized move is ordinary volatility for an index.
      if (c.kind !== 'demerger_or_special_dividend' && (c.factor >= 1.9 || c.factor <= 0.55)) hits.push(`${f.name} row ${c.day + 2}: ×${Number(c.factor.toFixed(3))} (${c.label})`);
    }
  }
  if (hits.length) return { prices: 'raw', note: `split-like one-day moves in the sample (${hits.slice(0, 3).join('; ')}${hits.length > 3 ? '; …' : ''}): prices look unadjusted — add adjustment.factors (see the audit's corporate-action candidates)` };
  return { prices: 'split_adjusted', note: 'no split-like one-day move in the sample: prices look split-adjusted (use raw if the vendor does not adjust)' };
}

/** Numeric type of each mapped numeric field in the sample (`integer` when every value is whole). */
export function numericTypes(files: SampledFile[]): Record<string, 'integer' | 'decimal'> {
  const out: Record<string, 'integer' | 'decimal'> = {};
  for (const k of ['open', 'high', 'low', 'close', 'adj_close', 'volume'] as const) {
    const vals = files.flatMap((f) => (f.map[k] === undefined ? [] : f.values[f.map[k]!]!.filter(numericLike)));
    if (vals.length) out[k] = vals.every((v) => Number.isInteger(Number(v))) ? 'integer' : 'decimal';
  }
  return out;
}
