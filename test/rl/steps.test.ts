import { beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactRef } from '../../artifacts/store.ts';
import type { StepOutputs } from '../../kinds/types.ts';
import { getStepKind as kind } from '../../kinds/registry.ts';
import { bookPaths, type DatasetMeta } from '../../kinds/rl/dataset.ts';
import { NYSE_DAILY } from '../../calendar/calendar.ts';
import { rlDataset, rlPolicy, sizingPolicy } from '../../contracts/index.ts';
import type { PolicyArtifact } from '../../kinds/rl/train.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { loadBooks } from '../../rl/book.ts';
import { readBooksParquet } from '../../rl/book_io.ts';
import { loadRlConfig } from '../../rl/config.ts';
import { readDatasetParquet } from '../../rl/dataset.ts';
import { MarketEnv } from '../../rl/env.ts';
import { argmax, mlpForward } from '../../rl/networks.ts';
import { applyPolicyOnnx } from '../../rl/apply.ts';
import type { CostRates } from '../../rl/env.ts';
import { loadConfig } from '../../lib/config.ts';
import { portfolioConfigSchema } from '../../portfolio/config.ts';
import { scaleRow } from '../../kinds/backtest/portfolio_build.ts';
import { scoreOnnx } from '../../models/onnx/mlp.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { makeTestContext, runKind, tempDir, type TestUpstream } from '../support/context.ts';
import path from 'node:path';
import { buildRlUpstream, FIXTURE_COSTS } from './fixture.ts';

type Refs = Record<string, ArtifactRef>;
// small network and few steps: the point here is the plumbing on real data, not policy quality
const overrides = { train: { hidden: [32, 32], steps: 300, batch_size: 128, log_every: 50 }, ope: { bootstrap: 100 } };

