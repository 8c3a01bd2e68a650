import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { ArtifactStore, type ArtifactRef } from '../../artifacts/store.ts';
import type { StepContext, StepKind, StepOutputs, UpstreamStep } from '../../kinds/types.ts';
import { kinds as featureKinds } from '../../kinds/features/index.ts';
import { fitCpcv } from '../../kinds/fit/cpcv.ts';
import { stackOof } from '../../kinds/fit/stack.ts';
import { withDuckDB, queryRows, sqlString } from '../../lib/duckdb.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { cpcvSplits } from '../../cv/cpcv.ts';
import { openOnnxScorer } from '../../models/onnx/score.ts';
import { makeTestContext, runKind, tempDir } from '../support/context.ts';
import { writeSp500Slice } from '../support/sp500.ts';
import { buildFixturePanel, fitAncestors } from './panel.ts';

const kind = (uses: string): StepKind => featureKinds.find((k) => k.uses === uses)!;
const SYMBOLS = ['AAPL', 'MSFT', 'AMZN', 'JPM', 'XOM', 'JNJ', 'PG', 'KO', 'PFE', 'WMT', 'BAC', 'CVX', 'GE', 'INTC', 'CSCO', 'T', 'VZ', 'MRK', 'DIS', 'HD'];
const SMALL = ['AAPL', 'JPM', 'XOM', 'KO', 'GE', 'INTC', 'T', 'F', 'LNT', 'EBAY'];

async function rows<T = Record<string, unknown>>(store: ArtifactStore, ref: unknown, sql: string): Promise<T[]> {
  const file = store.path(ref as ArtifactRef);
  return withDuckDB((con) => queryRows<T>(con, sql.replaceAll('$F', `read_parquet(${sqlString(file)})`)));
}

const up = (uses: string, outputs: StepOutputs): UpstreamStep => ({ uses, status: 'succeeded', outputs });

