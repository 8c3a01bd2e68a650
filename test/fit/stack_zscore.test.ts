/**
 * The stack's inputs (cv/stack.ts loadStackBlock): per-(path, date) z-scores of each sleeve's OOF
 * score and the per-date demeaned target are computed in row order in JS, so they do not depend on
 * the order of the sleeves' files, DuckDB's threads or spilling (they were DuckDB window aggregates,
 * whose sums followed the order rows arrived in).
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { crossSectionalZ, demeanByDate, loadStackBlock, type StackBlock } from '../../cv/stack.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { tempDir } from '../support/context.ts';

describe('crossSectionalZ / demeanByDate', () => {
  it('z-scores each date block with the sample sd; a single row or a constant block gives 0', () => {
    const x = Float64Array.from([1, 2, 3, 5, 7, 7, 7, 9]);
    const date = Int32Array.from([1, 1, 1, 2, 3, 3, 3, 4]);
    crossSectionalZ(x, date);
    expect([...x]).toEqual([-1, 0, 1, 0, 0, 0, 0, 0]);
    const y = Float64Array.from([2, 6, 8, 1, 4]);
    const d = Int32Array.from([1, 1, 2, 2, 2]);
    const z = Float64Array.from(y);
    crossSectionalZ(z, d);
    const sd = Math.sqrt(((8 - 13 / 3) ** 2 + (1 - 13 / 3) ** 2 + (4 - 13 / 3) ** 2) / 2);
    expect(z[2]).toBeCloseTo((8 - 13 / 3) / sd, 15);
    expect([...demeanByDate(y, d)]).toEqual([-2, 2, 8 - 13 / 3, 1 - 13 / 3, 4 - 13 / 3]);
  });

  it('propagates NaN to its date only', () => {
    const x = Float64Array.from([1, NaN, 3, 4, 6]);
    crossSectionalZ(x, Int32Array.from([1, 1, 1, 2, 2]));
    expect(x.slice(0, 3).every(Number.isNaN)).toBe(true);
    expect(x[3]).toBeCloseTo(-Math.SQRT1_2, 15);
    expect(x[4]).toBeCloseTo(Math.SQRT1_2, 15);
  });
});

describe('loadStackBlock', () => {
  const dir = tempDir('stack-z-');
  /** Writes two sleeves (3 paths × 40 dates × 30 symbols, a few rows missing) in the given row order. */
  const writeSleeves = (order: string, tag: string) =>
    withDuckDB(async (con) => {
      for (const s of [0, 1]) {
        await con.run(`COPY (
          SELECT p AS path, DATE '2020-01-01' + d::INTEGER AS date, 'S' || lpad(k::VARCHAR, 2, '0') AS symbol,
                 sin(p * 7.1 + d * 1.3 + k * 0.37 + ${s}) * 0.01 + k * 1e-4 AS score,
                 cos(d * 0.7 + k * 0.11) * 0.02 AS ret, DATE '2020-01-01' + d::INTEGER + 5 AS t1
          FROM range(1, 4) a(p), range(40) b(d), range(30) c(k)
          WHERE NOT (${s} = 1 AND k = 3 AND d = 10) ORDER BY ${order}
        ) TO ${sqlString(path.join(dir, `${tag}_${s}.parquet`))} (FORMAT parquet, ROW_GROUP_SIZE 500)`);
      }
    });
  const sleeves = (tag: string) => [0, 1].map((s) => ({ name: `s${s}`, task: 'regression', oof: path.join(dir, `${tag}_${s}.parquet`), walkForward: path.join(dir, `${tag}_${s}.parquet`) }));
  const load = (tag: string, threads: number) =>
    withDuckDB(async (con) => {
      await con.run(`SET threads = ${threads}`);
      return loadStackBlock(con, 'b', sleeves(tag), 'oof', 0, [1, 2, 3]);
    });
  const bits = (b: StackBlock) => [b.y, ...b.z.flat()].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex'));

  beforeAll(async () => {
    await writeSleeves('path, date, symbol', 'sorted');
    await writeSleeves('hash(p * 1000003 + d * 101 + k)', 'shuffled');
  });

  it('gives the same bits whatever the files’ row order and DuckDB’s threads, and agrees with the SQL z-score', async () => {
    const a = await load('sorted', 1);
    const b = await load('shuffled', 2);
    expect(a.n).toBe(40 * 30 - 1);
    expect(bits(b)).toEqual(bits(a));
    const ref = await withDuckDB((con) =>
      queryRows<{ path: number; date: string; symbol: string; z: number }>(con, `
        WITH s AS (SELECT * FROM read_parquet(${sqlString(sleeves('sorted')[0]!.oof)}) WHERE NOT (symbol = 'S03' AND date = DATE '2020-01-11'))
        SELECT path, strftime(date, '%Y-%m-%d') AS date, symbol, (score - avg(score) OVER w) / stddev_samp(score) OVER w AS z
        FROM s WINDOW w AS (PARTITION BY path, date) ORDER BY path, date, symbol`),
    );
    expect(ref.length).toBe(3 * a.n);
    let maxDiff = 0;
    ref.forEach((r, k) => (maxDiff = Math.max(maxDiff, Math.abs(r.z - a.z[Math.floor(k / a.n)]![0]![k % a.n]!))));
    expect(maxDiff).toBeLessThan(1e-12);
  });

  it('keeps only the (date, symbol) rows a sleeve scores on every path: one missing on a single path drops the row for all', async () => {
    await withDuckDB(async (con) => {
      await con.run(`COPY (SELECT * FROM read_parquet(${sqlString(sleeves('sorted')[0]!.oof)}) WHERE NOT (path = 2 AND symbol = 'S07' AND date = DATE '2020-01-21'))
        TO ${sqlString(path.join(dir, 'gap_0.parquet'))} (FORMAT parquet)`);
      await con.run(`COPY (SELECT * FROM read_parquet(${sqlString(sleeves('sorted')[1]!.oof)})) TO ${sqlString(path.join(dir, 'gap_1.parquet'))} (FORMAT parquet)`);
    });
    const b = await load('gap', 2);
    expect(b.n).toBe(40 * 30 - 2);
    // a path list beyond the bit mask's range (path ids above 62) takes the distinct count: the same rows
    const wide = await withDuckDB(async (con) => {
      await con.run(`COPY (SELECT path * 30 AS path, * EXCLUDE (path) FROM read_parquet(${sqlString(path.join(dir, 'gap_0.parquet'))})) TO ${sqlString(path.join(dir, 'wide_0.parquet'))} (FORMAT parquet)`);
      await con.run(`COPY (SELECT path * 30 AS path, * EXCLUDE (path) FROM read_parquet(${sqlString(path.join(dir, 'gap_1.parquet'))})) TO ${sqlString(path.join(dir, 'wide_1.parquet'))} (FORMAT parquet)`);
      return loadStackBlock(con, 'b', sleeves('wide'), 'oof', 0, [30, 60, 90]);
    });
    expect(wide.n).toBe(b.n);
    expect(bits(wide)).toEqual(bits(b));
  });

  it('refuses a sleeve that scores a (path, date, symbol) twice, naming the sleeve', async () => {
    await withDuckDB(async (con) => {
      await con.run(`COPY (SELECT * FROM read_parquet(${sqlString(sleeves('sorted')[0]!.oof)}) UNION ALL
        SELECT 1 AS path, DATE '2020-01-01' AS date, 'S00' AS symbol, 0.5 AS score, 0.0 AS ret, DATE '2020-01-06' AS t1 UNION ALL
        SELECT 2, DATE '2020-01-01', 'S00', 0.5, 0.0, DATE '2020-01-06') TO ${sqlString(path.join(dir, 'dup_0.parquet'))} (FORMAT parquet)`);
      await con.run(`COPY (SELECT * FROM read_parquet(${sqlString(sleeves('sorted')[1]!.oof)})) TO ${sqlString(path.join(dir, 'dup_1.parquet'))} (FORMAT parquet)`);
    });
    await expect(load('dup', 2)).rejects.toThrow(/sleeve s0 scores path \d of row 0 twice/);
  });
});
