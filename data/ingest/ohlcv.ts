import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { StepError } from '../../lib/errors.ts';
import { ingestFactorTable, type AdjustmentInfo } from '../adjust.ts';
import { layoutOf, symbolSourceOf } from '../contract-checks.ts';
import { resolveFiles, type LoadedContract, type OhlcvContract } from '../contract.ts';
import { InputFileError, scanDelimitedFile, type ScannedFile } from '../scan.ts';
import type { FileFailure } from '../source-files.ts';
import { checkAbort, countByRule, dedupeByKey, PendingArtifacts, QUARANTINE_COLUMNS, sourcesOf, wrapIngestError, type IngestEnv, type TableIngestResult } from './common.ts';
import { prepareOhlcvFiles, type PreparedFile } from './ohlcv-files.ts';
import { buildParsedTable, fillQuarantineRaw, loadOhlcvRaw, resolvedBounds, ruleDetail } from './ohlcv-rules.ts';
import { lostSymbols, type LostSymbol, type SeenSymbol } from './universe.ts';

/** A source file quarantined whole, as listed in the ingest result and manifest. */
export interface QuarantinedFile {
  path: string;
  code: string;
  reason: string;
  line: number | null;
  symbol: string | null;
  date: string | null;
}

/** Small JSON result of an OHLCV ingest (the `ingest.ohlcv` step outputs). */
export interface OhlcvIngestResult extends TableIngestResult {
  symbols: number;
  dates: number;
  first_date: string | null;
  last_date: string | null;
  calendar: unknown;
  /** Files quarantined whole (the run report lists them). */
  quarantined_files: QuarantinedFile[];
  /** Expected symbols with no usable row (counted missing by the audit). */
  lost_symbols: string[];
}

/** Resolves a contract's source files and runs the structural pre-scan on each (in path order); throws on the first bad file. */
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

/** Throws one InputFileError when more than `max_failed_file_share` of the source files failed. */
function checkFailedShare(c: OhlcvContract, failures: FileFailure[], total: number): void {
  const share = total ? failures.length / total : 0;
  if (!failures.length || share <= c.source.max_failed_file_share) return;
  const shown = failures.slice(0, 5).map((f) => `  - ${f.reason}`).join('\n');
  throw new InputFileError(
    `dataset ${c.name}: ${failures.length} of ${total} source files failed their contract (${(100 * share).toFixed(1)}% > source.max_failed_file_share ${(100 * c.source.max_failed_file_share).toFixed(1)}%); nothing was ingested:\n${shown}` +
      (failures.length > 5 ? `\n  … and ${failures.length - 5} more` : '') +
      `\nfix these files, or raise source.max_failed_file_share in configs/data/${c.name}.yml to ingest the rest`,
    { failed: failures.map((f) => ({ file: f.rel, code: f.code, line: f.line })) },
  );
}

const asQuarantined = (f: FileFailure): QuarantinedFile => ({ path: f.rel, code: f.code, reason: f.reason, line: f.line ?? null, symbol: f.symbol ?? null, date: f.date ?? null });

/** Files whose share of unparseable rows exceeds the contract's threshold: quarantined whole. */
async function unparseableFiles(con: DuckDBConnection, c: OhlcvContract, files: PreparedFile[]): Promise<FileFailure[]> {
  const share = c.source.max_unparseable_share;
  const rows = await queryRows<{ file_no: number; n: number; u: number; first: bigint }>(con, `SELECT file_no, count(*)::INTEGER AS n,
      count(*) FILTER (WHERE rule = 'unparseable')::INTEGER AS u, min(line) FILTER (WHERE rule = 'unparseable') AS first
    FROM p GROUP BY file_no HAVING count(*) FILTER (WHERE rule = 'unparseable') > ${share} * count(*) ORDER BY file_no`);
  return rows.map((r) => {
    const f = files[r.file_no]!;
    return { rel: f.rel, code: 'too_many_unparseable', line: Number(r.first), symbol: f.symbol, date: f.date,
      reason: `source file ${f.rel}: ${r.u} of ${r.n} rows unparseable (first at line ${r.first}), above source.max_unparseable_share ${share}; check the file's number and date formats (date_format, null_values)` };
  });
}

/** Symbols of quarantined rows and of rows of files quarantined whole, with their date spans and rules. */
async function seenSymbols(con: DuckDBConnection, failedNos: number[]): Promise<SeenSymbol[]> {
  const inFailed = failedNos.length ? `OR file_no IN (${failedNos.join(', ')})` : '';
  return queryRows<SeenSymbol>(con, `SELECT symbol, strftime(min(date), '%Y-%m-%d') AS first, strftime(max(date), '%Y-%m-%d') AS last,
      list(DISTINCT coalesce(rule, 'file_quarantined') ORDER BY coalesce(rule, 'file_quarantined')) AS rules
    FROM p WHERE symbol IS NOT NULL AND (rule IS NOT NULL ${inFailed}) GROUP BY symbol ORDER BY symbol`);
}

