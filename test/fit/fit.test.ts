import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { ArtifactStore, type ArtifactRef } from '../../artifacts/store.ts';
import { signalsOof, modelBundle, trialsLedger } from '../../contracts/index.ts';
import type { StepOutputs } from '../../kinds/types.ts';
import { fitCpcv } from '../../kinds/fit/cpcv.ts';
import { stackOof } from '../../kinds/fit/stack.ts';
import { withDuckDB, queryRows, sqlString } from '../../lib/duckdb.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { cpcvSplits } from '../../cv/cpcv.ts';
import { openOnnxScorer } from '../../models/onnx/score.ts';
import { makeTestContext, runKind, tempDir } from '../support/context.ts';
import { auditUpstream, realChain, type RealChain } from './upstream.ts';

const SYMBOLS = ['AAPL', 'MSFT', 'AMZN', 'JPM', 'XOM', 'JNJ', 'PG', 'KO', 'PFE', 'WMT', 'BAC', 'CVX', 'GE', 'INTC', 'CSCO', 'T', 'VZ', 'MRK', 'DIS', 'HD'];

async function rows<T = Record<string, unknown>>(store: ArtifactStore, ref: unknown, sql: string): Promise<T[]> {
  const file = store.path(ref as ArtifactRef);
  return withDuckDB((con) => queryRows<T>(con, sql.replaceAll('$F', `read_parquet(${sqlString(file)})`)));
}

const oofOf = (o: StepOutputs) => signalsOof.schema.parse(o.oof);

