import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { writeReport, type ReportInput } from '../../report/index.ts';
import type { RunRecord, StepRecord } from '../../tracking/observer.ts';
import { tempDir } from '../support/context.ts';
import { nightlyRunFixture } from '../tracking/support/fixtures.ts';

function inputOf(run: RunRecord, steps: StepRecord[], status = 'succeeded'): ReportInput {
  return {
    runId: run.runId,
    pipeline: run.pipeline,
    status,
    planDigest: run.planDigest,
    params: run.params,
    startedAt: run.startedAt,
    endedAt: steps.at(-1)?.endedAt,
    steps: steps.map((s) => ({ ...s, outputs: s.outputs })),
    lineage: { git_commit: 'abc123' },
  };
}

describe('run report', () => {
  it('computes per-path equity, drawdown, costs and calibration that match an independent computation', async () => {
    const dir = tempDir('trademl-report-');
    const store = new ArtifactStore(path.join(dir, 'artifacts'));
    const fx = await nightlyRunFixture(store, { approval: 'approved' });
    const rep = await writeReport(inputOf(fx.run, fx.steps), store, path.join(dir, 'out'));
    const d = rep.data;

    // Independent: path 3 compounded net return, max drawdown, summed fee.
    const rows = await withDuckDB((con) => queryRows<{ net: number; fee: number }>(con, `SELECT net, fee FROM read_parquet(${sqlString(store.path(fx.refs.returns!))}) WHERE path = 3 ORDER BY date`));
    let eq = 1;
    let peak = 1;
    let mdd = 0;
    for (const r of rows) {
      eq *= 1 + r.net;
      peak = Math.max(peak, eq);
      mdd = Math.min(mdd, eq / peak - 1);
    }
    const p3 = d.backtest!.paths.find((p) => p.path === 3)!;
    expect(d.backtest!.paths).toHaveLength(7);
    expect(p3.days).toBe(rows.length);
    expect(p3.total_return).toBeCloseTo(eq - 1, 9);
    expect(p3.max_drawdown).toBeCloseTo(mdd, 9);
    expect(p3.fee).toBeCloseTo(rows.reduce((a, r) => a + r.fee, 0), 12);
    expect(p3.net).toBeLessThan(p3.gross);

    // Independent: Brier of p=(pred+1)/2 vs y=(label+1)/2 and the decile count.
    const oof = await withDuckDB((con) => queryRows<{ pred: number; label: number }>(con, `SELECT pred, label FROM read_parquet(${sqlString(store.path(fx.refs.oof!))})`));
    const brier = oof.reduce((a, r) => a + ((r.pred + 1) / 2 - (r.label + 1) / 2) ** 2, 0) / oof.length;
    expect(d.calibration!.task).toBe('classification');
    expect(d.calibration!.brier).toBeCloseTo(brier, 9);
    expect(d.calibration!.bins).toHaveLength(10);
    expect(d.calibration!.bins.reduce((a, b) => a + b.count, 0)).toBe(oof.length);
    const mp = d.calibration!.bins.map((b) => b.mean_pred);
    expect([...mp].sort((a, b) => a - b)).toEqual(mp);

    expect(d.ic!.splits).toHaveLength(28);
    expect(d.ic!.paths).toHaveLength(7);
    expect(d.ic!.paths.find((p) => p.id === 6)!.rank_ic).toBeLessThan(0);
    expect(d.gate!.passed).toBe(true);
    expect(d.gate!.table.map((r) => r.bar)).toEqual(['dsr', 'pbo', 'mean_rank_ic', 'max_drawdown']);
    expect(d.audit!.by_status).toEqual({ GREEN: 59, AMBER: 1 });
    expect(d.approval).toMatchObject({ approved: true, by: 'alice' });
    expect(d.edges).toContainEqual({ from: 'fit', to: 'backtest' });
    expect(d.steps.find((s) => s.stepId === 'backtest')!.layer).toBe(d.steps.find((s) => s.stepId === 'fit')!.layer + 1);
    expect(d.lineage.datasets.some((x) => x.step === 'fit' && x.output === 'model' && x.digest === fx.refs.model!.digest)).toBe(true);
    expect(d.missing).toEqual([]);
    expect(rep.charts).toEqual(expect.arrayContaining(['dag', 'timings', 'audit', 'ic-split', 'ic-path', 'equity', 'drawdown', 'costs', 'calibration', 'ope']));
    // report.json is canonical and stored by content.
    expect(JSON.parse(store.readText(rep.refs.json))).toEqual(JSON.parse(JSON.stringify(d)));
  });

  it('shows a failed gate with its table from error.details, and tolerates missing upstream pieces', async () => {
    const dir = tempDir('trademl-report-');
    const store = new ArtifactStore(path.join(dir, 'artifacts'));
    const fx = await nightlyRunFixture(store, { gatePassed: false });
    const rep = await writeReport(inputOf(fx.run, fx.steps, 'failed'), store);
    expect(rep.data.gate).toMatchObject({ passed: false, status: 'failed' });
    expect(rep.data.gate!.table.find((r) => r.bar === 'pbo')).toMatchObject({ passed: false, value: 0.61 });
    expect(rep.html).toContain('gate failed: pbo 0.61 &gt; 0.5');

    const bare = await writeReport(
      { runId: 'r-bare', pipeline: 'smoke', status: 'succeeded', steps: [{ stepId: 'a', uses: 'noop', status: 'succeeded', outputs: {} }, { stepId: 'b', uses: 'noop', status: 'skipped', outputs: {} }] },
      store,
    );
    expect(bare.data.missing.join('\n')).toMatch(/data audit[\s\S]*model fit[\s\S]*backtest[\s\S]*governance gate/);
    expect(bare.charts).toEqual(['dag']);
    expect(bare.html).toContain('Not in this report');
  });

  it('opens offline in headless Chromium with every chart drawn and no console errors', async () => {
    const dir = tempDir('trademl-report-');
    const store = new ArtifactStore(path.join(dir, 'artifacts'));
    const fx = await nightlyRunFixture(store, { approval: 'approved' });
    const rep = await writeReport(inputOf(fx.run, fx.steps), store, path.join(dir, 'out'));
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
      const equityLines = await page.$$eval('#chart-equity svg path[aria-roledescription="line mark"]', (ps) => ps.filter((p) => (p.getAttribute('d') ?? '').length > 100).length);
      expect(equityLines).toBe(7);
      expect(await page.textContent('#gate table.gate')).toContain('pbo');
      expect(problems).toEqual([]);
      expect(external).toEqual([]);
      const shot = path.join(dir, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
      copyFileSync(shot, path.join(PROJECT_ROOT, 'docs', 'report-screenshot.png'));
    } finally {
      await browser.close();
    }
  });
});
