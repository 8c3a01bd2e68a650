import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows, sqlString } from '../../lib/duckdb.ts';
import type { OhlcvContract } from '../contract-schema.ts';
import type { FileFailure } from '../source-files.ts';
import { checkAbort, loadRawCsv, nullable, positional, rawJson, toDouble } from './common.ts';
import { OHLCV_FIELDS, type PreparedFile } from './ohlcv-files.ts';

/** SQL: a DATE parsed with one strptime format or the first of several that fits. */
export function parseDate(expr: string, formats: string | string[]): string {
  const f = Array.isArray(formats) ? (formats.length === 1 ? sqlString(formats[0]!) : `[${formats.map(sqlString).join(', ')}]`) : sqlString(formats);
  return `try_strptime(${expr}, ${f})::DATE`;
}

/**
 * Loads the prepared files into `rawall` (one row per record: src, line, file_no, the trimmed text
 * of each canonical field, NULL when absent, and `raw` left NULL), one column layout group at a
 * time, and the per-file metadata `fmeta` (file_no, src, the symbol and date its name carries).
 * The raw text of each group stays in table `_g<k>` until {@link fillQuarantineRaw} has given the
 * quarantined rows their raw values (JSON of the file's own header names). Files whose name date
 * does not parse are returned as failures (and their rows are not loaded).
 */
export async function loadOhlcvRaw(con: DuckDBConnection, c: OhlcvContract, files: PreparedFile[], signal?: AbortSignal): Promise<{ failures: FileFailure[]; groups: RawGroup[] }> {
  const failures: FileFailure[] = [];
  const fileFmt = c.source.file_date_format ?? (Array.isArray(c.date_format) ? c.date_format : [c.date_format]);
  await con.run(`CREATE TEMP TABLE fmeta (file_no INTEGER, src VARCHAR, fsym VARCHAR, fdate_s VARCHAR, fdate DATE)`);
  if (files.length) {
    const rows = files.map((f) => `(${f.no}, ${sqlString(f.rel)}, ${f.symbol === undefined ? 'NULL' : sqlString(f.symbol)}, ${f.date === undefined ? 'NULL' : sqlString(f.date)})`);
    await con.run(`INSERT INTO fmeta SELECT n, s, y::VARCHAR, d::VARCHAR, ${parseDate('d::VARCHAR', fileFmt)} FROM (VALUES ${rows.join(', ')}) v(n, s, y, d)`);
  }
  const badNames = await queryRows<{ file_no: number; src: string; fsym: string | null; fdate_s: string }>(con, `SELECT file_no, src, fsym, fdate_s FROM fmeta WHERE fdate_s IS NOT NULL AND fdate IS NULL ORDER BY file_no`);
  const skip = new Set(badNames.map((b) => b.file_no));
  for (const b of badNames) {
    failures.push({ rel: b.src, code: 'bad_file_name', symbol: b.fsym ?? undefined, reason: `source file ${b.src}: the date in its name (${JSON.stringify(b.fdate_s.slice(0, 40))}) does not match source.file_date_format ${JSON.stringify(fileFmt)}; rename the file or fix the format` });
  }
  const nulls = c.source.null_values;
  await con.run(`CREATE TEMP TABLE rawall (src VARCHAR, line BIGINT, file_no INTEGER, raw VARCHAR, ${OHLCV_FIELDS.map((k) => `${k}_t VARCHAR`).join(', ')})`);
  const groups = new Map<string, PreparedFile[]>();
  for (const f of files) if (!skip.has(f.no)) groups.set(f.group, [...(groups.get(f.group) ?? []), f]);
  const out: RawGroup[] = [];
  for (const list of groups.values()) {
    checkAbort(signal, `ingest ${c.name}`);
    const first = list[0]!;
    const n = first.header!.length;
    const table = `_g${out.length}`;
    out.push({ table, header: first.header! });
    await loadRawCsv(con, table, list, { delimiter: c.source.delimiter, header: true, nColumns: n });
    const expr = (k: (typeof OHLCV_FIELDS)[number]) => (first.map[k] >= 0 ? nullable(`g.c${first.map[k]}`, nulls) : 'NULL::VARCHAR');
    const nos = list.map((f, i) => `(${i}, ${f.no})`).join(', ');
    await con.run(`INSERT INTO rawall SELECT g.src, g.line, m.no, NULL,
        ${OHLCV_FIELDS.map(expr).join(', ')}
      FROM ${table} g JOIN (VALUES ${nos}) m(local, no) ON g.file_no = m.local`);
  }
  return { failures, groups: out };
}

/** A column-layout group of loaded files: its raw table and header. */
export interface RawGroup {
  table: string;
  header: string[];
}

/** Gives quarantined rows their raw values (JSON keyed by the file's header names) from the groups' raw tables, then drops those tables. */
export async function fillQuarantineRaw(con: DuckDBConnection, groups: RawGroup[]): Promise<void> {
  for (const g of groups) {
    await con.run(`UPDATE quarantine SET raw = r.j FROM (SELECT x.src, x.line, ${rawJson(g.header, positional(g.header.length).map((c) => `x.${c}`))} AS j
        FROM ${g.table} x JOIN (SELECT DISTINCT source_file, line FROM quarantine WHERE rule <> 'file_quarantined') k ON x.src = k.source_file AND x.line = k.line) r
      WHERE quarantine.source_file = r.src AND quarantine.line = r.line AND quarantine.rule <> 'file_quarantined'`);
    await con.run(`DROP TABLE ${g.table}`);
  }
}

