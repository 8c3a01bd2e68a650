/**
 * Bulk-loading typed columns into a DuckDB temp table: 2,048-row data chunks through an appender, no
 * per-row SQL. The one appender of the tree (OOF and trial-score writers, backtest I/O, options
 * tables).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBDataChunk, DOUBLE, INTEGER, VARCHAR } from './duckdb_api.ts';
import duckdb from '@duckdb/node-bindings';

const q = (id: string): string => `"${id.replace(/"/g, '""')}"`;

/** One column: numeric values (typed arrays welcome) or strings (null allowed). */
export interface ColumnData {
  name: string;
  type: 'INTEGER' | 'DOUBLE' | 'VARCHAR';
  values: ArrayLike<number> | readonly (string | null)[];
}

/**
 * Creates (or replaces) temp table `table` and appends equally long `columns`, row order kept;
 * with `append`, appends to the existing table instead (same columns, in order).
 * Numbers are set straight into each chunk's vectors; a NaN becomes NULL (SQL has no missing
 * number but NULL). Throws a RangeError on ragged columns and on a number that is not a 32-bit
 * integer in an INTEGER column.
 */
export async function appendColumns(con: DuckDBConnection, table: string, columns: ColumnData[], opts: { append?: boolean } = {}): Promise<void> {
  const n = columns[0]?.values.length ?? 0;
  const ragged = columns.find((c) => c.values.length !== n);
  if (ragged) throw new RangeError(`appendColumns(${table}): column ${ragged.name} has ${ragged.values.length} values, expected ${n}`);
  if (!opts.append) await con.run(`CREATE OR REPLACE TEMP TABLE ${q(table)} (${columns.map((c) => `${q(c.name)} ${c.type}`).join(', ')})`);
  const types = columns.map((c) => (c.type === 'INTEGER' ? INTEGER : c.type === 'DOUBLE' ? DOUBLE : VARCHAR));
  const app = await con.createAppender(table);
  const scratch = columns.map((c) => (c.type === 'INTEGER' ? new Int32Array(CHUNK_ROWS) : c.type === 'DOUBLE' ? new Float64Array(CHUNK_ROWS) : null));
  const validity = new Uint8Array(CHUNK_ROWS / 8);
  // One chunk, reset for every 2,048 rows: a chunk's native vectors are freed only when V8 collects
  // its wrapper, so a chunk per block left a table's worth of them alive until then.
  const chunk = DuckDBDataChunk.create(types, Math.min(CHUNK_ROWS, n));
  for (let off = 0; off < n; off += CHUNK_ROWS) {
    const m = Math.min(CHUNK_ROWS, n - off);
    chunk.reset();
    chunk.rowCount = m;
    columns.forEach((c, ci) => {
      const buf = scratch[ci];
      if (!buf) chunk.setColumnValues(ci, (c.values as readonly (string | null)[]).slice(off, off + m));
      else setNumbers(chunk, ci, c, buf, validity, off, m);
    });
    app.appendDataChunk(chunk);
  }
  app.closeSync();
}

const CHUNK_ROWS = 2048;

/**
 * Copies rows off..off+m of a numeric column into the chunk's vector in one memcpy (NULL bits for
 * NaN); an INTEGER column refuses a value that is not an int32.
 */
function setNumbers(chunk: DuckDBDataChunk, ci: number, c: ColumnData, buf: Int32Array | Float64Array, validity: Uint8Array, off: number, m: number): void {
  const src = c.values as ArrayLike<number>;
  const isInt = buf instanceof Int32Array;
  let nulls = false;
  for (let j = 0; j < m; j++) {
    const x = src[off + j]!;
    if (x !== x) {
      if (!nulls) validity.fill(0xff, 0, Math.ceil(m / 64) * 8);
      nulls = true;
      validity[j >> 3]! &= ~(1 << (j & 7));
      buf[j] = 0;
    } else {
      if (isInt && (x | 0) !== x) throw new RangeError(`appendColumns: column ${c.name} row ${off + j}: ${x} is not a 32-bit integer`);
      buf[j] = x;
    }
  }
  const vec = duckdb.data_chunk_get_vector(chunk.chunk, ci);
  duckdb.copy_data_to_vector(vec, 0, buf.buffer as ArrayBuffer, buf.byteOffset, m * buf.BYTES_PER_ELEMENT);
  if (nulls) {
    duckdb.vector_ensure_validity_writable(vec);
    duckdb.copy_data_to_vector_validity(vec, 0, validity.buffer as ArrayBuffer, 0, Math.ceil(m / 64) * 8);
  }
}
