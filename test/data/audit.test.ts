import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ingestOhlcvKind, qcAuditKind } from '../../kinds/data/index.ts';
import type { StepContext, StepOutputs } from '../../kinds/types.ts';
import { ArtifactStore, type ArtifactRef } from '../../artifacts/store.ts';
import { assertAuditsNotRed } from '../../data/guard.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { DataQualityError } from '../../lib/errors.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { makeTestContext, runKind, tempDir } from '../support/context.ts';
import { copySp500 } from './helpers.ts';

interface Report {
  per_date: { date: string; status: string; coverage: number; alive: number; present: number }[];
  universe: { entries: { symbol: string; first_date: string; rows: number }[]; exits: unknown[] };
  examples: Record<string, { date: string; symbol: string; detail: string }[]>;
  rule_counts: Record<string, number>;
}

/** Runs ingest.ohlcv then qc.audit the way a pipeline wires them (audit finds ingest by kind). */
async function ingestAndAudit(ctx: StepContext, dataset: string, auditWith: Record<string, unknown> = {}) {
  const ing = await runKind(ingestOhlcvKind, { dataset }, { ...ctx, stepId: 'ingest' });
  const audit = await runKind(qcAuditKind, auditWith, {
    ...ctx,
    stepId: 'audit',
    inputs: { ingest: ing },
    ancestors: { ingest: { uses: 'ingest.ohlcv', status: 'succeeded', outputs: ing } },
  });
  return { ing, audit };
}

/** A training step's view: the audit is an ancestor. */
function trainCtx(ctx: StepContext, audit: StepOutputs): StepContext {
  return { ...ctx, stepId: 'fit', ancestors: { audit: { uses: 'qc.audit', status: 'succeeded', outputs: audit } } };
}

async function rows<T>(store: ArtifactStore, ref: unknown, where: string): Promise<T[]> {
  return withDuckDB((con) => queryRows<T>(con, `SELECT * FROM read_parquet(${sqlString(store.path(ref as ArtifactRef))}) WHERE ${where} ORDER BY ALL`));
}

describe.skipIf(!hasSharedData())('qc.audit on the full S&P 500 dataset', () => {
  const store = new ArtifactStore(path.join(tempDir(), 'artifacts'));
  const ctx = makeTestContext({ store });
  let audit: StepOutputs;
  let report: Report;

  beforeAll(async () => {
    ({ audit } = await ingestAndAudit(ctx, 'sp500_all_stocks_5yr'));
    report = store.readJson<Report>(audit.report as ArtifactRef);
  });

  it('is not RED with the default thresholds, so nightly training may run', () => {
    expect(audit.status).not.toBe('RED');
    expect(audit.red_dates).toEqual([]);
    expect(audit.dates).toBe(1259);
    expect(() => assertAuditsNotRed(trainCtx(ctx, audit))).not.toThrow();
  });

  it('measures coverage against each symbol listed life: late starters are universe entries, not gaps', () => {
    const entries = new Map(report.universe.entries.map((e) => [e.symbol, e]));
    expect(entries.size).toBe(29);
    expect(entries.get('APTV')).toMatchObject({ first_date: '2017-12-05', rows: 44 });
    expect(entries.get('GOOG')?.first_date).toBe('2014-03-27');
    expect(entries.get('HPQ')?.first_date).toBe('2015-10-19');
    // the 6 names that miss 2-16 days only dent coverage
    const min = Math.min(...report.per_date.map((d) => d.coverage));
    expect(min).toBeGreaterThanOrEqual(0.99);
    expect(min).toBeLessThan(1);
    const missing = report.examples.missing_day.map((e) => e.symbol);
    expect(new Set(missing)).toEqual(new Set(['BMY', 'DHR', 'ES', 'ICE', 'O', 'ORCL', 'AOS']));
  });

  it('flags the LNT 2016-05-19 bad print (Hampel outlier that reverts) and repairs it in the curated view', async () => {
    const bad = report.examples.bad_print.find((e) => e.symbol === 'LNT');
    expect(bad?.date).toBe('2016-05-19');
    const flags = await rows<{ rule: string; action: string }>(store, audit.flags, `symbol = 'LNT' AND date = DATE '2016-05-19'`);
    expect(flags.map((f) => f.rule)).toEqual(['bad_print', 'close_outside_range']);
    const cur = await rows<{ close: number; low: number; high: number }>(store, audit.curated, `symbol = 'LNT' AND date BETWEEN DATE '2016-05-18' AND DATE '2016-05-20'`);
    expect(cur).toHaveLength(3);
    expect(cur[1]!.close).not.toBe(17.87);
    expect(cur[1]!.close).toBeCloseTo(35.35, 6); // previous usable close (ffill policy)
    expect(cur[1]!.low).toBeLessThanOrEqual(cur[1]!.close);
    expect(cur[1]!.high).toBeGreaterThanOrEqual(cur[1]!.close);
  });

  it('flags the empty opens and fills them in the curated view', async () => {
    const m = report.examples.missing_ohlc.map((e) => `${e.symbol} ${e.date}`);
    expect(report.rule_counts.missing_ohlc).toBe(11);
    for (const k of ['BHF 2017-07-26', 'DHR 2015-07-17', 'ES 2015-07-17', 'O 2015-07-17', 'REGN 2015-06-09', 'VRTX 2015-05-12', 'UA 2016-04-07', 'WRK 2015-06-26']) expect(m).toContain(k);
    const cur = await rows<{ open: number | null }>(store, audit.curated, `open IS NULL OR high IS NULL OR low IS NULL`);
    expect(cur).toEqual([]);
  });

  it('flags prices outside [low, high] (12 rows with the AOS row quarantined as high < low)', async () => {
    const open = report.examples.open_outside_range.map((e) => `${e.symbol} ${e.date}`);
    const close = report.examples.close_outside_range.map((e) => `${e.symbol} ${e.date}`);
    expect(open).toContain('CHD 2014-05-19');
    expect(close).toContain('BBY 2016-03-14');
    expect(open.length + close.length).toBe(11);
    const aos = report.examples.missing_day.find((e) => e.symbol === 'AOS');
    expect(aos).toMatchObject({ date: '2014-05-19' });
    expect(aos!.detail).toMatch(/quarantined at ingest \(high_below_low\)/);
  });

  it('flags the spin-off moves as suspected corporate actions that persisted', () => {
    const ca = new Map(report.examples.corporate_action.map((e) => [`${e.symbol} ${e.date}`, e.detail]));
    for (const k of ['BAX 2015-07-01', 'EBAY 2015-07-20', 'NI 2015-07-02', 'DISCA 2014-08-07', 'DISCK 2014-08-07']) {
      expect(ca.get(k), k).toMatch(/persisted/);
    }
    expect([...ca.keys()].some((k) => k.startsWith('LNT'))).toBe(false); // a reverting spike is a bad print, not a corporate action
  });
});

