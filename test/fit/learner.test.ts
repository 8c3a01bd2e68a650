import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { ArtifactStore } from '../../artifacts/store.ts';
import { withDuckDB, queryRows, sqlString } from '../../lib/duckdb.ts';
import { RidgeLearner } from '../../models/ridge.ts';
import { openOnnxScorer } from '../../models/onnx/score.ts';
import { expandGrid, gridSize, sampleGrid } from '../../cv/search.ts';
import { cpcvOofRows, walkForwardOofRows, writeOofParquet } from '../../cv/oof.ts';
import { cpcvSplits, pathTable } from '../../cv/cpcv.ts';
import { calendarFor } from '../../calendar/calendar.ts';
import { annualizedSharpe } from '../../cv/metrics.ts';
import { tempDir } from '../support/context.ts';
import { mulberry32 } from '../support/rng.ts';

describe('RidgeLearner (the linear learner of fit.linear)', () => {
  it('recovers y = 0.5 + 2·x₀ − x₁ exactly with λ = 0; NaN features count as 0; ONNX reproduces predict', async () => {
    const n = 200, F = 3;
    const r = mulberry32(3);
    const X = new Float32Array(n * F), y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < F; j++) X[i * F + j] = r() * 2 - 1;
      y[i] = 0.5 + 2 * X[i * F]! - X[i * F + 1]!;
    }
    const m = await new RidgeLearner().fit({ X, nRows: n, nFeatures: F, y }, { params: { lambda: 0 }, numRounds: 1 });
    const w = (m as unknown as { weights: number[]; intercept: number });
    expect(w.weights[0]).toBeCloseTo(2, 5);
    expect(w.weights[1]).toBeCloseTo(-1, 5);
    expect(w.weights[2]).toBeCloseTo(0, 5);
    expect(w.intercept).toBeCloseTo(0.5, 5);
    expect(m).toMatchObject({ width: 1, bestIteration: 0, rounds: 1, validMetric: null });
    const probe = Float32Array.from([1, 1, 1, NaN, 1, 0]);
    const p = m.predict(probe, 2);
    expect(p[0]).toBeCloseTo(1.5, 5);
    expect(p[1]).toBeCloseTo(-0.5, 5); // x₀ missing → 0
    const scorer = await openOnnxScorer(m.toOnnx(['a', 'b', 'c'], { metadata: { sleeve: 'lin' } }));
    try {
      const out = await scorer.run(probe, 2, F);
      expect(Array.from(out.Y!).map((v, i) => Math.abs(v - p[i]!))).toSatisfy((d: number[]) => d.every((x) => x < 1e-6));
      expect(Array.from(out.score!)).toEqual(Array.from(out.Y!));
    } finally {
      await scorer.release();
    }
    expect(JSON.parse(new TextDecoder().decode(m.save()))).toMatchObject({ model: 'ridge', missing: 0 });
    m.free();
    expect(() => m.predict(probe, 2)).toThrow(/freed/);
  });

  it('a larger λ shrinks the weights; sample weights are honoured; query groups are refused', async () => {
    const n = 100;
    const X = Float32Array.from({ length: n }, (_, i) => i / n), y = Float32Array.from(X, (x) => 3 * x);
    const fit = async (lambda: number, weight?: Float32Array) => (await new RidgeLearner().fit({ X, nRows: n, nFeatures: 1, y, weight }, { params: { lambda }, numRounds: 1 })) as unknown as { weights: number[] };
    expect(Math.abs((await fit(10)).weights[0]!)).toBeLessThan(Math.abs((await fit(0.01)).weights[0]!));
    // zero weight on the second half: the fit only sees the first half (still y = 3x)
    const half = Float32Array.from({ length: n }, (_, i) => (i < n / 2 ? 1 : 0));
    expect((await fit(0, half)).weights[0]).toBeCloseTo(3, 6);
    await expect(new RidgeLearner().fit({ X, nRows: n, nFeatures: 1, y, groups: Uint32Array.from([n]) }, { params: {}, numRounds: 1 })).rejects.toThrow(/query groups/);
  });
});

