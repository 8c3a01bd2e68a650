import { describe, expect, it, beforeAll } from 'vitest';
import path from 'node:path';
import { binomial, combinations, cpcvSplits, dateGroups, nPaths, pathTable, splitMasks, validationTail, walkForwardFolds, type SampleTimes } from '../../cv/cpcv.ts';
import { withDuckDB, sqlString } from '../../lib/duckdb.ts';
import { writeSp500Slice } from '../support/sp500.ts';
import { tempDir } from '../support/context.ts';
import { hasSharedData } from '../../lib/paths.ts';

/** Real sample times: 6 S&P symbols, every trading date, horizon-5 labels (t1 = date 5 rows ahead). */
async function realTimes(): Promise<{ times: SampleTimes; uniqueDates: Int32Array; symbol: string[] }> {
  const dir = tempDir();
  const file = await writeSp500Slice(path.join(dir, 'px.parquet'), ['AAPL', 'XOM', 'JPM', 'PYPL', 'LNT', 'KO']);
  return withDuckDB(async (con) => {
    const r = await con.runAndReadAll(`SELECT (date - DATE '1970-01-01')::INTEGER d, (t1 - DATE '1970-01-01')::INTEGER t1, symbol,
        dense_rank() OVER (ORDER BY date)::INTEGER - 1 AS di
      FROM (SELECT date, symbol, lead(date, 5) OVER (PARTITION BY symbol ORDER BY date) AS t1 FROM read_parquet(${sqlString(file)}))
      WHERE t1 IS NOT NULL ORDER BY date, symbol`);
    const c = r.getColumnsJS() as unknown[][];
    const date = Int32Array.from(c[0] as number[]);
    const uniq = [...new Set(date)].sort((a, b) => a - b);
    return { times: { date, t1: Int32Array.from(c[1] as number[]), dateIdx: Int32Array.from(c[3] as number[]) }, uniqueDates: Int32Array.from(uniq), symbol: c[2] as string[] };
  });
}

describe('CPCV combinatorics', () => {
  it('C(8,2) = 28 splits, φ = 7 paths; C(6,2)=15 splits, φ = 5', () => {
    expect(cpcvSplits(8, 2)).toHaveLength(28);
    expect(nPaths(8, 2)).toBe(7);
    expect(binomial(8, 2) * 2 / 8).toBe(7);
    expect(cpcvSplits(6, 2)).toHaveLength(15);
    expect(nPaths(6, 2)).toBe(5);
    expect(nPaths(10, 3)).toBe(36);
    expect(combinations(4, 2)).toEqual([[1, 2], [1, 3], [1, 4], [2, 3], [2, 4], [3, 4]]);
  });

  it('every group is tested once on every path, each path uses distinct splits per group', () => {
    const splits = cpcvSplits(8, 2);
    const table = pathTable(splits, 8);
    expect(table).toHaveLength(8);
    for (let g = 1; g <= 8; g++) {
      expect(table[g - 1]).toHaveLength(7);
      for (const s of table[g - 1]!) expect(splits[s - 1]!.testGroups).toContain(g);
    }
    // each split's k test groups feed k (group, path) cells in total: 28 splits × 2 = 8 groups × 7 paths
    const used = new Map<number, number>();
    for (const row of table) for (const s of row) used.set(s, (used.get(s) ?? 0) + 1);
    expect([...used.values()].every((c) => c === 2)).toBe(true);
  });

  it('groups are contiguous, cover every date once, sizes differ by at most one', () => {
    const g = dateGroups(1254, 8);
    expect(g[0]!.firstIdx).toBe(0);
    expect(g[7]!.lastIdx).toBe(1253);
    for (let i = 1; i < g.length; i++) expect(g[i]!.firstIdx).toBe(g[i - 1]!.lastIdx + 1);
    const sizes = g.map((x) => x.lastIdx - x.firstIdx + 1);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(() => dateGroups(5, 8)).toThrow(/cannot form/);
    expect(() => cpcvSplits(8, 8)).toThrow(/k < N/);
  });

  it('walk-forward folds train only on earlier groups', () => {
    const f = walkForwardFolds(8);
    expect(f).toHaveLength(7);
    for (const fold of f) expect(Math.max(...fold.trainGroups)).toBeLessThan(fold.testGroups[0]!);
  });
});

