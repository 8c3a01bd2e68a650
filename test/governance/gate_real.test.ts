import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { ArtifactStore, type ArtifactRef } from '../../artifacts/store.ts';
import { makeTestContext, runKind, tempDir, type TestUpstream } from '../support/context.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { withDuckDB, sqlString } from '../../lib/duckdb.ts';
import { buildStackFixture, providerOutputs, signalValue, stackUpstream } from '../backtest/fixtures.ts';
import { scoredLedger } from './fixtures.ts';
import { TrialLedger } from '../../governance/trial_ledger.ts';
import { openTracker } from '../../tracking/index.ts';
import { backtestCpcvPaths } from '../../kinds/backtest/backtest_cpcv.ts';
import { gateGovernance } from '../../kinds/backtest/gate_governance.ts';
import { portfolioBuild } from '../../kinds/backtest/portfolio_build.ts';
import { gateVerdict, signalsOof, sizingPolicy, trialsLedger } from '../../contracts/index.ts';
import type { AnyStepKind } from '../../kinds/types.ts';

const d = hasSharedData() ? describe : describe.skip;
if (!hasSharedData()) console.warn('SKIPPING real-data gate tests: shared S&P data not found');

const gate = gateGovernance as unknown as AnyStepKind;
type Out = Record<string, any>;

/** A sleeve's OOF from the stack fixture's: score (+ prob_up/label for a classifier). */
async function sleeveOof(store: ArtifactStore, dir: string, stackOof: ArtifactRef, name: string, classification: boolean, withProb = true): Promise<ArtifactRef> {
  const file = path.join(dir, `${name}_oof.parquet`);
  const prob = classification && withProb ? `, 1 / (1 + exp(-score * 20)) AS prob_up, CASE WHEN ret > 0.01 THEN 1.0 WHEN ret < -0.01 THEN -1.0 ELSE 0.0 END AS label` : `, ret AS label`;
  await withDuckDB((con) =>
    con.run(`COPY (SELECT path, date, symbol, 0 AS split, 0 AS test_group, score * ${classification ? 0.5 : 1} AS score, ret ${prob} FROM read_parquet(${sqlString(store.path(stackOof))}) ORDER BY path, date, symbol) TO ${sqlString(file)} (FORMAT parquet)`),
  );
  return store.putFile(file, { name: 'oof.parquet', move: false });
}

