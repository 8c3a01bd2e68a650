import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { calendarFor } from '../../calendar/calendar.ts';
import { dailyIc, dateBlocks, summarizeIc } from '../../cv/metrics.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { isReportableRunId, reportDir, writeReport, type ReportInput } from '../../report/index.ts';
import type { RunRecord, StepRecord } from '../../tracking/observer.ts';
import { tempDir } from '../support/context.ts';
import { nightlyRunFixture, type RunFixture } from '../tracking/support/fixtures.ts';

function inputOf(fx: RunFixture, status = 'succeeded', steps: StepRecord[] = fx.steps, run: RunRecord = fx.run): ReportInput {
  return {
    runId: run.runId,
    pipeline: run.pipeline,
    status,
    planDigest: run.planDigest,
    params: run.params,
    startedAt: run.startedAt,
    endedAt: steps.at(-1)?.endedAt,
    steps: steps.map((s) => ({ ...s, control: fx.approvals.includes(s.stepId) || undefined })),
    lineage: { git_commit: 'abc123' },
  };
}

/** Independent IC of one path from the OOF rows: cv/metrics.ts on the rows sorted by date. */
async function pathIc(file: string, p: number) {
  const rows = await withDuckDB((con) => queryRows<{ date: Date; score: number; label: number }>(con, `SELECT date, score, label FROM read_parquet(${sqlString(file)}) WHERE path = ${p} ORDER BY date, symbol`));
  const days = [...new Set(rows.map((r) => r.date.getTime()))];
  const idx = new Map(days.map((d, i) => [d, i]));
  const blocks = dateBlocks(Int32Array.from(rows.map((r) => idx.get(r.date.getTime())!)), days.length);
  const d = dailyIc(blocks, rows.map((r) => r.score), rows.map((r) => r.label));
  return summarizeIc(d.ic, d.rankIc);
}

