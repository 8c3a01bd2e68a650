import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { createTrackingObserver } from '../../tracking/trackingObserver.ts';
import { tempDir } from '../support/context.ts';
import { planFromYaml } from '../support/specs.ts';
import { LENIENT_BARS, gatedSleeveSteps } from '../support/trivial_pipeline.ts';

/**
 * Issue 13 acceptance: a step kind that provides OOF signals from a trivial learner takes at most
 * 5 files — here models/ridge.ts (RidgeLearner, the domain module), kinds/fit/linear.ts (the kind,
 * ~30 lines on the CPCV protocol of cv/), configs/training/equities_linear.yml (its config), one line
 * in kinds/fit/index.ts (the registry) and this test — and, with no edit anywhere else, its signal
 * is stacked, backtested, gated, registered and reported: a real pipeline on the sp500_subset
 * dataset through the embedded runtime. The gate's bars are all non-blocking (written to a temp
 * file) so the run reaches registration whatever the data says; the bars' values are still computed.
 */
const spec = (bars: string) => `version: 1
defaults: { retry: { maximum_attempts: 1 } }
pipelines:
  trivial:
    params: { model: trivial_xs }
    steps:
${gatedSleeveSteps(bars)}      approve:   { uses: approval, needs: [gate], with: { timeout: 1h } }
      promote:   { uses: promote, needs: [approve], with: { model: "\${{ params.model }}" } }
      report:    { uses: report, needs: [promote], when: always, with: { title: "trivial learner" } }
`;

describe.skipIf(!hasSharedData())('a new OOF kind from a trivial learner (fit.linear) plugs into stack, backtest, gate, registry and report', () => {
  it('runs the pipeline: the linear sleeve is stacked, backtested, counted by the gate, registered and reported', async () => {
    const home = tempDir('trademl-trivial-');
    const bars = path.join(home, 'bars.yml');
    writeFileSync(bars, `path_aggregate: median\n${LENIENT_BARS}\n`);
    const plan = planFromYaml(spec(bars), 'trivial');
    const run = await new EmbeddedRuntime({ home, autoApprove: 'ci-trivial', observer: await createTrackingObserver(home) }).start(plan);
    const st = run.state.steps;
    for (const s of plan.steps) expect(st[s.id]!.status, `${s.id}: ${st[s.id]!.error?.message}`).toBe('succeeded');
    const out = (id: string) => st[id]!.outputs as Record<string, any>;

    // the new kind provides the three contracts of a fit
    expect(out('linear')).toMatchObject({ engine: 'ridge', n_paths: 7, n_trials: 2, oof: { sleeve: 'linear', components: [] }, model: { engine: 'ridge', sleeve: 'linear' } });
    // stacked
    expect(out('stack').sleeves).toEqual(['linear', 'xs_horizon']);
    expect(out('stack').oof.components).toEqual(['linear', 'xs_horizon']);
    // backtested (as a sleeve of the stack's book, through the same portfolio and costs)
    expect(out('backtest').sleeves.map((s: { sleeve: string }) => s.sleeve).sort()).toEqual(['linear', 'xs_horizon']);
    // gated: its trials count in the DSR (1 xgboost trial + 2 ridge trials + the stacked candidate book)
    expect(out('gate').verdict.n_trials).toBe(4);
    // registered: the promoted version blends both sleeves
    expect(out('promote').sleeves.sort()).toEqual(['linear', 'xs_horizon']);
    // reported: a signal section and a model section of the new kind
    const report = JSON.parse(readFileSync(path.join(home, 'reports', run.runId, 'report.json'), 'utf8')) as Record<string, any>;
    const signals = report.sections?.signals ?? report.signals;
    expect(signals.map((s: { sleeve: string }) => s.sleeve)).toEqual(expect.arrayContaining(['linear', 'xs_horizon', 'stack']));
    expect(signals.find((s: { sleeve: string }) => s.sleeve === 'linear')).toMatchObject({ step: 'linear', n_paths: 7, n_trials: 2 });
    const models = report.sections?.models ?? report.models;
    expect(models.find((m: { sleeve: string }) => m.sleeve === 'linear')).toMatchObject({ engine: 'ridge', step: 'linear' });
    expect(run.status).toBe('succeeded');
  }, 900_000);
});