d('gate.governance on a real S&P slice', () => {
  const dir = tempDir('gate-real-');
  const store = new ArtifactStore(path.join(dir, 'store'));
  let upstream: Record<string, TestUpstream>;
  let bt: Out;
  let first: ReturnType<typeof gateVerdict.schema.parse> | undefined;
  /** Evaluations in the family's ledger (the tracker under the test home). */
  const evaluations = async (family: string): Promise<number> => {
    const tracker = openTracker({ env: {}, home: path.dirname(store.root), store });
    try {
      return (await new TrialLedger(tracker, family, tempDir('ledger-read-')).list()).length;
    } finally {
      await tracker.close();
    }
  };
  const ctxWith = (up: Record<string, TestUpstream>, projectRoot?: string) => makeTestContext({ store, kind: gate, upstream: up, ...(projectRoot ? { projectRoot } : {}) });
  const lenientRoot = () => {
    const root = tempDir('gate-cfg-');
    mkdirSync(path.join(root, 'configs'));
    writeFileSync(
      path.join(root, 'configs', 'promotion.yml'),
      ['sharpe: { min: -100 }', 'max_drawdown: { max: 1 }', 'dsr: { min: 0 }', 'pbo: { max: 1, blocks: 8 }', 'turnover: { annual_max: 100000 }', 'oof_leakage: { blocking: false }', 'stack_vs_sleeves: { blocking: false }', 'calibration: { blocking: false }', 'champion: { blocking: true }'].join('\n'),
    );
    return root;
  };

  // the family ledgers live on this test's local tracker, also where MLFLOW_TRACKING_URI is set (CI)
  beforeAll(() => {
    vi.stubEnv('TRADEML_TRACKER', 'local');
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  beforeAll(async () => {
    const fx = await buildStackFixture(store, dir);
    const fit = async (sleeve: string, task: 'regression' | 'classification', withProb: boolean, lookbacks: number[]): Promise<TestUpstream> => {
      const oof = await sleeveOof(store, dir, fx.oof, sleeve, task === 'classification', withProb);
      const signal = signalValue({ sleeve, task, oof, walkForward: fx.oofWf });
      const ledger = await scoredLedger(store, dir, fx.curated, lookbacks, sleeve);
      return { uses: 'fit.cpcv', outputs: providerOutputs('fit.cpcv', [[signalsOof, signal], [trialsLedger, ledger]]), needs: ['audit'] };
    };
    const fits = { fit_reg: await fit('reg', 'regression', true, [5, 10, 20, 40, 60, 120]), fit_cls: await fit('cls', 'classification', true, [3, 15, 30]), fit_cls2: await fit('cls2', 'classification', false, [7, 90]) };
    const base = { ...fits, ...stackUpstream(fx, Object.keys(fits)) };
    const pb = await runKind(portfolioBuild as unknown as AnyStepKind, {}, makeTestContext({ store, kind: portfolioBuild as unknown as AnyStepKind, upstream: base }));
    const withPb = { ...base, portfolio: { uses: 'portfolio.build', outputs: pb, needs: ['stack'] } };
    bt = await runKind(backtestCpcvPaths as unknown as AnyStepKind, {}, makeTestContext({ store, kind: backtestCpcvPaths as unknown as AnyStepKind, upstream: withPb }));
    const report = await store.putJson({ estimator: 'doubly_robust' }, 'rl_ope_report.json');
    const env = await store.putJson({ actions: [0.5, 1, 1.5] }, 'rl_dataset_meta.json');
    const sizing = { accepted: false, policy: 'baseline', onnx: null, decision: 'rejected, keeping the baseline', estimator: 'doubly_robust', estimate: { estimate: 0.01, lcb: -0.02, ucb: 0.04 }, baseline_value: 0, margin: 0, env, report };
    upstream = {
      ...withPb,
      backtest: { uses: 'backtest.cpcv_paths', outputs: bt, needs: ['portfolio'] },
      ope: { uses: 'rl.ope', outputs: providerOutputs('rl.ope', [[sizingPolicy, sizing]]), needs: ['backtest'] },
    };
  }, 300_000);

  it('returns the verdict with every bar, value and threshold; a failing gate is an outcome, never an error', async () => {
    const out = await runKind(gate, { family: 'real_a' }, ctxWith(upstream));
    const verdict = gateVerdict.schema.parse(out.verdict);
    first = verdict;
    expect(out.passed).toBe(verdict.passed);
    // pinned: the 20-day momentum stack on this slice loses money net (Sharpe < 0): not promoted, on sharpe and dsr
    expect(verdict.passed).toBe(false);
    expect(verdict.sharpe!).toBeLessThan(0);
    expect(verdict.failing).toEqual(expect.arrayContaining(['sharpe', 'dsr']));
    expect(verdict.dsr!).toBeLessThan(0.5);
    const byId = new Map(verdict.bars.map((b) => [b.id, b]));
    for (const id of ['sharpe', 'max_drawdown', 'psr', 'dsr', 'dsr.ledger_n', 'pbo', 'turnover', 'oof_leakage', 'stack_vs_best_sleeve', 'walk_forward.sharpe', 'champion']) expect(byId.has(id), id).toBe(true);
    for (const id of ['sharpe', 'max_drawdown', 'psr', 'dsr', 'pbo', 'turnover', 'oof_leakage']) expect(Number.isFinite(byId.get(id)!.value), id).toBe(true);
    // every trial counted: 6 + 3 + 2 ledger trials, the stack book, the sizing policy not kept
    expect(verdict.n_trials).toBe(13);
    expect(byId.get('dsr')!.description).toContain(`effective N=${verdict.n_trials_effective} of 13 trials in the real_a ledger`);
    // the sizing trial has no stream: it is its own cluster; the 12 streamed trials form at least one
    expect(verdict.n_trials_effective).toBeGreaterThanOrEqual(2);
    expect(verdict.n_trials_effective).toBeLessThanOrEqual(13);
    // PBO over the 12 tradable streams (ledger trials traded through the candidate's portfolio, and the stack book)
    expect(byId.get('pbo')!.description).toContain('over 12 trial streams');
    expect(byId.get('pbo')!.note).toMatch(/P\(OOS loss\) \d\.\d{3}/);
    expect(verdict.pbo_prob_oos_loss).toBeGreaterThanOrEqual(0);
    expect(byId.get('stack_vs_best_sleeve')!.description).toMatch(/best sleeve \((reg|cls|cls2)\)/);
    expect(Number.isFinite(byId.get('calibration.brier[cls]')!.value)).toBe(true);
    expect(byId.get('calibration.brier[cls2]')!.note).toMatch(/not applicable/);
    expect(byId.has('calibration.brier[reg]')).toBe(false);
    expect(byId.get('ope.accepted[ope]')).toMatchObject({ pass: false, blocking: false, value: -0.02, threshold: 0 });
    const failing = verdict.bars.filter((b) => b.blocking && b.pass === false);
    expect(verdict.failing).toEqual(failing.map((b) => b.id));
    expect(verdict.passed).toBe(failing.length === 0);
    expect(verdict.table).toMatch(/result\s+kind\s+bar\s+value\s+threshold/);
    expect(gate.deterministicFailures ?? []).toEqual([]);
    // the trials were traded with the settings the candidate's backtest recorded
    const report = store.readJson<Out>(verdict.report);
    expect(report.trade_setup.source).toBe('the backtest metrics');
    expect(report.trials).toMatchObject({ family: 'real_a', n_trials: 13 });
    expect(await evaluations('real_a')).toBe(13);
  });

  it('the family ledger persists across runs: known evaluations are read back, a portfolio change adds new trials', async () => {
    const again = gateVerdict.schema.parse((await runKind(gate, { family: 'real_a' }, ctxWith(upstream))).verdict);
    expect(again.n_trials).toBe(13);
    expect(await evaluations('real_a')).toBe(13);
    // an unchanged re-run reads the same ledger: the same verdict, byte for byte
    expect(again.report.digest).toBe(first!.report.digest);
    // the same candidate built with another portfolio setting is a different set of trials
    const metrics = store.readJson<Out>(bt.returns.metrics);
    const changed = await store.putJson({ ...metrics, portfolio: { ...metrics.portfolio, trade_rate: 0.5 } }, 'backtest_metrics.json');
    const up = { ...upstream, backtest: { ...upstream.backtest!, outputs: { ...bt, returns: { ...bt.returns, metrics: changed } } } };
    const grown = gateVerdict.schema.parse((await runKind(gate, { family: 'real_a' }, ctxWith(up))).verdict);
    expect(grown.n_trials).toBe(26);
    expect(await evaluations('real_a')).toBe(26);
  });

  it('passes when the bars are lenient; a champion no better than the challenger fails the verdict', async () => {
    const root = lenientRoot();
    const withChampion = gateVerdict.schema.parse((await runKind(gate, { champion: bt.returns.returns, family: 'real_b' }, ctxWith(upstream, root))).verdict);
    expect(withChampion).toMatchObject({ passed: false, failing: ['champion'] });
    const out = await runKind(gate, { family: 'real_b' }, ctxWith(upstream, root));
    expect(gateVerdict.schema.parse(out.verdict)).toMatchObject({ passed: true, failing: [], n_trials: 13 });
    const report = store.readJson<any>((out.verdict as Out).report);
    expect(report.trials.pbo.blocks).toBe(8);
    expect(report.calibration.cls.bins).toHaveLength(10);
  });

  it('decides "has a stack" from the contracts: returns built from a base sleeve have no stack bar to pass', async () => {
    const single = { ...upstream, backtest: { ...upstream.backtest!, outputs: { ...bt, returns: { ...bt.returns, source: { step: 'fit_reg', sleeve: 'reg' } } } } };
    const bars = (await runKind(gate, { family: 'real_c' }, ctxWith(single))).bars as Out[];
    expect(bars.find((b) => b.id === 'stack_vs_best_sleeve')).toMatchObject({ value: null, blocking: false, note: expect.stringMatching(/not applicable/) });
    const orphan = { ...upstream, backtest: { ...upstream.backtest!, outputs: { ...bt, returns: { ...bt.returns, source: { step: 'elsewhere', sleeve: 'x' } } } } };
    await expect(runKind(gate, {}, ctxWith(orphan))).rejects.toMatchObject({ name: 'InputError', message: expect.stringMatching(/signal of step elsewhere, which is not among the bound signals/) });
  });

  it('rejects a bad promotion config at file:line:col with the field', async () => {
    const root = tempDir('gate-bad-');
    mkdirSync(path.join(root, 'configs'));
    writeFileSync(path.join(root, 'configs', 'promotion.yml'), 'pbo: { max: 0.05, blocks: 7 }\n');
    await expect(runKind(gate, {}, ctxWith(upstream, root))).rejects.toMatchObject({ name: 'ConfigError', message: expect.stringMatching(/configs\/promotion\.yml:1:\d+: pbo\.blocks: must be even/) });
  });
});