describe('trials: grid and seeded sample', () => {
  it('expands the cartesian product (keys sorted) and samples distinct points reproducibly', () => {
    const grid = { max_depth: [3, 5], eta: [0.1, 0.2, 0.3] };
    const all = expandGrid({ seed: 1 }, grid);
    expect(all).toHaveLength(6);
    expect(all[0]).toEqual({ seed: 1, eta: 0.1, max_depth: 3 });
    expect(all[1]).toEqual({ seed: 1, eta: 0.1, max_depth: 5 });
    expect(gridSize(grid)).toBe(6);
    const s = sampleGrid({ seed: 1 }, grid, 4, 7);
    expect(s).toHaveLength(4);
    expect(new Set(s.map((x) => JSON.stringify(x))).size).toBe(4);
    expect(sampleGrid({ seed: 1 }, grid, 4, 7)).toEqual(s);
    expect(sampleGrid({ seed: 1 }, grid, 4, 8)).not.toEqual(s);
    expect(() => sampleGrid({}, grid, 7, 1)).toThrow(/1\.\.6/);
  });

  it('the trial Sharpe is annualised by the calendar: √(bars per year) of each calendar (nyse vs 24x7)', () => {
    const r = [0.01, -0.005, 0.002, 0.007, NaN, -0.001];
    const fin = r.filter(Number.isFinite);
    const mean = fin.reduce((a, b) => a + b, 0) / fin.length;
    const sd = Math.sqrt(fin.reduce((a, b) => a + (b - mean) ** 2, 0) / (fin.length - 1));
    expect(annualizedSharpe(r, calendarFor('nyse'))).toBeCloseTo((mean / sd) * Math.sqrt(calendarFor('nyse').barsPerYear), 12);
    expect(annualizedSharpe(r, calendarFor('24x7')) / annualizedSharpe(r, calendarFor('nyse'))).toBeCloseTo(Math.sqrt(calendarFor('24x7').barsPerYear / calendarFor('nyse').barsPerYear), 12);
  });
});

