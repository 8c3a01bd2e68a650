/**
 * lib/duckdb.ts readNumericColumns, streamNumericColumns, forEachNumericChunk (streamed), forEachMaterializedNumericChunk and forEachMaterializedInTurn, and lib/append.ts appendColumns: typed columns in and out of
 * DuckDB in row order, NULL ↔ NaN (0 for an int column read back), growth past the first buffer.
 */
import { describe, expect, it } from 'vitest';
import { appendColumns } from '../../lib/append.ts';
import { forEachMaterializedInTurn, forEachMaterializedNumericChunk, forEachNumericChunk, readNumericColumns, streamNumericColumns, withDuckDB } from '../../lib/duckdb.ts';

describe('typed columns through DuckDB', () => {
  it('round-trips 200k rows in order; NaN is NULL; an int column reads NULL as 0', async () => {
    const n = 200_000;
    const a = Int32Array.from({ length: n }, (_, i) => n - i);
    const x = Float64Array.from({ length: n }, (_, i) => (i % 10 === 3 ? NaN : i / 7));
    const k = Float64Array.from({ length: n }, (_, i) => (i % 10 === 5 ? NaN : i % 3));
    await withDuckDB(async (con) => {
      await appendColumns(con, 't', [{ name: 'a', type: 'INTEGER', values: a }, { name: 'x', type: 'DOUBLE', values: x }, { name: 'k', type: 'INTEGER', values: k }]);
      const nulls = await con.runAndReadAll('SELECT count(*) - count(x), count(*) - count(k) FROM t');
      expect(nulls.getRowsJS()[0]!.map(Number)).toEqual([n / 10, n / 10]);
      const r = await readNumericColumns(con, 'SELECT a, x, k FROM t', ['int', 'double', 'int']);
      expect(r.n).toBe(n);
      expect(r.cols[0]).toBeInstanceOf(Int32Array);
      expect(Array.from(r.cols[0]!)).toEqual(Array.from(a));
      expect(Array.from(r.cols[1]!)).toEqual(Array.from(x));
      expect(Array.from(r.cols[2]!)).toEqual(Array.from(k, (v) => (Number.isNaN(v) ? 0 : v)));
      await expect(readNumericColumns(con, 'SELECT a FROM t', ['int', 'int'])).rejects.toThrow(/gives 1 columns, kinds name 2/);
      // streamed into arrays of a given capacity: views of the rows read; more rows than that refused
      const st = await streamNumericColumns(con, 'SELECT a, x, k FROM t', ['int', 'double', 'int'], n + 5);
      expect(st.n).toBe(n);
      expect(st.cols.map((c) => c.length)).toEqual([n, n, n]);
      for (let j = 0; j < 3; j++) expect(Array.from(st.cols[j]!)).toEqual(Array.from(r.cols[j]!));
      await expect(streamNumericColumns(con, 'SELECT a FROM t', ['int'], n - 1)).rejects.toThrow(/more than the 199999 rows given as its capacity/);
      // the same rows, chunk by chunk, streamed and materialized
      for (const each of [forEachNumericChunk, forEachMaterializedNumericChunk]) {
        const seen: number[][] = [[], [], []];
        await each(con, 'SELECT a, x, k FROM t', ['int', 'double', 'int'], (cols, m) => cols.forEach((c, j) => seen[j]!.push(...c.subarray(0, m))));
        expect(seen.map((c) => c.length)).toEqual([n, n, n]);
        expect(seen[0]).toEqual(Array.from(r.cols[0]!));
        expect(seen[1]).toEqual(Array.from(r.cols[1]!));
        expect(seen[2]).toEqual(Array.from(r.cols[2]!));
      }
    });
  });

  it('forEachMaterializedInTurn: each query\'s rows to its own turn, after(k) in order; a throw waits for the query in flight', async () => {
    await withDuckDB(async (con) => {
      const sqls = [0, 1, 2].map((q) => `SELECT CAST(i AS INTEGER), CAST(i AS DOUBLE) * ${q + 0.5} FROM range(${(q + 1) * 3000}) t(i)`);
      const log: string[] = [];
      const sums = [0, 0, 0];
      await forEachMaterializedInTurn(con, sqls, ['int', 'double'], (k, cols, n) => {
        for (let j = 0; j < n; j++) sums[k]! += cols[1]![j]!;
      }, async (k) => void log.push(`after ${k}`));
      expect(log).toEqual(['after 0', 'after 1', 'after 2']);
      expect(sums).toEqual([0, 1, 2].map((q) => (q + 0.5) * (((q + 1) * 3000 * ((q + 1) * 3000 - 1)) / 2)));
      await expect(forEachMaterializedInTurn(con, sqls, ['int', 'double'], () => undefined, (k) => { if (k === 0) throw new Error('stop at 0'); })).rejects.toThrow('stop at 0');
      // the connection is idle again: the next query runs
      expect(Number((await con.runAndReadAll('SELECT 41 + 1')).getRows()[0]![0])).toBe(42);
    });
  });

  it('refuses ragged columns and a fraction in an INTEGER column', async () => {
    await withDuckDB(async (con) => {
      await expect(appendColumns(con, 'r', [{ name: 'a', type: 'INTEGER', values: [1, 2] }, { name: 'b', type: 'DOUBLE', values: [1] }])).rejects.toThrow(/column b has 1 values, expected 2/);
      await expect(appendColumns(con, 'f', [{ name: 'a', type: 'INTEGER', values: [1, 2.5] }])).rejects.toThrow(/row 1: 2.5 is not a 32-bit integer/);
    });
  });
});
