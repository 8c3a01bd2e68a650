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

// Constructed paths: 21 warm-up closes alternating 100/101 (σ of the 20 log returns is known), signal at
// row 20 (close 100), then 5 forward bars. The label enters at the next open O_21 (100.2 on a CALM bar):
// σ = sqrt(20·ln(1.01)²/19) ≈ 1.0209%, so with tp 2 / sl 1 the barriers sit at ≈ 102.27 and ≈ 99.18.
const DATES = weekdays(26);
const A = Math.log(1.01);
const SIGMA = Math.sqrt((20 * A * A) / 19);
type Bar = [open: number | null, high: number, low: number, close: number];
const CALM: Bar = [100.2, 100.6, 99.6, 100.4];
const HIGH: Bar = [103, 103.2, 102.8, 103];
const SCENARIOS: Record<string, Bar[]> = {
  TPX: [CALM, [100.5, 102.5, 100.1, 102.2], CALM, CALM, CALM],
  SLX: [CALM, [100.3, 100.5, 98.5, 98.7], CALM, CALM, CALM],
  TIE: [CALM, [100.3, 102.5, 98.5, 100.0], CALM, CALM, CALM],
  GAP: [CALM, [103.0, 103.5, 98.0, 99.0], CALM, CALM, CALM],
  GDN: [CALM, [98.0, 102.9, 97.5, 101.0], CALM, CALM, CALM],
  VRT: [CALM, CALM, CALM, CALM, [100.4, 100.8, 99.9, 100.7]],
  LATE: [CALM, CALM, CALM, CALM, [100.4, 102.3, 99.9, 102.0]],
  // the fill bar's own high after the open: a touch on the entry day
  ENT: [[100, 102.5, 99.9, 101], CALM, CALM, CALM, CALM],
  // the overnight gap into the fill (C_20 = 100 → O_21 = 103) is not part of the label: flat after the fill
  OVN: [HIGH, HIGH, HIGH, HIGH, HIGH],
  // no open on the fill bar: no fill, no label
  NOO: [[null, 100.6, 99.6, 100.4], CALM, CALM, CALM, CALM],
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
  it('enters at the next open: each barrier, the open gap, the tie rule, the fill bar and the vertical barrier', async () => {
    const ctx0 = makeTestContext();
    const ctx = contextWithOhlcv(await putBars(ctx0, scenarioRows()), { store: ctx0.artifacts });
    const { out, rows } = await tbRows(ctx, {});
    const by = (s: string) => rows.find((r) => r.symbol === s)!;
    // Only row 20 has both a full 20-return vol window and 5 later rows; NOO has no fill price.
    expect(rows.length).toBe(Object.keys(SCENARIOS).length - 1);
    expect(by('NOO')).toBeUndefined();
    expect(rows.every((r) => r.date === DATES[20])).toBe(true);
    expect(by('TPX').sigma as number).toBeCloseTo(SIGMA, 12);
    expect(out).toMatchObject({ entry: 'next_open', max_horizon_days: 5 });
    expect(out.labels).toMatchObject({ entry: 'next_open', max_horizon_bars: 5 });

    expect(by('TPX')).toMatchObject({ label: 1, barrier: 'tp', t1: DATES[22], holding_days: 2 });
    expect(by('TPX').ret as number).toBeCloseTo(2 * SIGMA, 12);
    expect(by('SLX')).toMatchObject({ label: -1, barrier: 'sl', t1: DATES[22] });
    expect(by('SLX').ret as number).toBeCloseTo(-SIGMA, 12);
    // Both barriers inside one bar, open between them: the default tie rule takes the stop-loss.
    expect(by('TIE')).toMatchObject({ label: -1, barrier: 'sl', t1: DATES[22] });
    // Open beyond a barrier decides, whatever the rest of the bar did; filled at that open, from the entry open.
    expect(by('GAP')).toMatchObject({ label: 1, barrier: 'tp', t1: DATES[22] });
    expect(by('GAP').ret as number).toBeCloseTo(Math.log(103 / 100.2), 12);
    expect(by('GDN')).toMatchObject({ label: -1, barrier: 'sl' });
    expect(by('GDN').ret as number).toBeCloseTo(Math.log(98 / 100.2), 12);
    // No touch: vertical barrier at the close of row 20 + 5, label 0, ret = entry open to that close.
    expect(by('VRT')).toMatchObject({ label: 0, barrier: 'vertical', t1: DATES[25], holding_days: 5 });
    expect(by('VRT').ret as number).toBeCloseTo(Math.log(100.7 / 100.2), 12);
    // A touch on the last day of the window is still a touch.
    expect(by('LATE')).toMatchObject({ label: 1, barrier: 'tp', t1: DATES[25] });
    // The fill bar's high (entry 100 → 102.5 ≥ 100·e^{2σ}) is read: a take-profit on day 1.
    expect(by('ENT')).toMatchObject({ label: 1, barrier: 'tp', t1: DATES[21], holding_days: 1 });
    // Same-close entry would book the overnight gap 100 → 103 as a take-profit; from the fill it is flat.
    expect(by('OVN')).toMatchObject({ label: 0, barrier: 'vertical', t1: DATES[25] });
    expect(by('OVN').ret as number).toBeCloseTo(0, 12);
    expect(out.label_counts).toEqual({ '-1': 3, '0': 2, '1': 4 });
    expect(out.barrier_counts).toEqual({ tp: 4, sl: 3, vertical: 2 });

    const tp = await tbRows(ctx, { tie: 'tp' });
    expect(tp.rows.find((r) => r.symbol === 'TIE')).toMatchObject({ label: 1, barrier: 'tp' });
    const sign = await tbRows(ctx, { vertical_label: 'sign' });
    expect(sign.rows.find((r) => r.symbol === 'VRT')).toMatchObject({ label: 1, barrier: 'vertical' });
    // A disabled upper barrier (tp_sigma 0) turns TPX into a vertical exit.
    const noTp = await tbRows(ctx, { tp_sigma: 0 });
    expect(noTp.rows.find((r) => r.symbol === 'TPX')).toMatchObject({ label: 0, barrier: 'vertical', t1: DATES[25] });
    // A one-bar hold exits at the fill bar's close, before the touch on day 2.
    const h1 = await tbRows(ctx, { max_h: 1 });
    const h1tpx = h1.rows.filter((r) => r.date === DATES[20]).find((r) => r.symbol === 'TPX')!;
    expect(h1tpx).toMatchObject({ label: 0, barrier: 'vertical', t1: DATES[21], holding_days: 1 });
    expect(h1tpx.ret as number).toBeCloseTo(Math.log(100.4 / 100.2), 12);
  });

  it('entry: close fills at the next close and reads the barriers from the bar after it', async () => {
    const ctx0 = makeTestContext();
    const ctx = contextWithOhlcv(await putBars(ctx0, scenarioRows()), { store: ctx0.artifacts });
    const { out, rows } = await tbRows(ctx, { entry: 'close', max_h: 4 });
    const by = (s: string) => rows.find((r) => r.symbol === s && r.date === DATES[20])!;
    expect(out).toMatchObject({ entry: 'close', max_horizon_days: 5 });
    expect(out.labels).toMatchObject({ entry: 'close', max_horizon_bars: 5 });
    // Entry C_21 = 100.4: TPX's high 102.5 ≥ 100.4·e^{2σ} ≈ 102.47 on day 2; ENT's day-1 high is before the fill.
    expect(by('TPX')).toMatchObject({ label: 1, barrier: 'tp', t1: DATES[22], holding_days: 2 });
    expect(by('ENT')).toMatchObject({ label: -1, barrier: 'sl', t1: DATES[22] });
    expect(by('VRT')).toMatchObject({ label: 0, barrier: 'vertical', t1: DATES[25], holding_days: 5 });
    expect(by('VRT').ret as number).toBeCloseTo(Math.log(100.7 / 100.4), 12);
    // NOO has a close on the fill bar: filled there.
    expect(by('NOO')).toMatchObject({ barrier: 'vertical' });
  });
});

