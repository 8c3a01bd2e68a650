import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { loadPanel, loadScores } from '../../backtest/io.ts';
import type { PricePanel } from '../../backtest/panel.ts';
import { sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { InputError } from '../../lib/errors.ts';
import { tempDir } from '../support/context.ts';

const PANEL = `SELECT DATE '2020-01-01' + INTERVAL (d) DAY AS date, s AS symbol, 10.0 + d AS open, 10.5 + d AS close, 1e6 AS volume
  FROM range(4) r(d), (VALUES ('AAA'), ('BBB')) v(s)`;

/** Runs `fn` on the 4-day × 2-symbol price panel and an OOF file of `rows` (path, date, symbol, score VALUES tuples). */
async function withScores<T>(rows: string, fn: (con: DuckDBConnection, panel: PricePanel, oof: string) => Promise<T>): Promise<T> {
  const dir = tempDir('bt-io-');
  const px = path.join(dir, 'px.parquet');
  const oof = path.join(dir, 'oof.parquet');
  return withDuckDB(async (con) => {
    await con.run(`COPY (${PANEL}) TO ${sqlString(px)} (FORMAT parquet)`);
    await con.run(`COPY (SELECT * FROM (VALUES ${rows}) t(path, date, symbol, score)) TO ${sqlString(oof)} (FORMAT parquet)`);
    return fn(con, await loadPanel(con, px), oof);
  });
}

describe('loadScores', () => {
  it('fills dense per-path matrices, drops and counts rows off the panel', async () => {
    const rows = `(1, DATE '2020-01-02', 'AAA', 0.5), (1, DATE '2020-01-03', 'BBB', -0.25), (2, DATE '2020-01-02', 'AAA', 0.75),
      (1, DATE '2020-01-02', 'ZZZ', 9.0), (1, DATE '2021-01-01', 'AAA', 9.0)`;
    await withScores(rows, async (con, panel, oof) => {
      const { paths, dropped } = await loadScores(con, oof, 'score', panel, 'test scores');
      expect(dropped).toBe(2);
      expect([...paths.keys()].sort()).toEqual([1, 2]);
      const m1 = paths.get(1)!;
      expect(m1[1 * panel.N + 0]).toBe(0.5);
      expect(m1[2 * panel.N + 1]).toBe(-0.25);
      expect(m1.filter((x) => x === x).length).toBe(2);
      expect(paths.get(2)![1 * panel.N + 0]).toBe(0.75);
    });
  });

  it('refuses two rows on one (path, date, symbol), naming one of them', async () => {
    const rows = `(1, DATE '2020-01-02', 'AAA', 0.5), (1, DATE '2020-01-02', 'AAA', 0.6), (2, DATE '2020-01-02', 'AAA', 0.6)`;
    await withScores(rows, async (con, panel, oof) => {
      const err = await loadScores(con, oof, 'score', panel, 'signals.oof oof of step fit').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(/signals\.oof oof of step fit: 1 duplicated \(path, date, symbol\) rows \(e\.g\. path 1, 2020-01-02, AAA\)/);
    });
  });

  it('refuses rows without a path, counting them', async () => {
    const rows = `(1, DATE '2020-01-02', 'AAA', 0.5), (NULL, DATE '2020-01-03', 'AAA', 0.6), (NULL, DATE '2020-01-03', 'BBB', 0.7)`;
    await withScores(rows, async (con, panel, oof) => {
      const err = await loadScores(con, oof, 'score', panel, 'portfolio.weights of step book').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(/portfolio\.weights of step book: 2 rows have no path \(NULL\)/);
    });
  });

  it('reads paths in any row order, each whole (the walk-forward path 0 beside CPCV paths)', async () => {
    const rows = `(3, DATE '2020-01-04', 'BBB', 3.5), (0, DATE '2020-01-01', 'AAA', 0.25), (3, DATE '2020-01-01', 'AAA', 3.25), (0, DATE '2020-01-04', 'BBB', 0.5)`;
    await withScores(rows, async (con, panel, oof) => {
      const { paths, dropped } = await loadScores(con, oof, 'score', panel, 'test scores');
      expect(dropped).toBe(0);
      expect([...paths.keys()]).toEqual([0, 3]);
      expect(Array.from(paths.get(0)!)).toEqual([0.25, NaN, NaN, NaN, NaN, NaN, NaN, 0.5]);
      expect(Array.from(paths.get(3)!)).toEqual([3.25, NaN, NaN, NaN, NaN, NaN, NaN, 3.5]);
    });
  });
});
