import { beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ArtifactStore, type ArtifactRef } from '../../artifacts/store.ts';
import { modelBundle, signalsOof, trialsLedger } from '../../contracts/index.ts';
import type { AnyStepKind, StepOutputs } from '../../kinds/types.ts';
import { fitCpcv } from '../../kinds/fit/cpcv.ts';
import { fitLinear } from '../../kinds/fit/linear.ts';
import { stackOof } from '../../kinds/fit/stack.ts';
import { withDuckDB, queryRows, sqlString } from '../../lib/duckdb.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { makeTestContext, runKind, tempDir } from '../support/context.ts';
import { buildFixturePanel, type FixturePanel } from './panel.ts';
import { fixtureUpstream } from './upstream.ts';

const SMALL = ['AAPL', 'JPM', 'XOM', 'KO', 'GE', 'INTC', 'T', 'F', 'LNT', 'EBAY'];
const fixed = { grid: {}, num_boost_round: 30 };
const oofOf = (o: StepOutputs) => signalsOof.schema.parse(o.oof);

async function rows<T = Record<string, unknown>>(store: ArtifactStore, ref: ArtifactRef, sql: string): Promise<T[]> {
  return withDuckDB((con) => queryRows<T>(con, sql.replaceAll('$F', `read_parquet(${sqlString(store.path(ref))})`)));
}