describe('rl.dataset / rl.train / rl.ope on a real S&P slice', () => {
  let up: Awaited<ReturnType<typeof buildRlUpstream>>;
  let dsOut: StepOutputs;
  let trOut: StepOutputs;
  /** rl.ope with margin +1 (the baseline kept), and the same decision turned into an accepted learned policy (for portfolio.build). */
  let laxOut: StepOutputs;
  let strictOut: StepOutputs;
  /** Each RL kind's upstream: the fixture chain, then the rl.dataset (`ds`) and rl.train (`rl`) outputs it reads. */
  const upstreamOf = {
    'rl.dataset': () => up.upstream,
    'rl.train': () => ({ ...up.upstream, ds: { uses: 'rl.dataset', outputs: dsOut, needs: ['backtest'] } }),
    'rl.ope': () => ({ ...up.upstream, ds: { uses: 'rl.dataset', outputs: dsOut, needs: ['backtest'] }, rl: { uses: 'rl.train', outputs: trOut, needs: ['ds'] } }),
  } satisfies Record<string, () => Record<string, TestUpstream>>;
  const ctxFor = (uses: keyof typeof upstreamOf, o: Parameters<typeof makeTestContext>[0] = {}) => makeTestContext({ store: up.store, kind: kind(uses), upstream: upstreamOf[uses](), ...o });
  const ref = (o: StepOutputs, key: string, field: string) => (o[key] as Refs)[field]!;
  const upRef = (step: string, key: string, field?: string) => {
    const v = up.upstream[step]!.outputs[key] as ArtifactRef & Refs;
    return field ? v[field]! : v;
  };

  beforeAll(async () => {
    up = await buildRlUpstream();
    dsOut = await runKind(kind('rl.dataset'), { overrides }, ctxFor('rl.dataset'));
  });

  it('rl.dataset: time split with embargo, recorded propensities, calibrated costs', async () => {
    expect(rlDataset.schema.parse(dsOut.dataset)).toMatchObject({ calendar: 'nyse' });
    const meta = up.store.readJson<DatasetMeta>(ref(dsOut, 'dataset', 'meta'));
    expect(meta.sources.returns).not.toBeNull(); // the books' sources, for OPE's replay
    expect(dsOut.n_paths).toBe(3);
    expect(dsOut.cost_source).toBe('backtest');
    expect(dsOut.cost_calibration_end).toBe(dsOut.train_end); // costs calibrated on training dates only
    expect(dsOut.n_train as number).toBeGreaterThan(800);
    expect(dsOut.n_eval as number).toBeGreaterThan(300);
    expect(dsOut.eval_start as string > (dsOut.train_end as string)).toBe(true);
    const diag = meta.diagnostics as { costs: Record<string, { linear: number; impact: number; borrow: number }> };
    for (const p of ['1', '2', '3']) {
      expect(diag.costs[p]!.linear).toBeCloseTo(FIXTURE_COSTS.fee + FIXTURE_COSTS.spread, 9);
      expect(diag.costs[p]!.impact).toBeCloseTo(FIXTURE_COSTS.impact, 9);
      expect(diag.costs[p]!.borrow).toBeCloseTo(FIXTURE_COSTS.borrow, 9);
    }
    const ds = await readDatasetParquet(up.store.path(ref(dsOut, 'dataset', 'dataset')), meta);
    expect(ds.n).toBe((dsOut.n_train as number) + (dsOut.n_eval as number));
    const sumP = meta.behaviour_probs.reduce((a, b) => a + b, 0);
    expect(sumP).toBeCloseTo(1, 12);
    for (let i = 0; i < ds.n; i++) {
      expect(ds.propensity[i]).toBe(meta.behaviour_probs[ds.action[i]!]);
      if (ds.split[i] === 0) expect(ds.date[i]! <= meta.split.train_end).toBe(true);
      else expect(ds.date[i]! >= meta.split.eval_start && ds.step[i]! < meta.horizon).toBe(true);
    }
    // embargo: 5 trading dates strictly between the periods
    const between = await withDuckDB((con) =>
      queryRows<{ n: number }>(con, `SELECT count(DISTINCT date)::INTEGER AS n FROM read_parquet(${sqlString(up.store.path(upRef('audit', 'curated')))})
        WHERE date > DATE '${meta.split.train_end}' AND date < DATE '${meta.split.eval_start}'`),
    );
    expect(between[0]!.n).toBe(5);
    // the behaviour actually explores: every bucket appears
    const seen = new Set(Array.from(ds.action));
    expect(seen.size).toBe(meta.actions.length);
  });

  it('cost rates come from the training dates only: evaluation-period costs do not move them', async () => {
    const cfg = loadRlConfig(PROJECT_ROOT);
    const meta = up.store.readJson<DatasetMeta>(ref(dsOut, 'dataset', 'meta'));
    const inflated = path.join(tempDir('rl-costs-'), 'returns_eval_x10.parquet');
    const orig = up.store.path(upRef('backtest', 'returns', 'returns'));
    const after = `date > DATE '${meta.split.train_end}'`;
    await withDuckDB((con) => con.run(`COPY (SELECT path, date, gross, ${['fee', 'spread', 'impact', 'borrow'].map((c) => `CASE WHEN ${after} THEN 10 * ${c} ELSE ${c} END AS ${c}`).join(', ')}, net, turnover, gross_exposure, net_exposure
      FROM read_parquet(${sqlString(orig)}) ORDER BY path, date) TO ${sqlString(inflated)} (FORMAT parquet)`));
    const src = { weights: up.store.path(upRef('portfolio', 'weights')), ohlcv: up.store.path(upRef('audit', 'curated')), returns: inflated };
    const trained = await loadBooks(src, cfg.env, { maxPaths: 3, calendar: NYSE_DAILY, dataset: cfg.dataset });
    expect(trained.diagnostics.cost_calibration_end).toBe(meta.split.train_end);
    for (const b of trained.books) expect(b.costs.linear).toBeCloseTo(FIXTURE_COSTS.fee + FIXTURE_COSTS.spread, 9);
    const leaky = await loadBooks(src, cfg.env, { maxPaths: 3, calendar: NYSE_DAILY });
    for (const b of leaky.books) expect(b.costs.linear).toBeGreaterThan(2 * (FIXTURE_COSTS.fee + FIXTURE_COSTS.spread));
  });

  it('rl.dataset stores the books it logged on: read back, bit for bit the books its sources and recorded cost rates rebuild (what rl.ope replays)', async () => {
    const meta = up.store.readJson<DatasetMeta>(ref(dsOut, 'dataset', 'meta'));
    const file = up.store.path(ref(dsOut, 'dataset', 'books'));
    const stored = await readBooksParquet(file, meta.actions.length);
    const costs = (meta.diagnostics as { costs: Record<string, CostRates> }).costs;
    const { books } = await loadBooks(bookPaths({ artifacts: up.store }, meta.sources), meta.env, { maxPaths: meta.dataset.max_paths, calendar: NYSE_DAILY, dataset: meta.dataset, costs });
    expect(stored.map((b) => b.path)).toEqual(books.map((b) => b.path));
    const bits = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    stored.forEach((b, k) => {
      const a = books[k]!;
      expect(b.dates).toEqual(a.dates);
      expect(b.costs).toEqual(a.costs);
      for (const key of ['grossNext', 'shortExp', 'turn', 'exo'] as const) expect(bits(b[key]).equals(bits(a[key]))).toBe(true);
    });
    // a books file read with another action set is refused by name, not misread
    await expect(readBooksParquet(file, meta.actions.length + 1)).rejects.toThrow(/lacks turn_.*another action count/);
  });

  it('the books do not depend on the order of the weights file\'s rows (the streamed read falls back to a sorted one)', async () => {
    const cfg = loadRlConfig(PROJECT_ROOT);
    const weights = up.store.path(upRef('portfolio', 'weights'));
    const shuffled = path.join(tempDir('rl-order-'), 'weights_shuffled.parquet');
    await withDuckDB((con) => con.run(`COPY (SELECT * FROM read_parquet(${sqlString(weights)}) ORDER BY hash(symbol, date, path)) TO ${sqlString(shuffled)} (FORMAT parquet)`));
    const src = { ohlcv: up.store.path(upRef('audit', 'curated')), returns: up.store.path(upRef('backtest', 'returns', 'returns')) };
    const opts = { maxPaths: 3, calendar: NYSE_DAILY, dataset: cfg.dataset };
    const inOrder = await loadBooks({ ...src, weights }, cfg.env, opts);
    const outOfOrder = await loadBooks({ ...src, weights: shuffled }, cfg.env, opts);
    expect(outOfOrder.books.length).toBe(3);
    outOfOrder.books.forEach((b, k) => {
      const a = inOrder.books[k]!;
      expect(b.dates).toEqual(a.dates);
      // the traded-notional table is built from the weight rows themselves: the same bits
      expect(b.turn).toEqual(a.turn);
      // the daily sums are SQL aggregates over the file's rows, whose last bits follow their order
      for (const key of ['grossNext', 'shortExp', 'exo'] as const) b[key].forEach((v, i) => expect(Math.abs(v - a[key][i]!)).toBeLessThan(1e-12));
    });
  });

  it('MarketEnv reward = m·gross − costs − penalties, with gross from weights × next-day returns', async () => {
    const cfg = loadRlConfig(PROJECT_ROOT);
    const src = { weights: up.store.path(upRef('portfolio', 'weights')), ohlcv: up.store.path(upRef('audit', 'curated')) };
    const { books } = await loadBooks(src, { ...cfg.env, costs: { ...cfg.env.costs, source: 'config' } }, { maxPaths: 1, calendar: NYSE_DAILY });
    const b = books[0]!;
    const t = 300;
    const date = b.dates[t]!;
    const g = await withDuckDB((con) =>
      queryRows<{ g: number }>(
        con,
        `WITH px AS (SELECT symbol, date, lead(close) OVER (PARTITION BY symbol ORDER BY date) / close - 1 AS r FROM read_parquet(${sqlString(src.ohlcv)}))
         SELECT sum(w.weight * px.r) AS g FROM read_parquet(${sqlString(src.weights)}) w JOIN px USING (symbol, date) WHERE w.path = 1 AND w.date = DATE '${date}'`,
      ),
    );
    expect(b.grossNext[t]).toBeCloseTo(g[0]!.g, 12);
    const env = new MarketEnv(b, { ...cfg.env, drawdown_penalty: 0, turnover_penalty: 0 });
    const A = cfg.env.actions.length;
    const k1 = cfg.env.actions.indexOf(1);
    const k05 = cfg.env.actions.indexOf(0.5);
    const st = env.reset(t, k1);
    const full = env.step(st, k1);
    const half = env.step(st, k05);
    // halving the book halves gross P&L; traded notional is Σ|0.5 w_t − w_{t−1}|
    expect(half.gross).toBeCloseTo(0.5 * full.gross, 14);
    expect(half.traded).toBe(b.turn[(t * A + k1) * A + k05]);
    expect(half.cost).toBeCloseTo(
      (cfg.env.costs.linear_bps / 1e4) * half.traded + cfg.env.costs.impact_coef * half.traded ** 1.5 + NYSE_DAILY.perBar(cfg.env.costs.borrow_bps_per_year / 1e4) * 0.5 * b.shortExp[t]!,
      14,
    );
    expect(half.reward).toBeCloseTo(half.gross - half.cost, 14);
    // the flat book (m = 0) from a flat book trades nothing and earns nothing
    const k0 = cfg.env.actions.indexOf(0);
    expect(Math.abs(env.step(env.reset(t, k0), k0).reward)).toBe(0);
    // drawdown penalty charges only increases of drawdown: from a flat equity curve, max(0, −net)
    const penal = new MarketEnv(b, { ...cfg.env, drawdown_penalty: 2, turnover_penalty: 0 }).step(st, k1);
    expect(penal.reward).toBeCloseTo(full.net - 2 * Math.max(0, -full.net), 14);
    let down = -1;
    for (let u = 30; u < b.dates.length - 1 && down < 0; u++) if (b.grossNext[u]! < -0.001) down = u;
    const loss = new MarketEnv(b, { ...cfg.env, drawdown_penalty: 2, turnover_penalty: 0 }).step(env.reset(down, k1), k1);
    expect(loss.ddIncrease).toBeCloseTo(-loss.net, 14);
    expect(loss.reward).toBeCloseTo(3 * loss.net, 14);
  });

  it('rl.dataset is deterministic (same bytes for the same inputs and seed)', async () => {
    const again = await runKind(kind('rl.dataset'), { overrides }, ctxFor('rl.dataset'));
    expect(ref(again, 'dataset', 'dataset').digest).toBe(ref(dsOut, 'dataset', 'dataset').digest);
  });

  it('rl.train (IQL in a worker): curves, summary metrics, ONNX policy agreeing with the JSON policy', async () => {
    const progress: number[] = [];
    const tctx = ctxFor('rl.train', { progress: (p) => p.fraction !== undefined && progress.push(p.fraction) });
    trOut = await runKind(kind('rl.train'), { overrides, algo: 'iql' }, tctx);
    expect(rlPolicy.schema.parse(trOut.policy)).toMatchObject({ algo: 'iql' });
    expect(trOut.algo).toBe('iql');
    expect(trOut.steps).toBe(300);
    expect(progress.length).toBeGreaterThan(5);
    expect(progress.at(-1)).toBe(1);
    const curves = up.store.readJson<{ curves: { step: number[]; loss: number[] } }>(ref(trOut, 'policy', 'curves'));
    expect(curves.curves.step).toEqual([50, 100, 150, 200, 250, 300]);
    expect(curves.curves.loss.every(Number.isFinite)).toBe(true);
    const shares = Object.values(trOut.action_share_train as Record<string, number>);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    const pol = up.store.readJson<PolicyArtifact>(ref(trOut, 'policy', 'policy'));
    const meta = up.store.readJson<DatasetMeta>(ref(dsOut, 'dataset', 'meta'));
    const ds = await readDatasetParquet(up.store.path(ref(dsOut, 'dataset', 'dataset')), meta);
    const n = 200;
    const states = Float32Array.from(ds.state.subarray(0, n * ds.featureNames.length));
    const ort = await scoreOnnx(new Uint8Array(await import('node:fs').then((fs) => fs.readFileSync(up.store.path(ref(trOut, 'policy', 'onnx'))))), states, n, ds.featureNames.length);
    const js = mlpForward(pol.network, states, n);
    let maxDiff = 0;
    for (let i = 0; i < js.length; i++) maxDiff = Math.max(maxDiff, Math.abs(js[i]! - ort[i]!));
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it('rl.ope: date-block CIs; the decision is the lower bound of DR(π) − V(baseline) vs a positive margin, V(baseline) the exact replay', async () => {
    const octx = () => ctxFor('rl.ope');
    const out = await runKind(kind('rl.ope'), { overrides }, octx());
    const sizing = sizingPolicy.schema.parse(out.sizing);
    const dr = out.dr as { estimate: number; lcb: number; ucb: number };
    const diff = out.difference as { estimate: number; lcb: number; ucb: number };
    expect(out.estimator).toBe('doubly_robust');
    expect(dr.lcb).toBeLessThanOrEqual(dr.estimate);
    expect(dr.ucb).toBeGreaterThanOrEqual(dr.estimate);
    expect(out.margin).toBe(loadRlConfig(PROJECT_ROOT).ope.margin);
    expect(out.margin as number).toBeGreaterThan(0);
    expect(out.accepted).toBe(diff.lcb >= (out.margin as number));
    // the point difference is DR(π) minus the baseline's exact replay value, on the same episodes
    expect(diff.estimate).toBeCloseTo(dr.estimate - (out.baseline_value as number), 12);
    expect(diff.lcb).toBeLessThanOrEqual(diff.estimate);
    expect(out.policy).toBe(out.accepted ? 'learned' : 'baseline');
    expect(sizing).toMatchObject({ accepted: out.accepted, policy: out.policy, decision: out.decision, baseline_value: out.baseline_value });
    expect(sizing.onnx !== null).toBe(out.accepted);
    for (const k of ['fqe', 'is', 'wis', 'dr'] as const) {
      const iv = (out.estimates as Record<string, { estimate: number; lcb: number; ucb: number }>)[k]!;
      expect(Number.isFinite(iv.estimate) && iv.lcb <= iv.ucb, k).toBe(true);
    }
    // the baseline's exact replay value agrees with its own DR estimate within that interval's order of magnitude
    const report = up.store.readJson<{ replay: { learned: number; baseline: number }; baseline: { dr: { lcb: number; ucb: number } }; env: unknown; rule: string; baseline_exact: number }>(sizing.report);
    expect(report.env).toEqual(loadRlConfig(PROJECT_ROOT).env); // the environment the policy is applied in
    expect(report.baseline_exact).toBe(out.baseline_value);
    expect(report.replay.baseline).toBeCloseTo(out.baseline_value as number, 4); // per bar over each episode's own length
    expect(report.rule).toMatch(/date-block bootstrap/);
    const bw = report.baseline.dr.ucb - report.baseline.dr.lcb;
    expect(Math.abs(report.replay.baseline - (out.baseline_estimates as { dr: { estimate: number } }).dr.estimate)).toBeLessThan(2 * bw);
    expect(out.decision).toMatch(out.accepted ? /^accepted/ : /^rejected, keeping the baseline/);

    strictOut = await runKind(kind('rl.ope'), { overrides, margin: 1 }, octx());
    expect(strictOut.accepted).toBe(false);
    expect((strictOut.sizing as Refs).onnx).toBeNull();
    // a margin must be a positive economic margin
    await expect(runKind(kind('rl.ope'), { overrides, margin: -1 }, octx())).rejects.toThrow(/margin/);
    await expect(runKind(kind('rl.ope'), { overrides: { ...overrides, ope: { ...overrides.ope, margin: 0 } } }, octx())).rejects.toThrow(/margin/);
    // the learned policy as if it had been accepted (what portfolio.build applies)
    laxOut = { ...strictOut, accepted: true, policy: 'learned', sizing: { ...(strictOut.sizing as object), accepted: true, policy: 'learned', onnx: ref(trOut, 'policy', 'onnx') } };
  });

  it('rl.train trains on the calling thread too, deterministically for a seed', async () => {
    const a = await runKind(kind('rl.train'), { overrides, algo: 'bc', steps: 20, worker: false }, ctxFor('rl.train'));
    const b = await runKind(kind('rl.train'), { overrides, algo: 'bc', steps: 20, worker: false }, ctxFor('rl.train'));
    expect(a.steps).toBe(20);
    expect(ref(a, 'policy', 'policy').digest).toBe(ref(b, 'policy', 'policy').digest);
  });

  it('rl.train stops when the run is cancelled', async () => {
    const ac = new AbortController();
    const tctx = ctxFor('rl.train', { signal: ac.signal, progress: (p) => (p.current ?? 0) >= 10 && ac.abort() });
    await expect(runKind(kind('rl.train'), { overrides, algo: 'cql', steps: 100000 }, tctx)).rejects.toThrow(/aborted/);
  });

  it('applyPolicyOnnx (what portfolio.build calls) reproduces the policy along a path', async () => {
    const cfg = loadRlConfig(PROJECT_ROOT);
    const src = {
      weights: up.store.path(upRef('portfolio', 'weights')),
      ohlcv: up.store.path(upRef('audit', 'curated')),
      oof: up.store.path(upRef('stack', 'oof', 'oof')),
      returns: up.store.path(upRef('backtest', 'returns', 'returns')),
    };
    const { books } = await loadBooks(src, cfg.env, { maxPaths: 1, calendar: NYSE_DAILY });
    const pol = up.store.readJson<PolicyArtifact>(ref(trOut, 'policy', 'policy'));
    const applied = await applyPolicyOnnx(books, up.store.path(ref(trOut, 'policy', 'onnx')), cfg.env, 21);
    const b = books[0]!;
    const env = new MarketEnv(b, cfg.env);
    const A = cfg.env.actions.length;
    let st = env.reset(0, cfg.env.actions.indexOf(1));
    let disagree = 0;
    for (let t = 0; t < b.dates.length; t++) {
      const k = t < 21 ? cfg.env.actions.indexOf(1) : argmax(mlpForward(pol.network, env.observe(st), 1), 0, A);
      if (cfg.env.actions[k] !== applied[0]!.multiplier[t]) disagree++;
      const r = env.step(st, cfg.env.actions.indexOf(applied[0]!.multiplier[t]!));
      expect(applied[0]!.net[t]).toBeCloseTo(r.net, 14);
      st = r.next;
    }
    // float32 (ONNX) vs float64 (JS) scoring may split an exact tie, nothing more
    expect(disagree).toBeLessThanOrEqual(1);
    expect(applied[0]!.multiplier.length).toBe(b.dates.length);
  });

  it('portfolio.build with a learned sizing policy: the baseline book until its training window ends, then scaled, caps re-applied', async () => {
    const pb = kind('portfolio.build');
    const book = { audit: up.upstream.audit!, stack: up.upstream.stack! };
    const sized = (opeOut: StepOutputs) => makeTestContext({ store: up.store, kind: pb, upstream: { ...book, ope: { uses: 'rl.ope', outputs: opeOut, needs: ['stack'] } } });
    const base = await runKind(pb, {}, makeTestContext({ store: up.store, kind: pb, upstream: book }));
    const kept = await runKind(pb, {}, sized(strictOut));
    expect(kept.sizing).toBe('baseline');
    expect((kept.weights as ArtifactRef).digest).toBe((base.weights as ArtifactRef).digest); // the baseline kept: weights untouched
    const scaled = await runKind(pb, {}, sized(laxOut));
    expect(scaled.sizing).toBe('learned');
    expect(Object.keys(scaled.rl_multiplier_mean as object).length).toBe(base.n_paths);
    const meta = up.store.readJson<DatasetMeta>(ref(dsOut, 'dataset', 'meta'));
    const trainEnd = meta.split.train_end;
    // the multipliers the policy picks on books built from the base weights, after the training window
    const cfg = loadRlConfig(PROJECT_ROOT);
    const pcfg = loadConfig(PROJECT_ROOT, 'configs/portfolio.yml', portfolioConfigSchema);
    const baseW = base.weights as ArtifactRef;
    const src = { weights: up.store.path(baseW), ohlcv: up.store.path(upRef('audit', 'curated')), oof: up.store.path(upRef('stack', 'oof', 'oof')) };
    const costs = (meta.diagnostics as { costs: Record<string, CostRates> }).costs;
    const { books } = await loadBooks(src, cfg.env, { maxPaths: base.n_paths as number, calendar: NYSE_DAILY, costs });
    const applied = await applyPolicyOnnx(books, up.store.path(ref(trOut, 'policy', 'onnx')), cfg.env, { after: trainEnd });
    const m = new Map(applied.flatMap((a) => a.dates.map((d, k) => [`${a.path}|${d}`, a.multiplier[k]!] as const)));
    const rows = await withDuckDB((con) =>
      queryRows<{ path: number; date: string; symbol: string; b: number; s: number | null }>(con, `
        SELECT b.path, strftime(b.date, '%Y-%m-%d') AS date, b.symbol, b.weight AS b, s.weight AS s
        FROM read_parquet(${sqlString(up.store.path(baseW))}) b
        LEFT JOIN read_parquet(${sqlString(up.store.path(scaled.weights as ArtifactRef))}) s USING (path, date, symbol)`),
    );
    expect(rows.length).toBeGreaterThan(1000);
    const grossOf = new Map<string, number>();
    let inSample = 0;
    let changed = 0;
    for (const r of rows) {
      const s = r.s ?? 0;
      if (r.date <= trainEnd) {
        expect(s).toBe(r.b); // in sample: the baseline book, untouched
        inSample++;
        continue;
      }
      const k = m.get(`${r.path}|${r.date}`) ?? 1;
      expect(Math.abs(s)).toBeLessThanOrEqual(pcfg.per_name_cap + 1e-12);
      if (Math.abs(r.b * k) <= pcfg.per_name_cap) expect(Math.abs(s)).toBeLessThanOrEqual(Math.abs(r.b * k) + 1e-12);
      if (k !== 1 && r.b !== 0) changed++;
      grossOf.set(`${r.path}|${r.date}`, (grossOf.get(`${r.path}|${r.date}`) ?? 0) + Math.abs(s));
    }
    expect(inSample).toBeGreaterThan(500);
    expect(changed).toBeGreaterThan(0);
    for (const g of grossOf.values()) expect(g).toBeLessThanOrEqual(pcfg.max_leverage * pcfg.gross + 1e-9);
  });

  it('scaleRow re-applies the per-name cap and the gross ceiling after the multiplier', () => {
    const pcfg = portfolioConfigSchema.parse({ per_name_cap: 0.05, max_leverage: 1, gross: 1 });
    const row = Float64Array.from({ length: 40 }, (_, i) => (i % 2 ? -0.03 : 0.03)); // gross 1.2
    scaleRow(row, 1.5, pcfg); // 0.045 each, gross 1.8 > 1
    const g = row.reduce((a, b) => a + Math.abs(b), 0);
    expect(g).toBeCloseTo(1, 12);
    const one = Float64Array.of(0.04, -0.01);
    scaleRow(one, 1.5, pcfg);
    expect(Array.from(one)).toEqual([0.05, -0.015]); // capped at 5%, the other scaled
  });

  it('fails clearly without upstream inputs or with a bad config field', async () => {
    expect(() => makeTestContext({ kind: kind('rl.dataset'), upstream: {} })).toThrow(/portfolio\.weights@1 for its input "weights"/);
    await expect(runKind(kind('rl.dataset'), { overrides: { train: { algo: 'ppo' } } }, ctxFor('rl.dataset'))).rejects.toMatchObject({ name: 'ConfigError', message: expect.stringMatching(/configs\/rl\.yml: train\.algo: .*\(with\.overrides\)/) });
    expect(() => makeTestContext({ kind: kind('rl.ope'), upstream: { ds: { uses: 'rl.dataset', outputs: dsOut } } })).toThrow(/rl\.policy@1 for its input "policy"/);
  });
});
