/**
 * Issue 14, item 1: a signal must not use its own fill price. The fill-separation check
 * (cv/fill_check.ts) runs on real S&P rows against the shipped features and labels kinds — which
 * must pass — and against a feature that is the fill price itself and the old same-close label
 * convention — which must both be caught.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { ArtifactStore } from '../../artifacts/store.ts';
import { checkFillSeparation, type PanelComputer } from '../../cv/fill_check.ts';
import { featuresEquities, labelsHorizon, labelsTripleBarrier } from '../../kinds/features/index.ts';
import type { AnyStepKind } from '../../kinds/types.ts';
import { sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { makeTestContext, runKind, tempDir } from '../support/context.ts';
import { TEST_SYMBOLS, writeSp500Slice } from '../support/sp500.ts';

const SYMBOLS = TEST_SYMBOLS.slice(0, 16);
const PROBES = ['2015-06-15', '2016-11-09'];

describe.skipIf(!hasSharedData())('fill separation on real S&P rows (features ≤ close_t, labels from the fill on)', () => {
  let store: ArtifactStore;
  let dir: string;
  let ohlcv: string;

  beforeAll(async () => {
    dir = tempDir('fill-');
    store = new ArtifactStore(path.join(dir, 'a'));
    ohlcv = await writeSp500Slice(path.join(dir, 'ohlcv.parquet'), SYMBOLS, { from: '2014-01-01', to: '2017-06-30' });
  });

  /** A computer that runs `kind` with `w` on an OHLCV file and returns the Parquet of output `key`. */
  const viaKind = (kind: AnyStepKind, w: unknown, key: 'features' | 'labels'): PanelComputer => async (file) => {
    const ref = await store.putFile(file, { name: 'ohlcv.parquet', move: false });
    const upstream = { ingest: { uses: 'ingest.ohlcv', outputs: { table: { ...ref, dataset: 'sp500_all_stocks_5yr', calendar: 'nyse' } } } };
    const out = await runKind(kind, w, makeTestContext({ store, kind, upstream }));
    return store.path(out[key] as never);
  };
  /** The same, then `sql` over the output (`o`) and the OHLCV (`px`) written as the result. */
  const withSql = (base: PanelComputer, sql: string): PanelComputer => async (file, tag) => {
    const src = await base(file, tag);
    const out = path.join(dir, `derived_${tag}_${Math.random().toString(36).slice(2)}.parquet`);
    await withDuckDB((con) => con.run(`COPY (${sql.replaceAll('$O', `read_parquet(${sqlString(src)})`).replaceAll('$PX', `read_parquet(${sqlString(file)})`)}) TO ${sqlString(out)} (FORMAT parquet)`));
    return out;
  };
  const run = (o: { features?: PanelComputer; labels?: PanelComputer }) => withDuckDB((con) => checkFillSeparation(con, { ohlcv, probes: PROBES, workDir: dir, ...o }));

  it('the shipped features and both labels kinds, with either fill rule, pass', async () => {
    const r = await run({ features: viaKind(featuresEquities, {}, 'features'), labels: viaKind(labelsHorizon, { horizon: 5 }, 'labels') });
    expect(r.findings.filter((f) => f.changed.length > 0)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.findings.map((f) => f.rowsCompared).every((n) => n >= SYMBOLS.length)).toBe(true);
    for (const w of [{ entry: 'close' }, { demean: true }]) expect((await run({ labels: viaKind(labelsHorizon, { horizon: 5, ...w }, 'labels') })).ok).toBe(true);
    for (const w of [{}, { entry: 'close' }]) expect((await run({ labels: viaKind(labelsTripleBarrier, w, 'labels') })).ok).toBe(true);
  });

  it('a feature that is the fill price (the next open, ranked per date) is caught', async () => {
    const leaky = withSql(
      viaKind(featuresEquities, {}, 'features'),
      `SELECT o.*, percent_rank() OVER (PARTITION BY o.date ORDER BY f.next_open) AS fill_open
       FROM $O o JOIN (SELECT date, symbol, lead(open) OVER (PARTITION BY symbol ORDER BY date) AS next_open FROM $PX) f USING (date, symbol)
       ORDER BY date, symbol`,
    );
    const r = await run({ features: leaky });
    expect(r.ok).toBe(false);
    for (const f of r.findings) expect(f.changed.map((c) => c.column)).toEqual(['fill_open']);
  });

  it('the old same-close label ln(C_{t+k}/C_t) is caught; so is a next-open entry with a close-to-open overnight term', async () => {
    const sameClose = withSql(
      viaKind(labelsHorizon, { horizon: 5 }, 'labels'),
      `SELECT date, symbol, lead(date, 5) OVER w AS t1, ln(lead(close, 5) OVER w / close) AS label, ln(lead(close, 5) OVER w / close) AS ret
       FROM $PX WINDOW w AS (PARTITION BY symbol ORDER BY date) QUALIFY lead(date, 5) OVER w IS NOT NULL ORDER BY date, symbol`,
    );
    const r = await run({ labels: sameClose });
    expect(r.ok).toBe(false);
    for (const f of r.findings) {
      expect(f.changed.map((c) => c.column).sort()).toEqual(['label', 'ret']);
      expect(f.changed[0]!.rows).toBe(f.rowsCompared); // every symbol's label of the probe date moved
    }
    // The shipped label plus the gap from the signal's close into the fill: still a same-close label.
    const withGap = withSql(
      viaKind(labelsHorizon, { horizon: 5 }, 'labels'),
      `SELECT o.date, o.symbol, o.t1, o.label + ln(p.next_open / p.close) AS label, o.ret
       FROM $O o JOIN (SELECT date, symbol, close, lead(open) OVER (PARTITION BY symbol ORDER BY date) AS next_open FROM $PX) p USING (date, symbol)
       ORDER BY date, symbol`,
    );
    const g = await run({ labels: withGap });
    expect(g.ok).toBe(false);
    for (const f of g.findings) expect(f.changed.map((c) => c.column)).toEqual(['label']);
  });
});
