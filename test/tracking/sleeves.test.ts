import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { promote, scoreDaily } from '../../kinds/tracking/index.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { LocalTracker } from '../../tracking/local.ts';
import { ModelRegistry } from '../../tracking/registry.ts';
import { TrackingObserver } from '../../tracking/trackingObserver.ts';
import { readFileSync } from 'node:fs';
import { runKind, tempDir } from '../support/context.ts';
import { contextAfter } from './support/context.ts';
import { nightlyRunFixture } from './support/fixtures.ts';

const home = tempDir('trademl-sleeves-home-');
process.env.TRADEML_HOME = home;
delete process.env.MLFLOW_TRACKING_URI;

describe('multi-sleeve candidates (two model bundles + the signal blending them)', () => {
  it('registers both sleeves and the stacker, and scoring blends per-date z-scores with the stacker weights', async () => {
    const store = new ArtifactStore(path.join(home, 'artifacts'));
    const tracker = new LocalTracker(path.join(home, 'tracking.duckdb'), store);
    const observer = new TrackingObserver({ tracker, store, home });
    const fx = await nightlyRunFixture(store, { runId: 'two-1', approval: 'approved', twoSleeves: true });
    await observer.runStarted(fx.run);
    for (const s of fx.steps) await observer.stepFinished(s);
    const reg = new ModelRegistry(tracker);
    const v = await reg.versionForRun('equities_xs', 'two-1');
    expect(v?.aliases).toEqual(['challenger']);
    const files = await reg.fetchFiles(v!, path.join(tempDir(), 'f'));
    expect(files.sleeves.map((x) => x.sleeve)).toEqual(['h5', 'tb']);
    expect(JSON.parse(readFileSync(files.stacker!, 'utf8'))).toMatchObject({ weights: { h5: 0.7, tb: 0.3 }, intercept: 0.001 });
    // The version records the blend: its signal step, components and weights.
    const lineage = JSON.parse(readFileSync(files.lineage!, 'utf8')) as { sleeves: string[]; model_steps: string[]; blend: unknown };
    expect(lineage).toMatchObject({ sleeves: ['h5', 'tb'], model_steps: ['fit', 'fit_tb'], blend: { step: 'stack', sleeve: 'stack', components: ['h5', 'tb'], weights: { h5: 0.7, tb: 0.3 }, intercept: 0.001 } });
    expect(v!.tags).toMatchObject({ 'trademl.metric.sleeve': 'stack', 'trademl.metric.sleeves': 'h5,tb' });

    const out = await runKind(promote, { model: 'equities_xs' }, contextAfter(promote, fx.steps, { store, runId: 'two-1' }));
    expect(out).toMatchObject({ version: v!.version, champion: v!.version, sleeves: ['h5', 'tb'] });
    // The end-of-run report shows the registration with its blend and current aliases.
    await observer.runFinished({ ...fx.run, status: 'succeeded' }, fx.steps);
    const rep = JSON.parse(readFileSync(path.join(home, 'reports', 'two-1', 'report.json'), 'utf8')) as { registration: unknown };
    expect(rep.registration).toEqual({ model: 'equities_xs', version: v!.version, aliases: ['champion'], sleeves: ['h5', 'tb'], blend: { step: 'stack', components: ['h5', 'tb'], weights: { h5: 0.7, tb: 0.3 } } });

    const workDir = path.join(tempDir(), 'w');
    const date = '2018-02-15';
    const audit = fx.steps.filter((s) => s.stepId === 'audit');
    const sc = (await runKind(scoreDaily, { model: 'equities_xs', date }, contextAfter(scoreDaily, audit, { store, runId: 'score-2', workDir }))) as Record<string, unknown>;
    // the book the backtest trades (portfolio config's quantiles and sizing), held long and short
    expect(sc).toMatchObject({ n_scored: 30 });
    expect(sc.n_long as number).toBeGreaterThan(0);
    expect(sc.n_short as number).toBeGreaterThan(0);

    // Independent blend: z-score each sleeve's linear score across the date's symbols, 0.001 + 0.7·z_h5 + 0.3·z_tb.
    const feats = await withDuckDB((con) => queryRows<Record<string, number | string>>(con, `SELECT * FROM read_parquet(${sqlString(path.join(workDir, 'score', 'sleeves', 'h5', 'features.parquet'))}) WHERE date = DATE '${date}' ORDER BY symbol`));
    const lin = (w: number[], b: number) => feats.map((r) => fx.featureNames.reduce((a, n, j) => a + Number(r[n]) * w[j]!, b));
    const z = (x: number[]) => {
      const m = x.reduce((a, v) => a + v, 0) / x.length;
      const sd = Math.sqrt(x.reduce((a, v) => a + (v - m) ** 2, 0) / x.length);
      return x.map((v) => (v - m) / sd);
    };
    const zh = z(lin(fx.weights, 0.01));
    const zt = z(lin(fx.tbWeights, -0.2));
    const blend = new Map(feats.map((r, i) => [String(r.symbol), 0.001 + 0.7 * zh[i]! + 0.3 * zt[i]!]));
    const got = await withDuckDB((con) => queryRows<{ symbol: string; score: number }>(con, `SELECT symbol, score FROM read_parquet(${sqlString(store.path(sc.weights as never))})`));
    for (const g of got) expect(g.score).toBeCloseTo(blend.get(g.symbol)!, 4);
    await tracker.close();
  });

  it('refuses to promote several sleeves with no signal blending them; with.sleeve picks one', async () => {
    const store = new ArtifactStore(path.join(home, 'artifacts'));
    const fx = await nightlyRunFixture(store, { runId: 'two-2', approval: 'approved', twoSleeves: true });
    const noBlend = fx.steps.filter((s) => s.stepId !== 'stack');
    await expect(runKind(promote, { model: 'other_model' }, contextAfter(promote, noBlend, { store, runId: 'two-2' }))).rejects.toThrow(/2 model bundles \(h5, tb\) but no signals\.oof blends exactly those sleeves/);
    const out = await runKind(promote, { model: 'other_model', sleeve: 'tb' }, contextAfter(promote, noBlend, { store, runId: 'two-2' }));
    expect(out).toMatchObject({ model: 'other_model', version: '1', sleeves: ['tb'] });
  });

  it("registers only the sleeve the plan's promote step names (with.sleeve) as the challenger", async () => {
    const store = new ArtifactStore(path.join(home, 'artifacts'));
    const tracker = new LocalTracker(path.join(home, 'tracking.duckdb'), store);
    const observer = new TrackingObserver({ tracker, store, home });
    const fx = await nightlyRunFixture(store, { runId: 'two-3', approval: 'approved', twoSleeves: true });
    const plan = { steps: fx.run.plan!.steps.map((s) => (s.id === 'promote' ? { ...s, with: { model: 'tb_only', sleeve: 'tb' } } : s)) };
    await observer.runStarted({ ...fx.run, plan });
    for (const s of fx.steps) await observer.stepFinished(s);
    const reg = new ModelRegistry(tracker);
    const v = await reg.versionForRun('tb_only', 'two-3');
    expect(v?.aliases).toEqual(['challenger']);
    const files = await reg.fetchFiles(v!, path.join(tempDir(), 'f'));
    expect(files.sleeves).toEqual([]);
    expect(readFileSync(files.onnx).equals(readFileSync(store.path(fx.refs.model_tb!)))).toBe(true);
    await tracker.close();
  });
});