describe.skipIf(!hasSharedData())('fit.cpcv + stack.oof on the real S&P chain (features.equities, labels.*)', () => {
  let store: ArtifactStore;
  let ancestors: Record<string, UpstreamStep>;
  let horizon: StepOutputs;
  let tb: StepOutputs;

  beforeAll(async () => {
    const dir = tempDir();
    store = new ArtifactStore(path.join(dir, 'a'));
    const tmp = store.tempPath('ohlcv.parquet');
    await writeSp500Slice(tmp, SYMBOLS);
    const curated = await store.putFile(tmp, { name: 'ohlcv.parquet' });
    const audit = up('qc.audit', { curated, status: 'GREEN', dataset: 'sp500_all_stocks_5yr', red_dates: [], red_reasons: [] });
    const base = (): StepContext => makeTestContext({ store, inputs: { audit: audit.outputs }, ancestors: { audit } });
    const features = await runKind(kind('features.equities'), {}, base());
    const lh = await runKind(kind('labels.horizon'), { horizon: 5 }, base());
    const ltb = await runKind(kind('labels.triple_barrier'), { tp_sigma: 2, sl_sigma: 1, max_h: 10 }, base());
    ancestors = { audit, features: up('features.equities', features), labels_h: up('labels.horizon', lh), labels_tb: up('labels.triple_barrier', ltb) };
    const progress: number[] = [];
    horizon = await runKind(
      fitCpcv,
      { sleeve: 'horizon', labels: 'labels.horizon', num_boost_round: 60 },
      makeTestContext({ store, ancestors, inputs: { features: features, labels_h: lh }, progress: (p) => p.fraction !== undefined && progress.push(p.fraction) }),
    );
    expect(progress.length).toBeGreaterThan(100); // 4 trials × 28 splits + 7 walk-forward + refit
    tb = await runKind(
      fitCpcv,
      { sleeve: 'tb', config: 'configs/training/equities_tb.yml', labels: 'labels.triple_barrier', grid: {}, num_boost_round: 40 },
      makeTestContext({ store, ancestors, inputs: { features: features, labels_tb: ltb } }),
    );
  });

  it('nightly layout: 28 splits, 7 paths, 4 trials; IC reported with sign and size', async () => {
    expect(horizon).toMatchObject({ n_splits: 28, n_paths: 7, n_trials: 4, task: 'regression', sleeve: 'horizon', labels_kind: 'labels.horizon', leakage_suspect: false });
    const m = store.readJson<{ per_split: { split: number; ic: number; rank_ic: number }[]; per_path: { path: number; rank_ic: number }[]; cv: { groups: unknown[] } }>(horizon.metrics as ArtifactRef);
    expect(m.per_split).toHaveLength(28);
    expect(m.per_path).toHaveLength(7);
    expect(m.cv.groups).toHaveLength(8);
    for (const k of ['mean_ic', 'mean_rank_ic', 'icir', 'walk_forward_rank_ic'] as const) expect(Number.isFinite(horizon[k] as number)).toBe(true);
    // honest signals are small: the leakage check did not fire and |rank IC| is well below 0.1
    expect(Math.abs(horizon.mean_rank_ic as number)).toBeLessThan(0.1);
    console.log(`[fit.cpcv horizon, ${SYMBOLS.length} symbols] mean IC ${(horizon.mean_ic as number).toFixed(4)}, mean rank IC ${(horizon.mean_rank_ic as number).toFixed(4)}, ICIR ${(horizon.icir as number).toFixed(3)}, walk-forward rank IC ${(horizon.walk_forward_rank_ic as number).toFixed(4)}, in-sample rank IC ${(horizon.insample_rank_ic as number).toFixed(4)}`);
  });

  it('oof: unique on (date, symbol, path); every row once per path; split/test_group consistent with CPCV', async () => {
    const n = horizon.n_rows as number;
    const [c] = await rows<{ n: bigint; u: bigint; paths: bigint; minp: number; maxp: number }>(store, horizon.oof, `SELECT count(*) n, count(DISTINCT (date, symbol, path)) u, count(DISTINCT path) paths, min(path) minp, max(path) maxp FROM $F`);
    expect(Number(c!.n)).toBe(n * 7);
    expect(Number(c!.u)).toBe(n * 7);
    expect([Number(c!.paths), c!.minp, c!.maxp]).toEqual([7, 1, 7]);
    const perPath = await rows<{ path: number; n: bigint }>(store, horizon.oof, `SELECT path, count(DISTINCT (date, symbol)) n FROM $F GROUP BY path`);
    expect(perPath.every((r) => Number(r.n) === n)).toBe(true);
    const splits = cpcvSplits(8, 2);
    const pairs = await rows<{ split: number; test_group: number }>(store, horizon.oof, `SELECT DISTINCT split, test_group FROM $F`);
    expect(pairs).toHaveLength(56);
    for (const p of pairs) expect(splits[p.split - 1]!.testGroups).toContain(p.test_group);
    // a test group's dates never overlap another group's
    const spans = await rows<{ g: number; lo: Date; hi: Date }>(store, horizon.oof, `SELECT test_group g, min(date) lo, max(date) hi FROM $F WHERE path = 1 GROUP BY g ORDER BY g`);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.lo.getTime()).toBeGreaterThan(spans[i - 1]!.hi.getTime());
    const wf = await rows<{ p: number; g: number; n: bigint }>(store, horizon.oof_walk_forward, `SELECT min(path) p, min(test_group) g, count(*) n FROM $F`);
    expect(wf[0]!.p).toBe(0);
    expect(wf[0]!.g).toBe(2); // group 1 has no earlier data to train on
  });

  it('trial ledger and return streams: one daily stream per trial', async () => {
    const ledger = store.readJson<{ n_trials: number; trials: { trial_id: string; params: Record<string, unknown>; metrics: Record<string, number> }[]; selected_trial: string }>(horizon.trial_ledger as ArtifactRef);
    expect(ledger.n_trials).toBe(4);
    expect(new Set(ledger.trials.map((t) => `${t.params.max_depth}/${t.params.eta}`)).size).toBe(4);
    expect(ledger.trials.map((t) => t.trial_id)).toContain(horizon.selected_trial);
    const tr = await rows<{ trial_id: string; n: bigint; sd: number }>(store, horizon.trial_returns, `SELECT trial_id, count(*) n, stddev(ret) sd FROM $F GROUP BY trial_id ORDER BY trial_id`);
    expect(tr.map((r) => r.trial_id)).toEqual(ledger.trials.map((t) => t.trial_id).sort());
    for (const r of tr) {
      expect(Number(r.n)).toBeGreaterThan(1000);
      expect(r.sd).toBeGreaterThan(0);
    }
  });

  it('the ONNX model artifact reproduces the in-step parity and scores feature rows', async () => {
    expect(horizon.onnx_parity_max_abs_diff as number).toBeLessThan(1e-5);
    expect(tb.onnx_parity_max_abs_diff as number).toBeLessThan(1e-5);
    const scorer = await openOnnxScorer(store.path(horizon.model as ArtifactRef));
    const F = (horizon.feature_names as string[]).length;
    const out = await scorer.run(new Float32Array(3 * F).fill(0.1), 3, F);
    await scorer.release();
    expect(out.score).toHaveLength(3);
    const fl = store.readJson<{ feature_names: string[]; registry: { features: { name: string }[] } }>(horizon.feature_list as ArtifactRef);
    expect(fl.registry.features.map((f) => f.name)).toEqual(fl.feature_names);
  });

  it('classifier sleeve: logloss/AUC per split, prob_up in its OOF, calibration table', async () => {
    expect(tb).toMatchObject({ task: 'classification', n_trials: 1, n_paths: 7 });
    const m = store.readJson<{ per_split: { logloss: number; auc: number }[]; calibration: { bin: number; count: number }[] }>(tb.metrics as ArtifactRef);
    for (const s of m.per_split) {
      expect(s.logloss).toBeGreaterThan(0);
      expect(s.auc).toBeGreaterThan(0.3);
      expect(s.auc).toBeLessThan(0.7);
    }
    expect(m.calibration.reduce((a, b) => a + b.count, 0)).toBe((tb.n_rows as number) * 7);
    const [p] = await rows<{ lo: number; hi: number }>(store, tb.oof, `SELECT min(prob_up) lo, max(prob_up) hi FROM $F`);
    expect(p!.lo).toBeGreaterThanOrEqual(0);
    expect(p!.hi).toBeLessThanOrEqual(1);
  });

  it('stack.oof blends both sleeves under the same CPCV; falls back to configured weights with one sleeve', async () => {
    const both = { ...ancestors, fit_h: up('fit.cpcv', horizon), fit_tb: up('fit.cpcv', tb) };
    const out = await runKind(stackOof, {}, makeTestContext({ store, ancestors: both, inputs: { fit_h: horizon, fit_tb: tb } }));
    expect(out).toMatchObject({ n_sleeves: 2, fallback: false, n_paths: 7, n_splits: 28 });
    const st = store.readJson<{ weights: Record<string, number>; intercept: number; sleeves: { sleeve: string }[]; fallback: boolean }>(out.stacker as ArtifactRef);
    expect(Object.keys(st.weights).sort()).toEqual(['horizon', 'tb']);
    const [c] = await rows<{ n: bigint; u: bigint }>(store, out.oof, `SELECT count(*) n, count(DISTINCT (date, symbol, path)) u FROM $F`);
    expect(Number(c!.u)).toBe(Number(c!.n));
    const [wf] = await rows<{ p: number }>(store, out.oof_walk_forward, `SELECT max(path) p FROM $F`);
    expect(wf!.p).toBe(0);

    const failed: UpstreamStep = { uses: 'fit.cpcv', status: 'failed', outputs: {}, error: { message: 'boom', type: 'StepError' } };
    const one = await runKind(stackOof, { fallback_weights: { horizon: 1, tb: 1 } }, makeTestContext({ store, ancestors: { ...ancestors, fit_h: up('fit.cpcv', horizon), fit_tb: failed }, inputs: { fit_h: horizon } }));
    expect(one).toMatchObject({ n_sleeves: 1, fallback: true });
    const fb = store.readJson<{ weights: Record<string, number>; fallback_reason: string; missing_sleeves: string[] }>(one.stacker as ArtifactRef);
    expect(fb.weights).toEqual({ horizon: 1 });
    expect(fb.missing_sleeves).toEqual(['fit_tb']);
    // with the fallback, the stacked score is the horizon sleeve's path-averaged per-date z-score: same ranking
    const [ic] = await rows<{ r: number }>(store, one.oof, `SELECT corr(score, ret) r FROM $F WHERE path = 1`);
    expect(Number.isFinite(ic!.r)).toBe(true);
  });
});

