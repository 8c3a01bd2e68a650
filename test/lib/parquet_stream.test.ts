/**
 * lib/parquet_stream.ts: rows pushed in pieces through several parts give the very bytes of one
 * COPY of the same rows from a table (same row groups), NULL for NaN, and no part file left behind.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendColumns } from '../../lib/append.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { PARQUET_ROW_GROUP_ROWS, ParquetRowStream } from '../../lib/parquet_stream.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'trademl-pqs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

describe('ParquetRowStream', () => {
  it('three parts and a tail equal one write, byte for byte', async () => {
    const n = 3 * PARQUET_ROW_GROUP_ROWS + 5_000;
    const day = Float64Array.from({ length: n }, (_, i) => 16_000 + Math.floor(i / 500));
    const x = Float64Array.from({ length: n }, (_, i) => (i % 997 === 0 ? NaN : Math.sin(i)));
    const k = Float64Array.from({ length: n }, (_, i) => i % 7);
    const select = `DATE '1970-01-01' + day AS date, k, x`;
    const cols = [{ name: 'day', type: 'INTEGER' as const }, { name: 'k', type: 'INTEGER' as const }, { name: 'x', type: 'DOUBLE' as const }];
    await withDuckDB(async (con) => {
      await appendColumns(con, 'whole', cols.map((c, i) => ({ ...c, values: [day, k, x][i]! })));
      const one = path.join(dir, 'one.parquet');
      await con.run(`COPY (SELECT ${select} FROM whole) TO ${sqlString(one)} (FORMAT parquet)`);
      const streamed = path.join(dir, 'streamed.parquet');
      const s = new ParquetRowStream(con, streamed, cols, select, PARQUET_ROW_GROUP_ROWS);
      for (let off = 0; off < n; off += 100_003) {
        const m = Math.min(100_003, n - off);
        await s.write([day.subarray(off, off + m), Array.from(k.subarray(off, off + m)), x.subarray(off, off + m)]);
      }
      expect(await s.close()).toBe(n);
      expect(sha(streamed)).toBe(sha(one));
      const [r] = await queryRows<{ n: bigint; nulls: bigint; groups: bigint }>(con, `SELECT count(*) AS n, count(*) - count(x) AS nulls,
        (SELECT count(DISTINCT row_group_id) FROM parquet_metadata(${sqlString(streamed)})) AS groups FROM read_parquet(${sqlString(streamed)})`);
      expect([Number(r!.n), Number(r!.nulls), Number(r!.groups)]).toEqual([n, Math.ceil(n / 997), 4]);
    });
    expect(readdirSync(dir).filter((f) => f.includes('.part'))).toEqual([]);
  });

  it('refuses a part size that is not whole row groups and a wrong column count', async () => {
    await withDuckDB(async (con) => {
      expect(() => new ParquetRowStream(con, path.join(dir, 'x.parquet'), [{ name: 'a', type: 'INTEGER' }], 'a', 1000)).toThrow(/multiple of 122880/);
      const s = new ParquetRowStream(con, path.join(dir, 'y.parquet'), [{ name: 'a', type: 'INTEGER' }], 'a');
      await expect(s.write([[1], [2]])).rejects.toThrow(/2 columns, expected 1/);
      await expect(s.write([[1.5]]).then(() => s.close())).rejects.toThrow(/1.5 is not a 32-bit integer/);
    });
  });
});
