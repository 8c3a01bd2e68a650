import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { promote, scoreDaily } from '../../kinds/tracking/index.ts';
import type { UpstreamStep } from '../../kinds/types.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { LocalTracker } from '../../tracking/local.ts';
import { ModelRegistry } from '../../tracking/registry.ts';
import { TrackingObserver } from '../../tracking/trackingObserver.ts';
import { makeTestContext, runKind, tempDir } from '../support/context.ts';
import { nightlyRunFixture } from './support/fixtures.ts';

const home = tempDir('trademl-sleeves-home-');
process.env.TRADEML_HOME = home;
delete process.env.MLFLOW_TRACKING_URI;

describe('multi-sleeve candidates (fit.cpcv × 2 + stack.oof)', () => {
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
    expect(files.stacker).toBeDefined();

    const ancestors: Record<string, UpstreamStep> = Object.fromEntries(fx.steps.map((s) => [s.stepId, { uses: s.uses, status: s.status as UpstreamStep['status'], outputs: s.outputs, error: s.error }]));
    const out = await runKind(promote as never, { model: 'equities_xs' }, makeTestContext({ store, runId: 'two-1', pipeline: 'nightly', ancestors }));
    expect(out).toMatchObject({ version: v!.version, champion: v!.version });

    const workDir = path.join(tempDir(), 'w');
    const date = '2018-02-15';
    const sc = (await runKind(scoreDaily as never, { model: 'equities_xs', date, quantile: 0.1 }, makeTestContext({ store, workDir, ancestors: { audit: { uses: 'qc.audit', status: 'succeeded', outputs: { curated: fx.refs.curated } } }, inputs: { audit: { curated: fx.refs.curated } } }))) as Record<string, unknown>;
    expect(sc).toMatchObject({ n_scored: 30, n_long: 3, n_short: 3 });

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

  it('refuses to promote several sleeves without a stacker', async () => {
    const store = new ArtifactStore(path.join(home, 'artifacts'));
    const fx = await nightlyRunFixture(store, { runId: 'two-2', approval: 'approved', twoSleeves: true });
    const ancestors: Record<string, UpstreamStep> = Object.fromEntries(fx.steps.filter((s) => s.uses !== 'stack.oof').map((s) => [s.stepId, { uses: s.uses, status: s.status as UpstreamStep['status'], outputs: s.outputs }]));
    await expect(runKind(promote as never, { model: 'other_model' }, makeTestContext({ store, runId: 'two-2', ancestors }))).rejects.toThrow(/no stack.oof stacker/);
    // Picking one sleeve works without a stacker.
    const out = await runKind(promote as never, { model: 'other_model', sleeve: 'tb' }, makeTestContext({ store, runId: 'two-2', ancestors }));
    expect(out).toMatchObject({ model: 'other_model', version: '1' });
  });
});