describe.skipIf(!hasSharedData())('leakage acceptance (fixture panel)', () => {
  let store: ArtifactStore;
  let dir: string;
  const fixed = { grid: {}, num_boost_round: 30 };
  beforeAll(() => {
    dir = tempDir();
    store = new ArtifactStore(path.join(dir, 'a'));
  });

  it('labels shuffled across dates → mean OOF rank IC within noise of 0', async () => {
    const p = await buildFixturePanel(store, dir, SMALL, { shuffleSeed: 7 });
    const out = await runKind(fitCpcv, { sleeve: 'shuffled', ...fixed }, makeTestContext({ store, ...fitAncestors(p, 'labels.horizon') }));
    const m = store.readJson<{ per_path: { rank_ic: number; rank_ic_tstat: number }[] }>(out.metrics as ArtifactRef);
    const se = m.per_path.reduce((a, x) => a + Math.abs(x.rank_ic / x.rank_ic_tstat), 0) / m.per_path.length;
    const ic = out.mean_rank_ic as number;
    console.log(`[shuffled labels] mean OOF rank IC ${ic.toFixed(4)} (daily standard error ${se.toFixed(4)})`);
    expect(Math.abs(ic)).toBeLessThan(3 * se);
    expect(out.leakage_suspect).toBe(false);
  });

  it('a feature that is the label itself → flagged (warn) / refused (fail), splits still purged and embargoed', async () => {
    const p = await buildFixturePanel(store, dir, SMALL, { leak: true });
    const ctx = makeTestContext({ store, ...fitAncestors(p, 'labels.horizon') });
    const out = await runKind(fitCpcv, { sleeve: 'leaky', ...fixed, leakage_action: 'warn' }, ctx);
    expect(out.leakage_suspect).toBe(true);
    expect(out.mean_rank_ic as number).toBeGreaterThan(0.3);
    const m = store.readJson<{ leakage: { features: { name: string }[] }; cv: { splits: { n_purged: number; n_embargoed: number; n_train: number; n_test: number }[] } }>(out.metrics as ArtifactRef);
    expect(m.leakage.features.map((f) => f.name)).toEqual(['leak_fwd']);
    expect(m.cv.splits).toHaveLength(28);
    for (const s of m.cv.splits) expect(s.n_purged + s.n_embargoed).toBeGreaterThan(0);
    await expect(runKind(fitCpcv, { sleeve: 'leaky', ...fixed }, ctx)).rejects.toMatchObject({ type: 'LeakageSuspected', nonRetryable: true, message: expect.stringMatching(/leak_fwd/) });
  });

  it('rank:pairwise with one query group per date trains, early-stops on ndcg and exports to ONNX', async () => {
    const p = await buildFixturePanel(store, dir, SMALL.slice(0, 8));
    const out = await runKind(
      fitCpcv,
      { sleeve: 'ranker', ...fixed, params: { objective: 'rank:pairwise', eval_metric: 'ndcg' } },
      makeTestContext({ store, ...fitAncestors(p, 'labels.horizon') }),
    );
    expect(Number.isFinite(out.mean_rank_ic as number)).toBe(true);
    expect(out.onnx_parity_max_abs_diff as number).toBeLessThan(1e-5);
    const m = store.readJson<{ per_split: { valid_metric: string }[] }>(out.metrics as ArtifactRef);
    expect(m.per_split[0]!.valid_metric).toBe('valid-ndcg');
  });

  it('identical inputs give byte-identical OOF artifacts; a RED audit refuses to train', async () => {
    const p = await buildFixturePanel(store, dir, SMALL.slice(0, 6));
    const w = { sleeve: 'det', ...fixed, num_boost_round: 15 };
    const a = await runKind(fitCpcv, w, makeTestContext({ store, ...fitAncestors(p, 'labels.horizon') }));
    const b = await runKind(fitCpcv, w, makeTestContext({ store, ...fitAncestors(p, 'labels.horizon') }));
    expect((b.oof as ArtifactRef).digest).toBe((a.oof as ArtifactRef).digest);
    expect((b.model as ArtifactRef).digest).toBe((a.model as ArtifactRef).digest);
    expect((b.trial_returns as ArtifactRef).digest).toBe((a.trial_returns as ArtifactRef).digest);
    await expect(runKind(fitCpcv, w, makeTestContext({ store, ...fitAncestors(p, 'labels.horizon', 'RED') }))).rejects.toMatchObject({ type: 'DataQualityError' });
  });
});