describe.skipIf(!hasSharedData())('seed acceptance: missing week → RED → training refuses → backfill → GREEN → training runs', () => {
  it('blocks on RED and unblocks after re-ingesting the restored files', async () => {
    const { root, dir } = copySp500();
    const store = new ArtifactStore(path.join(tempDir(), 'artifacts'));
    const ctx = makeTestContext({ store, dataRoot: root });
    const week = ['2016-03-07', '2016-03-08', '2016-03-09', '2016-03-10', '2016-03-11'];
    const files = readdirSync(dir).filter((f) => f.endsWith('.csv')).sort();
    const originals = new Map<string, string>();
    // remove one week of rows for every second symbol (about half the universe)
    files.forEach((f, i) => {
      if (i % 2) return;
      const text = readFileSync(path.join(dir, f), 'utf8');
      originals.set(f, text);
      writeFileSync(path.join(dir, f), text.split('\n').filter((l) => !week.includes(l.slice(0, 10))).join('\n'));
    });

    const broken = await ingestAndAudit(ctx, 'sp500_all_stocks_5yr');
    expect(broken.audit.status).toBe('RED');
    expect(broken.audit.red_dates).toEqual(week);
    const reasons = broken.audit.red_reasons as { rule: string; count: number }[];
    expect(reasons[0]!.rule).toBe('missing_day');
    expect(reasons[0]!.count).toBeGreaterThanOrEqual(5 * 240);
    let err: unknown;
    try {
      assertAuditsNotRed(trainCtx(ctx, broken.audit));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataQualityError);
    const msg = (err as Error).message;
    for (const d of week) expect(msg).toContain(d);
    expect(msg).toContain(`missing_day: ${reasons[0]!.count}`);
    expect(msg).toContain('sp500_all_stocks_5yr');

    // backfill: restore the files and re-ingest
    for (const [f, text] of originals) writeFileSync(path.join(dir, f), text);
    const fixed = await ingestAndAudit(ctx, 'sp500_all_stocks_5yr');
    expect(fixed.audit.status).toBe('GREEN');
    expect(fixed.ing.rows).toBe(619_039);
    expect(() => assertAuditsNotRed(trainCtx(ctx, fixed.audit))).not.toThrow();
  });
});
