import { describe, expect, it } from 'vitest';
import { labelsHorizon, labelsTripleBarrier } from '../../kinds/features/index.ts';
import type { StepContext } from '../../kinds/types.ts';
import type { ArtifactRef } from '../../artifacts/store.ts';
import { sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { makeTestContext, runKind } from '../support/context.ts';
import { contextWithOhlcv, meanStd, putSp500Slice, readParquetRows, readRawRows, type RawRow } from './rawdata.ts';

type TbOut = Awaited<ReturnType<typeof labelsTripleBarrier.run>>;
type HOut = Awaited<ReturnType<typeof labelsHorizon.run>>;

/** Writes constructed OHLCV rows (canonical schema) into the store: synthetic paths with known answers. */
async function putBars(ctx: StepContext, rows: { date: string; symbol: string; open: number | null; high: number; low: number; close: number }[]): Promise<ArtifactRef> {
  const tmp = ctx.artifacts.tempPath('bars.parquet');
  const values = rows
    .map((r) => `(DATE '${r.date}', ${sqlString(r.symbol)}, ${r.open ?? 'NULL'}, ${r.high}, ${r.low}, ${r.close}, 1000.0)`)
    .join(',\n');
  await withDuckDB((con) =>
    con.run(`COPY (SELECT date, symbol, CAST(open AS DOUBLE) AS open, CAST(high AS DOUBLE) AS high, CAST(low AS DOUBLE) AS low,
      CAST(close AS DOUBLE) AS close, CAST(volume AS DOUBLE) AS volume
      FROM (VALUES ${values}) t(date, symbol, open, high, low, close, volume) ORDER BY symbol, date) TO ${sqlString(tmp)} (FORMAT parquet)`),
  );
  return ctx.artifacts.putFile(tmp, { name: 'bars.parquet' });
}

/** Weekdays from 2020-01-02. */
function weekdays(n: number): string[] {
  const out: string[] = [];
  for (let t = Date.UTC(2020, 0, 2); out.length < n; t += 86_400_000) {
    const d = new Date(t);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

// Constructed paths: 21 warm-up closes alternating 100/101 (σ of the 20 log returns is known), entry at
// row 20 (close 100), then 5 forward bars. σ = sqrt(20·ln(1.01)²/19) ≈ 1.0209%, so with tp 2 / sl 1 the
// barriers sit at ≈ 102.06 and ≈ 98.98.
const DATES = weekdays(26);
const A = Math.log(1.01);
const SIGMA = Math.sqrt((20 * A * A) / 19);
type Bar = [open: number | null, high: number, low: number, close: number];
const CALM: Bar = [100.2, 100.6, 99.6, 100.4];
const SCENARIOS: Record<string, Bar[]> = {
  TPX: [CALM, [100.5, 102.5, 100.1, 102.2], CALM, CALM, CALM],
  SLX: [CALM, [100.3, 100.5, 98.5, 98.7], CALM, CALM, CALM],
  TIE: [CALM, [100.3, 102.5, 98.5, 100.0], CALM, CALM, CALM],
  GAP: [CALM, [103.0, 103.5, 98.0, 99.0], CALM, CALM, CALM],
  GDN: [CALM, [98.0, 102.9, 97.5, 101.0], CALM, CALM, CALM],
  VRT: [CALM, CALM, CALM, CALM, [100.4, 100.8, 99.9, 100.7]],
  LATE: [CALM, CALM, CALM, CALM, [100.4, 102.3, 99.9, 102.0]],
};
function scenarioRows() {
  const rows: { date: string; symbol: string; open: number | null; high: number; low: number; close: number }[] = [];
  for (const [sym, fwd] of Object.entries(SCENARIOS)) {
    for (let i = 0; i <= 20; i++) {
      const c = i % 2 === 0 ? 100 : 101;
      rows.push({ date: DATES[i]!, symbol: sym, open: c, high: c, low: c, close: c });
    }
    fwd.forEach(([o, h, l, c], k) => rows.push({ date: DATES[21 + k]!, symbol: sym, open: o, high: h, low: l, close: c }));
  }
  return rows;
}

async function tbRows(ctx: StepContext, w: Record<string, unknown>): Promise<{ out: TbOut; rows: Record<string, unknown>[] }> {
  const out = (await runKind(labelsTripleBarrier, { max_h: 5, ...w }, ctx)) as TbOut;
  return { out, rows: await readParquetRows(ctx.artifacts.path(out.labels)) };
}

describe('labels.triple_barrier on constructed paths', () => {
  it('labels each barrier, the open gap, the tie rule and the vertical barrier', async () => {
    const ctx0 = makeTestContext();
    const ctx = contextWithOhlcv(await putBars(ctx0, scenarioRows()), { store: ctx0.artifacts });
    const { out, rows } = await tbRows(ctx, {});
    const by = (s: string) => rows.find((r) => r.symbol === s)!;
    // Only row 20 has both a full 20-return vol window and 5 later rows.
    expect(rows.length).toBe(Object.keys(SCENARIOS).length);
    expect(rows.every((r) => r.date === DATES[20])).toBe(true);
    expect(by('TPX').sigma as number).toBeCloseTo(SIGMA, 12);

    expect(by('TPX')).toMatchObject({ label: 1, barrier: 'tp', t1: DATES[22], holding_days: 2 });
    expect(by('TPX').ret as number).toBeCloseTo(2 * SIGMA, 12);
    expect(by('SLX')).toMatchObject({ label: -1, barrier: 'sl', t1: DATES[22] });
    expect(by('SLX').ret as number).toBeCloseTo(-SIGMA, 12);
    // Both barriers inside one bar, open between them: the default tie rule takes the stop-loss.
    expect(by('TIE')).toMatchObject({ label: -1, barrier: 'sl', t1: DATES[22] });
    // Open beyond a barrier decides, whatever the rest of the bar did; filled at the open.
    expect(by('GAP')).toMatchObject({ label: 1, barrier: 'tp', t1: DATES[22] });
    expect(by('GAP').ret as number).toBeCloseTo(Math.log(103 / 100), 12);
    expect(by('GDN')).toMatchObject({ label: -1, barrier: 'sl' });
    expect(by('GDN').ret as number).toBeCloseTo(Math.log(98 / 100), 12);
    // No touch: vertical barrier at row 20 + 5, label 0, ret = close-to-close.
    expect(by('VRT')).toMatchObject({ label: 0, barrier: 'vertical', t1: DATES[25], holding_days: 5 });
    expect(by('VRT').ret as number).toBeCloseTo(Math.log(100.7 / 100), 12);
    // A touch on the last day of the window is still a touch.
    expect(by('LATE')).toMatchObject({ label: 1, barrier: 'tp', t1: DATES[25] });
    expect(out.label_counts).toEqual({ '-1': 3, '0': 1, '1': 3 });
    expect(out.barrier_counts).toEqual({ tp: 3, sl: 3, vertical: 1 });

    const tp = await tbRows(ctx, { tie: 'tp' });
    expect(tp.rows.find((r) => r.symbol === 'TIE')).toMatchObject({ label: 1, barrier: 'tp' });
    const sign = await tbRows(ctx, { vertical_label: 'sign' });
    expect(sign.rows.find((r) => r.symbol === 'VRT')).toMatchObject({ label: 1, barrier: 'vertical' });
    // A disabled upper barrier (tp_sigma 0) turns TPX into a vertical exit.
    const noTp = await tbRows(ctx, { tp_sigma: 0 });
    expect(noTp.rows.find((r) => r.symbol === 'TPX')).toMatchObject({ label: 0, barrier: 'vertical', t1: DATES[25] });
    // A shorter vertical barrier stops before the touch on day 2.
    const h1 = await tbRows(ctx, { max_h: 1 });
    expect(h1.rows.filter((r) => r.date === DATES[20]).find((r) => r.symbol === 'TPX')).toMatchObject({ label: 0, barrier: 'vertical', t1: DATES[21] });
  });
});

/** Independent triple-barrier reference over one symbol's raw rows (defaults tp 2, sl 1, vol 20, tie sl). */
function referenceTripleBarrier(rows: RawRow[], h: number, tp = 2, sl = 1, vw = 20) {
  const out: { date: string; t1: string; label: number; ret: number; barrier: string }[] = [];
  for (let i = vw; i + h < rows.length; i++) {
    const r: number[] = [];
    for (let k = i - vw + 1; k <= i; k++) r.push(Math.log(rows[k]!.close / rows[k - 1]!.close));
    const sigma = meanStd(r).sd;
    if (!(sigma > 0)) continue;
    const c0 = rows[i]!.close;
    const up = tp * sigma;
    const dn = -sl * sigma;
    let hit: { t1: string; label: number; ret: number; barrier: string } | null = null;
    for (let j = i + 1; j <= i + h && !hit; j++) {
      const b = rows[j]!;
      const o = Math.log((b.open ?? b.close) / c0);
      const hi = Math.log((b.high ?? b.close) / c0);
      const lo = Math.log((b.low ?? b.close) / c0);
      if (o >= up) hit = { t1: b.date, label: 1, ret: o, barrier: 'tp' };
      else if (o <= dn) hit = { t1: b.date, label: -1, ret: o, barrier: 'sl' };
      else if (lo <= dn) hit = { t1: b.date, label: -1, ret: dn, barrier: 'sl' };
      else if (hi >= up) hit = { t1: b.date, label: 1, ret: up, barrier: 'tp' };
    }
    out.push({ date: rows[i]!.date, ...(hit ?? { t1: rows[i + h]!.date, label: 0, ret: Math.log(rows[i + h]!.close / c0), barrier: 'vertical' }) });
  }
  return out;
}

const REAL = ['AAPL', 'NFLX', 'LNT', 'EBAY', 'PYPL'];

describe('labels on real S&P data', () => {
  it('triple barrier matches an independent implementation, keeps t1 within [date, date + max_h rows], reports the distribution', async () => {
    const ctx0 = makeTestContext();
    const ctx = contextWithOhlcv(await putSp500Slice(ctx0, REAL), { store: ctx0.artifacts });
    const out = (await runKind(labelsTripleBarrier, {}, ctx)) as TbOut;
    const rows = await readParquetRows(ctx.artifacts.path(out.labels));
    let n = 0;
    for (const sym of REAL) {
      const raw = readRawRows(sym);
      const ref = referenceTripleBarrier(raw, 10);
      const got = rows.filter((r) => r.symbol === sym);
      expect(got.length, sym).toBe(ref.length);
      const index = new Map(raw.map((r, i) => [r.date, i]));
      got.forEach((g, k) => {
        const e = ref[k]!;
        expect({ date: g.date, t1: g.t1, label: g.label, barrier: g.barrier }, `${sym} ${e.date}`).toEqual({ date: e.date, t1: e.t1, label: e.label, barrier: e.barrier });
        expect(Math.abs((g.ret as number) - e.ret), `${sym} ${e.date} ret`).toBeLessThan(1e-12);
        const i = index.get(g.date as string)!;
        expect((g.t1 as string) > (g.date as string)).toBe(true);
        expect((g.t1 as string) <= raw[i + 10]!.date).toBe(true);
        n++;
      });
    }
    expect(out.n_rows).toBe(n);
    const counts = out.label_counts;
    expect(counts['-1']! + counts['0']! + counts['1']!).toBe(n);
    expect(counts['1']).toBe(out.barrier_counts.tp);
    expect(counts['-1']).toBe(out.barrier_counts.sl);
    expect(counts['0']).toBe(out.barrier_counts.vertical);
    // The asymmetric default barriers (tp 2σ, sl 1σ) make stop-losses the most frequent outcome.
    expect(counts['-1']!).toBeGreaterThan(counts['1']!);
    expect(out.kind).toBe('classification');
    expect(out.max_horizon_days).toBe(10);
  });

  it('horizon labels: k-day forward log return with t1 = k rows later, optional cross-sectional demeaning', async () => {
    const ctx0 = makeTestContext();
    const ctx = contextWithOhlcv(await putSp500Slice(ctx0, REAL), { store: ctx0.artifacts });
    const plain = (await runKind(labelsHorizon, { horizon: 5 }, ctx)) as HOut;
    const demeaned = (await runKind(labelsHorizon, { horizon: 5, demean: true }, ctx)) as HOut;
    // Deterministic: same artifact bytes and the same scalar outputs (they feed downstream cache keys).
    expect(await runKind(labelsHorizon, { horizon: 5, demean: true }, ctx)).toEqual(demeaned);
    expect(plain.kind).toBe('regression');
    const a = await readParquetRows(ctx.artifacts.path(plain.labels));
    const b = await readParquetRows(ctx.artifacts.path(demeaned.labels));
    expect(b.length).toBe(a.length);
    const byDate = new Map<string, number[]>();
    let n = 0;
    for (const sym of REAL) {
      const raw = readRawRows(sym);
      const got = a.filter((r) => r.symbol === sym);
      expect(got.length, sym).toBe(raw.length - 5);
      got.forEach((g, i) => {
        expect(g.date).toBe(raw[i]!.date);
        expect(g.t1).toBe(raw[i + 5]!.date);
        const ret = Math.log(raw[i + 5]!.close / raw[i]!.close);
        expect(Math.abs((g.ret as number) - ret)).toBeLessThan(1e-12);
        expect(g.label).toBe(g.ret);
        byDate.set(g.date as string, [...(byDate.get(g.date as string) ?? []), ret]);
        n++;
      });
    }
    expect(plain.n_rows).toBe(n);
    for (const r of b) {
      const m = meanStd(byDate.get(r.date as string)!).mean;
      expect(Math.abs((r.label as number) - ((r.ret as number) - m))).toBeLessThan(1e-12);
    }
  });

  it('validates with: and needs an OHLCV upstream', async () => {
    expect(() => labelsTripleBarrier.with.parse({ max_h: 0 })).toThrow();
    expect(() => labelsTripleBarrier.with.parse({ tie: 'both' })).toThrow();
    expect(() => labelsHorizon.with.parse({ horizon: 2.5 })).toThrow();
    expect(labelsTripleBarrier.with.parse({})).toEqual({ vol_window: 20, tp_sigma: 2, sl_sigma: 1, max_h: 10, tie: 'sl', vertical_label: 'zero' });
    await expect(runKind(labelsHorizon, {}, makeTestContext())).rejects.toThrow(/needs ohlcv\.daily@1 for its input "ohlcv"/);
  });
});
