/**
 * `options_vol` of pipelines.yaml end to end on the embedded runtime (the CLI's `trademl run` host)
 * with the tracking observer, on the real chains: every step succeeds, the gate decides (either way),
 * and the options report holds its tables — the router's six rows, the hedging comparison's twelve,
 * the gate bars, the per-path backtest, the feature table and the smiles. Short variant: the 60-name
 * S&P subset as the breadth panel and the quick deep-hedging config (params, not code, differ).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { compilePlan, loadSpec } from '../../spec/compile.ts';
import { createTrackingObserver } from '../../tracking/trackingObserver.ts';
import { tempDir } from '../support/context.ts';
import { hasOptionsData, QUICK_HEDGING } from './support.ts';

const rowsOf = (html: string, cls: string) => (html.match(new RegExp(`<table class="${cls}">[\\s\\S]*?</table>`))?.[0].match(/<tr>/g)?.length ?? 0) - 1;

describe.skipIf(!hasOptionsData())('options_vol end to end (embedded)', () => {
  it('runs every step on the real chains and reports the router, hedging, gate and backtest tables', async () => {
    const home = tempDir('trademl-options-e2e-');
    const plan = compilePlan(loadSpec(path.join(PROJECT_ROOT, 'pipelines.yaml')), 'options_vol', { params: { breadth: 'sp500_subset', hedging_config: QUICK_HEDGING } });
    const run = await new EmbeddedRuntime({ home, observer: await createTrackingObserver(home) }).start(plan);
    const st = run.state.steps;
    for (const s of plan.steps) expect(st[s.id]!.status, `${s.id}: ${st[s.id]!.error?.message}`).toBe('succeeded');
    expect(run.status).toBe('succeeded');
    const gate = st.gate!.outputs as { passed: boolean; failing: string[]; bars: Array<{ id: string; blocking: boolean; pass: boolean | null }> };
    expect(gate.failing).toEqual(gate.bars.filter((b) => b.blocking && b.pass === false).map((b) => b.id));

    const report = st.report!.outputs as { options_report_path: string; report_path: string; sections: string[] };
    expect(report.sections).toEqual(['gate', 'audit', 'surface', 'features', 'learner', 'backtest', 'router', 'hedging']);
    expect(report.options_report_path).toBe(path.join(home, 'reports', run.runId, 'options_report.html'));
    const html = readFileSync(report.options_report_path, 'utf8');
    expect(rowsOf(html, 'router')).toBe(6);
    expect(rowsOf(html, 'hedging')).toBe(12);
    expect(rowsOf(html, 'gate')).toBe(gate.bars.length);
    expect(rowsOf(html, 'features')).toBe(16);
    for (const s of ['Smile per expiry', 'Equity per path', 'Vega exposure', 'Deep hedging vs Black–Scholes delta', 'Strategy router (meta-labeling)']) expect(html).toContain(s);
    expect(html).toContain(gate.passed ? 'PASSED' : 'FAILED');
    // the end-of-run tracking report is written beside it
    expect(existsSync(path.join(home, 'reports', run.runId, 'report.json'))).toBe(true);
  }, 1_200_000);
});