/**
 * Independent triple-barrier reference over one symbol's raw rows (defaults tp 2, sl 1, vol 20, tie sl),
 * entered at the next open: entry O_{i+1}, bars i+1..i+h read in order, vertical exit at C_{i+h}.
 */
function referenceTripleBarrier(rows: RawRow[], h: number, tp = 2, sl = 1, vw = 20) {
  const out: { date: string; t1: string; label: number; ret: number; barrier: string }[] = [];
  for (let i = vw; i + h < rows.length; i++) {
    const r: number[] = [];
    for (let k = i - vw + 1; k <= i; k++) r.push(Math.log(rows[k]!.close / rows[k - 1]!.close));
    const sigma = meanStd(r).sd;
    const e0 = rows[i + 1]!.open;
    if (!(sigma > 0) || e0 === null || !(e0 > 0)) continue;
    const up = tp * sigma;
    const dn = -sl * sigma;
    let hit: { t1: string; label: number; ret: number; barrier: string } | null = null;
    for (let j = i + 1; j <= i + h && !hit; j++) {
      const b = rows[j]!;
      const o = Math.log((b.open ?? b.close) / e0);
      const hi = Math.log((b.high ?? b.close) / e0);
      const lo = Math.log((b.low ?? b.close) / e0);
      if (o >= up) hit = { t1: b.date, label: 1, ret: o, barrier: 'tp' };
      else if (o <= dn) hit = { t1: b.date, label: -1, ret: o, barrier: 'sl' };
      else if (lo <= dn) hit = { t1: b.date, label: -1, ret: dn, barrier: 'sl' };
      else if (hi >= up) hit = { t1: b.date, label: 1, ret: up, barrier: 'tp' };
    }
    out.push({ date: rows[i]!.date, ...(hit ?? { t1: rows[i + h]!.date, label: 0, ret: Math.log(rows[i + h]!.close / e0), barrier: 'vertical' }) });
  }
  return out;
}

