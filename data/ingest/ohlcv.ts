import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { StepError, UserError } from '../../lib/errors.ts';
import { expandGlobs, resolveFiles, type LoadedContract, type OhlcvContract } from '../contract.ts';
import { InputFileError, scanDelimitedFile, type ScannedFile } from '../scan.ts';
import {
  checkAbort,
  countByRule,
  dedupeByKey,
  loadRawCsv,
  nullable,
  PendingArtifacts,
  positional,
  QUARANTINE_COLUMNS,
  rawJson,
  toDouble,
  wrapIngestError,
  type IngestEnv, type TableIngestResult,
} from './common.ts';

/** Small JSON result of an OHLCV ingest (the `ingest.ohlcv` step outputs). */
export interface OhlcvIngestResult extends TableIngestResult {
  symbols: number;
  dates: number;
  first_date: string | null;
  last_date: string | null;
  calendar: unknown;
}

/** Resolves a contract's source files and runs the structural pre-scan on each (in path order). */
export function scanSources(
  dataRoot: string,
  globs: string[],
  opts: { delimiter: string; expectedHeader: string[] | false; expectedFields?: number },
  signal?: AbortSignal,
): ScannedFile[] {
  const files = resolveFiles(dataRoot, globs, (m) => {
    throw new InputFileError(m);
  });
  return files.map((f) => {
    checkAbort(signal, 'scan');
    return scanDelimitedFile(f, dataRoot, opts);
  });
}

function columnIndex(header: string[], name: string, field: string, file: string): number {
  const i = header.indexOf(name);
  if (i < 0) throw new UserError(`${file}: columns.${field} = "${name}" is not in source.header [${header.join(', ')}]`);
  return i;
}

/**
 * Ingests a daily OHLCV dataset (contract kind `ohlcv`) into the canonical table
 * `date DATE, symbol VARCHAR, open/high/low/close DOUBLE, volume DOUBLE` sorted by (symbol, date).
 *
 * Contract rules (first matching rule wins; the row goes to the quarantine with its raw values):
 * `unparseable` (a non-missing value that is not a number/date), `missing_required` (date, symbol
 * or close missing), `non_positive_price` (any price ≤ 0), `negative_volume`, `high_below_low`,
 * `conflicting_duplicate` (same (symbol, date) with different values: every version quarantined).
 * Exact duplicates are collapsed and counted. Missing open/high/low are kept as NULL (the audit
 * flags them). Artifacts: table + quarantine Parquet, manifest JSON (source files with sha256,
 * rows in/out, quarantine counts); written only when every step succeeded.
 * Throws InputFileError (non-retryable, naming file and line) for structural file defects and
 * UserError for contract mistakes.
 */