describe('run report by contract', () => {
  const dir = tempDir('trademl-report-');
  const store = new ArtifactStore(path.join(dir, 'artifacts'));
  let fx: RunFixture;
  beforeAll(async () => {
    fx = await nightlyRunFixture(store, { approval: 'approved' });
  });

  it('computes per-path equity, drawdown, costs and calendar-annualised Sharpe that match an independent computation', async () => {
    const d = (await writeReport(inputOf(fx), store)).data;
    const rows = await withDuckDB((con) => queryRows<{ net: number; fee: number }>(con, `SELECT net, fee FROM read_parquet(${sqlString(store.path(fx.refs.returns!))}) WHERE path = 3 ORDER BY date`));
    let eq = 1;
    let peak = 1;
    let mdd = 0;
    for (const r of rows) {
      eq *= 1 + r.net;
      peak = Math.max(peak, eq);
      mdd = Math.min(mdd, eq / peak - 1);
    }
    const mean = rows.reduce((a, r) => a + r.net, 0) / rows.length;
    const sd = Math.sqrt(rows.reduce((a, r) => a + (r.net - mean) ** 2, 0) / (rows.length - 1));
    expect(d.backtests).toHaveLength(1);
    const p3 = d.backtests[0]!.paths.find((p) => p.path === 3)!;
    expect(d.backtests[0]!.paths).toHaveLength(7);
    expect(p3.days).toBe(rows.length);
    expect(p3.total_return).toBeCloseTo(eq - 1, 9);
    expect(p3.max_drawdown).toBeCloseTo(mdd, 9);
    expect(p3.fee).toBeCloseTo(rows.reduce((a, r) => a + r.fee, 0), 12);
    expect(p3.sharpe!).toBeCloseTo((mean / sd) * Math.sqrt(calendarFor('nyse').barsPerYear), 9);
    expect(d.backtests[0]!.aggregate).toMatchObject({ 'median.sharpe': 0.8, n_paths: 7 });

    // The same returns on a 24×7 calendar annualise with its own bars per year.
    const crypto = fx.steps.map((s) => (s.stepId === 'backtest' ? { ...s, outputs: { returns: { ...(s.outputs.returns as object), calendar: '24x7' } } } : s));
    const c = (await writeReport(inputOf(fx, 'succeeded', crypto), store)).data.backtests[0]!.paths.find((p) => p.path === 3)!;
    expect(c.sharpe! / p3.sharpe!).toBeCloseTo(Math.sqrt(calendarFor('24x7').barsPerYear / calendarFor('nyse').barsPerYear), 9);
  });

  it('reports each OOF signal with IC per path and split, walk-forward and calibration from its contract tables', async () => {
    const d = (await writeReport(inputOf(fx), store)).data;
    expect(d.signals.map((s) => [s.step, s.sleeve, s.target, s.n_trials])).toEqual([['fit', 'h5', 'label', 12]]);
    const sig = d.signals[0]!;
    expect(sig.paths.map((p) => p.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(sig.splits).toHaveLength(28);
    const ind = await pathIc(store.path(fx.refs.oof!), 3);
    const p3 = sig.paths.find((p) => p.id === 3)!;
    expect(p3.ic!).toBeCloseTo(ind.ic, 9);
    expect(p3.rank_ic!).toBeCloseTo(ind.rank_ic, 9);
    expect(p3.icir!).toBeCloseTo(ind.icir, 9);
    expect(p3.n_dates).toBe(ind.n_dates);
    const wf = await pathIc(store.path(fx.refs.oof_wf!), 0);
    expect(sig.walk_forward!.rank_ic!).toBeCloseTo(wf.rank_ic, 9);

    // Calibration of a classifier with probabilities: prob_up against 1{label = +1}.
    const oof = await withDuckDB((con) => queryRows<{ p: number; label: number }>(con, `SELECT prob_up AS p, label FROM read_parquet(${sqlString(store.path(fx.refs.oof!))})`));
    const brier = oof.reduce((a, r) => a + (r.p - (r.label === 1 ? 1 : 0)) ** 2, 0) / oof.length;
    expect(sig.calibration!.task).toBe('classification');
    expect(sig.calibration!.brier!).toBeCloseTo(brier, 9);
    expect(sig.calibration!.bins).toHaveLength(10);
    expect(sig.calibration!.bins.reduce((a, b) => a + b.count, 0)).toBe(oof.length);
    const mp = sig.calibration!.bins.map((b) => b.mean_pred);
    expect([...mp].sort((a, b) => a - b)).toEqual(mp);
  });

  it('draws the gate, data quality, sizing, approval and lineage sections from the contracts provided', async () => {
    const rep = await writeReport(inputOf(fx), store, path.join(dir, 'out'));
    const d = rep.data;
    expect(d.gates).toHaveLength(1);
    expect(d.gates[0]).toMatchObject({ step: 'gate', passed: true, figures: { dsr: 0.97, pbo: 0.22, n_trials: 12 } });
    expect(d.gates[0]!.table.map((r) => r.bar)).toEqual(['dsr', 'psr', 'pbo', 'max_drawdown']);
    expect(d.data).toHaveLength(1);
    expect(d.data[0]).toMatchObject({ step: 'audit', status: 'GREEN', by_status: { GREEN: 59, AMBER: 1 }, amber_dates: ['2018-01-14'] });
    expect(d.sizing).toEqual([expect.objectContaining({ step: 'ope', accepted: true, policy: 'learned', estimator: 'doubly_robust', estimate: 0.0012, lcb: 0.0004, ucb: 0.002, baseline_value: 0.0006, margin: 0.0001 })]);
    expect(d.models).toEqual([expect.objectContaining({ step: 'fit', sleeve: 'h5', engine: 'xgboost', n_features: fx.featureNames.length })]);
    expect(d.approvals).toEqual([expect.objectContaining({ step: 'approve', approved: true, by: 'alice' })]);
    expect(d.edges).toContainEqual({ from: 'fit', to: 'backtest' });
    expect(d.steps.find((s) => s.stepId === 'backtest')!.layer).toBe(d.steps.find((s) => s.stepId === 'fit')!.layer + 1);
    expect(d.lineage.datasets).toContainEqual(expect.objectContaining({ step: 'fit', output: 'model.onnx', contract: 'model.bundle@1', digest: fx.refs.model!.digest }));
    expect(d.lineage.datasets).toContainEqual(expect.objectContaining({ step: 'audit', output: 'curated', contract: 'ohlcv.daily@1', digest: fx.refs.curated!.digest }));
    expect(d.missing).toEqual([]);
    expect(rep.charts).toEqual(expect.arrayContaining(['dag', 'timings', 'audit-audit', 'ic-split', 'ic-path', 'equity-backtest', 'drawdown-backtest', 'costs-backtest', 'calibration-fit', 'ope-ope']));
    expect(rep.html).toContain('signals.oof@1');
    // A RED verdict shows its rules, hints and lost symbols.
    const redQuality = { ...(fx.steps[1]!.outputs.quality as object), status: 'RED', red_dates: ['2018-01-02'], red_reasons: [{ rule: 'bad_print', count: 1 }], red_hints: ['bad_print: 1 RED date; rules.bad_print.action governs it'], lost_symbols: ['XYZ'] };
    const red = fx.steps.map((s) => (s.stepId === 'audit' ? { ...s, outputs: { ...s.outputs, quality: redQuality } } : s));
    const redRep = await writeReport(inputOf(fx, 'succeeded', red), store);
    expect(redRep.data.data[0]).toMatchObject({ status: 'RED', red_dates: ['2018-01-02'], lost_symbols: ['XYZ'] });
    expect(redRep.html).toContain('rules.bad_print.action governs it');
    // report.json is canonical and stored by content.
    expect(JSON.parse(store.readText(rep.refs.json))).toEqual(JSON.parse(JSON.stringify(d)));
  });

  it('follows contracts, not kind names: renamed kinds give the same sections; a second signal and backtest get their own', async () => {
    const renamed = await nightlyRunFixture(store, { approval: 'approved', twoSleeves: true, renameKinds: (u) => `acme.${u.replace(/\W/g, '_')}` });
    const d = (await writeReport(inputOf(renamed), store)).data;
    expect(d.steps.every((s) => s.uses.startsWith('acme.'))).toBe(true);
    expect(d.signals.map((s) => [s.step, s.sleeve, s.components])).toEqual([['fit', 'h5', []], ['fit_tb', 'tb', []], ['stack', 'stack', ['h5', 'tb']]]);
    expect(d.models.map((m) => m.sleeve)).toEqual(['h5', 'tb']);
    expect(d.backtests.map((b) => b.source)).toEqual([{ step: 'stack', sleeve: 'stack' }]);
    expect(d.gates[0]!.passed).toBe(true);
    expect(d.data[0]!.status).toBe('GREEN');
    expect(d.missing).toEqual([]);
    const base = (await writeReport(inputOf(fx), store)).data;
    expect(d.signals[0]!.paths).toEqual(base.signals[0]!.paths);
    expect(d.backtests[0]!.paths).toEqual(base.backtests[0]!.paths);
  });

  it('shows a failed gate with its bars from error.details, and tolerates missing upstream pieces', async () => {
    const failed = await nightlyRunFixture(store, { gatePassed: false });
    const rep = await writeReport(inputOf(failed, 'failed'), store);
    expect(rep.data.gates[0]).toMatchObject({ passed: false, status: 'failed', figures: { pbo: 0.61, dsr: 0.97 } });
    expect(rep.data.gates[0]!.table.find((r) => r.bar === 'pbo')).toMatchObject({ passed: false, value: 0.61 });
    expect(rep.html).toContain('pbo=0.6100 needs &lt;= 0.5000');
    // An older failure that carries only the bars still shows them.
    const barsOnly = failed.steps.map((s) => (s.error ? { ...s, error: { ...s.error, details: { bars: (s.error.details as { bars: unknown }).bars } } } : s));
    const old = (await writeReport(inputOf(failed, 'failed', barsOnly), store)).data.gates[0]!;
    expect(old.table.find((r) => r.bar === 'pbo')).toMatchObject({ passed: false, value: 0.61 });
    expect(old.figures).toBeUndefined();

    const bare = await writeReport(
      { runId: 'r-bare', pipeline: 'smoke', status: 'succeeded', steps: [{ stepId: 'a', uses: 'noop', status: 'succeeded', outputs: {} }, { stepId: 'b', uses: 'noop', status: 'skipped', outputs: {} }] },
      store,
    );
    expect(bare.data.missing).toEqual(['data quality (no step provides data.quality)', 'signals (no step provides signals.oof)', 'backtest (no step provides backtest.returns)', 'governance gate (no step provides gate.verdict)']);
    expect(bare.charts).toEqual(['dag']);
    expect(bare.html).toContain('Not in this report');

    // A value that breaks its contract is left out and named.
    const broken = fx.steps.map((s) => (s.stepId === 'backtest' ? { ...s, outputs: { returns: { calendar: 'nyse' } } } : s));
    const b = (await writeReport(inputOf(fx, 'succeeded', broken), store)).data;
    expect(b.backtests).toEqual([]);
    expect(b.missing.join('\n')).toMatch(/backtest\.returns breaks backtest\.returns@1[\s\S]*no step provides backtest\.returns/);
  });

  it('opens offline in headless Chromium with every chart drawn and no console errors', async () => {
    const rep = await writeReport(inputOf(fx), store, path.join(dir, 'browser'));
    expect(readFileSync(rep.files!.html, 'utf8')).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const problems: string[] = [];
      const external: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:')) return route.continue();
        external.push(url);
        return route.abort();
      });
      await page.goto(pathToFileURL(rep.files!.html).href, { waitUntil: 'load' });
      const charts = await page.$$eval('figure.chart', (figs) =>
        figs.map((f) => {
          const svg = f.querySelector('svg');
          const box = svg?.getBoundingClientRect();
          return { id: f.getAttribute('data-chart'), marks: svg ? svg.querySelectorAll('path, rect, line, circle, text').length : 0, w: box?.width ?? 0, h: box?.height ?? 0 };
        }),
      );
      expect(charts.map((c) => c.id).sort()).toEqual([...rep.charts].sort());
      for (const c of charts) {
        expect(c.marks, `chart ${c.id} has drawn marks`).toBeGreaterThan(5);
        expect(c.w, `chart ${c.id} has a width`).toBeGreaterThan(100);
        expect(c.h, `chart ${c.id} has a height`).toBeGreaterThan(50);
      }
      // Equity chart: one line per CPCV path.
      const equityLines = await page.$$eval('#chart-equity-backtest svg path[aria-roledescription="line mark"]', (ps) => ps.filter((p) => (p.getAttribute('d') ?? '').length > 100).length);
      expect(equityLines).toBe(7);
      expect(await page.textContent('#gate table.gate')).toContain('pbo');
      expect(await page.textContent('#ic table.signals')).toContain('h5');
      expect(problems).toEqual([]);
      expect(external).toEqual([]);
      const shot = path.join(dir, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
      // Refreshes the screenshot in the docs only when asked: a test run never edits docs/.
      if (process.env.TRADEML_UPDATE_SCREENSHOT === '1') copyFileSync(shot, path.join(PROJECT_ROOT, 'docs', 'report-screenshot.png'));
    } finally {
      await browser.close();
    }
  });
});

describe('report folders', () => {
  it("a Temporal Schedule's run id (its action time appended, with ':') gets a folder; '..', '.', '/' and spaces do not", () => {
    const home = tempDir('trademl-report-dir-');
    expect(reportDir('nightly-schedule-2026-12-06T01:00:00Z', home)).toBe(path.join(home, 'reports', 'nightly-schedule-2026-12-06T01:00:00Z'));
    expect(reportDir('nightly-20261206-002519-204b', home)).toBe(path.join(home, 'reports', 'nightly-20261206-002519-204b'));
    for (const bad of ['..', '.', 'a/b', '../x', 'a b', '']) {
      expect(isReportableRunId(bad), bad).toBe(false);
      expect(() => reportDir(bad, home), bad).toThrow(/bad run id/);
    }
  });
});
