/**
 * cv/panel.ts loadPanel on small hand-made Parquet files: the rows come out in (date, symbol) order
 * with each feature row beside its own label row, whatever the files' row order, and a repeated
 * (date, symbol) row is refused by name instead of silently doubling a sample.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadPanel } from '../../cv/panel.ts';
import { sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { StepError } from '../../lib/errors.ts';
import { tempDir } from '../support/context.ts';

// 6 dates × 3 symbols written in a scrambled order; feature a = day*10 + symbol index, b = -a;
// label = a / 100 so a row's label tells which features it must sit beside.
const ROWS = `SELECT DATE '2020-01-06' + INTERVAL (d) DAY AS date, s AS symbol, d * 10.0 + i AS a, -(d * 10.0 + i) AS b
  FROM range(6) r(d), (VALUES ('AAA', 0), ('BBB', 1), ('CCC', 2)) v(s, i)`;

async function writeFiles(dir: string, extraLabelRow: boolean): Promise<{ features: string; labels: string }> {
  const features = path.join(dir, 'features.parquet');
  const labels = path.join(dir, 'labels.parquet');
  await withDuckDB(async (con) => {
    await con.run(`COPY (SELECT * FROM (${ROWS}) ORDER BY hash(symbol || date::VARCHAR)) TO ${sqlString(features)} (FORMAT parquet)`);
    const dup = extraLabelRow ? ` UNION ALL SELECT DATE '2020-01-08', 'BBB', DATE '2020-01-10', 0.5, 0.01` : '';
    await con.run(`COPY (SELECT * FROM (SELECT date, symbol, date + INTERVAL 2 DAY AS t1, a / 100 AS label, a / 1000 AS ret FROM (${ROWS})${dup})
      ORDER BY hash(date::VARCHAR || symbol) DESC) TO ${sqlString(labels)} (FORMAT parquet)`);
  });
  return { features, labels };
}

describe('loadPanel', () => {
  it('joins features and labels row for row in (date, symbol) order, whatever the files’ order', async () => {
    const { features, labels } = await writeFiles(tempDir('panel-load-'), false);
    const panel = await withDuckDB((con) => loadPanel(con, features, labels, ['a', 'b']));
    expect(panel.n).toBe(18);
    const a = Array.from({ length: 18 }, (_, r) => panel.X[r * 2]!);
    const b = Array.from({ length: 18 }, (_, r) => panel.X[r * 2 + 1]!);
    expect(a).toEqual(Array.from({ length: 18 }, (_, r) => Math.floor(r / 3) * 10 + (r % 3)));
    expect(b.map((v, r) => v + a[r]!)).toEqual(a.map(() => 0));
    for (let r = 0; r < 18; r++) expect(panel.label[r]).toBeCloseTo(a[r]! / 100, 12);
    expect([...panel.date].every((d, r) => r === 0 || d >= panel.date[r - 1]!)).toBe(true);
  });

  it('refuses a repeated (date, symbol) row, saying how many', async () => {
    const { features, labels } = await writeFiles(tempDir('panel-load-'), true);
    const err = await withDuckDB((con) => loadPanel(con, features, labels, ['a', 'b'])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepError);
    expect(String((err as Error).message)).toMatch(/1 repeated \(date, symbol\) row/);
  });
});
