import bindings from '@duckdb/node-bindings';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DOUBLE, DuckDBDataChunk } from '../lib/duckdb_api.ts';
import { resultChunks } from '../lib/duckdb.ts';

/**
 * Bulk transfer of numeric columns between DuckDB and typed arrays, a vector (≤ 2048 rows) at a time.
 *
 * @duckdb/node-api's per-value accessors (`getItem`/`setItem`) do BigInt bit arithmetic on the validity
 * mask for every value once a vector holds a NULL: moving 13 feature columns of the 619k-row S&P panel
 * cost ~0.7 s CPU each way. Here a vector's data buffer is copied whole (`vector_get_data` /
 * `copy_data_to_vector` of @duckdb/node-bindings, the package node-api is built on, same pinned version),
 * and missing values travel in-band as NaN: reads map NULL to NaN, writes store NaN, and the SQL that
 * consumes the written table turns NaN back into NULL (`nanToNull`).
 */

/** A column type `readColumns` understands: DOUBLE → Float64Array, INTEGER → Int32Array. */
export type NumericColumnType = 'DOUBLE' | 'INTEGER';

/**
 * Runs `sql` and returns its columns as typed arrays of length `rows` (the query must return exactly
 * `rows` rows; `types[c]` must match the SQL type of column c). NULL DOUBLEs become NaN; a NULL INTEGER
 * is an error. Throws Error on a row-count or type mismatch.
 */
export async function readColumns(con: DuckDBConnection, sql: string, types: NumericColumnType[], rows: number): Promise<(Float64Array | Int32Array)[]> {
  const out = types.map((t) => (t === 'DOUBLE' ? new Float64Array(rows) : new Int32Array(rows)));
  const res = await con.stream(sql);
  if (res.columnCount !== types.length) throw new Error(`readColumns: query returns ${res.columnCount} columns, expected ${types.length}`);
  for (let c = 0; c < types.length; c++) {
    const t = res.columnType(c).toString();
    if (t !== types[c]) throw new Error(`readColumns: column ${res.columnName(c)} is ${t}, expected ${types[c]}`);
  }
  let off = 0;
  for await (const ch of resultChunks(res)) {
    const rc = ch.rowCount;
    if (off + rc > rows) throw new Error(`readColumns: query returned more than ${rows} rows`);
    for (let c = 0; c < types.length; c++) {
      const vec = bindings.data_chunk_get_vector(ch.chunk, c);
      const width = types[c] === 'DOUBLE' ? 8 : 4;
      const bytes = bindings.vector_get_data(vec, rc * width);
      // Copy through a byte view: the source buffer need not be aligned for a typed-array view.
      const dst = out[c]!;
      new Uint8Array(dst.buffer, dst.byteOffset + off * width, rc * width).set(bytes);
      const validity = bindings.vector_get_validity(vec, Math.ceil(rc / 64) * 8);
      if (validity) {
        for (let i = 0; i < rc; i++) {
          if ((validity[i >> 3]! & (1 << (i & 7))) === 0) {
            if (types[c] === 'INTEGER') throw new Error(`readColumns: NULL in INTEGER column ${res.columnName(c)}`);
            dst[off + i] = NaN;
          }
        }
      }
    }
    off += rc;
  }
  if (off !== rows) throw new Error(`readColumns: query returned ${off} rows, expected ${rows}`);
  return out;
}

/**
 * Creates (or replaces) the temp table `table` with one DOUBLE column per name and appends `arrays`
 * (all of the same length) in row order. NaN is stored as NaN (see `nanToNull`).
 */
export async function writeDoubleTable(con: DuckDBConnection, table: string, names: string[], arrays: Float64Array[]): Promise<void> {
  const n = arrays[0]?.length ?? 0;
  if (arrays.some((a) => a.length !== n)) throw new Error('writeDoubleTable: columns differ in length');
  await con.run(`CREATE OR REPLACE TEMP TABLE ${table} (${names.map((c) => `"${c}" DOUBLE`).join(', ')})`);
  const app = await con.createAppender(table);
  const types = arrays.map(() => DOUBLE);
  const CH = 2048;
  // one chunk reset per block (lib/append.ts): a chunk's native vectors live until V8 collects it
  const chunk = DuckDBDataChunk.create(types, Math.min(CH, n));
  for (let lo = 0; lo < n; lo += CH) {
    const rc = Math.min(CH, n - lo);
    chunk.reset();
    chunk.rowCount = rc;
    for (let c = 0; c < arrays.length; c++) {
      const a = arrays[c]!;
      bindings.copy_data_to_vector(bindings.data_chunk_get_vector(chunk.chunk, c), 0, a.buffer as ArrayBuffer, a.byteOffset + lo * 8, rc * 8);
    }
    app.appendDataChunk(chunk);
  }
  app.closeSync();
}

/** SQL expression: the DOUBLE column `col` with NaN turned into NULL. */
export function nanToNull(col: string): string {
  return `CASE WHEN isnan(${col}) THEN NULL ELSE ${col} END`;
}

