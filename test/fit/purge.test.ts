/**
 * Issue 14, item 6: purging by label intervals (AFML ch. 7.4.1) and the embargo-vs-horizon rule, on
 * real S&P dates. The old rule purged training labels against the test groups' date spans only,
 * leaving the embargo to cover test labels that reach past their group; with 15-bar labels and a
 * 10-bar embargo that leaks the 5 dates after every test run. The new rule purges every training
 * row whose [date, t1] overlaps any test [date_j, t1_j], and the fit kinds refuse such an embargo.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import pino from 'pino';
import { ArtifactStore, type ArtifactRef } from '../../artifacts/store.ts';
import { countLabelOverlaps, cpcvSplits, dateGroups, splitMasks, type DateGroup, type SampleTimes, type Split } from '../../cv/cpcv.ts';
import { maxLabelRows } from '../../cv/panel.ts';
import { labelsTripleBarrier } from '../../kinds/features/index.ts';
import { fitCpcv } from '../../kinds/fit/cpcv.ts';
import { fitLinear } from '../../kinds/fit/linear.ts';
import { withDuckDB, sqlString } from '../../lib/duckdb.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { writeSp500Slice } from '../support/sp500.ts';
import { makeTestContext, runKind, tempDir } from '../support/context.ts';
import { buildFixturePanel } from './panel.ts';
import { fixtureUpstream } from './upstream.ts';

const SYMS = ['AAPL', 'XOM', 'JPM', 'KO', 'GE', 'T'];

/** Real sample times of SYMS: t1 = the date `h` rows of the symbol ahead. */
async function realTimes(h: number): Promise<{ times: SampleTimes; uniqueDates: Int32Array }> {
  const file = await writeSp500Slice(path.join(tempDir(), 'px.parquet'), SYMS);
  return withDuckDB(async (con) => {
    const r = await con.runAndReadAll(`SELECT (date - DATE '1970-01-01')::INTEGER, (t1 - DATE '1970-01-01')::INTEGER, dense_rank() OVER (ORDER BY date)::INTEGER - 1
      FROM (SELECT date, lead(date, ${h}) OVER (PARTITION BY symbol ORDER BY date) AS t1 FROM read_parquet(${sqlString(file)}))
      WHERE t1 IS NOT NULL ORDER BY date`);
    const c = r.getColumnsJS() as number[][];
    return { times: { date: Int32Array.from(c[0]!), t1: Int32Array.from(c[1]!), dateIdx: Int32Array.from(c[2]!) }, uniqueDates: Int32Array.from([...new Set(c[0]!)]) };
  });
}

/** The old rule, kept here as the reference it is compared with: purge against the test groups' date spans, then embargo. */
function oldTrainMask(times: SampleTimes, uniqueDates: Int32Array, groups: DateGroup[], split: Split, embargo: number): Uint8Array {
  const out = new Uint8Array(times.date.length);
  const groupOf = (di: number) => groups.find((g) => di >= g.firstIdx && di <= g.lastIdx)!.group;
  for (let i = 0; i < out.length; i++) {
    const di = times.dateIdx[i]!;
    if (split.testGroups.includes(groupOf(di))) continue;
    const hit = split.testGroups.some((g) => {
      const grp = groups[g - 1]!;
      const purged = times.date[i]! <= uniqueDates[grp.lastIdx]! && times.t1[i]! >= uniqueDates[grp.firstIdx]!;
      return purged || (di > grp.lastIdx && di <= grp.lastIdx + embargo);
    });
    out[i] = hit ? 0 : 1;
  }
  return out;
}

const testMask = (times: SampleTimes, groups: DateGroup[], split: Split): Uint8Array =>
  Uint8Array.from(times.dateIdx, (di) => (split.testGroups.some((g) => di >= groups[g - 1]!.firstIdx && di <= groups[g - 1]!.lastIdx) ? 1 : 0));

