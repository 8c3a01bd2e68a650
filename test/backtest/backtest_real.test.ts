import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { ArtifactStore } from '../../artifacts/store.ts';
import { makeTestContext, runKind, tempDir, type TestUpstream } from '../support/context.ts';
import { hasSharedData, PROJECT_ROOT } from '../../lib/paths.ts';
import { loadConfig } from '../../lib/config.ts';
import { withDuckDB, queryRows, sqlString } from '../../lib/duckdb.ts';
import { buildStackFixture, buildTrialLedger, providerOutputs, signalValue, stackUpstream } from './fixtures.ts';
import { backtestCpcvPaths } from '../../kinds/backtest/backtest_cpcv.ts';
import { portfolioBuild } from '../../kinds/backtest/portfolio_build.ts';
import { loadPanel, loadScores } from '../../backtest/io.ts';
import { riskInputs, costConfigSchema } from '../../execution/cost_models.ts';
import { buildWeights } from '../../portfolio/construct.ts';
import { portfolioConfigSchema } from '../../portfolio/config.ts';
import { runPath, forwardIcCheck, assertNoLookAhead } from '../../backtest/engine.ts';
import { pathMetrics, firstActiveDay } from '../../backtest/metrics.ts';
import { NYSE_DAILY } from '../../calendar/calendar.ts';
import { signalsOof, trialsLedger } from '../../contracts/index.ts';
import type { AnyStepKind } from '../../kinds/types.ts';

const d = hasSharedData() ? describe : describe.skip;
if (!hasSharedData()) console.warn('SKIPPING real-data backtest tests: shared S&P data not found');

const pbKind = portfolioBuild as unknown as AnyStepKind;
const btKind = backtestCpcvPaths as unknown as AnyStepKind;
type Out = Record<string, any>;