describe.skipIf(!hasSharedData())('purging and embargo on real S&P dates', () => {
  let data: Awaited<ReturnType<typeof realTimes>>;
  beforeAll(async () => {
    data = await realTimes();
  });

  it('no training sample label [date, t1] overlaps a test span; embargo of 10 bars after each test group holds', () => {
    const { times, uniqueDates } = data;
    const groups = dateGroups(uniqueDates.length, 8);
    let purgedTotal = 0, embargoedTotal = 0;
    for (const split of cpcvSplits(8, 2)) {
      const m = splitMasks(times, uniqueDates, groups, split, 10);
      purgedTotal += m.nPurged;
      embargoedTotal += m.nEmbargoed;
      expect(m.nTrain + m.nTest + m.nPurged + m.nEmbargoed).toBe(times.date.length);
      let overlaps = 0, inEmbargo = 0, both = 0;
      for (let i = 0; i < times.date.length; i++) {
        if (m.train[i] && m.test[i]) both++;
        if (!m.train[i]) continue;
        for (const g of split.testGroups) {
          const grp = groups[g - 1]!;
          const start = uniqueDates[grp.firstIdx]!, end = uniqueDates[grp.lastIdx]!;
          // purging (across all symbols): label interval must not overlap the test span
          if (!(times.date[i]! > end || times.t1[i]! < start)) overlaps++;
          // embargo: not within 10 bars after the test group's last date
          const di = times.dateIdx[i]!;
          if (di > grp.lastIdx && di <= grp.lastIdx + 10) inEmbargo++;
        }
      }
      expect({ split: split.split, overlaps, inEmbargo, both }).toEqual({ split: split.split, overlaps: 0, inEmbargo: 0, both: 0 });
    }
    // with 5-day labels and 10-day embargo, both mechanisms must have removed something
    expect(purgedTotal).toBeGreaterThan(0);
    expect(embargoedTotal).toBeGreaterThan(0);
  });

  it('purging is cross-sectional: a symbol absent from the test span is still purged if its label overlaps', () => {
    const { times, uniqueDates, symbol } = data;
    const groups = dateGroups(uniqueDates.length, 8);
    const split = cpcvSplits(8, 2).find((s) => s.testGroups.join() === '3,4')!;
    const m = splitMasks(times, uniqueDates, groups, split, 0);
    const start = uniqueDates[groups[2]!.firstIdx]!;
    // rows just before the test span whose label reaches into it are purged whatever their symbol
    const before = Array.from(times.date.keys()).filter((i) => times.date[i]! < start && times.t1[i]! >= start);
    expect(before.length).toBeGreaterThan(0);
    expect(new Set(before.map((i) => symbol[i])).size).toBeGreaterThan(1);
    for (const i of before) expect(m.train[i]).toBe(0);
  });

  it('every (date, symbol) appears exactly once per path; identical across runs', () => {
    const { times, uniqueDates, symbol } = data;
    const groups = dateGroups(uniqueDates.length, 8);
    const splits = cpcvSplits(8, 2);
    const table = pathTable(splits, 8);
    const masks = splits.map((s) => splitMasks(times, uniqueDates, groups, s, 10));
    const again = splits.map((s) => splitMasks(times, uniqueDates, groups, s, 10));
    for (let s = 0; s < splits.length; s++) expect(Buffer.from(again[s]!.train).equals(Buffer.from(masks[s]!.train))).toBe(true);
    for (let p = 0; p < 7; p++) {
      const seen = new Map<string, number>();
      for (let g = 1; g <= 8; g++) {
        const s = table[g - 1]![p]!;
        const m = masks[s - 1]!;
        let notTest = 0;
        for (let i = 0; i < times.date.length; i++) {
          const d = times.dateIdx[i]!;
          if (d < groups[g - 1]!.firstIdx || d > groups[g - 1]!.lastIdx) continue;
          if (m.test[i] !== 1) notTest++;
          const key = `${times.date[i]}|${symbol[i]}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
        expect(notTest).toBe(0);
      }
      expect(seen.size).toBe(times.date.length);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
    }
  });

  it('validation tail is the chronologically last part of training, with overlapping labels purged', () => {
    const { times, uniqueDates } = data;
    const groups = dateGroups(uniqueDates.length, 8);
    const split = cpcvSplits(8, 2)[27]!; // tests groups 7,8 → training ends before them
    const m = splitMasks(times, uniqueDates, groups, split, 10);
    const { fit, valid } = validationTail(times, uniqueDates, m.train, 0.1);
    expect(valid.length).toBeGreaterThan(0);
    const firstValid = Math.min(...valid.map((i) => times.date[i]!));
    expect(fit.filter((i) => times.date[i]! >= firstValid || times.t1[i]! >= firstValid)).toEqual([]);
  });
});