describe.skipIf(!hasSharedData())('purging by label intervals on real S&P dates', () => {
  let h15: Awaited<ReturnType<typeof realTimes>>;
  let h6: Awaited<ReturnType<typeof realTimes>>;
  beforeAll(async () => {
    [h15, h6] = [await realTimes(15), await realTimes(6)];
  });

  it('countLabelOverlaps equals a brute-force count of overlapping (train, test) label intervals', () => {
    const { times, uniqueDates } = h15;
    const groups = dateGroups(uniqueDates.length, 8);
    for (const split of cpcvSplits(8, 2).slice(0, 6)) {
      const train = oldTrainMask(times, uniqueDates, groups, split, 10), test = testMask(times, groups, split);
      const tests = [...test.keys()].filter((j) => test[j]);
      let brute = 0;
      for (let i = 0; i < train.length; i++) if (train[i] && tests.some((j) => times.date[i]! <= times.t1[j]! && times.t1[i]! >= times.date[j]!)) brute++;
      expect(countLabelOverlaps(times, train, test)).toBe(brute);
    }
  });

  it('15-bar labels, 10-bar embargo: the old rule leaks the 5 dates after every test run, the new rule leaks none', () => {
    const { times, uniqueDates } = h15;
    const groups = dateGroups(uniqueDates.length, 8);
    let oldLeaks = 0, expected = 0;
    for (const split of cpcvSplits(8, 2)) {
      const m = splitMasks(times, uniqueDates, groups, split, 10);
      const old = oldTrainMask(times, uniqueDates, groups, split, 10);
      const leaks = countLabelOverlaps(times, old, m.test);
      // test runs followed by a training group: bars lastIdx+11 .. lastIdx+15 of SYMS leak
      const ends = split.testGroups.filter((g) => g < 8 && !split.testGroups.includes(g + 1)).map((g) => groups[g - 1]!.lastIdx);
      const leakDates = new Set<number>();
      for (let i = 0; i < times.date.length; i++) if (old[i] && ends.some((e) => times.dateIdx[i]! > e + 10 && times.dateIdx[i]! <= e + 15)) leakDates.add(times.dateIdx[i]!);
      expect(leakDates.size).toBe(5 * ends.length);
      expected += [...times.dateIdx.keys()].filter((i) => old[i] && leakDates.has(times.dateIdx[i]!)).length;
      oldLeaks += leaks;
      expect(countLabelOverlaps(times, m.train, m.test), `split ${split.split}`).toBe(0);
      // the new training set is the old one less exactly the leaking rows
      for (let i = 0; i < old.length; i++) expect(m.train[i], `row ${i}`).toBe(old[i] && !leakDates.has(times.dateIdx[i]!) ? 1 : 0);
    }
    console.log(`[purge, 15-bar labels, 10-bar embargo, ${SYMS.length} symbols, 28 splits] training rows overlapping a test label: old rule ${oldLeaks}, new rule 0`);
    expect(oldLeaks).toBe(expected);
    expect(oldLeaks).toBeGreaterThan(28 * 5 * SYMS.length);
  });

  it('with an embargo covering the labels (6-bar labels, 10 bars) the training sets are those of the old rule, row for row', () => {
    const { times, uniqueDates } = h6;
    const groups = dateGroups(uniqueDates.length, 8);
    for (const split of cpcvSplits(8, 2)) expect(Buffer.from(splitMasks(times, uniqueDates, groups, split, 10).train).equals(Buffer.from(oldTrainMask(times, uniqueDates, groups, split, 10)))).toBe(true);
  });
});

describe.skipIf(!hasSharedData())('the fit kinds refuse an embargo shorter than the labels', () => {
  it('label length is counted in rows of the symbol: BMY and ORCL miss sessions, their 10-bar triple-barrier labels span 12 dates and still count 10', async () => {
    const dir = tempDir();
    const store = new ArtifactStore(path.join(dir, 'a'));
    const ref = await store.putFile(await writeSp500Slice(path.join(dir, 'px.parquet'), ['BMY', 'ORCL', 'AAPL', 'KO']), { name: 'ohlcv.parquet' });
    const upstream = { ingest: { uses: 'ingest.ohlcv', outputs: { table: { ...ref, dataset: 'sp500_all_stocks_5yr', calendar: 'nyse' } } } };
    const out = await runKind(labelsTripleBarrier, { max_h: 10 }, makeTestContext({ store, kind: labelsTripleBarrier, upstream }));
    const file = store.path(out.labels as ArtifactRef);
    const [rows, dates] = await withDuckDB(async (con) => {
      await con.run(`CREATE TABLE l AS SELECT * FROM read_parquet(${sqlString(file)})`);
      const byDates = await con.runAndReadAll(`WITH d AS (SELECT date, row_number() OVER (ORDER BY date) AS k FROM (SELECT DISTINCT date FROM l))
        SELECT max(b.k - a.k)::INTEGER FROM l JOIN d a ON a.date = l.date JOIN d b ON b.date = l.t1`);
      return [await maxLabelRows(con, 'l'), Number(byDates.getRows()[0]![0])];
    });
    expect(rows).toBe(10);
    expect(dates).toBeGreaterThan(10);
  });

  it('15-bar labels with a 10-bar embargo: refused (even when the contract understates the horizon); allowed explicitly with a warning', async () => {
    const dir = tempDir();
    const store = new ArtifactStore(path.join(dir, 'a'));
    // fixture labels held 14 bars from the next open: [date, t1] spans 15 bars; the contract value says 6
    const p = await buildFixturePanel(store, dir, SYMS, { horizon: 14, from: '2015-01-01', to: '2017-12-31' });
    const upstream = fixtureUpstream(p, 'labels.horizon');
    const w = { sleeve: 'h15', grid: {}, num_boost_round: 5, embargo_bars: 10 };
    await expect(runKind(fitCpcv, w, makeTestContext({ store, kind: fitCpcv, upstream }))).rejects.toMatchObject({
      type: 'EmbargoTooShort', nonRetryable: true, message: expect.stringMatching(/embargo \(10 bars\) is shorter than the labels' longest interval \(15 bars\).*allow_short_embargo/s),
    });
    await expect(runKind(fitLinear, {}, makeTestContext({ store, kind: fitLinear, upstream }))).rejects.toMatchObject({ type: 'EmbargoTooShort' });
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) });
    const out = await runKind(fitCpcv, { ...w, allow_short_embargo: true }, makeTestContext({ store, kind: fitCpcv, upstream, log }));
    expect(out).toMatchObject({ n_splits: 28, n_paths: 7 });
    const warned = lines.map((l) => JSON.parse(l) as { msg: string; embargo_bars: number; horizon_bars: number }).filter((l) => /allow_short_embargo/.test(l.msg));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ embargo_bars: 10, horizon_bars: 15 });
    // an embargo of 15 bars needs no override
    await expect(runKind(fitCpcv, { ...w, embargo_bars: 15 }, makeTestContext({ store, kind: fitCpcv, upstream }))).resolves.toMatchObject({ n_splits: 28 });
  });
});