describe.skipIf(!hasSharedData())('the CPCV protocol through fit.cpcv / fit.linear (fixture panel of real S&P rows)', () => {
  let store: ArtifactStore;
  let dir: string;
  let six: FixturePanel;
  const ctx = (p: FixturePanel, kind: AnyStepKind = fitCpcv, audit: 'GREEN' | 'RED' = 'GREEN') => makeTestContext({ store, kind, upstream: fixtureUpstream(p, 'labels.horizon', audit) });
  beforeAll(async () => {
    dir = tempDir();
    store = new ArtifactStore(path.join(dir, 'a'));
    six = await buildFixturePanel(store, dir, SMALL.slice(0, 6));
  });

  it('labels shuffled across dates → mean OOF rank IC within noise of 0', async () => {
    const p = await buildFixturePanel(store, dir, SMALL, { shuffleSeed: 7 });
    const out = await runKind(fitCpcv, { sleeve: 'shuffled', ...fixed }, ctx(p));
    const m = store.readJson<{ per_path: { rank_ic: number; rank_ic_tstat: number }[] }>(modelBundle.schema.parse(out.model).metrics);
    const se = m.per_path.reduce((a, x) => a + Math.abs(x.rank_ic / x.rank_ic_tstat), 0) / m.per_path.length;
    const ic = out.mean_rank_ic as number;
    console.log(`[shuffled labels] mean OOF rank IC ${ic.toFixed(4)} (daily standard error ${se.toFixed(4)})`);
    expect(Math.abs(ic)).toBeLessThan(3 * se);
    expect(out.leakage_suspect).toBe(false);
  });

  it('a feature that is the label itself → flagged (warn) / refused (fail), splits still purged and embargoed', async () => {
    const p = await buildFixturePanel(store, dir, SMALL, { leak: true });
    const out = await runKind(fitCpcv, { sleeve: 'leaky', ...fixed, leakage_action: 'warn' }, ctx(p));
    expect(out.leakage_suspect).toBe(true);
    expect(out.mean_rank_ic as number).toBeGreaterThan(0.3);
    const m = store.readJson<{ leakage: { features: { name: string }[] }; cv: { splits: { n_purged: number; n_embargoed: number }[] } }>(modelBundle.schema.parse(out.model).metrics);
    expect(m.leakage.features.map((f) => f.name)).toEqual(['leak_fwd']);
    expect(m.cv.splits).toHaveLength(28);
    for (const s of m.cv.splits) expect(s.n_purged + s.n_embargoed).toBeGreaterThan(0);
    await expect(runKind(fitCpcv, { sleeve: 'leaky', ...fixed }, ctx(p))).rejects.toMatchObject({ type: 'LeakageSuspected', nonRetryable: true, message: expect.stringMatching(/leak_fwd/) });
  });

  it('embargo in bars: a longer embargo drops more training rows; 0 bars embargoes none (accepted only explicitly)', async () => {
    const emb = async (bars: number) => {
      const out = await runKind(fitCpcv, { sleeve: 'emb', ...fixed, num_boost_round: 5, embargo_bars: bars, allow_short_embargo: bars < 6 }, ctx(six));
      return store.readJson<{ cv: { embargo_bars: number; splits: { n_embargoed: number; n_train: number }[] } }>(modelBundle.schema.parse(out.model).metrics).cv;
    };
    const [none, ten, forty] = [await emb(0), await emb(10), await emb(40)];
    expect([none.embargo_bars, ten.embargo_bars, forty.embargo_bars]).toEqual([0, 10, 40]);
    const sum = (c: typeof none, k: 'n_embargoed' | 'n_train') => c.splits.reduce((a, s) => a + s[k], 0);
    expect(sum(none, 'n_embargoed')).toBe(0);
    expect(sum(ten, 'n_embargoed')).toBeGreaterThan(0);
    expect(sum(forty, 'n_embargoed')).toBeGreaterThan(sum(ten, 'n_embargoed'));
    expect(sum(forty, 'n_train')).toBeLessThan(sum(ten, 'n_train'));
  });

  it('rank:pairwise with one query group per date trains, early-stops on ndcg and exports to ONNX', async () => {
    const p = await buildFixturePanel(store, dir, SMALL.slice(0, 8));
    const out = await runKind(fitCpcv, { sleeve: 'ranker', ...fixed, params: { objective: 'rank:pairwise', eval_metric: 'ndcg' } }, ctx(p));
    expect(Number.isFinite(out.mean_rank_ic as number)).toBe(true);
    expect(out.onnx_parity_max_abs_diff as number).toBeLessThan(1e-5);
    const m = store.readJson<{ per_split: { valid_metric: string }[] }>(modelBundle.schema.parse(out.model).metrics);
    expect(m.per_split[0]!.valid_metric).toBe('valid-ndcg');
  });

  it('same inputs → same OOF, ledger and model bytes (fit.cpcv, fit.linear, stack.oof); a RED audit refuses to train', async () => {
    const w = { sleeve: 'det', ...fixed, num_boost_round: 15 };
    const a = await runKind(fitCpcv, w, ctx(six));
    const b = await runKind(fitCpcv, w, ctx(six));
    expect(oofOf(b).oof.digest).toBe(oofOf(a).oof.digest);
    expect(oofOf(b).walk_forward.digest).toBe(oofOf(a).walk_forward.digest);
    expect(modelBundle.schema.parse(b.model).onnx.digest).toBe(modelBundle.schema.parse(a.model).onnx.digest);
    expect(trialsLedger.schema.parse(b.trials).returns.digest).toBe(trialsLedger.schema.parse(a.trials).returns.digest);
    const l1 = await runKind(fitLinear, { sleeve: 'lin' }, ctx(six, fitLinear));
    const l2 = await runKind(fitLinear, { sleeve: 'lin' }, ctx(six, fitLinear));
    expect(oofOf(l2).oof.digest).toBe(oofOf(l1).oof.digest);
    const up = { fit: { uses: 'fit.cpcv', outputs: a }, lin: { uses: 'fit.linear', outputs: l1 } };
    const s1 = await runKind(stackOof, {}, makeTestContext({ store, kind: stackOof, upstream: up }));
    const s2 = await runKind(stackOof, {}, makeTestContext({ store, kind: stackOof, upstream: up }));
    expect(s1).toMatchObject({ sleeves: ['det', 'lin'], fallback: false });
    expect(oofOf(s2).oof.digest).toBe(oofOf(s1).oof.digest);
    expect(oofOf(s2).walk_forward.digest).toBe(oofOf(s1).walk_forward.digest);
    await expect(runKind(fitCpcv, w, ctx(six, fitCpcv, 'RED'))).rejects.toMatchObject({ type: 'DataQualityError' });
  });

  it('fit.linear: ridge on the same protocol — OOF of the contract, one trial per λ, ONNX parity', async () => {
    const out = await runKind(fitLinear, { sleeve: 'lin' }, ctx(six, fitLinear));
    expect(out).toMatchObject({ engine: 'ridge', n_trials: 2, n_splits: 28, n_paths: 7, task: 'regression' });
    expect(oofOf(out)).toMatchObject({ sleeve: 'lin', n_paths: 7, components: [] });
    expect(out.onnx_parity_max_abs_diff as number).toBeLessThan(1e-5);
    const ledger = store.readJson<{ trials: { params: { lambda: number } }[] }>(trialsLedger.schema.parse(out.trials).ledger);
    expect(ledger.trials.map((t) => t.params.lambda)).toEqual([0.1, 10]);
    const [c] = await rows<{ n: bigint; n_null: bigint }>(store, oofOf(out).oof, 'SELECT count(*) n, count(*) FILTER (WHERE score IS NULL) n_null FROM $F');
    expect(Number(c!.n)).toBe((out.n_rows as number) * 7);
    expect(Number(c!.n_null)).toBe(0);
  });

  it('engine: lightgbm selects the LightGBM learner (same protocol, OOF contract, ONNX parity)', async () => {
    const out = await runKind(fitCpcv, { sleeve: 'lgbm', engine: 'lightgbm', ...fixed, num_boost_round: 20 }, ctx(six));
    expect(out).toMatchObject({ engine: 'lightgbm', n_trials: 1, n_splits: 28, n_paths: 7 });
    expect(modelBundle.schema.parse(out.model)).toMatchObject({ engine: 'lightgbm' });
    expect(out.onnx_parity_max_abs_diff as number).toBeLessThan(1e-4);
    const m = store.readJson<{ per_split: { valid_metric: string }[] }>(modelBundle.schema.parse(out.model).metrics);
    expect(m.per_split[0]!.valid_metric).toBe('valid-l2');
  });

  it('wiring and config errors: no features upstream is a binding error naming the contract; a bad config is reported at file:line:col', async () => {
    const up = fixtureUpstream(six, 'labels.horizon');
    expect(() => makeTestContext({ store, kind: fitCpcv, upstream: { audit: up.audit!, labels: up.labels! } })).toThrow(/features\.panel@1 for its input "features"/);
    const two = { ...up, labels2: { ...up.labels! } };
    expect(() => makeTestContext({ store, kind: fitCpcv, upstream: two })).toThrow(/ambiguous/);
    const cfg = path.join(dir, 'old_names.yml');
    writeFileSync(cfg, 'model: m\ntask: regression\ncv:\n  embargo_days: 10\nengines:\n  xgboost:\n    num_boost_round: 5\n    params: { objective: reg:squarederror }\n');
    await expect(runKind(fitCpcv, { config: cfg }, ctx(six))).rejects.toMatchObject({ name: 'ConfigError', message: expect.stringMatching(/old_names\.yml:4:3.*embargo_days/s) });
    const noSection = path.join(dir, 'no_lgbm.yml');
    writeFileSync(noSection, 'model: m\ntask: regression\nengines:\n  xgboost:\n    num_boost_round: 5\n    params: { objective: reg:squarederror }\n');
    await expect(runKind(fitCpcv, { config: noSection, engine: 'lightgbm' }, ctx(six))).rejects.toMatchObject({ name: 'ConfigError', message: expect.stringMatching(/no section for engine lightgbm/) });
    await expect(runKind(fitCpcv, { config: 'configs/training/equities_tb.yml' }, ctx(six))).rejects.toMatchObject({ type: 'BadInput', message: expect.stringMatching(/classification config.*regression/) });
  });
});