/** Resolved plausibility bounds of an ingest: the latest plausible date from the clock when not declared. */
export function resolvedBounds(c: OhlcvContract, now: Date): { max_price: number; max_volume: number; min_date: string; max_date: string } {
  const b = c.bounds;
  const max = b.max_date ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + b.future_days)).toISOString().slice(0, 10);
  return { max_price: b.max_price, max_volume: b.max_volume, min_date: b.min_date, max_date: max };
}

/**
 * Builds table `p` from `rawall`: the parsed row (date, symbol, open/high/low/close/volume DOUBLE,
 * adj_close) with its raw text, and the first contract rule it breaks (NULL when valid):
 * `unparseable` (a non-missing value that is not a number/date; NaN/inf included),
 * `missing_required` (date, symbol or close), `symbol_mismatch` / `date_mismatch` (the column
 * disagrees with the file name), `non_positive_price`, `negative_volume`, `high_below_low`,
 * `out_of_bounds` (a price above bounds.max_price or a volume above bounds.max_volume) and
 * `date_out_of_range` (before bounds.min_date or after the cut-off). With declared `symbols`,
 * rows of other symbols are out of scope (dropped, not quarantined).
 */
export async function buildParsedTable(con: DuckDBConnection, c: OhlcvContract, bounds: ReturnType<typeof resolvedBounds>): Promise<void> {
  const fixed = c.symbol === undefined ? 'NULL::VARCHAR' : sqlString(c.symbol);
  const symbolFilter = c.symbols?.length ? `WHERE symbol IN (${c.symbols.map(sqlString).join(', ')})` : '';
  const price = (op: string, x: string) => ['open', 'high', 'low', 'close', 'adj_close'].map((k) => `${k} ${op} ${x}`).join(' OR ');
  await con.run(`CREATE TEMP TABLE p AS
    SELECT *, CASE
        WHEN (date_s IS NOT NULL AND date_c IS NULL) OR (open_s IS NOT NULL AND open IS NULL) OR (high_s IS NOT NULL AND high IS NULL)
          OR (low_s IS NOT NULL AND low IS NULL) OR (close_s IS NOT NULL AND close IS NULL) OR (volume_s IS NOT NULL AND volume IS NULL)
          OR (adj_s IS NOT NULL AND adj_close IS NULL) THEN 'unparseable'
        WHEN date IS NULL OR symbol IS NULL OR close IS NULL THEN 'missing_required'
        WHEN symbol_c IS NOT NULL AND fsym IS NOT NULL AND symbol_c <> fsym THEN 'symbol_mismatch'
        WHEN date_c IS NOT NULL AND fdate IS NOT NULL AND date_c <> fdate THEN 'date_mismatch'
        WHEN ${price('<=', '0')} THEN 'non_positive_price'
        WHEN volume < 0 THEN 'negative_volume'
        WHEN high < low THEN 'high_below_low'
        WHEN ${price('>', String(bounds.max_price))} OR volume > ${bounds.max_volume} THEN 'out_of_bounds'
        WHEN date < DATE ${sqlString(bounds.min_date)} OR date > DATE ${sqlString(bounds.max_date)} THEN 'date_out_of_range'
      END AS rule
    FROM (SELECT *, coalesce(date_c, fdate) AS date
          FROM (SELECT *, ${parseDate('date_s', c.date_format)} AS date_c,
                  ${toDouble('open_s')} AS open, ${toDouble('high_s')} AS high, ${toDouble('low_s')} AS low,
                  ${toDouble('close_s')} AS close, ${toDouble('volume_s')} AS volume, ${toDouble('adj_s')} AS adj_close
                FROM (SELECT r.src, r.line, r.file_no, r.raw, r.date_t AS date_s, r.symbol_t AS symbol_c, m.fsym, m.fdate,
                        coalesce(r.symbol_t, m.fsym, ${fixed}) AS symbol,
                        r.open_t AS open_s, r.high_t AS high_s, r.low_t AS low_s, r.close_t AS close_s, r.volume_t AS volume_s, r.adj_close_t AS adj_s
                      FROM rawall r JOIN fmeta m USING (file_no)) ${symbolFilter}))`);
}

/** SQL: the quarantine `detail` of a parsed row by its rule. */
export function ruleDetail(bounds: ReturnType<typeof resolvedBounds>): string {
  return `CASE rule
      WHEN 'high_below_low' THEN format('high {} < low {}', high_s, low_s)
      WHEN 'symbol_mismatch' THEN format('symbol {} in a file named for {}', symbol_c, fsym)
      WHEN 'date_mismatch' THEN format('date {} in a file named for {}', date_c, fdate)
      WHEN 'out_of_bounds' THEN format('a value above the plausible bounds (bounds.max_price ${bounds.max_price}, bounds.max_volume ${bounds.max_volume})')
      WHEN 'date_out_of_range' THEN format('date {} outside [${bounds.min_date}, ${bounds.max_date}] (bounds.min_date, bounds.max_date or the clock + bounds.future_days)', date)
    END`;
}
