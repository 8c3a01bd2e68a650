/**
 * The order-book kinds through makeTestContext on the real LOBSTER sample (ingest.lob upstream):
 * replay check (and a corrupted snapshot failing it), impact calibration, schedule benchmarks (the
 * kind reproduces the domain call), RL execution (seeded: identical twice), order-type bandit and
 * adaptive cost model, each with reduced sizes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { runScheduleBenchmarks } from '../../execution/schedules/benchmark.ts';
import { executionBenchmarksKind, executionCostModelKind, executionImpactKind, executionOrderTypeKind, executionRlKind, lobReplayCheckKind } from '../../kinds/execution/index.ts';
import { readLobSession } from '../../kinds/execution/common.ts';
import { shortfallRowJson } from '../../kinds/execution/convert.ts';
import type { AnyStepKind, StepOutputs } from '../../kinds/types.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { makeTestContext, runKind, type TestUpstream } from '../support/context.ts';
import { freshStore, lobUpstream } from './support.ts';

describe.skipIf(!hasSharedData())('execution kinds on the LOBSTER sample', () => {
  const store = freshStore();
  let up: Record<string, TestUpstream>;
  const ctx = (kind: AnyStepKind) => makeTestContext({ store, kind, upstream: up });
  const out = (o: StepOutputs) => o as Record<string, any>;

  beforeAll(async () => {
    up = await lobUpstream(store);
  }, 120_000);

  it('lob.replay_check reproduces every snapshot row of both sessions', async () => {
    const o = out(await runKind(lobReplayCheckKind, {}, ctx(lobReplayCheckKind)));
    expect(o.check.passed).toBe(true);
    expect(o.check.sessions.map((s: any) => [s.symbol, s.rows, s.mismatched_rows])).toEqual([['AAPL', 999, 0], ['GOOG', 20000, 0]]);
    expect(o.rows).toBe(20999);
  }, 60_000);

  it('lob.replay_check fails with ReplayMismatch when one snapshot cell is altered', async () => {
    const book = up.ingest!.outputs.book as { uri: string; dataset: string };
    const bad = store.tempPath('book_bad.parquet');
    await withDuckDB((con) => queryRows(con, `COPY (SELECT symbol, date, seq, level, ask_price, CASE WHEN symbol = 'GOOG' AND seq = 5000 AND level = 2 THEN ask_size + 1 ELSE ask_size END AS ask_size, bid_price, bid_size FROM read_parquet(${sqlString(store.path(book.uri))}) ORDER BY symbol, date, seq, level) TO ${sqlString(bad)} (FORMAT parquet)`));
    const ref = await store.putFile(bad, { name: 'book.parquet' });
    const tampered = { ingest: { ...up.ingest!, outputs: { ...up.ingest!.outputs, book: { ...ref, dataset: book.dataset } } } };
    const err = await runKind(lobReplayCheckKind, {}, makeTestContext({ store, kind: lobReplayCheckKind, upstream: tampered })).catch((e) => e);
    expect(err.type).toBe('ReplayMismatch');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/GOOG 2012-06-21: 1 of 20000 rows differ \(1 cells, first at row 5000\)/);
  }, 60_000);

  it('execution.impact: estimates inside their intervals; fill probability falls with distance and rises with time', async () => {
    const o = out(await runKind(executionImpactKind, { bootstrap_reps: 40, fill_horizons_s: [5, 30], permanent_horizons_s: [5, 30] }, ctx(executionImpactKind)));
    const v = o.impact;
    expect(v.symbol).toBe('GOOG');
    for (const e of [v.spread_ticks, v.spread_bps, v.mid_vol_bps_per_sqrt_s, v.temporary_book.eta_usd_per_share, v.arrival.k_per_usd]) {
      expect(e.lo).toBeLessThanOrEqual(e.value);
      expect(e.hi).toBeGreaterThanOrEqual(e.value);
    }
    expect(v.spread_ticks.value).toBeGreaterThan(1);
    expect(v.depth.map((d: any) => d.level)).toEqual([1, 2, 3, 4, 5]);
    expect(v.permanent.map((p: any) => p.horizon_s)).toEqual([5, 30]);
    for (const h of [5, 30]) {
      const row = v.fill_probability.filter((f: any) => f.horizon_s === h);
      for (let i = 1; i < row.length; i++) expect(row[i].touch.value).toBeLessThanOrEqual(row[i - 1].touch.value);
      for (const f of row) expect(f.through.value).toBeLessThanOrEqual(f.touch.value);
    }
    const at = (h: number) => v.fill_probability.find((f: any) => f.horizon_s === h && f.distance_ticks === 10).touch.value;
    expect(at(30)).toBeGreaterThan(at(5));
    expect(v.almgren_chriss.tau_seconds).toBe(30);
    expect(v.almgren_chriss.eta_usd_s_per_share2).toBeCloseTo(Math.max(0, v.temporary_book.eta_usd_per_share.value) * 30, 12);
    expect(store.readJson<any>(v.report).settings.bootstrap_reps).toBe(40);
  }, 120_000);

  it('execution.benchmarks gives the shortfall table of the domain call it wraps', async () => {
    const w = { stride_seconds: 120, kappa_t: [0, 3], styles: ['market'] };
    const o = out(await runKind(executionBenchmarksKind, w, ctx(executionBenchmarksKind)));
    const s = o.shortfall;
    expect(s.rows.map((r: any) => r.strategy)).toEqual(['TWAP', 'VWAP', 'AC κT=3']);
    const session = await readLobSession(store, up.ingest!.outputs.messages as any, up.ingest!.outputs.book as any, 'GOOG', 'test');
    const ref = runScheduleBenchmarks(session, { shares: 1000, horizonSeconds: 300, intervals: 10, strideSeconds: 120, kappaT: [0, 3], styles: ['market'] });
    expect(s.rows).toEqual(ref.rows.map(shortfallRowJson));
    expect(s.episodes).toBe(ref.episodes);
    for (const r of s.rows) expect(r.ci_lo_bps).toBeLessThanOrEqual(r.mean_bps);
    expect(s.rows[0].ac_predicted_mean_bps).toBeGreaterThan(0);
    expect(o.best_strategy).toBe(s.rows.reduce((a: any, b: any) => (b.mean_bps < a.mean_bps ? b : a)).strategy);
  }, 120_000);

  it('execution.rl is seeded: the same with gives the same table; the criterion follows the rows', async () => {
    const w = { episodes: 30, hidden: [8], warmup: 50, synthetic_sessions: 1, eval_stride_seconds: 120, ac_kappa_t: [3] };
    const a = out(await runKind(executionRlKind, w, ctx(executionRlKind)));
    const b = out(await runKind(executionRlKind, w, ctx(executionRlKind)));
    expect(b.shortfall).toEqual(a.shortfall);
    const rows = a.shortfall.rows;
    expect(rows.map((r: any) => r.strategy).slice(0, 4)).toEqual(['RL (double DQN)', 'TWAP', 'TWAP passive', 'VWAP']);
    const c = a.shortfall.criterion;
    expect(c.rl_mean_bps).toBe(rows[0].mean_bps);
    expect(c.twap_mean_bps).toBe(rows[1].mean_bps);
    expect(c.holds).toBe(rows[0].mean_bps <= rows[1].mean_bps);
    expect(a.criterion_holds).toBe(c.holds);
    expect(a.shortfall.paired.map((p: any) => p.label)).toEqual(rows.slice(1).map((r: any) => `RL − ${r.strategy}`));
    expect(a.shortfall.window.from_s).toBeGreaterThan(34_200 + 0.5 * 3000);
    expect(store.readJson<any>(a.shortfall.report).training.envSteps).toBe(30 * 10);
  }, 180_000);

  it('execution.order_type: regret is the best fixed arm minus the bandit, over the rounds', async () => {
    const o = out(await runKind(executionOrderTypeKind, { every_seconds: 20, alphas: [0.3], thompson_seeds: [1] }, ctx(executionOrderTypeKind)));
    const p = o.policy;
    const best = Object.entries(p.mean_reward_bps as Record<string, number>).reduce((a, b) => (b[1] > a[1] ? b : a));
    expect(p.best_fixed).toBe(best[0]);
    expect(p.runs.map((r: any) => r.policy)).toEqual(['LinUCB (α=0.3)', 'Thompson sampling (NIG, seed 1)']);
    for (const r of p.runs) {
      expect(Object.values(r.choices as Record<string, number>).reduce((a, n) => a + n, 0)).toBe(p.rounds);
      expect(r.regret_bps).toBeCloseTo((best[1] - r.mean_reward_bps) * p.rounds, 6);
    }
    expect(p.oracle_mean_reward_bps).toBeGreaterThanOrEqual(best[1]);
    const curves = store.readJson<any>(p.report).regret_curves;
    expect(curves[0].regret.at(-1)).toEqual([p.rounds, p.runs[0].regret_bps]);
  }, 120_000);

  it('execution.cost_model: prequential statistics over every child and a loadable model', async () => {
    const o = out(await runKind(executionCostModelKind, { every_seconds: 20 }, ctx(executionCostModelKind)));
    const c = o.cost_model;
    expect(c.children).toBeGreaterThanOrEqual(30);
    expect(c.calibration.reduce((a: number, q: any) => a + q.n, 0)).toBe(c.children);
    expect(c.base.mae).toBeGreaterThan(0);
    expect(o.adaptive_mae_bps).toBe(c.adaptive.mae);
    const m = store.readJson<any>(c.model);
    expect(m.kind).toBe('trademl.adaptive_cost_model/v1');
    expect(m.w).toHaveLength(7);
    expect(m.P).toHaveLength(49);
    expect(m.n).toBe(c.children);
    m.lo.forEach((lo: number, i: number) => expect(lo).toBeLessThanOrEqual(m.hi[i]));
    expect(Object.keys(c.residual_weights)).toEqual(m.features);
    expect(m.w).toEqual(m.features.map((f: string) => c.residual_weights[f]));
  }, 120_000);
  it('a study the data cannot hold fails non-retryably (StudyInfeasible); an abort stops the worker', async () => {
    const err = await runKind(executionRlKind, { train_fraction: 0.05 }, ctx(executionRlKind)).catch((e) => e);
    expect(err.type).toBe('StudyInfeasible');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/cannot hold training and held-out 300-s episodes/);
    const ac = new AbortController();
    const seen: string[] = [];
    const c = makeTestContext({ store, kind: executionRlKind, upstream: up, signal: ac.signal, progress: (p) => {
      seen.push(p.message ?? '');
      if (/training a double DQN/.test(p.message ?? '')) ac.abort('test abort');
    } });
    const aborted = await runKind(executionRlKind, {}, c).catch((e) => e);
    expect(aborted.message).toMatch(/rl_execution job was aborted \(test abort\)/);
    expect(seen.some((m) => /training a double DQN for 2000 episodes/.test(m))).toBe(true);
  }, 120_000);
});
