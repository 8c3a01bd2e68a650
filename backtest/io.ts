import type { DuckDBConnection } from '@duckdb/node-api';
import { ParquetRowStream, wholePart } from '../lib/parquet_stream.ts';
import { forEachMaterializedInTurn, forEachMaterializedNumericChunk, sqlString, queryRows } from '../lib/duckdb.ts';
import { InputError } from '../lib/errors.ts';
import type { PricePanel } from './panel.ts';

/** Checks that a Parquet file has the named columns; InputError (the contract is broken) naming the missing ones. */
export async function requireColumns(con: DuckDBConnection, file: string, what: string, cols: string[]): Promise<string[]> {
  const rows = await queryRows<{ column_name: string }>(con, `SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(${sqlString(file)}))`);
  const have = rows.map((r) => r.column_name);
  const missing = cols.filter((c) => !have.includes(c));
  if (missing.length) throw new InputError({ message: `${what} lacks column(s) ${missing.join(', ')} (has ${have.join(', ')}); see docs/contracts.md` });
  return have;
}

/**
 * Loads canonical daily OHLCV (docs/contracts.md) into a dense panel; registers DuckDB tables
 * `_dates(di, date)` and `_symbols(si, symbol)` on `con` for later joins.
 */
export async function loadPanel(con: DuckDBConnection, file: string, symbols?: readonly string[]): Promise<PricePanel> {
  await requireColumns(con, file, `curated OHLCV ${file}`, ['date', 'symbol', 'open', 'close', 'volume']);
  const symFilter = symbols ? `WHERE symbol IN (${symbols.map(sqlString).join(', ')})` : '';
  await con.run(`CREATE OR REPLACE TEMP TABLE _px AS SELECT CAST(date AS DATE) AS date, symbol, CAST(open AS DOUBLE) AS open, CAST(close AS DOUBLE) AS close, CAST(volume AS DOUBLE) AS volume FROM read_parquet(${sqlString(file)}) ${symFilter}`);
  await con.run(`CREATE OR REPLACE TEMP TABLE _dates AS SELECT CAST(row_number() OVER (ORDER BY date) - 1 AS INTEGER) AS di, date FROM (SELECT DISTINCT date FROM _px)`);
  await con.run(`CREATE OR REPLACE TEMP TABLE _symbols AS SELECT CAST(row_number() OVER (ORDER BY symbol) - 1 AS INTEGER) AS si, symbol FROM (SELECT DISTINCT symbol FROM _px)`);
  const dates = (await queryRows<{ d: string }>(con, `SELECT strftime(date, '%Y-%m-%d') AS d FROM _dates ORDER BY di`)).map((r) => r.d);
  const syms = (await queryRows<{ symbol: string }>(con, `SELECT symbol FROM _symbols ORDER BY si`)).map((r) => r.symbol);
  const T = dates.length;
  const N = syms.length;
  if (T < 2 || N < 1) throw new InputError({ message: `curated OHLCV ${file} has ${T} dates and ${N} symbols; need at least 2 dates` });
  const open = new Float64Array(T * N).fill(NaN);
  const close = new Float64Array(T * N).fill(NaN);
  const volume = new Float64Array(T * N).fill(NaN);
  await forEachMaterializedNumericChunk(con, `SELECT d.di, s.si, p.open, p.close, p.volume FROM _px p JOIN _dates d USING (date) JOIN _symbols s USING (symbol)`, ['int', 'int', 'double', 'double', 'double'], (c, n) => {
    const [dc, sc, oc, cc, vc] = c as [Int32Array, Int32Array, Float64Array, Float64Array, Float64Array];
    for (let j = 0; j < n; j++) {
      const k = dc[j]! * N + sc[j]!;
      open[k] = oc[j]!;
      close[k] = cc[j]!;
      volume[k] = vc[j]!;
    }
  });
  return { dates, symbols: syms, T, N, open, close, volume };
}

/**
 * Loads per-path dense score matrices (T×N, NaN = no prediction) from an OOF Parquet with columns
 * `path, date, symbol, <scoreCol>`; needs the `_dates`/`_symbols` tables of {@link loadPanel}.
 * Rows whose date or symbol is not in the price panel are dropped and counted. Errors and `where`
 * as {@link forEachPathScores}, which reads the paths (this keeps a copy of each).
 */
export async function loadScores(con: DuckDBConnection, file: string, scoreCol: string, panel: PricePanel, what: string, where = 'true'): Promise<{ paths: Map<number, Float64Array>; dropped: number }> {
  const paths = new Map<number, Float64Array>();
  const { dropped } = await forEachPathScores(con, file, scoreCol, panel, what, (p, m) => void paths.set(p, m.slice()), where);
  return { paths, dropped };
}

/**
 * Reads an OOF-shaped Parquet (`path, date, symbol, <scoreCol>`) one path at a time, in path order,
 * into one dense T×N matrix (NaN = no row) reused for every path, and calls `onPath(path, matrix)`
 * for each path with a row on the panel; the matrix is only valid during the call (a caller that
 * keeps it copies it). Needs the `_dates`/`_symbols` tables of {@link loadPanel}. Returns how many
 * rows were dropped because their date or symbol is not in the panel.
 * Throws InputError when two rows fall on one (path, date, symbol) cell, found while the cells are
 * filled and before that path reaches `onPath` (no separate GROUP BY over the file), and when a row
 * has no path. `where` (a predicate over the file's rows as `o`, e.g. one trial's) limits the rows
 * read and counted. Each path is one materialized query (lib/duckdb.ts forEachMaterializedInTurn:
 * no round trip per chunk, 0.3 s instead of 0.7 s for 7 paths × 609k rows; the next path's query
 * runs while `onPath` works on this one), and one matrix however many paths (a gate trades
 * 8 trials × 7 paths through it).
 */