export async function ingestOhlcv(loaded: LoadedContract, env: IngestEnv): Promise<OhlcvIngestResult> {
  const c = loaded.contract as OhlcvContract;
  if (c.source.header === false) throw new UserError(`${loaded.file}: source.header must list the column names for kind ohlcv`);
  const header = c.source.header;
  const map = Object.fromEntries(
    (['date', 'symbol', 'open', 'high', 'low', 'close', 'volume'] as const).map((k) => [k, `c${columnIndex(header, c.columns[k], `columns.${k}`, loaded.file)}`]),
  ) as Record<'date' | 'symbol' | 'open' | 'high' | 'low' | 'close' | 'volume', string>;
  const progress = env.progress ?? (() => {});
  progress({ fraction: 0, message: `scanning ${c.name} sources` });
  const files = scanSources(env.dataRoot, expandGlobs(c.source.files, c.symbols), { delimiter: c.source.delimiter, expectedHeader: header }, env.signal);
  const rowsIn = files.reduce((s, f) => s + f.rows, 0);
  if (rowsIn === 0) throw new InputFileError(`dataset ${c.name}: the ${files.length} source file(s) hold no data rows (only headers)`);
  progress({ fraction: 0.2, message: `reading ${files.length} files (${rowsIn} rows)` });
  const pending = new PendingArtifacts(env.store);
  try {
    return await withDuckDB(async (con) => {
      await loadRawCsv(con, 'raw', files, { delimiter: c.source.delimiter, header: true, nColumns: header.length });
      checkAbort(env.signal, `ingest ${c.name}`);
      progress({ fraction: 0.5, message: 'normalising' });
      const n = (k: keyof typeof map) => nullable(map[k], c.source.null_values);
      const rawCols = positional(header.length);
      const symbolFilter = c.symbols?.length ? `WHERE symbol IN (${c.symbols.map(sqlString).join(', ')})` : '';
      // One materialised table: raw text (for the quarantine), parsed values and the contract rule.
      await con.run(`CREATE TEMP TABLE p AS
        SELECT *, CASE
            WHEN (date_s IS NOT NULL AND date IS NULL) OR (open_s IS NOT NULL AND open IS NULL) OR (high_s IS NOT NULL AND high IS NULL)
              OR (low_s IS NOT NULL AND low IS NULL) OR (close_s IS NOT NULL AND close IS NULL) OR (volume_s IS NOT NULL AND volume IS NULL) THEN 'unparseable'
            WHEN date IS NULL OR symbol IS NULL OR close IS NULL THEN 'missing_required'
            WHEN close <= 0 OR open <= 0 OR high <= 0 OR low <= 0 THEN 'non_positive_price'
            WHEN volume < 0 THEN 'negative_volume'
            WHEN high < low THEN 'high_below_low'
          END AS rule
        FROM (SELECT *, try_strptime(date_s, ${sqlString(c.date_format)})::DATE AS date,
                ${toDouble('open_s')} AS open, ${toDouble('high_s')} AS high, ${toDouble('low_s')} AS low,
                ${toDouble('close_s')} AS close, ${toDouble('volume_s')} AS volume
              FROM (SELECT src, line, ${rawCols.join(', ')}, ${n('date')} AS date_s, ${n('symbol')} AS symbol,
                      ${n('open')} AS open_s, ${n('high')} AS high_s, ${n('low')} AS low_s, ${n('close')} AS close_s, ${n('volume')} AS volume_s
                    FROM raw) ${symbolFilter})`);
      await con.run(`DROP TABLE raw`);
      const kept = Number((await queryRows<{ n: number }>(con, `SELECT count(*)::INTEGER AS n FROM p`))[0]!.n);
      const outOfScope = rowsIn - kept;
      const rawExpr = rawJson(header, rawCols);
      await con.run(`CREATE TEMP TABLE quarantine (${QUARANTINE_COLUMNS})`);
      await con.run(`INSERT INTO quarantine SELECT rule, src, line, symbol, date_s, ${rawExpr},
          CASE rule WHEN 'high_below_low' THEN format('high {} < low {}', high_s, low_s) END
        FROM p WHERE rule IS NOT NULL`);
      // Duplicates among contract-valid rows: exact copies collapse, conflicting versions go to quarantine.
      const duplicates = await dedupeByKey(con, 'p', 'canon', ['symbol', 'date'], ['open', 'high', 'low', 'close', 'volume'], rawExpr);
      checkAbort(env.signal, `ingest ${c.name}`);
      progress({ fraction: 0.7, message: 'writing Parquet' });
      await pending.parquet(con, `SELECT date, symbol, open, high, low, close, volume FROM canon ORDER BY symbol, date`, 'ohlcv.parquet');
      await pending.parquet(con, `SELECT * FROM quarantine ORDER BY source_file, line, rule`, 'quarantine.parquet');
      const stats = (
        await queryRows<{ rows: number; symbols: number; dates: number; first: string | null; last: string | null }>(
          con,
          `SELECT count(*)::INTEGER AS rows, count(DISTINCT symbol)::INTEGER AS symbols, count(DISTINCT date)::INTEGER AS dates,
                  strftime(min(date), '%Y-%m-%d') AS first, strftime(max(date), '%Y-%m-%d') AS last FROM canon`,
        )
      )[0]!;
      if (stats.rows === 0) throw new StepError({ message: `dataset ${c.name}: no usable rows after the contract checks (every row quarantined); see the quarantine counts`, type: 'IngestError', nonRetryable: true });
      const byRule = await countByRule(con, 'quarantine');
      const quarantined = Object.values(byRule).reduce((s, v) => s + v, 0);
      const manifest = {
        dataset: c.name,
        kind: c.kind,
        schema: 'ohlcv/1: date DATE, symbol VARCHAR, open/high/low/close DOUBLE, volume DOUBLE; sorted by (symbol, date)',
        contract: { file: `configs/data/${c.name}.yml`, digest: loaded.digest, units: c.units, timezone: c.timezone, calendar: c.calendar },
        sources: files.map((f) => ({ path: f.rel, sha256: f.sha256, bytes: f.bytes, rows: f.rows })),
        rows_in: rowsIn,
        rows_out_of_scope: outOfScope,
        rows_out: stats.rows,
        duplicates_collapsed: duplicates,
        quarantined,
        quarantined_by_rule: byRule,
        symbols: stats.symbols,
        dates: stats.dates,
        first_date: stats.first,
        last_date: stats.last,
      };
      const refs = await pending.commit();
      const manifestRef = await env.store.putJson(manifest, 'manifest.json');
      progress({ fraction: 1, message: `${stats.rows} rows, ${quarantined} quarantined` });
      return {
        dataset: c.name,
        table: refs['ohlcv.parquet']!,
        quarantine: refs['quarantine.parquet']!,
        manifest: manifestRef,
        rows: stats.rows,
        rows_in: rowsIn,
        symbols: stats.symbols,
        dates: stats.dates,
        first_date: stats.first,
        last_date: stats.last,
        quarantined,
        quarantined_by_rule: byRule,
        duplicates,
        calendar: c.calendar,
      };
    });
  } catch (e) {
    pending.discard();
    throw wrapIngestError(c.name, e);
  }
}
