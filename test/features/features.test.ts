import { mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { featuresEquities } from '../../kinds/features/index.ts';
import { loadFeatureSet } from '../../features/config.ts';
import { UserError } from '../../lib/errors.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { makeTestContext, runKind, tempDir } from '../support/context.ts';
import { TEST_SYMBOLS } from '../support/sp500.ts';
import { contextWithOhlcv, meanStd, mulberry32, putSp500Slice, readParquetRows, readRawRows, type RawRow } from './rawdata.ts';

type Out = Awaited<ReturnType<typeof featuresEquities.run>>;

/**
 * Reference computation of every configured feature, written plainly over the raw CSV rows
 * (independent of the SQL): `rows` of one symbol in date order, `mkt` the equal-weight mean log return
 * of the slice's symbols per date. Returns null where the window is incomplete.
 */
function referenceFeatures(rows: RawRow[], i: number, mkt: Map<string, number>): Record<string, number | null> {
  const c = (k: number) => rows[k]!.close;
  const lr = (k: number): number | null => (k >= 1 ? Math.log(c(k) / c(k - 1)) : null);
  const gap = (k: number): number | null => (k >= 1 && rows[k]!.open !== null && rows[k]!.open! > 0 ? rows[k]!.open! / c(k - 1) - 1 : null);
  const win = <T,>(w: number, f: (k: number) => T | null): T[] | null => {
    if (i - w + 1 < 0) return null;
    const out: T[] = [];
    for (let k = i - w + 1; k <= i; k++) {
      const v = f(k);
      if (v === null) return null;
      out.push(v);
    }
    return out;
  };
  const mom = (k: number) => (i - k >= 0 ? Math.log(c(i) / c(i - k)) : null);
  const rvol = (w: number) => {
    const r = win(w, lr);
    return r ? meanStd(r).sd * Math.sqrt(252) : null;
  };
  const closes = (w: number) => win(w, (k) => c(k));
  const z = (w: number) => {
    const x = closes(w);
    return x ? (c(i) - meanStd(x).mean) / meanStd(x).sd : null;
  };
  const boll = (w: number) => {
    const x = closes(w);
    return x ? (c(i) - meanStd(x).mean) / (2 * meanStd(x).sdPop) : null;
  };
  const adv = (w: number) => {
    const x = win(w, (k) => c(k) * rows[k]!.volume);
    return x ? Math.log(meanStd(x).mean) : null;
  };
  const gapMean = (w: number) => {
    const x = win(w, gap);
    return x ? meanStd(x).mean : null;
  };
  const dd = (w: number) => {
    const x = closes(w);
    return x ? c(i) / Math.max(...x) - 1 : null;
  };
  const beta = (w: number) => {
    const pairs = win(w, (k) => {
      const r = lr(k);
      const m = mkt.get(rows[k]!.date);
      return r === null || m === undefined ? null : [r, m];
    });
    if (!pairs) return null;
    const ys = pairs.map((p) => p[0]!);
    const xs = pairs.map((p) => p[1]!);
    const my = meanStd(ys).mean;
    const mx = meanStd(xs).mean;
    let sxy = 0;
    let sxx = 0;
    for (let k = 0; k < w; k++) {
      sxy += (xs[k]! - mx) * (ys[k]! - my);
      sxx += (xs[k]! - mx) ** 2;
    }
    return sxy / sxx;
  };
  const dow = new Date(rows[i]!.date + 'T00:00:00Z').getUTCDay() - 1; // Monday 0
  return {
    mom_5: mom(5),
    mom_20: mom(20),
    mom_60: mom(60),
    mom_126: mom(126),
    rvol_20: rvol(20),
    rvol_60: rvol(60),
    adv_20: adv(20),
    dow_sin: Math.sin((2 * Math.PI * dow) / 5),
    dow_cos: Math.cos((2 * Math.PI * dow) / 5),
    zclose_20: z(20),
    boll_20: boll(20),
    gap: gap(i),
    gap_mean_20: gapMean(20),
    dd_252: dd(252),
    beta_60: beta(60),
  };
}

/** Equal-weight mean daily log return of the given symbols per date (symbols with a return that date). */
function universeReturns(all: Map<string, RawRow[]>): Map<string, number> {
  const sum = new Map<string, { s: number; n: number }>();
  for (const rows of all.values()) {
    for (let k = 1; k < rows.length; k++) {
      const e = sum.get(rows[k]!.date) ?? { s: 0, n: 0 };
      e.s += Math.log(rows[k]!.close / rows[k - 1]!.close);
      e.n += 1;
      sum.set(rows[k]!.date, e);
    }
  }
  return new Map([...sum].map(([d, e]) => [d, e.s / e.n]));
}

function expectClose(actual: unknown, expected: number | null, label: string): void {
  if (expected === null) {
    expect(actual, label).toBeNull();
    return;
  }
  expect(typeof actual, label).toBe('number');
  expect(Math.abs((actual as number) - expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
}

/** Fractional rank of `x` among `xs` (ties averaged) mapped to [−0.5, 0.5]. */
function refRank(xs: number[], x: number): number {
  const less = xs.filter((v) => v < x).length;
  const eq = xs.filter((v) => v === x).length;
  return xs.length === 1 ? 0 : (less + (eq - 1) / 2) / (xs.length - 1) - 0.5;
}

// A slice with quirks: DHR has an empty open on 2015-07-17 and a 0-volume row on 2016-01-12, LNT the
// 2016-05-19 bad print, PYPL starts late (2015-07-06).
const SLICE = ['AAPL', 'DHR', 'LNT', 'XOM', 'JPM', 'PYPL'];
const CHECKED = ['AAPL', 'DHR', 'LNT'];
const DATES = ['2013-03-08', '2015-07-20', '2016-05-20', '2018-02-07'];

describe('features.equities', () => {
  it('matches an independent plain-TypeScript computation on real rows (raw values, three symbols, four dates)', async () => {
    const ctx0 = makeTestContext();
    const ref = await putSp500Slice(ctx0, SLICE);
    const ctx = contextWithOhlcv(ref, { store: ctx0.artifacts });
    const out = (await runKind(featuresEquities, { normalize: false }, ctx)) as Out;
    const rows = await readParquetRows(ctx.artifacts.path(out.features), `symbol IN ('AAPL','DHR','LNT')`);
    const raw = new Map(SLICE.map((s) => [s, readRawRows(s)]));
    const mkt = universeReturns(raw);
    let checked = 0;
    for (const sym of CHECKED) {
      const rs = raw.get(sym)!;
      for (const d of DATES) {
        const i = rs.findIndex((r) => r.date === d);
        expect(i, `${sym} ${d} in raw data`).toBeGreaterThanOrEqual(0);
        const got = rows.find((r) => r.symbol === sym && r.date === d)!;
        expect(got, `${sym} ${d} in features`).toBeDefined();
        const want = referenceFeatures(rs, i, mkt);
        expect(Object.keys(got).slice(2)).toEqual(out.feature_names);
        for (const name of out.feature_names) {
          expectClose(got[name], want[name]!, `${sym} ${d} ${name}`);
          checked++;
        }
      }
    }
    expect(checked).toBe(3 * 4 * 15);
    // The quirks are exercised: the empty DHR open makes gap NULL that day and gap_mean_20 NULL for 20 rows.
    const dhr = raw.get('DHR')!;
    const k = dhr.findIndex((r) => r.date === '2015-07-17');
    expect(referenceFeatures(dhr, k, mkt).gap).toBeNull();
    expect(rows.find((r) => r.symbol === 'DHR' && r.date === '2015-07-17')!.gap).toBeNull();
    expect(rows.find((r) => r.symbol === 'DHR' && r.date === dhr[k + 19]!.date)!.gap_mean_20).toBeNull();
    expect(rows.find((r) => r.symbol === 'DHR' && r.date === dhr[k + 20]!.date)!.gap_mean_20).not.toBeNull();
  });

  it('normalises each date cross-sectionally: fractional rank in [−0.5, 0.5], winsorised z-score, none', async () => {
    const ctx0 = makeTestContext();
    const ref = await putSp500Slice(ctx0, SLICE);
    const ctx = contextWithOhlcv(ref, { store: ctx0.artifacts });
    const out = (await runKind(featuresEquities, {}, ctx)) as Out;
    const raw = new Map(SLICE.map((s) => [s, readRawRows(s)]));
    const mkt = universeReturns(raw);
    for (const d of ['2016-05-20', '2017-09-01']) {
      const got = await readParquetRows(ctx.artifacts.path(out.features), `date = DATE '${d}'`);
      const ref = new Map(SLICE.map((s) => {
        const rs = raw.get(s)!;
        return [s, referenceFeatures(rs, rs.findIndex((r) => r.date === d), mkt)];
      }));
      for (const name of ['mom_20', 'rvol_60', 'beta_60', 'gap', 'dd_252']) {
        const xs = SLICE.map((s) => ref.get(s)![name]!).filter((x): x is number => x !== null);
        for (const s of SLICE) {
          const x = ref.get(s)![name];
          expectClose(got.find((r) => r.symbol === s)![name], x === null ? null : refRank(xs, x), `${d} ${s} rank(${name})`);
        }
      }
      const zs = SLICE.map((s) => ref.get(s)!.zclose_20!);
      const { mean, sd } = meanStd(zs);
      for (const s of SLICE) {
        const z = Math.max(-3, Math.min(3, (ref.get(s)!.zclose_20! - mean) / sd));
        expectClose(got.find((r) => r.symbol === s)!.zclose_20, z, `${d} ${s} zscore(zclose_20)`);
        expectClose(got.find((r) => r.symbol === s)!.dow_sin, ref.get(s)!.dow_sin, `${d} ${s} dow_sin not normalised`);
      }
    }
    // Registry: ordered list, definitions, digests.
    const reg = ctx.artifacts.readJson<{ features: { name: string; index: number; definition: string; normalize: string }[]; digest: string; config_digest: string; version: string }>(out.registry);
    expect(reg.features.map((f) => f.name)).toEqual(out.feature_names);
    expect(reg.features.every((f, i) => f.index === i && f.definition.length > 10)).toBe(true);
    expect(reg.digest).toBe(out.registry_digest);
    expect(reg.config_digest).toBe(out.config_digest);
    expect(out.feature_set_version).toBe(reg.version);
  });

  it('has no look-ahead: recomputing from data truncated at random cut dates gives identical values up to the cut', async () => {
    const ctx0 = makeTestContext();
    const fullRef = await putSp500Slice(ctx0, TEST_SYMBOLS);
    const full = (await runKind(featuresEquities, {}, contextWithOhlcv(fullRef, { store: ctx0.artifacts }))) as Out;
    const fullRows = await readParquetRows(ctx0.artifacts.path(full.features));
    const dates = [...new Set(fullRows.map((r) => r.date as string))].sort();
    const seed = 20240605;
    const rnd = mulberry32(seed);
    // Cuts inside the warm-up of the long windows, mid-sample and near the end.
    const cuts = [dates[200 + Math.floor(rnd() * 100)]!, dates[500 + Math.floor(rnd() * 400)]!, dates[dates.length - 2 - Math.floor(rnd() * 50)]!];
    for (const cut of cuts) {
      const truncRef = await putSp500Slice(ctx0, TEST_SYMBOLS, { to: cut });
      const trunc = (await runKind(featuresEquities, {}, contextWithOhlcv(truncRef, { store: ctx0.artifacts }))) as Out;
      const truncRows = await readParquetRows(ctx0.artifacts.path(trunc.features));
      const expected = fullRows.filter((r) => (r.date as string) <= cut);
      expect(truncRows.length, `rows up to ${cut} (seed ${seed})`).toBe(expected.length);
      for (let i = 0; i < expected.length; i++) {
        // Exact equality (toEqual uses Object.is on numbers): same bits, NULLs in the same places.
        if (JSON.stringify(truncRows[i]) !== JSON.stringify(expected[i])) expect(truncRows[i], `cut ${cut} row ${i} (seed ${seed})`).toEqual(expected[i]);
      }
    }
  });

  it('leaves warm-up rows NULL (never 0) for exactly warmup_rows − 1 rows, sorts by (date, symbol), is deterministic', async () => {
    const ctx0 = makeTestContext();
    const ref = await putSp500Slice(ctx0, ['AAPL', 'MSFT', 'PYPL']);
    const ctx = contextWithOhlcv(ref, { store: ctx0.artifacts });
    const a = (await runKind(featuresEquities, {}, ctx)) as Out;
    const b = (await runKind(featuresEquities, {}, ctx)) as Out;
    expect(b.features.digest).toBe(a.features.digest);
    expect(b.registry_digest).toBe(a.registry_digest);
    const rows = await readParquetRows(ctx.artifacts.path(a.features));
    for (let i = 1; i < rows.length; i++) {
      const p = rows[i - 1]!;
      const r = rows[i]!;
      expect((p.date as string) < (r.date as string) || (p.date === r.date && (p.symbol as string) < (r.symbol as string)), `row ${i} order`).toBe(true);
    }
    const reg = ctx.artifacts.readJson<{ features: { name: string; warmup_rows: number }[] }>(a.registry);
    for (const sym of ['AAPL', 'PYPL']) {
      const own = rows.filter((r) => r.symbol === sym);
      for (const f of reg.features) {
        const firstNonNull = own.findIndex((r) => r[f.name] !== null);
        expect(firstNonNull, `${sym} ${f.name} first non-NULL row`).toBe(f.warmup_rows - 1);
        expect(own.slice(0, firstNonNull).every((r) => r[f.name] === null)).toBe(true);
      }
    }
    expect(a.null_fraction.dd_252).toBeGreaterThan(a.null_fraction.mom_5!);
  });

  it('changing one window changes the columns, the registry digest and the features, not the config digest of an untouched file', async () => {
    const ctx0 = makeTestContext();
    const ref = await putSp500Slice(ctx0, ['AAPL', 'MSFT', 'XOM'], { from: '2016-01-01' });
    const ctx = contextWithOhlcv(ref, { store: ctx0.artifacts });
    const base = (await runKind(featuresEquities, {}, ctx)) as Out;
    const over = (await runKind(featuresEquities, { windows: { mom_5: 10 } }, ctx)) as Out;
    expect(over.feature_names).toContain('mom_10');
    expect(over.feature_names).not.toContain('mom_5');
    expect(over.registry_digest).not.toBe(base.registry_digest);
    expect(over.features.digest).not.toBe(base.features.digest);
    expect(over.config_digest).toBe(base.config_digest);

    // Editing the config file itself (a copy in a temp project root) changes config and registry digests.
    const root = tempDir('trademl-featcfg-');
    mkdirSync(path.join(root, 'configs', 'features'), { recursive: true });
    const file = path.join(root, 'configs', 'features', 'equities.yml');
    copyFileSync(path.join(PROJECT_ROOT, 'configs', 'features', 'equities.yml'), file);
    const same = (await runKind(featuresEquities, {}, { ...ctx, projectRoot: root })) as Out;
    expect(same.registry_digest).toBe(base.registry_digest);
    const text = (await import('node:fs')).readFileSync(file, 'utf8').replace('{ kind: realized_vol, window: 60 }', '{ kind: realized_vol, window: 40 }');
    writeFileSync(file, text);
    const edited = (await runKind(featuresEquities, {}, { ...ctx, projectRoot: root })) as Out;
    expect(edited.config_digest).not.toBe(base.config_digest);
    expect(edited.registry_digest).not.toBe(base.registry_digest);
    expect(edited.feature_names).toContain('rvol_40');
  });

  it('rejects bad configs with file:line:col and field, and bad overrides', () => {
    const root = tempDir('trademl-featcfg-');
    const write = (name: string, text: string) => writeFileSync(path.join(root, name), text);
    write('bad_kind.yml', 'version: 1\nname: x\nfeatures:\n  - { kind: momentum, window: 5 }\n  - { kind: moon, window: 3 }\n');
    expect(() => loadFeatureSet(root, 'bad_kind.yml')).toThrow(/bad_kind\.yml:5:\d+: features\[1\]\.kind/);
    write('no_window.yml', 'version: 1\nname: x\nfeatures:\n  - kind: drawdown\n');
    expect(() => loadFeatureSet(root, 'no_window.yml')).toThrow(/no_window\.yml:4:\d+: features\[0\]: kind drawdown needs a window/);
    write('dup.yml', 'version: 1\nname: x\nfeatures:\n  - { kind: momentum, window: 5 }\n  - { kind: momentum, window: 5 }\n');
    expect(() => loadFeatureSet(root, 'dup.yml')).toThrow(/feature name mom_5 is already used/);
    write('syntax.yml', 'version: 1\nname: [x\n');
    expect(() => loadFeatureSet(root, 'syntax.yml')).toThrow(UserError);
    expect(() => loadFeatureSet(root, 'missing.yml')).toThrow(/missing\.yml cannot be read/);
    expect(() => loadFeatureSet(PROJECT_ROOT, 'configs/features/equities.yml', { mom_7: 3 })).toThrow(/mom_7 match no feature/);
    expect(() => loadFeatureSet(PROJECT_ROOT, 'configs/features/equities.yml', { gap: 3 })).toThrow(UserError);
  });

  it('fails clearly without an OHLCV upstream, and rejects unknown with: fields', async () => {
    expect(() => makeTestContext({ kind: featuresEquities })).toThrow(/needs ohlcv\.daily@1 for its input "ohlcv".*no upstream step provides it/);
    expect(() => featuresEquities.with.parse({ windowz: {} })).toThrow();
  });
});
