import type { DuckDBConnection, DuckDBDataChunk, DuckDBResult, DuckDBVector } from '@duckdb/node-api';
import { DuckDBInstance, DuckDBMaterializedResult } from './duckdb_api.ts';
import os from 'node:os';
import path from 'node:path';
import { noteNativeBytes } from './native_memory.ts';

let instances = 0;

/**
 * Opens an in-memory (or file) DuckDB connection for compute inside a step, runs `fn`, closes it.
 * Threads default to TRADEML_DUCKDB_THREADS or 2 (the CI machine's cores). Memory: `o.memoryLimit`
 * (DuckDB's size syntax, e.g. '256MB') caps this instance; left out, TRADEML_DUCKDB_MEMORY_LIMIT
 * caps it when set, else DuckDB's own default (80% of RAM) applies; `null` never caps it. There is
 * no cap by default because not every operator can spill: an insertion-order-preserving COPY of
 * one long file ran out of memory under a 256MB cap (the bhav layout's ingest). Capped joins,
 * aggregates, sorts and windows spill to a temp directory of this instance under the OS temp
 * folder (created by DuckDB only when it spills, removed when the instance closes). `null` is for
 * a query whose figures follow the order rows reach a window or aggregate, which spilling would
 * change (the gate's OOF leakage bar).
 */
