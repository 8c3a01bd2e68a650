import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { ArtifactStore } from '../../artifacts/store.ts';
import { makeTestContext, runKind, tempDir } from '../support/context.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { withDuckDB, queryRows, sqlString } from '../../lib/duckdb.ts';
import { buildStackFixture, stackAncestors } from './fixtures.ts';
import { backtestCpcvPaths } from '../../kinds/backtest/backtest_cpcv.ts';
import { portfolioBuild } from '../../kinds/backtest/portfolio_build.ts';
import { loadPanel, loadScores } from '../../backtest/io.ts';
import { riskInputs, costConfigSchema } from '../../execution/cost_models.ts';
import { buildWeights } from '../../portfolio/construct.ts';
import { portfolioConfigSchema } from '../../portfolio/config.ts';
import { runPath, forwardIcCheck, assertNoLookAhead } from '../../backtest/engine.ts';
import { pathMetrics, firstActiveDay } from '../../backtest/metrics.ts';
import type { StepKind } from '../../kinds/types.ts';

const d = hasSharedData() ? describe : describe.skip;
if (!hasSharedData()) console.warn('SKIPPING real-data backtest tests: shared S&P data not found');

d('backtest.cpcv_paths on a real S&P slice (30 names, 2013–2018)', () => {
  const dir = tempDir('bt-real-');
  const store = new ArtifactStore(path.join(dir, 'store'));
  let fx: Awaited<ReturnType<typeof buildStackFixture>>;
  let shifted: Awaited<ReturnType<typeof buildStackFixture>>;
  beforeAll(async () => {
    fx = await buildStackFixture(store, dir);
    const d2 = tempDir('bt-shift-');
    shifted = await buildStackFixture(store, d2, { shiftDays: 1 });
  });

  it('runs every CPCV path plus walk-forward and reports each cost component', async () => {
    const ctx = makeTestContext({ store, ancestors: stackAncestors(fx) });
    const out = (await runKind(backtestCpcvPaths as unknown as StepKind, {}, ctx)) as Record<string, any>;
    expect(out.paths).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(out.execution).toBe('close');
    expect(Number.isFinite(out.sharpe_median)).toBe(true);
    expect(out.sharpe_distribution.max).toBeGreaterThanOrEqual(out.sharpe_distribution.min);
    expect(out.forward_ic_max).toBeLessThan(0.1);
    const metrics = store.readJson<any>(out.metrics);
    expect(metrics.per_path).toHaveLength(8);
    for (const p of metrics.per_path) {
      for (const k of ['ann_return', 'ann_vol', 'sharpe', 'sortino', 'max_drawdown', 'calmar', 'turnover_annual', 'hit_rate', 'cvar_95']) expect(Number.isFinite(p[k]), `${k} of path ${p.path}`).toBe(true);
      expect(p.cost_drag_bps.spread).toBeGreaterThan(0);
      expect(p.cost_drag_bps.impact).toBeGreaterThan(0);
      expect(p.cost_drag_bps.borrow).toBeGreaterThan(0);
    }
    // walk-forward path starts later than the CPCV paths
    expect(metrics.per_path[0].first_date >= '2014-02-10').toBe(true);
    const rows = await withDuckDB((con) =>
      queryRows<{ n: bigint; bad: bigint; paths: bigint; gmax: number }>(
        con,
        `SELECT count(*) n, count(*) FILTER (WHERE abs(net - (gross - fee - spread - impact - borrow)) > 1e-12) bad, count(DISTINCT path) paths, max(gross_exposure) gmax FROM read_parquet(${sqlString(store.path(out.returns))})`,
      ),
    );
    expect(Number(rows[0]!.paths)).toBe(8);
    expect(Number(rows[0]!.bad)).toBe(0);
    expect(rows[0]!.gmax).toBeLessThanOrEqual(2 + 1e-9); // max_leverage 2 × gross 1
  });

  it('portfolio.build weights feed the backtest and give identical results', async () => {
    const ctx = makeTestContext({ store, ancestors: stackAncestors(fx) });
    const pb = (await runKind(portfolioBuild as unknown as StepKind, {}, ctx)) as Record<string, any>;
    expect(pb.n_paths).toBe(8);
    const cap = await withDuckDB((con) => queryRows<{ m: number; dates: bigint }>(con, `SELECT max(abs(weight)) m, count(DISTINCT date) dates FROM read_parquet(${sqlString(store.path(pb.weights))})`));
    expect(cap[0]!.m).toBeLessThanOrEqual(0.05 + 1e-12);
    const viaWeights = (await runKind(backtestCpcvPaths as unknown as StepKind, {}, makeTestContext({ store, ancestors: { ...stackAncestors(fx), pb: { uses: 'portfolio.build', status: 'succeeded', outputs: pb } } }))) as Record<string, any>;
    const direct = (await runKind(backtestCpcvPaths as unknown as StepKind, {}, makeTestContext({ store, ancestors: stackAncestors(fx) }))) as Record<string, any>;
    expect(viaWeights.source.uses).toBe('portfolio.build');
    expect(viaWeights.sharpe_median).toBeCloseTo(direct.sharpe_median, 9);
    expect(viaWeights.returns.digest).toBe(direct.returns.digest); // deterministic bytes
  });

  it('no look-ahead: scores shifted one day into the future change results drastically and trip the timing assertion', async () => {
    const { pcfg, costs } = { pcfg: portfolioConfigSchema.parse({}), costs: costConfigSchema.parse({}) };
    const res = await withDuckDB(async (con) => {
      const panel = await loadPanel(con, store.path(fx.curated));
      const risk = riskInputs(panel);
      const honest = (await loadScores(con, store.path(fx.oof), 'score', panel, 'oof')).paths.get(1)!;
      const cheat = (await loadScores(con, store.path(shifted.oof), 'score', panel, 'oof')).paths.get(1)!;
      const run = (s: Float64Array) => {
        const W = buildWeights(s, panel, risk.ret, pcfg).weights;
        const series = runPath(W, panel, risk, costs, 'close');
        return { m: pathMetrics(series, firstActiveDay(series)), ic: forwardIcCheck(W, panel, risk.ret) };
      };
      return { honest: run(honest), cheat: run(cheat) };
    });
    expect(res.cheat.m.sharpe_gross - res.honest.m.sharpe_gross).toBeGreaterThan(3);
    expect(res.honest.ic.mean_ic).toBeLessThan(0.1);
    expect(res.cheat.ic.mean_ic).toBeGreaterThan(0.1);
    expect(() => assertNoLookAhead(res.honest.ic, 1, 0.1)).not.toThrow();
    expect(() => assertNoLookAhead(res.cheat.ic, 1, 0.1)).toThrow(/look-ahead detected on path 1/);
    // and the step itself refuses the shifted predictions, non-retryably
    const ctx = makeTestContext({ store, ancestors: stackAncestors(shifted) });
    await expect(runKind(backtestCpcvPaths as unknown as StepKind, {}, ctx)).rejects.toMatchObject({ type: 'LookAheadDetected', nonRetryable: true });
  });

  it('names the missing upstream qc.audit', async () => {
    const anc = stackAncestors(fx);
    delete anc.audit;
    await expect(runKind(backtestCpcvPaths as unknown as StepKind, {}, makeTestContext({ store, ancestors: anc }))).rejects.toThrow(/needs an upstream qc.audit/);
  });
});
