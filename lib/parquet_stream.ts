/**
 * Writes one Parquet file from numeric columns pushed in order, holding at most one part (a few
 * row groups) in DuckDB at a time: the writers of long tables (OOF signals, trial scores,
 * portfolio weights) gather their rows in the contract's order in JS and need neither a join nor a
 * sort, so memory stays flat however many paths and trials there are.
 *
 * Rows are staged into a DuckDB temp table one row group at a time. Parts are cut at a multiple of
 * DuckDB's Parquet row-group size and the final file is one COPY of their UNION ALL
 * (order-preserving: duckdb.org/docs/sql/dialect/order_preservation), so it has the row groups,
 * and the bytes, of a single write of the same rows. A stream that fits in one part writes no part
 * file: its file is one COPY from the staged table (a writer whose row count is bounded, the
 * portfolio weights, sizes its part to the whole table and so encodes each row once).
 */
import { rmSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { appendColumns } from './append.ts';
import { sqlString } from './duckdb.ts';

/** DuckDB's default Parquet ROW_GROUP_SIZE (rows). */
export const PARQUET_ROW_GROUP_ROWS = 122_880;
/** Rows per part by default: 2 row groups (≈2 MB a column in DuckDB). */
export const PART_ROWS = 2 * PARQUET_ROW_GROUP_ROWS;

/** The smallest part size (whole row groups, at least one) that holds `rows` rows: one part, no part file. */
export function wholePart(rows: number): number {
  return Math.max(1, Math.ceil(rows / PARQUET_ROW_GROUP_ROWS)) * PARQUET_ROW_GROUP_ROWS;
}

/** A staged column: INTEGER columns take integers (NaN → NULL), DOUBLE columns any number. */
export interface StreamColumn {
  name: string;
  type: 'INTEGER' | 'DOUBLE';
}

/**
 * Rows pushed with {@link ParquetRowStream.write} land, in push order, in `file` as the columns of
 * `select` (a SELECT list over the staged columns, e.g. `DATE '1970-01-01' + day AS date`).
 * `partRows` (whole row groups) is how many rows DuckDB holds before they go to a part file
 * (`<file>.part<k>`); a stream of at most `partRows` rows writes none ({@link wholePart}).
 * Call {@link ParquetRowStream.close} once; part files are removed on close and on failure.
 */
export class ParquetRowStream {
  /** JS staging buffers: one row group per column. */
  private readonly buf: Float64Array[];
  private fill = 0;
  /** Rows of the current part already in `_stream_part`. */
  private staged = 0;
  private readonly parts: string[] = [];
  private rows = 0;

  constructor(
    private readonly con: DuckDBConnection,
    private readonly file: string,
    private readonly columns: StreamColumn[],
    private readonly select: string,
    private readonly partRows = PART_ROWS,
  ) {
    if (partRows % PARQUET_ROW_GROUP_ROWS !== 0) throw new RangeError(`ParquetRowStream: partRows ${partRows} is not a multiple of ${PARQUET_ROW_GROUP_ROWS}`);
    this.buf = columns.map(() => new Float64Array(PARQUET_ROW_GROUP_ROWS));
  }

  /** Appends the first `n` rows of `values` (one array per column, in column order). */
  async write(values: ArrayLike<number>[], n = values[0]?.length ?? 0): Promise<void> {
    if (values.length !== this.columns.length) throw new RangeError(`ParquetRowStream.write: ${values.length} columns, expected ${this.columns.length}`);
    for (let off = 0; off < n; ) {
      const m = Math.min(n - off, PARQUET_ROW_GROUP_ROWS - this.fill);
      values.forEach((v, c) => {
        const dst = this.buf[c]!;
        if (ArrayBuffer.isView(v)) dst.set((v as unknown as Float64Array).subarray(off, off + m), this.fill);
        else for (let i = 0; i < m; i++) dst[this.fill + i] = v[off + i]!;
      });
      this.fill += m;
      off += m;
      if (this.fill === PARQUET_ROW_GROUP_ROWS) {
        await this.stage();
        if (this.staged === this.partRows) await this.flushPart();
      }
    }
  }

  /** Writes the file (one COPY over the parts and the rows still staged); returns its row count. */
  async close(): Promise<number> {
    try {
      if (this.fill > 0 || this.staged === 0) await this.stage();
      const sources = [...this.parts.map((p) => `SELECT * FROM read_parquet(${sqlString(p)})`), `SELECT ${this.select} FROM _stream_part`];
      const copy = `COPY (${sources.join(' UNION ALL ')}) TO ${sqlString(this.file)} (FORMAT parquet)`;
      // One thread: parallel part readers run ahead of the ordered writer, which then buffers
      // them (measured: +700 MB for 17M rows on 2 threads, +70 MB on one, 0.4 s slower).
      if (this.parts.length) await withThreads(this.con, 1, () => this.con.run(copy));
      else await this.con.run(copy);
      await this.con.run('DROP TABLE _stream_part');
      return this.rows;
    } finally {
      this.removeParts();
    }
  }

  /** Removes the part files (close does; call it when abandoning a stream). */
  removeParts(): void {
    for (const p of this.parts) rmSync(p, { force: true });
  }

  /** Moves the buffered rows into `_stream_part` (created by the first stage of a part). */
  private async stage(): Promise<void> {
    await appendColumns(this.con, '_stream_part', this.columns.map((c, i) => ({ ...c, values: this.buf[i]!.subarray(0, this.fill) })), { append: this.staged > 0 });
    this.rows += this.fill;
    this.staged += this.fill;
    this.fill = 0;
  }

  private async flushPart(): Promise<void> {
    const part = `${this.file}.part${this.parts.length}`;
    this.parts.push(part);
    try {
      await this.con.run(`COPY (SELECT ${this.select} FROM _stream_part) TO ${sqlString(part)} (FORMAT parquet)`);
      this.staged = 0;
    } catch (e) {
      this.removeParts();
      throw e;
    }
  }
}

/** Runs `fn` with DuckDB's `threads` setting at `k`, restoring the previous value after. */
async function withThreads<T>(con: DuckDBConnection, k: number, fn: () => Promise<T>): Promise<T> {
  const prev = Number((await con.runAndReadAll(`SELECT current_setting('threads')`)).getRows()[0]![0]);
  await con.run(`SET threads = ${k}`);
  try {
    return await fn();
  } finally {
    await con.run(`SET threads = ${prev}`);
  }
}