d('portfolio.build → backtest.cpcv_paths on a real S&P slice (30 names, 2013–2018)', () => {
  const dir = tempDir('bt-real-');
  const store = new ArtifactStore(path.join(dir, 'store'));
  let fx: Awaited<ReturnType<typeof buildStackFixture>>;
  let shifted: Awaited<ReturnType<typeof buildStackFixture>>;
  let pb: Out;
  let bt: Out;
  /** The stack upstream plus a portfolio.build step whose outputs are `weights`. */
  const withPortfolio = (f: typeof fx, weights: Out, extra: Record<string, TestUpstream> = {}, stackNeeds: string[] = []): Record<string, TestUpstream> => ({
    ...extra,
    ...stackUpstream(f, stackNeeds),
    portfolio: { uses: 'portfolio.build', outputs: weights, needs: ['stack'] },
  });
  beforeAll(async () => {
    fx = await buildStackFixture(store, dir);
    shifted = await buildStackFixture(store, tempDir('bt-shift-'), { shiftDays: 1 });
    pb = await runKind(pbKind, {}, makeTestContext({ store, kind: pbKind, upstream: stackUpstream(fx) }));
    bt = await runKind(btKind, {}, makeTestContext({ store, kind: btKind, upstream: withPortfolio(fx, pb) }));
  });

  it('portfolio.build provides portfolio.weights on the prices\' calendar, from the bound signal, caps respected', async () => {
    expect(pb.weights.calendar).toBe('nyse');
    expect(pb.weights.paths).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(pb.weights.source).toEqual({ step: 'stack', sleeve: 'stack' });
    expect(pb.sizing).toBe('none');
    expect(Object.keys(pb.at_max_leverage)).toEqual(Object.keys(pb.mean_leverage));
    for (const [p, share] of Object.entries(pb.at_max_leverage as Record<string, number>)) {
      expect(share).toBeGreaterThanOrEqual(0);
      expect(share).toBeLessThanOrEqual(1);
      if (share === 1) expect(pb.mean_leverage[p]).toBe(4); // always at the ceiling: the mean is the ceiling
    }
    const cap = await withDuckDB((con) => queryRows<{ m: number }>(con, `SELECT max(abs(weight)) m FROM read_parquet(${sqlString(store.path(pb.weights))})`));
    expect(cap[0]!.m).toBeLessThanOrEqual(0.05 + 1e-12);
  });

  it('runs every CPCV path plus walk-forward and reports each cost component', async () => {
    expect(bt.paths).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(bt.returns).toMatchObject({ calendar: 'nyse', execution: 'next_open', source: { step: 'stack', sleeve: 'stack' }, sleeve_returns: null });
    expect(bt.sleeves).toEqual([]);
    expect(bt.forward_ic_max).toBeLessThan(0.1);
    const metrics = store.readJson<any>(bt.returns.metrics);
    expect(metrics.per_path).toHaveLength(8);
    for (const p of metrics.per_path) {
      for (const k of ['ann_return', 'ann_vol', 'sharpe', 'sortino', 'max_drawdown', 'calmar', 'turnover_annual', 'hit_rate', 'cvar_95']) expect(Number.isFinite(p[k]), `${k} of path ${p.path}`).toBe(true);
      expect(p.cost_drag_bps.spread).toBeGreaterThan(0);
      expect(p.cost_drag_bps.impact).toBeGreaterThan(0);
      expect(p.cost_drag_bps.borrow).toBeGreaterThan(0);
    }
    expect(metrics.per_path[0].first_date >= '2014-02-10').toBe(true); // walk-forward starts later
    const rows = await withDuckDB((con) =>
      queryRows<{ bad: bigint; paths: bigint; gmax: number }>(
        con,
        `SELECT count(*) FILTER (WHERE abs(net - (gross - fee - spread - impact - borrow)) > 1e-12) bad, count(DISTINCT path) paths, max(gross_exposure) gmax FROM read_parquet(${sqlString(store.path(bt.returns.returns))})`,
      ),
    );
    expect(Number(rows[0]!.paths)).toBe(8);
    expect(Number(rows[0]!.bad)).toBe(0);
    expect(rows[0]!.gmax).toBeLessThanOrEqual(4 + 1e-9); // max_leverage 4 × gross 1
  });

  it('the steps compute exactly what the domain modules give for a path, with deterministic bytes', async () => {
    const pcfg = loadConfig(PROJECT_ROOT, 'configs/portfolio.yml', portfolioConfigSchema);
    const costs = loadConfig(PROJECT_ROOT, 'configs/costs.yml', costConfigSchema);
    const direct = await withDuckDB(async (con) => {
      const panel = await loadPanel(con, store.path(fx.curated));
      const risk = riskInputs(panel, costs.impact.sigma_window, costs.impact.adv_window);
      const s = (await loadScores(con, store.path(fx.oof), 'score', panel, 'oof')).paths.get(3)!;
      const W = buildWeights(s, panel, risk.ret, pcfg, NYSE_DAILY, { costs, risk }).weights;
      const fill = (ex: 'close' | 'next_open') => {
        const series = runPath(W, panel, risk, costs, NYSE_DAILY, ex);
        return pathMetrics(series, NYSE_DAILY, firstActiveDay(series));
      };
      return { next_open: fill('next_open'), close: fill('close') };
    });
    expect(pcfg.execution).toBe('next_open');
    const metrics = store.readJson<any>(bt.returns.metrics);
    const p3 = metrics.per_path.find((p: any) => p.path === 3);
    expect(p3.sharpe).toBe(direct.next_open.sharpe);
    // close fills side by side with the next-open ones, in the metrics JSON and the step's outputs
    expect(p3.fills).toEqual({ path: 3, next_open: { sharpe: direct.next_open.sharpe, sharpe_gross: direct.next_open.sharpe_gross }, close: { sharpe: direct.close.sharpe, sharpe_gross: direct.close.sharpe_gross } });
    expect(bt.fills.execution).toBe('next_open');
    expect(bt.fills.per_path.map((p: any) => p.path)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(bt.fills.per_path[3]).toEqual(p3.fills);
    expect(bt.fills.median.next_open.sharpe).toBe(bt.sharpe_median);
    const again = await runKind(btKind, {}, makeTestContext({ store, kind: btKind, upstream: withPortfolio(fx, pb) }));
    expect((again.returns as Out).returns.digest).toBe(bt.returns.returns.digest);
  });

  it('backtests every other upstream signal as a sleeve (not the one the weights came from)', async () => {
    const ledger = await buildTrialLedger(store, dir, fx.curated, [5, 10], 'mom');
    const sleeve = signalValue({ sleeve: 'mom', oof: fx.oof, walkForward: fx.oofWf });
    const fit = { uses: 'fit.cpcv', outputs: providerOutputs('fit.cpcv', [[signalsOof, sleeve], [trialsLedger, ledger]]), needs: ['audit'] };
    const upstream = withPortfolio(fx, pb, { fit_mom: fit }, ['fit_mom']);
    const out = await runKind(btKind, {}, makeTestContext({ store, kind: btKind, upstream }));
    expect(out.sleeves).toEqual([expect.objectContaining({ sleeve: 'mom', step: 'fit_mom', task: 'regression' })]);
    const ret = out.returns as Out;
    expect(ret.sleeve_returns).not.toBeNull();
    const sl = await withDuckDB((con) => queryRows<{ s: string }>(con, `SELECT DISTINCT sleeve s FROM read_parquet(${sqlString(store.path(ret.sleeve_returns))})`));
    expect(sl.map((r) => r.s)).toEqual(['mom']);
    // the same scores through the same portfolio and costs: the sleeve's median Sharpe is the strategy's
    expect((out.sleeves as Out[])[0]!.sharpe_median).toBe(out.sharpe_median);
    const off = await runKind(btKind, { sleeves: false }, makeTestContext({ store, kind: btKind, upstream }));
    expect(off.sleeves).toEqual([]);
  });

  it('no look-ahead: scores shifted one day into the future change results drastically and trip the timing assertion', async () => {
    const { pcfg, costs } = { pcfg: portfolioConfigSchema.parse({}), costs: costConfigSchema.parse({}) };
    const res = await withDuckDB(async (con) => {
      const panel = await loadPanel(con, store.path(fx.curated));
      const risk = riskInputs(panel);
      const honest = (await loadScores(con, store.path(fx.oof), 'score', panel, 'oof')).paths.get(1)!;
      const cheat = (await loadScores(con, store.path(shifted.oof), 'score', panel, 'oof')).paths.get(1)!;
      const run = (s: Float64Array) => {
        const W = buildWeights(s, panel, risk.ret, pcfg, NYSE_DAILY).weights;
        const series = runPath(W, panel, risk, costs, NYSE_DAILY, 'close');
        return { m: pathMetrics(series, NYSE_DAILY, firstActiveDay(series)), ic: forwardIcCheck(W, panel, risk.ret) };
      };
      return { honest: run(honest), cheat: run(cheat) };
    });
    expect(res.cheat.m.sharpe_gross - res.honest.m.sharpe_gross).toBeGreaterThan(3);
    expect(res.honest.ic.mean_ic).toBeLessThan(0.1);
    expect(res.cheat.ic.mean_ic).toBeGreaterThan(0.1);
    expect(() => assertNoLookAhead(res.honest.ic, 1, 0.1)).not.toThrow();
    expect(() => assertNoLookAhead(res.cheat.ic, 1, 0.1)).toThrow(/look-ahead detected on path 1/);
    // and the backtest step refuses weights built from the shifted predictions, non-retryably
    const cheatPb = await runKind(pbKind, {}, makeTestContext({ store, kind: pbKind, upstream: stackUpstream(shifted) }));
    const ctx = makeTestContext({ store, kind: btKind, upstream: withPortfolio(shifted, cheatPb) });
    await expect(runKind(btKind, {}, ctx)).rejects.toMatchObject({ type: 'LookAheadDetected', nonRetryable: true });
  });

  it('wiring errors: no prices upstream is a binding error; inputs on different calendars are refused', async () => {
    const noAudit = withPortfolio(fx, pb);
    delete noAudit.audit;
    noAudit.stack!.needs = [];
    expect(() => makeTestContext({ store, kind: btKind, upstream: noAudit })).toThrow(/ohlcv\.daily@1 for its input "ohlcv"/);
    const onCrypto = withPortfolio(fx, { ...pb, weights: { ...pb.weights, calendar: '24x7' } });
    await expect(runKind(btKind, {}, makeTestContext({ store, kind: btKind, upstream: onCrypto }))).rejects.toMatchObject({ name: 'InputError', message: expect.stringMatching(/calendar "nyse" but portfolio\.weights is on "24x7"/) });
  });
});