describe('the OOF writer (signals.oof)', () => {
  it('every row on every path with its split; walk-forward = path 0 of the scored rows; contract columns and order; same input → same bytes', async () => {
    const store = new ArtifactStore(path.join(tempDir(), 'a'));
    // 4 dates × 2 symbols, N = 4 groups of one date, k = 2 → 6 splits, φ = 3 paths
    const table = pathTable(cpcvSplits(4, 2), 4);
    const groupOfRow = Int32Array.from([1, 1, 2, 2, 3, 3, 4, 4]);
    const scores = [0, 1, 2].map((p) => Float64Array.from({ length: 8 }, (_, i) => p * 10 + i));
    const wf = Float64Array.from([NaN, NaN, 1, 2, 3, 4, 5, 6]);
    const write = () =>
      withDuckDB(async (con) => {
        await con.run(`CREATE TABLE src AS SELECT (i - 1)::INTEGER AS row_id, DATE '2020-01-01' + ((i - 1) // 2)::INTEGER AS date, CASE WHEN i % 2 = 1 THEN 'A' ELSE 'B' END AS symbol,
          DATE '2020-01-05' AS t1, i / 100.0 AS ret, i::DOUBLE AS label FROM range(1, 9) t(i)`);
        const src = { table: 'src', label: true };
        return {
          oof: await writeOofParquet(con, store, src, cpcvOofRows(groupOfRow, table, scores), 'oof.parquet'),
          wf: await writeOofParquet(con, store, { table: 'src', label: false }, walkForwardOofRows(groupOfRow, wf, Int32Array.from([0, 0, 1, 1, 2, 2, 3, 3])), 'wf.parquet'),
        };
      });
    const a = await write(), b = await write();
    expect(b.oof.digest).toBe(a.oof.digest);
    expect(b.wf.digest).toBe(a.wf.digest);
    const q = (ref: typeof a.oof, sql: string) => withDuckDB((con) => queryRows<Record<string, unknown>>(con, sql.replace('$F', `read_parquet(${sqlString(store.path(ref))})`)));
    const cols = await q(a.oof, 'DESCRIBE SELECT * FROM $F');
    expect(cols.map((c) => c.column_name)).toEqual(['date', 'symbol', 'path', 'split', 'test_group', 'score', 'label', 'ret', 't1']);
    const got = await q(a.oof, 'SELECT path, test_group, split, score FROM $F');
    expect(got).toHaveLength(24);
    // ordered by (path, date, symbol); path p of group g comes from split table[g-1][p-1]
    expect(got.slice(0, 8).map((r) => r.score)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const r of got) expect(r.split).toBe(table[(r.test_group as number) - 1]![(r.path as number) - 1]);
    const w = await q(a.wf, 'SELECT * FROM $F');
    expect(w.map((r) => [r.path, r.split, r.test_group, r.score])).toEqual([[0, 1, 2, 1], [0, 1, 2, 2], [0, 2, 3, 3], [0, 2, 3, 4], [0, 3, 4, 5], [0, 3, 4, 6]]);
    expect(Object.keys(w[0]!)).not.toContain('label');
  });

  it('rows in any order are written in (path, date, symbol) order; a repeated row, a row outside the source or a source out of (date, symbol) order is refused', async () => {
    const store = new ArtifactStore(path.join(tempDir(), 'a'));
    const rows = { rowId: [2, 0, 1, 0], path: [1, 2, 1, 1], split: [1, 1, 1, 1], testGroup: [1, 1, 1, 1], score: [0.2, 1.0, 0.1, 0] };
    await withDuckDB(async (con) => {
      await con.run(`CREATE TABLE src AS SELECT (i - 1)::INTEGER AS row_id, DATE '2020-01-01' + i::INTEGER AS date, 'S' AS symbol, DATE '2020-02-01' AS t1, 0.0::DOUBLE AS ret FROM range(1, 4) t(i)`);
      const ref = await writeOofParquet(con, store, { table: 'src', label: false }, [rows], 'oof.parquet');
      const got = await queryRows<{ path: number; date: Date; score: number }>(con, `SELECT path, score FROM read_parquet(${sqlString(store.path(ref))})`);
      expect(got.map((r) => [r.path, r.score])).toEqual([[1, 0], [1, 0.1], [1, 0.2], [2, 1.0]]);
      await expect(writeOofParquet(con, store, { table: 'src', label: false }, [{ ...rows, path: [1, 1, 1, 1] }], 'x.parquet')).rejects.toThrow(/repeat \(path 1, row_id 0\)/);
      await expect(writeOofParquet(con, store, { table: 'src', label: false }, [{ ...rows, rowId: [5, 0, 1, 0] }], 'x.parquet')).rejects.toThrow(/row_id 5 is outside/);
      // parts are written in turn: each must follow the one before it in (path, row_id) order
      const part = (path: number, rowId: number[]) => ({ rowId, path: rowId.map(() => path), split: rowId.map(() => 1), testGroup: rowId.map(() => 1), score: rowId.map((r) => path + r / 10) });
      const two = await writeOofParquet(con, store, { table: 'src', label: false }, [part(1, [2, 0, 1]), part(2, [1, 0])], 'two.parquet');
      expect((await queryRows<{ score: number }>(con, `SELECT score FROM read_parquet(${sqlString(store.path(two))})`)).map((r) => r.score)).toEqual([1, 1.1, 1.2, 2, 2.1]);
      await expect(writeOofParquet(con, store, { table: 'src', label: false }, [part(2, [0]), part(1, [1])], 'x.parquet')).rejects.toThrow(/does not follow the previous part's rows/);
      await expect(writeOofParquet(con, store, { table: 'src', label: false }, [part(1, [0, 1]), part(1, [1, 2])], 'x.parquet')).rejects.toThrow(/\(path 1, row_id 1\) does not follow/);
      await con.run(`CREATE TABLE bad AS SELECT (2 - (i - 1))::INTEGER AS row_id, DATE '2020-01-01' + i::INTEGER AS date, 'S' AS symbol, DATE '2020-02-01' AS t1, 0.0::DOUBLE AS ret FROM range(1, 4) t(i)`);
      await expect(writeOofParquet(con, store, { table: 'bad', label: false }, [rows], 'x.parquet')).rejects.toThrow(/row_id 1 does not follow row_id 0 in \(date, symbol\) order/);
    });
  });
});
