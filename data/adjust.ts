import type { DuckDBConnection } from '@duckdb/node-api';
import type { ArtifactRef } from '../artifacts/store.ts';
import { queryRows, sqlString } from '../lib/duckdb.ts';
import { globPath, type OhlcvContract } from './contract.ts';
import { findColumn, headerExcerpt } from './headers.ts';
import { InputFileError, scanSourceFile } from './scan.ts';
import { relToRoot } from './source-files.ts';
import { loadRawCsv, nullable, PendingArtifacts, toDouble } from './ingest/common.ts';
import { parseDate } from './ingest/ohlcv-rules.ts';

/**
 * Corporate-action adjustment of OHLCV prices. The ingest reads the contract's factor table
 * (CSV: date, symbol, factor; on ex-date `date` the share count was multiplied by `factor`),
 * checks every row and stores it as `adjustments.parquet`; the audit builds its panel (and so the
 * curated view that features, labels and P&L read) from the adjusted series:
 *   price_adj(t) = price(t) / K(t), volume_adj(t) = volume(t) · K(t), K(t) = ∏ factor(d) for d > t,
 * after scaling open/high/low/close by adj_close / close when the source has an adjusted close.
 */

/** What the ingest recorded about adjustments (manifest `adjustment`). */
export interface AdjustmentInfo {
  prices: 'raw' | 'split_adjusted' | 'adjusted' | 'undeclared';
  adj_close: boolean;
  factors?: { file: string; sha256: string; rows: number; symbols: number; artifact: ArtifactRef };
}

/**
 * Reads and validates the contract's factor table into a pending `adjustments.parquet`. Every row
 * must have a date (in `factors.date_format`), a symbol and a finite factor > 0, with one row per
 * (symbol, date). Throws InputFileError naming the file and line of the first bad row (a broken
 * factor table must not silently leave prices unadjusted). Returns undefined without a table.
 */
export async function ingestFactorTable(con: DuckDBConnection, c: OhlcvContract, dataRoot: string, pending: PendingArtifacts): Promise<{ path: string; file: string; sha256: string; rows: number; symbols: number } | undefined> {
  const spec = c.adjustment?.factors;
  if (!spec) return undefined;
  const abs = globPath(dataRoot, spec.file);
  const r = scanSourceFile(abs, dataRoot, { delimiter: spec.delimiter, expectedHeader: 'any' });
  const rel = relToRoot(dataRoot, abs);
  if ('failure' in r) throw new InputFileError(`adjustment factor table: ${r.failure.reason}`, { file: rel, line: r.failure.line });
  const header = r.file.header ?? [];
  const idx = { date: findColumn(header, ['date', 'ex_date', 'ex-date']), symbol: findColumn(header, ['symbol', 'ticker']), factor: findColumn(header, ['factor', 'ratio']) };
  for (const [k, i] of Object.entries(idx)) {
    if (i < 0) throw new InputFileError(`adjustment factor table ${rel} line 1: no "${k}" column in the header ${headerExcerpt(header)}; the table needs columns date, symbol, factor`, { file: rel, line: 1 });
  }
  await loadRawCsv(con, '_adj_raw', [r.file], { delimiter: spec.delimiter, header: true, nColumns: header.length });
  await con.run(`CREATE TEMP TABLE _adj AS SELECT line, ${nullable(`c${idx.symbol}`, [''])} AS symbol, ${parseDate(nullable(`c${idx.date}`, ['']), spec.date_format)} AS date,
      ${toDouble(nullable(`c${idx.factor}`, ['']))} AS factor FROM _adj_raw`);
  const bad = await queryRows<{ line: bigint; why: string }>(con, `SELECT line, CASE WHEN symbol IS NULL THEN 'no symbol' WHEN date IS NULL THEN 'date does not match ${spec.date_format.replaceAll("'", "''")}'
      ELSE 'factor is not a finite number > 0' END AS why FROM _adj WHERE symbol IS NULL OR date IS NULL OR factor IS NULL OR factor <= 0 ORDER BY line LIMIT 1`);
  if (bad.length) throw new InputFileError(`adjustment factor table ${rel} line ${bad[0]!.line}: ${bad[0]!.why}; fix the row (date, symbol, factor)`, { file: rel, line: Number(bad[0]!.line) });
  const dup = await queryRows<{ line: bigint; symbol: string }>(con, `SELECT max(line) AS line, symbol FROM _adj GROUP BY symbol, date HAVING count(*) > 1 ORDER BY 1 LIMIT 1`);
  if (dup.length) throw new InputFileError(`adjustment factor table ${rel} line ${dup[0]!.line}: a second factor for the same symbol and date; combine them into one (multiply)`, { file: rel, line: Number(dup[0]!.line) });
  const n = (await queryRows<{ rows: number; symbols: number }>(con, `SELECT count(*)::INTEGER AS rows, count(DISTINCT symbol)::INTEGER AS symbols FROM _adj`))[0]!;
  const out = await pending.parquet(con, `SELECT symbol, date, factor, line FROM _adj ORDER BY symbol, date`, 'adjustments.parquet');
  await con.run(`DROP TABLE _adj; DROP TABLE _adj_raw`);
  return { path: out, file: rel, sha256: r.file.sha256, rows: n.rows, symbols: n.symbols };
}

/**
 * SQL selecting the adjusted canonical panel (date, symbol, open, high, low, close, volume) from
 * `source` (a table or read_parquet(...) with an `adj_close` column when `hasAdjClose`), applying
 * the factor table at `factorsPath` when given. Returns undefined when nothing is to adjust (the
 * caller then reads `source` unchanged, bit for bit).
 */
export function adjustedPanelSql(source: string, hasAdjClose: boolean, factorsPath?: string): string | undefined {
  if (!hasAdjClose && !factorsPath) return undefined;
  const r = hasAdjClose ? `CASE WHEN adj_close IS NOT NULL AND close > 0 THEN adj_close / close ELSE 1 END` : '1';
  const base = `SELECT date, symbol, open * ${r} AS open, high * ${r} AS high, low * ${r} AS low, ${hasAdjClose ? 'coalesce(adj_close, close)' : 'close'} AS close, volume FROM ${source}`;
  if (!factorsPath) return base;
  return `WITH b AS (${base}),
      fs AS (SELECT symbol, date, product(factor) OVER (PARTITION BY symbol ORDER BY date DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS k
             FROM read_parquet(${sqlString(factorsPath)}))
    SELECT b.date, b.symbol, b.open / coalesce(fs.k, 1) AS open, b.high / coalesce(fs.k, 1) AS high, b.low / coalesce(fs.k, 1) AS low,
           b.close / coalesce(fs.k, 1) AS close, b.volume * coalesce(fs.k, 1) AS volume
    FROM b ASOF LEFT JOIN fs ON b.symbol = fs.symbol AND b.date < fs.date`;
}