describe.skipIf(!hasSharedData())('fit.cpcv + stack.oof on the real S&P chain (features.equities, labels.*)', () => {
  let store: ArtifactStore;
  let chain: RealChain;
  let horizon: StepOutputs;
  let tb: StepOutputs;
  // both label kinds are upstream: the fit's labels input is bound explicitly, as pipelines.yaml `inputs:` would
  const upstream = () => ({
    audit: auditUpstream(chain.auditReport),
    features: { uses: 'features.equities', outputs: chain.features },
    labels_h: { uses: 'labels.horizon', outputs: chain.horizon },
    labels_tb: { uses: 'labels.triple_barrier', outputs: chain.barriers },
  });

  beforeAll(async () => {
    store = new ArtifactStore(path.join(tempDir(), 'a'));
    chain = await realChain(store, SYMBOLS);
    const progress: number[] = [];
    horizon = await runKind(
      fitCpcv,
      { sleeve: 'horizon', num_boost_round: 60 },
      makeTestContext({ store, kind: fitCpcv, upstream: upstream(), bind: { labels: 'labels_h' }, progress: (p) => p.fraction !== undefined && progress.push(p.fraction) }),
    );
    expect(progress.length).toBeGreaterThan(100); // 4 trials × 28 splits + 7 walk-forward + refit
    tb = await runKind(
      fitCpcv,
      { sleeve: 'tb', config: 'configs/training/equities_tb.yml', grid: {}, num_boost_round: 40 },
      makeTestContext({ store, kind: fitCpcv, upstream: upstream(), bind: { labels: 'labels_tb' } }),
    );
  }, 900_000); // 7 s alone; over 180 s beside test/perf/digests.test.ts (two native fits on 2 cores)

  it('nightly layout: 28 splits, 7 paths, 4 trials; provides signals.oof, trials.ledger, model.bundle', async () => {
    expect(horizon).toMatchObject({ n_splits: 28, n_paths: 7, n_trials: 4, task: 'regression', sleeve: 'horizon', engine: 'xgboost', labels_kind: 'horizon', leakage_suspect: false });
    expect(oofOf(horizon)).toMatchObject({ sleeve: 'horizon', task: 'regression', calendar: 'nyse', n_paths: 7, components: [] });
    expect(trialsLedger.schema.parse(horizon.trials)).toMatchObject({ sleeve: 'horizon', n_trials: 4 });
    const bundle = modelBundle.schema.parse(horizon.model);
    expect(bundle).toMatchObject({ sleeve: 'horizon', engine: 'xgboost', feature_names: chain.features.feature_names });
    const m = store.readJson<{ per_split: unknown[]; per_path: unknown[]; cv: { groups: unknown[]; embargo_bars: number }; calendar: string }>(bundle.metrics);
    expect(m.per_split).toHaveLength(28);
    expect(m.per_path).toHaveLength(7);
    expect(m.cv).toMatchObject({ embargo_bars: 10 });
    expect(m.cv.groups).toHaveLength(8);
    expect(m.calendar).toBe('nyse');
    for (const k of ['mean_ic', 'mean_rank_ic', 'icir', 'walk_forward_rank_ic', 'sharpe'] as const) expect(Number.isFinite(horizon[k] as number)).toBe(true);
    // honest signals are small: the leakage check did not fire and |rank IC| is well below 0.1
    expect(Math.abs(horizon.mean_rank_ic as number)).toBeLessThan(0.1);
    console.log(`[fit.cpcv horizon, ${SYMBOLS.length} symbols] mean IC ${(horizon.mean_ic as number).toFixed(4)}, mean rank IC ${(horizon.mean_rank_ic as number).toFixed(4)}, ICIR ${(horizon.icir as number).toFixed(3)}, walk-forward rank IC ${(horizon.walk_forward_rank_ic as number).toFixed(4)}, in-sample rank IC ${(horizon.insample_rank_ic as number).toFixed(4)}`);
  });

  it('oof: the signals.oof columns; unique on (date, symbol, path); every row once per path; split/test_group consistent with CPCV', async () => {
    const o = oofOf(horizon);
    const cols = await rows<{ column_name: string }>(store, o.oof, 'DESCRIBE SELECT * FROM $F');
    expect(cols.map((c) => c.column_name)).toEqual(['date', 'symbol', 'path', 'split', 'test_group', 'score', 'label', 'ret', 't1']);
    const n = horizon.n_rows as number;
    const [c] = await rows<{ n: bigint; u: bigint; paths: bigint; minp: number; maxp: number }>(store, o.oof, `SELECT count(*) n, count(DISTINCT (date, symbol, path)) u, count(DISTINCT path) paths, min(path) minp, max(path) maxp FROM $F`);
    expect(Number(c!.n)).toBe(n * 7);
    expect(Number(c!.u)).toBe(n * 7);
    expect([Number(c!.paths), c!.minp, c!.maxp]).toEqual([7, 1, 7]);
    const perPath = await rows<{ path: number; n: bigint }>(store, o.oof, `SELECT path, count(DISTINCT (date, symbol)) n FROM $F GROUP BY path`);
    expect(perPath.every((r) => Number(r.n) === n)).toBe(true);
    const splits = cpcvSplits(8, 2);
    const pairs = await rows<{ split: number; test_group: number }>(store, o.oof, `SELECT DISTINCT split, test_group FROM $F`);
    expect(pairs).toHaveLength(56);
    for (const p of pairs) expect(splits[p.split - 1]!.testGroups).toContain(p.test_group);
    // a test group's dates never overlap another group's
    const spans = await rows<{ g: number; lo: Date; hi: Date }>(store, o.oof, `SELECT test_group g, min(date) lo, max(date) hi FROM $F WHERE path = 1 GROUP BY g ORDER BY g`);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.lo.getTime()).toBeGreaterThan(spans[i - 1]!.hi.getTime());
    const wf = await rows<{ p: number; q: number; g: number }>(store, o.walk_forward, `SELECT min(path) p, max(path) q, min(test_group) g FROM $F`);
    expect([wf[0]!.p, wf[0]!.q]).toEqual([0, 0]);
    expect(wf[0]!.g).toBe(2); // group 1 has no earlier data to train on
  });

  it('trial ledger and return streams: one daily stream per trial', async () => {
    const t = trialsLedger.schema.parse(horizon.trials);
    const ledger = store.readJson<{ n_trials: number; trials: { trial_id: string; params: Record<string, unknown> }[]; selected_trial: string }>(t.ledger);
    expect(ledger.n_trials).toBe(4);
    expect(new Set(ledger.trials.map((x) => `${x.params.max_depth}/${x.params.eta}`)).size).toBe(4);
    expect(ledger.trials.map((x) => x.trial_id)).toContain(horizon.selected_trial);
    const tr = await rows<{ trial_id: string; n: bigint; sd: number }>(store, t.returns, `SELECT trial_id, count(*) n, stddev(ret) sd FROM $F GROUP BY trial_id ORDER BY trial_id`);
    expect(tr.map((r) => r.trial_id)).toEqual(ledger.trials.map((x) => x.trial_id).sort());
    for (const r of tr) {
      expect(Number(r.n)).toBeGreaterThan(1000);
      expect(r.sd).toBeGreaterThan(0);
    }
  });

  it('the ONNX model of the bundle reproduces the in-step parity and scores feature rows', async () => {
    expect(horizon.onnx_parity_max_abs_diff as number).toBeLessThan(1e-5);
    expect(tb.onnx_parity_max_abs_diff as number).toBeLessThan(1e-5);
    const bundle = modelBundle.schema.parse(horizon.model);
    const scorer = await openOnnxScorer(store.path(bundle.onnx));
    const F = bundle.feature_names.length;
    const out = await scorer.run(new Float32Array(3 * F).fill(0.1), 3, F);
    await scorer.release();
    expect(out.score).toHaveLength(3);
    const fl = store.readJson<{ feature_names: string[]; registry: { features: { name: string }[] } }>(bundle.feature_list);
    expect(fl.registry.features.map((f) => f.name)).toEqual(fl.feature_names);
  });

  it('classifier sleeve: logloss/AUC per split, prob_up in its OOF, calibration table', async () => {
    expect(tb).toMatchObject({ task: 'classification', n_trials: 1, n_paths: 7, labels_kind: 'triple_barrier' });
    const m = store.readJson<{ per_split: { logloss: number; auc: number }[]; calibration: { bin: number; count: number }[] }>(modelBundle.schema.parse(tb.model).metrics);
    for (const s of m.per_split) {
      expect(s.logloss).toBeGreaterThan(0);
      expect(s.auc).toBeGreaterThan(0.3);
      expect(s.auc).toBeLessThan(0.7);
    }
    expect(m.calibration.reduce((a, b) => a + b.count, 0)).toBe((tb.n_rows as number) * 7);
    const [p] = await rows<{ lo: number; hi: number }>(store, oofOf(tb).oof, `SELECT min(prob_up) lo, max(prob_up) hi FROM $F`);
    expect(p!.lo).toBeGreaterThanOrEqual(0);
    expect(p!.hi).toBeLessThanOrEqual(1);
  });

  it('stack.oof blends both sleeves under the same CPCV (deterministic bytes); falls back to configured weights with one sleeve', async () => {
    const both = { fit_h: { uses: 'fit.cpcv', outputs: horizon }, fit_tb: { uses: 'fit.cpcv', outputs: tb } };
    const out = await runKind(stackOof, {}, makeTestContext({ store, kind: stackOof, upstream: both }));
    expect(out).toMatchObject({ n_sleeves: 2, fallback: false, n_paths: 7, n_splits: 28, sleeves: ['horizon', 'tb'] });
    expect(oofOf(out)).toMatchObject({ sleeve: 'stack', task: 'regression', calendar: 'nyse', n_paths: 7, components: ['horizon', 'tb'] });
    const st = store.readJson<{ weights: Record<string, number>; fallback: boolean; cv: Record<string, number> }>(out.stacker as ArtifactRef);
    expect(Object.keys(st.weights).sort()).toEqual(['horizon', 'tb']);
    expect(st.cv).toMatchObject({ n_groups: 8, n_test_groups: 2, embargo_bars: 10, n_splits: 28, n_paths: 7 });
    const [c] = await rows<{ n: bigint; u: bigint }>(store, oofOf(out).oof, `SELECT count(*) n, count(DISTINCT (date, symbol, path)) u FROM $F`);
    expect(Number(c!.u)).toBe(Number(c!.n));
    const [wf] = await rows<{ p: number }>(store, oofOf(out).walk_forward, `SELECT max(path) p FROM $F`);
    expect(wf!.p).toBe(0);
    const again = await runKind(stackOof, {}, makeTestContext({ store, kind: stackOof, upstream: both }));
    expect(oofOf(again).oof.digest).toBe(oofOf(out).oof.digest);
    expect(oofOf(again).walk_forward.digest).toBe(oofOf(out).walk_forward.digest);

    const failed = { uses: 'fit.cpcv', status: 'failed' as const, outputs: {} };
    const one = await runKind(stackOof, { fallback_weights: { horizon: 1, tb: 1 } }, makeTestContext({ store, kind: stackOof, upstream: { fit_h: both.fit_h, fit_tb: failed } }));
    expect(one).toMatchObject({ n_sleeves: 1, fallback: true });
    const fb = store.readJson<{ weights: Record<string, number>; missing_sleeves: string[] }>(one.stacker as ArtifactRef);
    expect(fb.weights).toEqual({ horizon: 1 });
    expect(fb.missing_sleeves).toEqual(['fit_tb']);
    // with the fallback, the stacked score of path p is the horizon sleeve's per-date z-score on path p: same ranking
    const [ic] = await rows<{ r: number }>(store, oofOf(one).oof, `SELECT corr(score, ret) r FROM $F WHERE path = 1`);
    expect(Number.isFinite(ic!.r)).toBe(true);
  });
});