const REAL = ['AAPL', 'NFLX', 'LNT', 'EBAY', 'PYPL'];

describe('labels on real S&P data', () => {
  it('triple barrier from the next open matches an independent implementation, keeps t1 within (date, date + max_h rows], reports the distribution', async () => {
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
    expect(out.entry).toBe('next_open');
  });

  it('horizon labels: k-bar log return from the next open (or the next close), t1 = k+1 rows later, optional demeaning', async () => {
    const ctx0 = makeTestContext();
    const ctx = contextWithOhlcv(await putSp500Slice(ctx0, REAL), { store: ctx0.artifacts });
    const plain = (await runKind(labelsHorizon, { horizon: 5 }, ctx)) as HOut;
    const demeaned = (await runKind(labelsHorizon, { horizon: 5, demean: true }, ctx)) as HOut;
    const atClose = (await runKind(labelsHorizon, { horizon: 5, entry: 'close' }, ctx)) as HOut;
    // Deterministic: same artifact bytes and the same scalar outputs (they feed downstream cache keys).
    expect(await runKind(labelsHorizon, { horizon: 5, demean: true }, ctx)).toEqual(demeaned);
    expect(plain).toMatchObject({ kind: 'regression', entry: 'next_open', max_horizon_days: 6 });
    expect(plain.labels).toMatchObject({ entry: 'next_open', max_horizon_bars: 6, labels_kind: 'horizon' });
    expect(atClose.labels).toMatchObject({ entry: 'close', max_horizon_bars: 6 });
    const a = await readParquetRows(ctx.artifacts.path(plain.labels));
    const b = await readParquetRows(ctx.artifacts.path(demeaned.labels));
    const c = await readParquetRows(ctx.artifacts.path(atClose.labels));
    expect(b.length).toBe(a.length);
    const byDate = new Map<string, number[]>();
    let n = 0, nc = 0;
    for (const sym of REAL) {
      const raw = readRawRows(sym);
      const want = raw.slice(0, raw.length - 6).flatMap((r, i) => {
        const o1 = raw[i + 1]!.open, o6 = raw[i + 6]!.open;
        return o1 !== null && o1 > 0 && o6 !== null && o6 > 0 ? [{ date: r.date, t1: raw[i + 6]!.date, ret: Math.log(o6 / o1) }] : [];
      });
      const got = a.filter((r) => r.symbol === sym);
      expect(got.length, sym).toBe(want.length);
      got.forEach((g, i) => {
        const e = want[i]!;
        expect({ date: g.date, t1: g.t1 }).toEqual({ date: e.date, t1: e.t1 });
        expect(Math.abs((g.ret as number) - e.ret)).toBeLessThan(1e-12);
        expect(g.label).toBe(g.ret);
        byDate.set(g.date as string, [...(byDate.get(g.date as string) ?? []), e.ret]);
        n++;
      });
      const gotC = c.filter((r) => r.symbol === sym);
      expect(gotC.length, sym).toBe(raw.length - 6);
      gotC.forEach((g, i) => {
        expect(g.t1).toBe(raw[i + 6]!.date);
        expect(Math.abs((g.ret as number) - Math.log(raw[i + 6]!.close / raw[i + 1]!.close))).toBeLessThan(1e-12);
        nc++;
      });
    }
    expect(plain.n_rows).toBe(n);
    expect(atClose.n_rows).toBe(nc);
    for (const r of b) {
      const m = meanStd(byDate.get(r.date as string)!).mean;
      expect(Math.abs((r.label as number) - ((r.ret as number) - m))).toBeLessThan(1e-12);
    }
  });

  it('validates with: and needs an OHLCV upstream', async () => {
    expect(() => labelsTripleBarrier.with.parse({ max_h: 0 })).toThrow();
    expect(() => labelsTripleBarrier.with.parse({ tie: 'both' })).toThrow();
    expect(() => labelsHorizon.with.parse({ horizon: 2.5 })).toThrow();
    expect(() => labelsHorizon.with.parse({ entry: 'same_close' })).toThrow();
    expect(labelsTripleBarrier.with.parse({})).toEqual({ vol_window: 20, tp_sigma: 2, sl_sigma: 1, max_h: 10, tie: 'sl', vertical_label: 'zero', entry: 'next_open' });
    expect(labelsHorizon.with.parse({})).toEqual({ horizon: 5, demean: false, entry: 'next_open' });
    await expect(runKind(labelsHorizon, {}, makeTestContext())).rejects.toThrow(/needs ohlcv\.daily@1 for its input "ohlcv"/);
  });
});
