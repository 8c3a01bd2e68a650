/**
 * Issue 14, item 10: persisted corporate actions in the shipped S&P data (spin-offs and share
 * dividends the files do not adjust) are neutralised in the curated view that labels and P&L read,
 * real crashes of the same size are kept, and the audit states the universe's survivorship bias.
 * Real rows: the names with the events plus ordinary large caps, the whole 2013–2018 period.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { auditOhlcv, type AuditResult } from '../../data/audit.ts';
import { resolveAuditConfig } from '../../data/audit-config.ts';
import type { AuditReport } from '../../data/audit-report.ts';
import { loadPanel } from '../../backtest/io.ts';
import type { PricePanel } from '../../backtest/panel.ts';
import { runPath } from '../../backtest/engine.ts';
import { NYSE_DAILY } from '../../calendar/calendar.ts';
import { costConfigSchema, riskInputs } from '../../execution/cost_models.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { hasSharedData, PROJECT_ROOT } from '../../lib/paths.ts';
import { tempDir } from '../support/context.ts';
import { writeSp500Slice } from '../support/sp500.ts';

const EVENTS = ['NI', 'EBAY', 'BAX', 'DISCA', 'DISCK'];
const CRASHES = ['CHK', 'EVHC', 'SIG'];
const SYMBOLS = [...EVENTS, ...CRASHES, 'AAPL', 'MSFT', 'JPM', 'XOM', 'KO', 'PG', 'WMT', 'PFE'];

const d = hasSharedData() ? describe : describe.skip;

d('spin-offs neutralised in the curated view (real S&P rows)', () => {
  let store: ArtifactStore;
  let raw: string;
  let audit: AuditResult;
  let report: AuditReport;
  let rawPanel: PricePanel;
  let curPanel: PricePanel;
  beforeAll(async () => {
    const dir = tempDir('c-spinoff-');
    store = new ArtifactStore(path.join(dir, 'store'));
    raw = await writeSp500Slice(path.join(dir, 'raw.parquet'), SYMBOLS);
    const config = resolveAuditConfig(PROJECT_ROOT, undefined, 'sp500 slice');
    audit = await auditOhlcv({ dataset: 'sp500_slice', tablePath: raw, calendar: 'nyse', config }, { store });
    report = store.readJson<AuditReport>(audit.report);
    rawPanel = await withDuckDB((con) => loadPanel(con, raw));
    curPanel = await withDuckDB((con) => loadPanel(con, store.path(audit.curated)));
  });
  const at = (p: PricePanel, sym: string, date: string) => p.dates.indexOf(date) * p.N + p.symbols.indexOf(sym);

  it('neutralises exactly the ex-date level changes and keeps the crashes, with reasons', () => {
    const n = report.corporate_actions.neutralised.map((x) => `${x.symbol} ${x.date}`).sort();
    expect(n).toEqual(['BAX 2015-07-01', 'DISCA 2014-08-07', 'DISCK 2014-08-07', 'EBAY 2015-07-20', 'NI 2015-07-02']);
    expect(audit.corporate_actions_neutralised).toHaveLength(5);
    const kept = new Map(report.corporate_actions.kept.map((k) => [k.symbol, k.reason]));
    for (const s of CRASHES) expect(kept.get(s), s).toMatch(/not an ex-date level change/);
  });

  it('curated prices: before the ex-date divided by the factor, from it on unchanged; crashes untouched', () => {
    const ebay = report.corporate_actions.neutralised.find((x) => x.symbol === 'EBAY')!;
    expect(ebay.kind).toBe('demerger_or_special_dividend');
    const before = at(rawPanel, 'EBAY', '2015-07-17');
    expect(curPanel.close[before]).toBeCloseTo(rawPanel.close[before]! / ebay.price_factor, 10);
    expect(curPanel.volume[before]).toBe(rawPanel.volume[before]); // a spin-off changes no share count
    const exd = at(rawPanel, 'EBAY', '2015-07-20');
    expect(curPanel.close[exd]).toBe(rawPanel.close[exd]);
    // the ex-date's close-to-close return is now its ordinary open→close move, not −57%
    const r = curPanel.close[exd]! / curPanel.close[before]! - 1;
    expect(Math.abs(r - (rawPanel.close[exd]! / rawPanel.open[exd]! - 1))).toBeLessThan(1e-12);
    // DISCA's share dividend is a 2:1 share ratio: volumes before it double
    const disca = at(rawPanel, 'DISCA', '2014-08-06');
    expect(curPanel.volume[disca]).toBe(rawPanel.volume[disca]! * 2);
    // CHK's −33% crash on 2016-02-08 stays in the data
    const chk = at(rawPanel, 'CHK', '2016-02-08');
    expect(curPanel.close[chk]! / curPanel.close[chk - curPanel.N]! - 1).toBeLessThan(-0.3);
  });

  it('a short held across the spin-off books no fake gain in the backtest', () => {
    const P = (p: PricePanel) => {
      const W = new Float64Array(p.T * p.N);
      const s = p.symbols.indexOf('EBAY');
      const t0 = p.dates.indexOf('2015-07-10');
      const t1 = p.dates.indexOf('2015-07-24');
      for (let t = t0; t <= t1; t++) W[t * p.N + s] = -0.05;
      const risk = riskInputs(p);
      const series = runPath(W, p, risk, costConfigSchema.parse({}), NYSE_DAILY, 'next_open');
      return series.gross.reduce((a, b) => a + b, 0);
    };
    const onRaw = P(rawPanel);
    const onCurated = P(curPanel);
    expect(onRaw).toBeGreaterThan(0.02); // the raw prices credit the short with most of 57% of 5%
    expect(Math.abs(onCurated)).toBeLessThan(0.01);
  });

  it('states the survivorship bias of the universe', () => {
    expect(report.universe.survivorship).toMatchObject({ bias: 'likely', symbols: SYMBOLS.length, exits: 0 });
    expect(report.universe.survivorship.statement).toMatch(/survivorship bias likely/);
    expect(audit.survivorship.bias).toBe('likely');
  });

  it('without candidates (or with neutralize off) the curated bytes are what they were', async () => {
    const config = resolveAuditConfig(PROJECT_ROOT, undefined, 'sp500 slice', { rules: { corporate_action: { neutralize: false } } });
    const off = await auditOhlcv({ dataset: 'sp500_slice', tablePath: raw, calendar: 'nyse', config }, { store });
    expect(off.corporate_actions_neutralised).toEqual([]);
    expect(off.curated.digest).not.toBe(audit.curated.digest);
    const diff = await withDuckDB((con) =>
      queryRows<{ n: number }>(con, `SELECT count(*)::INTEGER AS n FROM read_parquet(${sqlString(store.path(off.curated))}) a JOIN read_parquet(${sqlString(raw)}) b USING (symbol, date) WHERE a.close <> b.close`),
    );
    expect(diff[0]!.n).toBe(0);
  });
});