export async function forEachPathScores(
  con: DuckDBConnection,
  file: string,
  scoreCol: string,
  panel: PricePanel,
  what: string,
  onPath: (path: number, scores: Float64Array) => void | Promise<void>,
  where = 'true',
): Promise<{ dropped: number }> {
  await requireColumns(con, file, what, ['path', 'date', 'symbol', scoreCol]);
  const { T, N } = panel;
  const src = `read_parquet(${sqlString(file)}) o`;
  const [total] = await queryRows<{ n: bigint; nulls: bigint; ids: number[] | null }>(
    con,
    `SELECT count(*) AS n, count(*) FILTER (WHERE o.path IS NULL) AS nulls, list(DISTINCT CAST(o.path AS INTEGER) ORDER BY CAST(o.path AS INTEGER)) AS ids FROM ${src} WHERE ${where}`,
  );
  if (total!.nulls > 0n) throw new InputError({ message: `${what}: ${total!.nulls} rows have no path (NULL); the contract requires every row's path (0 = walk-forward, 1..φ = CPCV paths)` });
  const ids = total!.ids ?? [];
  const m = new Float64Array(T * N).fill(NaN);
  const seen = new Uint8Array(T * N);
  let kept = 0;
  let rows = 0;
  let duplicated = 0;
  let example: string | undefined;
  // One materialized query per path (a path's rows, ≈ 20 bytes each, bounded by the dense matrix
  // it fills): read without a round trip per chunk, and the next path's query runs in DuckDB while
  // this one's matrix is filled and handed to onPath.
  const queries = ids.map(
    (p) => `SELECT d.di, s.si, CAST(o."${scoreCol}" AS DOUBLE) FROM ${src}
       JOIN _dates d ON d.date = CAST(o.date AS DATE) JOIN _symbols s ON s.symbol = o.symbol
       WHERE ${where} AND o.path = ${p}`,
  );
  await forEachMaterializedInTurn(
    con,
    queries,
    ['int', 'int', 'double'],
    (q, c, n) => {
      const [dc, sc, vc] = c as [Int32Array, Int32Array, Float64Array];
      for (let j = 0; j < n; j++) {
        const di = dc[j]!;
        const si = sc[j]!;
        const k = di * N + si;
        if (seen[k]) {
          duplicated++;
          example ??= `path ${ids[q]}, ${panel.dates[di]}, ${panel.symbols[si]}`;
        }
        seen[k] = 1;
        m[k] = vc[j]!;
      }
      rows += n;
    },
    async (q) => {
      if (duplicated > 0) throw new InputError({ message: `${what}: ${duplicated} duplicated (path, date, symbol) rows (e.g. ${example}); the contract requires them unique` });
      kept += rows;
      if (rows === 0) return;
      rows = 0;
      await onPath(ids[q]!, m);
      m.fill(NaN);
      seen.fill(0);
    },
  );
  return { dropped: Number(total!.n) - kept };
}

/**
 * Writes sparse per-path weights (non-zero cells only) as the Portfolio contract Parquet
 * `path INTEGER, date DATE, symbol VARCHAR, weight DOUBLE`, ordered by path, date, symbol.
 * The rows are bounded by the dense matrices already in memory (20 bytes a row in DuckDB against 8
 * a cell in JS), so they are staged whole and encoded once: no part files.
 */
export async function writeWeightsParquet(con: DuckDBConnection, out: string, weights: Map<number, Float64Array>, panel: PricePanel): Promise<number> {
  // Cells come in (path, date index, symbol index) order, which is (path, date, symbol): streamed,
  // no join and no sort (lib/parquet_stream.ts), names looked up from the loaded _dates/_symbols.
  let rows = 0;
  for (const W of weights.values()) for (let k = 0; k < W.length; k++) if (W[k] !== 0 && W[k] === W[k]) rows++;
  await con.run(`SET VARIABLE weight_dates = (SELECT list(date ORDER BY di) FROM _dates)`);
  await con.run(`SET VARIABLE weight_symbols = (SELECT list(symbol ORDER BY si) FROM _symbols)`);
  const stream = new ParquetRowStream(con, out, [{ name: 'path', type: 'INTEGER' }, { name: 'di', type: 'INTEGER' }, { name: 'si', type: 'INTEGER' }, { name: 'weight', type: 'DOUBLE' }],
    `path, getvariable('weight_dates')[di + 1] AS date, getvariable('weight_symbols')[si + 1] AS symbol, weight`, wholePart(rows));
  const B = 1 << 16;
  const block = [new Int32Array(B), new Int32Array(B), new Int32Array(B), new Float64Array(B)] as const;
  let m = 0;
  for (const [p, W] of [...weights.entries()].sort((a, b) => a[0] - b[0])) {
    for (let k = 0; k < W.length; k++) {
      const w = W[k]!;
      if (w === 0 || w !== w) continue;
      block[0][m] = p;
      block[1][m] = Math.floor(k / panel.N);
      block[2][m] = k % panel.N;
      block[3][m++] = w;
      if (m === B) {
        await stream.write([...block], m);
        m = 0;
      }
    }
  }
  await stream.write([...block], m);
  return stream.close();
}
