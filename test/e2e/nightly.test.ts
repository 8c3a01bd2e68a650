import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePlan, loadSpec } from '../../spec/compile.ts';
import { hasSharedData, PROJECT_ROOT } from '../../lib/paths.ts';
import { createTrackingObserver } from '../../tracking/trackingObserver.ts';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { tempDir } from '../support/context.ts';

/**
 * Issue 10: the real `nightly` DAG of pipelines.yaml, unchanged, on the second declared daily OHLCV
 * dataset (configs/data/sp500_subset.yml: 60 names of the same files) — the dataset is a parameter.
 * Every stage must run; the gate's verdict is whatever the data says (a failed gate is valid and must
 * be explained); the report shows every stage; an unchanged re-run executes nothing.
 */
describe.skipIf(!hasSharedData())('nightly end to end (embedded) on sp500_subset', () => {
  it('runs every stage, explains the verdict, reports, and re-runs fully cached', async () => {
    const home = tempDir('trademl-e2e-');
    const plan = compilePlan(loadSpec(path.join(PROJECT_ROOT, 'pipelines.yaml')), 'nightly', { params: { dataset: 'sp500_subset' } });
    const run = async () => new EmbeddedRuntime({ home, autoApprove: 'ci-e2e', observer: await createTrackingObserver(home) }).start(plan);

    const first = await run();
    const st = first.state.steps;
    const out = (id: string) => st[id]!.outputs as Record<string, any>;
    // every stage up to the gate ran and produced its contract
    for (const id of ['ingest', 'audit', 'features', 'labels', 'barriers', 'fit', 'fit_tb', 'stack', 'portfolio', 'backtest', 'rl_data', 'rl_train', 'ope']) {
      expect(st[id]!.status, `${id}: ${st[id]!.error?.message}`).toBe('succeeded');
    }
    expect(out('ingest')).toMatchObject({ dataset: 'sp500_subset', symbols: 60 });
    expect(['GREEN', 'AMBER']).toContain(out('audit').status);
    expect(out('fit')).toMatchObject({ n_splits: 28, n_paths: 7, task: 'regression' });
    expect(out('fit_tb')).toMatchObject({ n_splits: 28, n_paths: 7, task: 'classification' });
    expect(out('fit').n_trials).toBeGreaterThanOrEqual(2);
    expect(Math.abs(out('fit').onnx_parity_max_abs_diff)).toBeLessThan(1e-5);
    expect(out('stack').sleeves).toEqual(['xs_horizon', 'tb_classifier']);
    expect(out('backtest').paths).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(out('ope').dr).toMatchObject({ estimate: expect.any(Number), lcb: expect.any(Number), ucb: expect.any(Number) });

    // the gate decides; a failing verdict is an outcome (the step succeeds, the approval is skipped by its condition)
    const gate = st.gate!;
    expect(gate.status, gate.error?.message).toBe('succeeded');
    const verdict = out('gate').verdict as { passed: boolean; failing: string[]; bars: Array<{ id: string; pass: boolean | null; threshold: unknown }> };
    expect(verdict.failing).toEqual(verdict.bars.filter((b) => b.pass === false && verdict.failing.includes(b.id)).map((b) => b.id));
    if (verdict.passed) {
      expect(st.approve!.outputs).toMatchObject({ approved: true, by: 'ci-e2e' });
      expect(st.promote!.status).toBe('succeeded');
    } else {
      expect(verdict.failing.length).toBeGreaterThan(0);
      expect(st.approve!).toMatchObject({ status: 'skipped', skipReason: 'condition' });
      expect(st.promote!.status).toBe('skipped');
    }
    expect(first.status).toBe('succeeded');
    expect(st.report!.status).toBe('succeeded');

    // the run's report shows every stage
    const html = readFileSync(path.join(home, 'reports', first.runId, 'report.html'), 'utf8');
    for (const section of ['DAG and step timings', 'Data audit', 'Model fit', 'Backtest over CPCV paths', 'Calibration', 'Governance gate', 'Approval and promotion', 'Lineage']) {
      expect(html).toContain(section);
    }
    expect(existsSync(path.join(home, 'reports', first.runId, 'report.json'))).toBe(true);

    // nothing changed → nothing executes (the gate's cache key holds the family ledger's head)
    const second = await run();
    for (const s of plan.steps) {
      if (s.uses === 'approval') continue;
      const x = second.state.steps[s.id]!;
      if (x.status === 'skipped') continue;
      expect(x.cacheHit, `${s.id} should be cached`).toBe(true);
    }
    expect(second.status).toBe(first.status);
  }, 900_000);
});
