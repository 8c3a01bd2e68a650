import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { ArtifactStore, type ArtifactRef } from '../../artifacts/store.ts';
import { makeTestContext, runKind, tempDir } from '../support/context.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { withDuckDB, sqlString } from '../../lib/duckdb.ts';
import { buildStackFixture, buildTrialLedger, stackAncestors } from '../backtest/fixtures.ts';
import { backtestCpcvPaths } from '../../kinds/backtest/backtest_cpcv.ts';
import { gateGovernance } from '../../kinds/backtest/gate_governance.ts';
import type { StepKind, UpstreamStep } from '../../kinds/types.ts';
import { StepError } from '../../lib/errors.ts';

const d = hasSharedData() ? describe : describe.skip;
if (!hasSharedData()) console.warn('SKIPPING real-data gate tests: shared S&P data not found');

/** fit.cpcv-style oof from the stack fixture: pred = score (+ prob_up/label for a classifier). */
async function sleeveOof(store: ArtifactStore, dir: string, stackOof: ArtifactRef, name: string, classification: boolean, withProb = true): Promise<ArtifactRef> {
  const file = path.join(dir, `${name}_oof.parquet`);
  const prob = classification && withProb ? `, 1 / (1 + exp(-score * 20)) AS prob_up, CASE WHEN ret > 0.01 THEN 1.0 WHEN ret < -0.01 THEN -1.0 ELSE 0.0 END AS label` : `, ret AS label`;
  await withDuckDB((con) =>
    con.run(`COPY (SELECT path, date, symbol, 0 AS split, 0 AS test_group, score * ${classification ? 0.5 : 1} AS pred, ret ${prob} FROM read_parquet(${sqlString(store.path(stackOof))}) ORDER BY path, date, symbol) TO ${sqlString(file)} (FORMAT parquet)`),
  );
  return store.putFile(file, { name: 'oof.parquet', move: false });
}

d('gate.governance on a real S&P slice', () => {
  const dir = tempDir('gate-real-');
  const store = new ArtifactStore(path.join(dir, 'store'));
  let ancestors: Record<string, UpstreamStep>;
  const lookbacks = [5, 10, 20, 40, 60, 120];
  beforeAll(async () => {
    const fx = await buildStackFixture(store, dir);
    const l1 = await buildTrialLedger(store, dir, fx.curated, lookbacks, 'reg');
    const l2 = await buildTrialLedger(store, dir, fx.curated, [3, 15, 30], 'cls');
    const l3 = await buildTrialLedger(store, dir, fx.curated, [7, 90], 'cls2');
    const fit = (sleeve: string, task: string, oof: ArtifactRef, led: { ledger: ArtifactRef; returns: ArtifactRef }): UpstreamStep => ({
      uses: 'fit.cpcv',
      status: 'succeeded',
      outputs: { sleeve, task, oof, trial_ledger: led.ledger, trial_returns: led.returns },
    });
    ancestors = {
      ...stackAncestors(fx),
      fit_reg: fit('reg', 'regression', await sleeveOof(store, dir, fx.oof, 'reg', false), l1),
      fit_cls: fit('cls', 'classification', await sleeveOof(store, dir, fx.oof, 'cls', true), l2),
      fit_cls2: fit('cls2', 'classification', await sleeveOof(store, dir, fx.oof, 'cls2', true, false), l3),
      ope: { uses: 'rl.ope', status: 'succeeded', outputs: { accepted: false, policy: 'learned', estimator: 'dr', dr: { estimate: 0.01, lcb: -0.02, ucb: 0.04 }, baseline_value: 0.0, margin: 0.0 } },
    };
    const bt = (await runKind(backtestCpcvPaths as unknown as StepKind, {}, makeTestContext({ store, ancestors }))) as Record<string, unknown>;
    ancestors.backtest = { uses: 'backtest.cpcv_paths', status: 'succeeded', outputs: bt };
  });

  it('reports every bar with value and threshold, and fails with the table when a bar fails', async () => {
    let err: unknown;
    let out: Record<string, any> | undefined;
    try {
      out = (await runKind(gateGovernance as unknown as StepKind, {}, makeTestContext({ store, ancestors }))) as Record<string, any>;
    } catch (e) {
      err = e;
    }
    const bars: any[] = err ? ((err as StepError).details as any).bars : out!.bars;
    const byId = new Map(bars.map((b) => [b.id, b]));
    for (const id of ['sharpe', 'max_drawdown', 'psr', 'dsr', 'pbo', 'turnover', 'stack_vs_best_sleeve', 'walk_forward.sharpe', 'champion']) expect(byId.has(id), id).toBe(true);
    for (const id of ['sharpe', 'max_drawdown', 'psr', 'dsr', 'pbo', 'turnover']) expect(Number.isFinite(byId.get(id).value), id).toBe(true);
    // DSR's N comes from the ledgers (6 + 3 + 2 trials), never a constant
    expect(byId.get('dsr').description).toContain('N=11 trials');
    expect(byId.get('pbo').description).toContain('over 11 trial streams');
    expect(byId.get('pbo').value).toBeGreaterThanOrEqual(0);
    expect(byId.get('pbo').value).toBeLessThanOrEqual(1);
    // calibration: computed for the classifier with prob_up, "not applicable" for the one without
    expect(Number.isFinite(byId.get('calibration.brier[cls]').value)).toBe(true);
    expect(byId.get('calibration.brier[cls2]').note).toMatch(/not applicable/);
    // OPE is informational by default: present, failing, but not blocking
    const ope = bars.find((b) => b.id.startsWith('ope.accepted'));
    expect(ope).toMatchObject({ pass: false, blocking: false });
    const failing = bars.filter((b) => b.blocking && b.pass === false);
    if (failing.length) {
      expect(err).toBeInstanceOf(StepError);
      expect((err as StepError).type).toBe('GateFailed');
      expect((err as StepError).nonRetryable).toBe(true);
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
    const bt = ancestors.backtest!.outputs as Record<string, any>;
    // the challenger is its own champion here: equal Sharpe is not "better" → the blocking champion bar fails
    const ctx = makeTestContext({ store, ancestors, projectRoot: root });
    await expect(runKind(gateGovernance as unknown as StepKind, { champion: bt.returns }, ctx)).rejects.toThrow(/champion=0\.0000 needs > 0/);
    const out = (await runKind(gateGovernance as unknown as StepKind, {}, makeTestContext({ store, ancestors, projectRoot: root }))) as Record<string, any>;
    expect(out.passed).toBe(true);
    expect(out.n_trials).toBe(11);
    const report = store.readJson<any>(out.report);
    expect(report.pbo.blocks).toBe(8);
    expect(report.calibration.cls.bins).toHaveLength(10);
  });

  it('rejects a bad promotion config with file and field', async () => {
    const root = tempDir('gate-bad-');
    mkdirSync(path.join(root, 'configs'));
    writeFileSync(path.join(root, 'configs', 'promotion.yml'), 'pbo: { max: 0.05, blocks: 7 }\n');
    await expect(runKind(gateGovernance as unknown as StepKind, {}, makeTestContext({ store, ancestors, projectRoot: root }))).rejects.toThrow(/configs\/promotion.yml: pbo.blocks: must be even/);
  });
});
