/**
 * Issue 14, item 5: stack.oof blends path by path — the stack's CPCV path p uses only path p of
 * every sleeve — so its paths stay CPCV paths and the stack-vs-sleeve comparison is like for like.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { ArtifactStore, type ArtifactRef } from '../../artifacts/store.ts';
import { modelBundle, signalsOof } from '../../contracts/index.ts';
import { fitCpcv } from '../../kinds/fit/cpcv.ts';
import { fitLinear } from '../../kinds/fit/linear.ts';
import { stackOof } from '../../kinds/fit/stack.ts';
import type { StepOutputs } from '../../kinds/types.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { makeTestContext, runKind, tempDir } from '../support/context.ts';
import { buildFixturePanel, type FixturePanel } from './panel.ts';
import { fixtureUpstream } from './upstream.ts';

const SYMS = ['AAPL', 'JPM', 'XOM', 'KO', 'GE', 'INTC', 'T', 'F'];
const oofOf = (o: StepOutputs) => signalsOof.schema.parse(o.oof);

describe.skipIf(!hasSharedData())('stack.oof path by path (two real sleeves on a fixture panel of S&P rows)', () => {
  let store: ArtifactStore;
  let dir: string;
  let p: FixturePanel;
  let lin: StepOutputs;
  let xgb: StepOutputs;
  const stack = (up: Record<string, StepOutputs>) =>
    runKind(stackOof, {}, makeTestContext({ store, kind: stackOof, upstream: Object.fromEntries(Object.entries(up).map(([id, o]) => [id, { uses: id === 'lin' ? 'fit.linear' : 'fit.cpcv', outputs: o }])) }));
  /** Stacked scores by path → (date|symbol → score). */
  const scores = async (ref: ArtifactRef) => {
    const rows = await withDuckDB((con) => queryRows<{ path: number; k: string; score: number }>(con, `SELECT path, strftime(date, '%Y-%m-%d') || '|' || symbol AS k, score FROM read_parquet(${sqlString(store.path(ref))})`));
    const by = new Map<number, Map<string, number>>();
    for (const r of rows) by.set(r.path, (by.get(r.path) ?? new Map()).set(r.k, r.score));
    return by;
  };
  /** A copy of a sleeve's fit outputs whose OOF scores on `path` are replaced by noise. */
  const scramble = async (o: StepOutputs, pathNo: number): Promise<StepOutputs> => {
    const sig = oofOf(o);
    const file = path.join(dir, `scrambled_${sig.sleeve}_${pathNo}.parquet`);
    await withDuckDB((con) => con.run(`COPY (SELECT * REPLACE (CASE WHEN path = ${pathNo} THEN (hash(symbol || CAST(date AS VARCHAR)) % 1000)::DOUBLE / 1000 - 0.5 ELSE score END AS score)
      FROM read_parquet(${sqlString(store.path(sig.oof))}) ORDER BY path, date, symbol) TO ${sqlString(file)} (FORMAT parquet)`));
    return { ...o, oof: { ...sig, oof: await store.putFile(file, { name: 'oof.parquet', move: false }) } };
  };

  beforeAll(async () => {
    dir = tempDir();
    store = new ArtifactStore(path.join(dir, 'a'));
    p = await buildFixturePanel(store, dir, SYMS);
    lin = await runKind(fitLinear, { sleeve: 'lin' }, makeTestContext({ store, kind: fitLinear, upstream: fixtureUpstream(p, 'labels.horizon') }));
    xgb = await runKind(fitCpcv, { sleeve: 'xgb', grid: {}, num_boost_round: 20 }, makeTestContext({ store, kind: fitCpcv, upstream: fixtureUpstream(p, 'labels.horizon') }));
  });

  it('no stacked path mixes inputs of other paths: scrambling sleeve paths 3 and 5 changes stacked paths 3 and 5 only', async () => {
    const base = await stack({ lin, xgb });
    const moved = await stack({ lin: await scramble(lin, 5), xgb: await scramble(xgb, 3) });
    const [a, b] = [await scores(oofOf(base).oof), await scores(oofOf(moved).oof)];
    expect([...a.keys()].sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (let q = 1; q <= 7; q++) {
      const pa = a.get(q)!, pb = b.get(q)!;
      expect(pb.size).toBe(pa.size);
      let changed = 0;
      for (const [k, v] of pa) if (pb.get(k) !== v) changed++;
      if (q === 3 || q === 5) expect(changed, `path ${q}`).toBeGreaterThan(pa.size / 2);
      else expect(changed, `path ${q}`).toBe(0);
    }
    // the walk-forward path 0 reads the sleeves' path 0 only
    expect(oofOf(moved).walk_forward.digest).toBe(oofOf(base).walk_forward.digest);
  });

  it('sleeves are compared on the stack’s footing: per path, then the mean over paths; they equal the sleeves’ own per-path rank ICs', async () => {
    const out = await stack({ lin, xgb });
    type Ic = { rank_ic: number };
    const m = store.readJson<{ sleeves: Record<string, Ic>; sleeves_per_path: Record<string, (Ic & { path: number })[]>; aggregate: { mean_rank_ic: number } }>(out.metrics as ArtifactRef);
    for (const s of ['lin', 'xgb']) {
      const per = m.sleeves_per_path[s]!;
      expect(per.map((x) => x.path)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(m.sleeves[s]!.rank_ic).toBeCloseTo(per.reduce((acc, x) => acc + x.rank_ic, 0) / 7, 6);
      expect((out.sleeve_mean_rank_ic as Record<string, number>)[s]).toBeCloseTo(m.sleeves[s]!.rank_ic, 6);
      // a per-date z-score keeps the ranks: the sleeve's own per-path OOF rank IC (labels = ret here)
      const own = store.readJson<{ per_path: (Ic & { path: number })[] }>(modelBundle.schema.parse((s === 'lin' ? lin : xgb).model).metrics).per_path;
      for (const x of per) expect(x.rank_ic, `${s} path ${x.path}`).toBeCloseTo(own.find((o) => o.path === x.path)!.rank_ic, 5);
    }
    const st = store.readJson<{ method: string; n_rows: number; n_fit_rows: number }>(out.stacker as ArtifactRef);
    expect(st.method).toMatch(/path by path/);
    expect(st.n_fit_rows).toBe(7 * st.n_rows);
  });

  it('sleeves on different CPCV layouts cannot be stacked path by path', async () => {
    const six = await runKind(fitCpcv, { sleeve: 'six', grid: {}, num_boost_round: 5, n_groups: 6 }, makeTestContext({ store, kind: fitCpcv, upstream: fixtureUpstream(p, 'labels.horizon') }));
    expect(oofOf(six).n_paths).toBe(5);
    await expect(stack({ lin, xgb: six })).rejects.toMatchObject({ name: 'InputError', message: expect.stringMatching(/different numbers of CPCV paths.*lin: 7.*six: 5/s) });
  });
});
