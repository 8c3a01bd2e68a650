import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { ArtifactStore, type ArtifactRef } from '../../artifacts/store.ts';
import { makeTestContext, runKind, tempDir, type TestUpstream } from '../support/context.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { withDuckDB, sqlString } from '../../lib/duckdb.ts';
import { buildStackFixture, buildTrialLedger, providerOutputs, signalValue, stackUpstream } from '../backtest/fixtures.ts';
import { backtestCpcvPaths } from '../../kinds/backtest/backtest_cpcv.ts';
import { gateGovernance } from '../../kinds/backtest/gate_governance.ts';
import { portfolioBuild } from '../../kinds/backtest/portfolio_build.ts';
import { gateVerdict, signalsOof, sizingPolicy, trialsLedger } from '../../contracts/index.ts';
import type { AnyStepKind } from '../../kinds/types.ts';
import { StepError } from '../../lib/errors.ts';

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
  const ctxWith = (up: Record<string, TestUpstream>, projectRoot?: string) => makeTestContext({ store, kind: gate, upstream: up, ...(projectRoot ? { projectRoot } : {}) });

  beforeAll(async () => {
    const fx = await buildStackFixture(store, dir);
    const fit = async (sleeve: string, task: 'regression' | 'classification', withProb: boolean, lookbacks: number[]): Promise<TestUpstream> => {
      const oof = await sleeveOof(store, dir, fx.oof, sleeve, task === 'classification', withProb);
      const signal = signalValue({ sleeve, task, oof, walkForward: fx.oofWf });
      const ledger = await buildTrialLedger(store, dir, fx.curated, lookbacks, sleeve);
      return { uses: 'fit.cpcv', outputs: providerOutputs('fit.cpcv', [[signalsOof, signal], [trialsLedger, ledger]]), needs: ['audit'] };
    };
    const fits = { fit_reg: await fit('reg', 'regression', true, [5, 10, 20, 40, 60, 120]), fit_cls: await fit('cls', 'classification', true, [3, 15, 30]), fit_cls2: await fit('cls2', 'classification', false, [7, 90]) };
    const base = { ...fits, ...stackUpstream(fx, Object.keys(fits)) };
    const pb = await runKind(portfolioBuild as unknown as AnyStepKind, {}, makeTestContext({ store, kind: portfolioBuild as unknown as AnyStepKind, upstream: base }));
    const withPb = { ...base, portfolio: { uses: 'portfolio.build', outputs: pb, needs: ['stack'] } };
    bt = await runKind(backtestCpcvPaths as unknown as AnyStepKind, {}, makeTestContext({ store, kind: backtestCpcvPaths as unknown as AnyStepKind, upstream: withPb }));
    const report = await store.putJson({ estimator: 'doubly_robust', margin: 0, learned: { dr: { estimate: 0.01, lcb: -0.02, ucb: 0.04 } }, baseline: { dr: { estimate: 0, lcb: -0.01, ucb: 0.01 } } }, 'rl_ope_report.json');
    const sizing = { accepted: false, policy: 'baseline', onnx: null, decision: 'rejected, keeping the baseline', report };
    upstream = {
      ...withPb,
      backtest: { uses: 'backtest.cpcv_paths', outputs: bt, needs: ['portfolio'] },
      ope: { uses: 'rl.ope', outputs: providerOutputs('rl.ope', [[sizingPolicy, sizing]]), needs: ['backtest'] },
    };
  });

  it('reports every bar with value and threshold; a failing gate throws the table with the verdict in its details', async () => {
    let err: unknown;
    let out: Out | undefined;
    try {
      out = await runKind(gate, {}, ctxWith(upstream));
    } catch (e) {
      err = e;
    }
    const verdict = gateVerdict.schema.parse(err ? ((err as StepError).details as Out).verdict : out!.verdict);
    const byId = new Map(verdict.bars.map((b) => [b.id, b]));
    for (const id of ['sharpe', 'max_drawdown', 'psr', 'dsr', 'pbo', 'turnover', 'stack_vs_best_sleeve', 'walk_forward.sharpe', 'champion']) expect(byId.has(id), id).toBe(true);
    for (const id of ['sharpe', 'max_drawdown', 'psr', 'dsr', 'pbo', 'turnover']) expect(Number.isFinite(byId.get(id)!.value), id).toBe(true);
    // DSR's N comes from the bound ledgers (6 + 3 + 2 trials), never a constant
    expect(verdict.n_trials).toBe(11);
    expect(byId.get('dsr')!.description).toContain('N=11 trials');
    expect(byId.get('pbo')!.description).toContain('over 11 trial streams');
    expect(byId.get('pbo')!.value).toBeGreaterThanOrEqual(0);
    expect(byId.get('pbo')!.value).toBeLessThanOrEqual(1);
    // the returns come from a stack (its signal has components): the stack is compared with its best sleeve
    expect(byId.get('stack_vs_best_sleeve')!.description).toMatch(/best sleeve \((reg|cls|cls2)\)/);
    // calibration: computed for the classifier with prob_up, "not applicable" for the one without, none for the regression
    expect(Number.isFinite(byId.get('calibration.brier[cls]')!.value)).toBe(true);
    expect(byId.get('calibration.brier[cls2]')!.note).toMatch(/not applicable/);
    expect(byId.has('calibration.brier[reg]')).toBe(false);
    // OPE is informational by default: present, failing (baseline kept), not blocking, figures from the sizing report
    expect(byId.get('ope.accepted[ope]')).toMatchObject({ pass: false, blocking: false, value: -0.02, threshold: 0 });
    const failing = verdict.bars.filter((b) => b.blocking && b.pass === false);
    expect(verdict.failing).toEqual(failing.map((b) => b.id));
    expect(verdict.passed).toBe(failing.length === 0);
    if (failing.length) {
      expect(err).toBeInstanceOf(StepError);
      expect((err as StepError).type).toBe('GateFailed');
      expect((err as StepError).nonRetryable).toBe(true);
      expect(gate.deterministicFailures).toContain('GateFailed');
      for (const b of failing) expect((err as Error).message).toContain(b.id);
      expect((err as Error).message).toMatch(/result\s+kind\s+bar\s+value\s+threshold/);
    } else {
      expect(out!.passed).toBe(true);
    }
  });

  it('passes when the bars are lenient and compares a champion on the same paths', async () => {
    const root = tempDir('gate-cfg-');
    mkdirSync(path.join(root, 'configs'));
    writeFileSync(
      path.join(root, 'configs', 'promotion.yml'),
      ['sharpe: { min: -100 }', 'max_drawdown: { max: 1 }', 'dsr: { min: 0 }', 'pbo: { max: 1, blocks: 8 }', 'turnover: { annual_max: 100000 }', 'stack_vs_sleeves: { blocking: false }', 'calibration: { blocking: false }', 'champion: { blocking: true }'].join('\n'),
    );
    // the challenger is its own champion here: equal Sharpe is not "better" → the blocking champion bar fails
    await expect(runKind(gate, { champion: bt.returns.returns }, ctxWith(upstream, root))).rejects.toThrow(/champion=0\.0000 needs > 0/);
    const out = await runKind(gate, {}, ctxWith(upstream, root));
    expect(out.passed).toBe(true);
    expect(gateVerdict.schema.parse(out.verdict)).toMatchObject({ passed: true, failing: [], n_trials: 11 });
    const report = store.readJson<any>((out.verdict as Out).report);
    expect(report.pbo.blocks).toBe(8);
    expect(report.calibration.cls.bins).toHaveLength(10);
    expect(report.ledgers.map((l: Out) => [l.sleeve, l.step, l.task])).toEqual([['reg', 'fit_reg', 'regression'], ['cls', 'fit_cls', 'classification'], ['cls2', 'fit_cls2', 'classification']]);
  });

  it('decides "has a stack" from the contracts: returns built from a base sleeve have no stack bar to pass', async () => {
    const single = { ...upstream, backtest: { ...upstream.backtest!, outputs: { ...bt, returns: { ...bt.returns, source: { step: 'fit_reg', sleeve: 'reg' } } } } };
    let bars: Out[];
    try {
      bars = (await runKind(gate, {}, ctxWith(single))).bars as Out[];
    } catch (e) {
      bars = ((e as StepError).details as Out).verdict.bars;
    }
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