/**
 * Ingests a daily OHLCV dataset (contract kind `ohlcv`) into the canonical table
 * `date DATE, symbol VARCHAR, open/high/low/close DOUBLE, volume DOUBLE` (+ `adj_close DOUBLE`
 * when the contract maps one) sorted by (symbol, date), from any layout: one file per symbol
 * (symbol from the file name or a column), one file per date, or one long file.
 *
 * A file that fails its contract (refused as a FIFO or an outside link, unreadable, bad encoding,
 * malformed or truncated records, wrong header or missing column, no data rows, too many
 * unparseable rows) is quarantined whole with its reason; the others are ingested. More than
 * `source.max_failed_file_share` failed files stops the ingest with one InputFileError.
 * Row rules (first match wins, see `buildParsedTable`) send rows to the quarantine with their raw
 * values, file and line; exact duplicates collapse, conflicting versions of a key are quarantined.
 * Artifacts: table + quarantine Parquet, the validated factor table (when declared) and the
 * manifest JSON (sources with the sha256 of exactly the bytes parsed, quarantined files, lost
 * symbols, bounds); written only when everything succeeded. Throws UserError for contract mistakes.
 */
export async function ingestOhlcv(loaded: LoadedContract, env: IngestEnv): Promise<OhlcvIngestResult> {
  const c = loaded.contract as OhlcvContract;
  const progress = env.progress ?? (() => {});
  progress({ fraction: 0, message: `scanning ${c.name} sources` });
  const prep = prepareOhlcvFiles(c, env.dataRoot, env.signal);
  checkFailedShare(c, prep.failures, prep.total);
  const bounds = resolvedBounds(c, env.now ?? new Date());
  const rowsIn = prep.files.reduce((s, f) => s + f.rows, 0);
  if (rowsIn === 0) {
    throw new InputFileError(`dataset ${c.name}: no usable source file (${prep.failures.length} of ${prep.total} failed their contract):\n${prep.failures.slice(0, 5).map((f) => `  - ${f.reason}`).join('\n')}`);
  }
  progress({ fraction: 0.2, message: `reading ${prep.files.length} files (${rowsIn} rows)` });
  const pending = new PendingArtifacts(env.store);
  try {
    return await withDuckDB(async (con) => {
      const loadedRaw = await loadOhlcvRaw(con, c, prep.files, env.signal);
      const failures = [...prep.failures, ...loadedRaw.failures];
      checkAbort(env.signal, `ingest ${c.name}`);
      progress({ fraction: 0.5, message: 'normalising' });
      await buildParsedTable(con, c, bounds);
      await con.run(`DROP TABLE rawall`);
      const heavy = await unparseableFiles(con, c, prep.files);
      failures.push(...heavy);
      checkFailedShare(c, failures, prep.total);
      const heavyNos = heavy.map((h) => prep.files.find((f) => f.rel === h.rel)!.no);
      const seen = await seenSymbols(con, heavyNos);
      if (heavyNos.length) await con.run(`DELETE FROM p WHERE file_no IN (${heavyNos.join(', ')})`);
      const kept = Number((await queryRows<{ n: number }>(con, `SELECT count(*)::INTEGER AS n FROM p`))[0]!.n);
      const heavyRows = heavyNos.reduce((s, n) => s + prep.files[n]!.rows, 0);
      const outOfScope = rowsIn - heavyRows - kept;
      const qdate = `coalesce(strftime(date, '%Y-%m-%d'), date_s)`;
      await con.run(`CREATE TEMP TABLE quarantine (${QUARANTINE_COLUMNS})`);
      await con.run(`INSERT INTO quarantine SELECT rule, src, line, symbol, ${qdate}, raw, ${ruleDetail(bounds)} FROM p WHERE rule IS NOT NULL`);
      for (const f of failures) {
        await con.run(`INSERT INTO quarantine VALUES ('file_quarantined', ${sqlString(f.rel)}, ${f.line ?? 'NULL'}, ${f.symbol === undefined ? 'NULL' : sqlString(f.symbol)},
          ${f.date === undefined ? 'NULL' : sqlString(f.date)}, NULL, ${sqlString(`${f.code}: ${f.reason}`)})`);
      }
      const adjCols = c.columns.adj_close !== undefined ? ['adj_close'] : [];
      const duplicates = await dedupeByKey(con, 'p', 'canon', ['symbol', 'date'], ['open', 'high', 'low', 'close', 'volume', ...adjCols], 'raw', qdate);
      await fillQuarantineRaw(con, loadedRaw.groups);
      checkAbort(env.signal, `ingest ${c.name}`);
      progress({ fraction: 0.7, message: 'writing Parquet' });
      await pending.parquet(con, `SELECT date, symbol, open, high, low, close, volume${adjCols.map((a) => `, ${a}`).join('')} FROM canon ORDER BY symbol, date`, 'ohlcv.parquet');
      await pending.parquet(con, `SELECT * FROM quarantine ORDER BY source_file, line, rule`, 'quarantine.parquet');
      const factors = await ingestFactorTable(con, c, env.dataRoot, pending);
      const stats = (await queryRows<{ rows: number; symbols: number; dates: number; first: string | null; last: string | null }>(con,
        `SELECT count(*)::INTEGER AS rows, count(DISTINCT symbol)::INTEGER AS symbols, count(DISTINCT date)::INTEGER AS dates,
                strftime(min(date), '%Y-%m-%d') AS first, strftime(max(date), '%Y-%m-%d') AS last FROM canon`))[0]!;
      if (stats.rows === 0) throw new StepError({ message: `dataset ${c.name}: no usable rows after the contract checks (every row quarantined); see the quarantine counts`, type: 'IngestError', nonRetryable: true });
      const present = new Set((await queryRows<{ symbol: string }>(con, `SELECT DISTINCT symbol FROM canon`)).map((r) => r.symbol));
      const lost = lostSymbols({ declared: c.symbols, fileSymbols: prep.files.map((f) => f.symbol), failures, seen, present });
      const byRule = await countByRule(con, 'quarantine');
      const quarantined = Object.values(byRule).reduce((s, v) => s + v, 0);
      const refs = await pending.commit();
      const adjustment: AdjustmentInfo = {
        prices: c.adjustment?.prices ?? 'undeclared',
        adj_close: adjCols.length > 0,
        ...(factors ? { factors: { file: factors.file, sha256: factors.sha256, rows: factors.rows, symbols: factors.symbols, artifact: refs['adjustments.parquet']! } } : {}),
      };
      const files = failures.map(asQuarantined);
      const manifest = manifestOf(loaded, prep.files, { rowsIn, outOfScope, stats, duplicates, quarantined, byRule, files, lost, adjustment, bounds, failedDates: failures.flatMap((f) => (f.date ? [f.date] : [])) });
      const manifestRef = await env.store.putJson(manifest, 'manifest.json');
      progress({ fraction: 1, message: `${stats.rows} rows, ${quarantined} quarantined${files.length ? `, ${files.length} file(s) quarantined` : ''}` });
      return {
        dataset: c.name, table: refs['ohlcv.parquet']!, quarantine: refs['quarantine.parquet']!, manifest: manifestRef,
        rows: stats.rows, rows_in: rowsIn, symbols: stats.symbols, dates: stats.dates, first_date: stats.first, last_date: stats.last,
        quarantined, quarantined_by_rule: byRule, duplicates, calendar: c.calendar, quarantined_files: files, lost_symbols: lost.map((l) => l.symbol),
      };
    });
  } catch (e) {
    pending.discard();
    throw wrapIngestError(c.name, e);
  }
}

