/**
 * report/daily_ic.ts against the SQL it replaced (DuckDB windows: rank() + ties, corr), on a fit's
 * OOF table: per path (rows already in order) and per split (rows regrouped by the counting sort).
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { dailyByGroup, dailyStats, readSignalRows, relabel, statsByGroup } from '../../report/daily_ic.ts';
import { tempDir } from '../support/context.ts';
import { nightlyRunFixture, type RunFixture } from '../tracking/support/fixtures.ts';

type Ref = { g: number; ic: number | null; rank_ic: number | null; sd: number | null; n: bigint | number };

/** The SQL oracle: daily Pearson / Spearman per (group, date), then the per-group summary. */
async function sqlStats(file: string, group: string): Promise<Ref[]> {
  return withDuckDB((con) =>
    queryRows<Ref>(
      con,
      `WITH r AS (SELECT CAST(${group} AS INTEGER) AS g, date, score AS x, label AS y FROM read_parquet(${sqlString(file)})
                  WHERE score IS NOT NULL AND label IS NOT NULL AND isfinite(score) AND isfinite(label)),
       k AS (SELECT g, date, x, y,
               rank() OVER (PARTITION BY g, date ORDER BY x) + (count(*) OVER (PARTITION BY g, date, x) - 1) / 2.0 AS rx,
               rank() OVER (PARTITION BY g, date ORDER BY y) + (count(*) OVER (PARTITION BY g, date, y) - 1) / 2.0 AS ry FROM r),
       d AS (SELECT g, date, corr(x, y) AS ic, corr(rx, ry) AS ric FROM k GROUP BY g, date HAVING count(*) >= 3)
       SELECT g, avg(ic) FILTER (WHERE isfinite(ic)) AS ic, avg(ric) FILTER (WHERE isfinite(ric)) AS rank_ic,
              stddev_samp(ric) FILTER (WHERE isfinite(ric)) AS sd, count(*) FILTER (WHERE isfinite(ric)) AS n
       FROM d GROUP BY g ORDER BY g`,
    ),
  );
}

describe('daily IC by group (report/daily_ic.ts)', () => {
  const dir = tempDir('trademl-daily-ic-');
  const store = new ArtifactStore(path.join(dir, 'artifacts'));
  let fx: RunFixture;
  beforeAll(async () => {
    fx = await nightlyRunFixture(store, { approval: 'approved' });
  });

  for (const group of ['path', 'split'] as const) {
    it(`equals the DuckDB window SQL per ${group}`, async () => {
      const file = store.path(fx.refs.oof!);
      const rows = await withDuckDB((con) => readSignalRows(con, file, ['path', 'split'], 'label'));
      const s = dailyByGroup(rows.groups[group === 'path' ? 0 : 1]!, rows.date, rows.x, rows.y);
      const got = statsByGroup(s);
      const ref = await sqlStats(file, group);
      expect(got.map((r) => r.group)).toEqual(ref.map((r) => r.g));
      expect(got.length).toBeGreaterThan(group === 'path' ? 5 : 20);
      got.forEach((r, i) => {
        expect(r.n).toBe(Number(ref[i]!.n));
        expect(r.ic).toBeCloseTo(ref[i]!.ic!, 12);
        expect(r.rank_ic).toBeCloseTo(ref[i]!.rank_ic!, 12);
        expect(r.sd).toBeCloseTo(ref[i]!.sd!, 12);
      });
      // blocks are in (group, date) order, one per (group, date)
      for (let b = 1; b < s.group.length; b++) expect(s.group[b - 1]! < s.group[b]! || (s.group[b - 1] === s.group[b] && s.date[b - 1]! < s.date[b]!)).toBe(true);
    });
  }

  it('relabels the per-path series as the per-split one when each split date lies on one path, number for number', async () => {
    // a CPCV-like layout: 3 paths × 30 dates × 12 symbols, rows in (path, date, symbol) order; the
    // split of (path, date) rotates with the date group, so each (split, date) is on one path
    const n = 3 * 30 * 12;
    const path = Int32Array.from({ length: n }, (_, i) => 1 + Math.floor(i / 360));
    const date = Int32Array.from({ length: n }, (_, i) => 17_000 + (Math.floor(i / 12) % 30));
    const split = Int32Array.from({ length: n }, (_, i) => 1 + ((path[i]! + Math.floor((date[i]! - 17_000) / 10)) % 3));
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 1.3));
    const y = Float64Array.from({ length: n }, (_, i) => Math.round(Math.cos(i * 0.7) * 3));
    const byPath = dailyByGroup(path, date, x, y);
    const direct = dailyByGroup(split, date, x, y);
    const fast = relabel(byPath, { group: path, date }, split)!;
    expect(fast).toBeDefined();
    for (const k of ['group', 'date', 'first', 'ic', 'rankIc'] as const) expect(Array.from(fast[k])).toEqual(Array.from(direct[k]));
    // the fixture's OOF draws paths by symbol: a split's date spans paths, so no relabelling
    const rows = await withDuckDB((con) => readSignalRows(con, store.path(fx.refs.oof!), ['path', 'split'], 'label'));
    expect(relabel(dailyByGroup(rows.groups[0]!, rows.date, rows.x, rows.y), { group: rows.groups[0]!, date: rows.date }, rows.groups[1]!)).toBeUndefined();
    // a block holding two splits, or one (split, date) on two paths: not a relabelling
    const g = Int32Array.of(1, 1, 1, 2, 2, 2), d = Int32Array.of(9, 9, 9, 9, 9, 9), v = Float64Array.of(1, 2, 3, 1, 3, 2);
    const s = dailyByGroup(g, d, v, v);
    expect(relabel(s, { group: g, date: d }, Int32Array.of(4, 4, 4, 4, 4, 4))).toBeUndefined();
    expect(relabel(s, { group: g, date: d }, Int32Array.of(4, 4, 5, 6, 6, 6))).toBeUndefined();
    expect(Array.from(relabel(s, { group: g, date: d }, Int32Array.of(8, 8, 8, 3, 3, 3))!.group)).toEqual([3, 8]);
  });

  it('gives NaN figures for dates under 3 rows and for no rows at all', () => {
    const s = dailyByGroup(Int32Array.of(1, 1, 2, 2, 2), Int32Array.of(5, 5, 5, 5, 5), Float64Array.of(1, 2, 1, 2, 3), Float64Array.of(1, 2, 3, 2, 1));
    expect(Array.from(s.rankIc)).toEqual([NaN, -1]);
    expect(dailyStats(s)).toMatchObject({ rank_ic: -1, n: 1 });
    // unsorted rows: sparse group ids (numbered densely first) group the rows alike, in table order
    const g = Int32Array.from({ length: 60 }, (_, i) => (i * 7) % 3), d = Int32Array.from({ length: 60 }, (_, i) => 100 + ((i * 5) % 4));
    const x = Float64Array.from({ length: 60 }, (_, i) => Math.sin(i)), y = Float64Array.from({ length: 60 }, (_, i) => Math.cos(i * 3));
    const small = dailyByGroup(g, d, x, y), huge = dailyByGroup(Int32Array.from(g, (v) => v * 50_000_000), d, x, y);
    expect(Array.from(small.group)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(Array.from(huge.rankIc)).toEqual(Array.from(small.rankIc));
    expect(Array.from(huge.ic)).toEqual(Array.from(small.ic));
    expect(dailyStats(dailyByGroup(new Int32Array(0), new Int32Array(0), new Float64Array(0), new Float64Array(0)))).toMatchObject({ n: 0 });
  });
});