export async function withDuckDB<T>(fn: (con: DuckDBConnection) => Promise<T>, file = ':memory:', o: { memoryLimit?: string | null } = {}): Promise<T> {
  const cap = o.memoryLimit === null ? undefined : (o.memoryLimit ?? process.env.TRADEML_DUCKDB_MEMORY_LIMIT);
  const limit: Record<string, string> = cap ? { memory_limit: cap } : {};
  const db = await DuckDBInstance.create(file, {
    threads: process.env.TRADEML_DUCKDB_THREADS ?? '2',
    ...limit,
    temp_directory: path.join(os.tmpdir(), `trademl-duckdb-${process.pid}-${++instances}`),
  });
  const con = await db.connect();
  try {
    return await fn(con);
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

/** Runs a query and returns its rows as plain JS objects (DATE → Date, BIGINT → bigint). */
export async function queryRows<T = Record<string, unknown>>(con: DuckDBConnection, sql: string): Promise<T[]> {
  const r = await con.runAndReadAll(sql);
  return r.getRowObjectsJS() as T[];
}

/** SQL string literal with single quotes escaped (for paths and names; never for user SQL). */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * A result's chunks in order, until the first empty one. Chunks fetched are counted toward the
 * collection that frees their native vectors (lib/native_memory.ts): every reader of long results
 * goes through here.
 */
export async function* resultChunks(res: DuckDBResult): AsyncGenerator<DuckDBDataChunk> {
  for (let ch = await res.fetchChunk(); ch && ch.rowCount > 0; ch = await res.fetchChunk()) {
    noteNativeBytes(ch.rowCount * ch.columnCount * 8);
    yield ch;
  }
}

/** Streams a query's result chunk by chunk (never materialized): `fn(columns, rowCount)`. */
export async function forEachChunk(con: DuckDBConnection, sql: string, fn: (cols: DuckDBVector[], n: number) => void): Promise<void> {
  const res = await con.stream(sql);
  for await (const ch of resultChunks(res)) {
    const cols: DuckDBVector[] = [];
    for (let c = 0; c < ch.columnCount; c++) cols.push(ch.getColumnVector(c));
    fn(cols, ch.rowCount);
  }
}

/** A column kind of {@link forEachNumericChunk}: `int` reads into an Int32Array (NULL → 0), `double` into a Float64Array (NULL → NaN). */
export type NumericKind = 'int' | 'double';

/**
 * Streams a query's numeric columns chunk by chunk as typed arrays: `fn(cols, rowCount)`, with
 * `cols[j]` of kind `kinds[j]` (NULL → 0 / NaN), valid only during the call (the buffers are reused).
 * A DOUBLE column read as `double` and an INTEGER column read as `int` are copied whole; any other
 * pairing item by item, ≈ 5–10× slower (an INTEGER read as `double`, a DECIMAL literal such as `1.0`,
 * a BIGINT): cast in the SQL. Throws a RangeError when the query's column count differs from `kinds`.
 */
export async function forEachNumericChunk(con: DuckDBConnection, sql: string, kinds: readonly NumericKind[], fn: (cols: (Int32Array | Float64Array)[], n: number) => void): Promise<void> {
  await numericChunks(await con.stream(sql), kinds, fn);
}

/**
 * A materialized result's chunks in order, read synchronously (`getChunk`): DuckDB already holds
 * them all, so there is no round trip to its thread pool per chunk as `fetchChunk` makes (measured
 * on 4.3M rows of 4 numeric columns: ≈ 0.15 s against ≈ 0.5 s). Counted toward the collection like
 * {@link resultChunks}.
 */
function* materializedChunks(res: DuckDBMaterializedResult): Generator<DuckDBDataChunk> {
  for (let i = 0, n = res.chunkCount; i < n; i++) {
    const ch = res.getChunk(i);
    if (ch.rowCount === 0) return;
    noteNativeBytes(ch.rowCount * ch.columnCount * 8);
    yield ch;
  }
}

/**
 * {@link forEachNumericChunk} on a materialized result: DuckDB runs the query to the end on its
 * threads and holds the whole result natively (≈ rows × columns × 8 bytes until it is collected),
 * then the chunks are read without a round trip each. For results bounded by what the caller keeps
 * anyway (one path's scores, a price panel); an unbounded one streams through forEachNumericChunk.
 */
export async function forEachMaterializedNumericChunk(con: DuckDBConnection, sql: string, kinds: readonly NumericKind[], fn: (cols: (Int32Array | Float64Array)[], n: number) => void): Promise<void> {
  await numericChunks(await con.run(sql), kinds, fn);
}

/**
 * {@link forEachMaterializedNumericChunk} over several bounded queries in turn: `fn(k, cols, n)`
 * gets query k's chunks, then `after(k)` runs, while DuckDB already runs query k+1 on its threads
 * (started once result k is in). What JS does with one result (filling a matrix, trading a path)
 * thus hides the next query's time; at most two results are held natively at once. On a throw the
 * query in flight is awaited before the error propagates, so the connection is idle again.
 */
export async function forEachMaterializedInTurn(
  con: DuckDBConnection,
  sqls: readonly string[],
  kinds: readonly NumericKind[],
  fn: (k: number, cols: (Int32Array | Float64Array)[], n: number) => void,
  after: (k: number) => void | Promise<void> = () => undefined,
): Promise<void> {
  let next: Promise<DuckDBResult> | undefined = sqls.length ? con.run(sqls[0]!) : undefined;
  try {
    for (let k = 0; k < sqls.length; k++) {
      const res = await next!;
      next = k + 1 < sqls.length ? con.run(sqls[k + 1]!) : undefined;
      await numericChunks(res, kinds, (c, n) => fn(k, c, n));
      await after(k);
    }
  } catch (e) {
    await next?.catch(() => undefined);
    throw e;
  }
}

/** {@link forEachNumericChunk} over a result already run (streaming, or materialized: read without a round trip per chunk). */
async function numericChunks(res: DuckDBResult, kinds: readonly NumericKind[], fn: (cols: (Int32Array | Float64Array)[], n: number) => void): Promise<void> {
  let cap = 0;
  let bufs: (Int32Array | Float64Array)[] = [];
  const chunks = res instanceof DuckDBMaterializedResult ? materializedChunks(res) : resultChunks(res);
  for await (const ch of chunks) {
    const m = ch.rowCount;
    if (ch.columnCount !== kinds.length) throw new RangeError(`forEachNumericChunk: the query gives ${ch.columnCount} columns, kinds name ${kinds.length}`);
    if (m > cap) {
      cap = m;
      bufs = kinds.map((k) => (k === 'int' ? new Int32Array(cap) : new Float64Array(cap)));
    }
    const cols = kinds.map((kind, j) => {
      const v = ch.getColumnVector(j);
      const out = bufs[j]!.subarray(0, m), nul = kind === 'int' ? 0 : NaN;
      if (!copyItems(v, out, 0, m, nul)) {
        for (let i = 0; i < m; i++) {
          const x = v.getItem(i) as number | null;
          out[i] = x === null ? nul : x;
        }
      }
      return out;
    });
    fn(cols, m);
  }
}

/**
 * A query's numeric columns read chunk by chunk into typed arrays ({@link forEachNumericChunk}),
 * never as JS row objects. `kinds` gives each selected column's kind. The arrays are sized once from
 * the (materialized) result's row count.
 */
export async function readNumericColumns(con: DuckDBConnection, sql: string, kinds: readonly NumericKind[]): Promise<{ n: number; cols: (Int32Array | Float64Array)[] }> {
  const res = await con.run(sql);
  const n = res.rowCount;
  const cols = kinds.map((k) => (k === 'int' ? new Int32Array(n) : new Float64Array(n)));
  let off = 0;
  await numericChunks(res, kinds, (vs, m) => {
    if (off + m > n) throw new RangeError(`readNumericColumns: the result holds more than its ${n} rows`);
    vs.forEach((v, j) => cols[j]!.set(v, off));
    off += m;
  });
  if (off !== n) throw new RangeError(`readNumericColumns: read ${off} of the result's ${n} rows`);
  return { n, cols };
}

/**
 * {@link readNumericColumns} for a long result: streamed chunk by chunk (DuckDB never holds the
 * whole result: on 4.8M rows of 4 columns the peak RSS is ≈ 150 MB lower), into typed arrays of
 * `capacity` rows (an upper bound of the row count the caller knows, e.g. the source table's).
 * Returns views of the first n rows. Throws a RangeError when the result has more than `capacity`.
 */
export async function streamNumericColumns(con: DuckDBConnection, sql: string, kinds: readonly NumericKind[], capacity: number): Promise<{ n: number; cols: (Int32Array | Float64Array)[] }> {
  const cols = kinds.map((k) => (k === 'int' ? new Int32Array(capacity) : new Float64Array(capacity)));
  let n = 0;
  await forEachNumericChunk(con, sql, kinds, (vs, m) => {
    if (n + m > capacity) throw new RangeError(`streamNumericColumns: the result holds more than the ${capacity} rows given as its capacity`);
    vs.forEach((v, j) => cols[j]!.set(v, n));
    n += m;
  });
  return { n, cols: cols.map((c) => c.subarray(0, n)) };
}

const ALL_VALID = (1n << 64n) - 1n;

/**
 * Bulk copy of a DOUBLE / INTEGER vector's items into `out` at `at` (the vector's own typed array,
 * when it is of `out`'s type), NULLs then set to `nul` from the validity words (a word of 64 valid
 * rows is skipped whole). False when the vector is of another type: the caller reads item by item.
 */
function copyItems(v: DuckDBVector, out: Int32Array | Float64Array, at: number, m: number, nul: number): boolean {
  const { items, validity } = v as unknown as { items?: unknown; validity?: { data: BigUint64Array | null } };
  if (!(items instanceof out.constructor) || (items as Int32Array | Float64Array).length !== m || !validity) return false;
  out.set(items as Int32Array | Float64Array, at);
  const words = validity.data;
  if (words) {
    for (let w = 0; w * 64 < m; w++) {
      const word = words[w]!;
      if (word === ALL_VALID) continue;
      for (let b = 0; b < 64 && w * 64 + b < m; b++) if (!((word >> BigInt(b)) & 1n)) out[at + w * 64 + b] = nul;
    }
  }
  return true;
}