/** The ingest manifest (JSON artifact): provenance, counts, quarantined files, lost symbols, adjustments. */
function manifestOf(
  loaded: LoadedContract,
  files: PreparedFile[],
  x: {
    rowsIn: number; outOfScope: number; duplicates: number; quarantined: number; byRule: Record<string, number>;
    stats: { rows: number; symbols: number; dates: number; first: string | null; last: string | null };
    files: QuarantinedFile[]; lost: LostSymbol[]; adjustment: AdjustmentInfo; bounds: ReturnType<typeof resolvedBounds>; failedDates: string[];
  },
) {
  const c = loaded.contract as OhlcvContract;
  return {
    dataset: c.name,
    kind: c.kind,
    schema: `ohlcv/1: date DATE, symbol VARCHAR, open/high/low/close DOUBLE, volume DOUBLE${x.adjustment.adj_close ? ', adj_close DOUBLE' : ''}; sorted by (symbol, date)`,
    contract: { file: `configs/data/${c.name}.yml`, digest: loaded.digest, units: c.units, timezone: c.timezone, calendar: c.calendar },
    layout: layoutOf(c),
    symbol_source: symbolSourceOf(c),
    sources: sourcesOf(files),
    rows_in: x.rowsIn,
    rows_out_of_scope: x.outOfScope,
    rows_out: x.stats.rows,
    duplicates_collapsed: x.duplicates,
    quarantined: x.quarantined,
    quarantined_by_rule: x.byRule,
    quarantined_files: x.files,
    lost_symbols: x.lost,
    lost_dates: [...new Set(x.failedDates)].sort(),
    declared_symbols: c.symbols ?? null,
    bounds: x.bounds,
    adjustment: x.adjustment,
    symbols: x.stats.symbols,
    dates: x.stats.dates,
    first_date: x.stats.first,
    last_date: x.stats.last,
  };
}
