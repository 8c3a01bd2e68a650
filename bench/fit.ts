/**
 * Benchmark of issue 6 (run: `npx tsx bench/fit.ts`; prints one JSON object).
 *
 * 1. Builds the full S&P 500 panel through the real kinds: features.equities, labels.horizon.
 * 2. Runs the nightly fit.cpcv (configs/training/equities_xs.yml: 4 trials × 28 splits + 7
 *    walk-forward folds + refit + ONNX export) and reports wall time, fits, peak RSS
 *    (BENCH_ENGINE=lightgbm runs the config's lightgbm section instead of xgboost).
 * 3. Binding overhead: the 28 CPCV splits with the nightly base params and a fixed number of rounds
 *    (no early stopping, validation eval every round) through our koffi binding, then the very same
 *    matrices, rows and params through Python's xgboost (/usr/bin/python3, Debian python3-xgboost,
 *    same libxgboost) → ratio ours/python and max |Δ| of the test predictions.
 * 4. Scores 100k rows with the exported ONNX model through onnxruntime-node.
 * 5. The second nightly sleeve: triple-barrier classifier fit.cpcv (BENCH_TB=0 skips it).
 * Set BENCH_SYMBOLS=<n> to use the first n symbols only (quick runs).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore, type ArtifactRef } from '../artifacts/store.ts';
import { fitCpcv } from '../kinds/fit/cpcv.ts';
import { loadTrainingConfig } from '../kinds/fit/config.ts';
import { xgboostEngine } from '../kinds/fit/engines.ts';
import { loadPanel } from '../cv/panel.ts';
import { transformTarget } from '../cv/target.ts';
import { modelBundle } from '../contracts/index.ts';
import { withDuckDB } from '../lib/duckdb.ts';
import { PROJECT_ROOT } from '../lib/paths.ts';
import { DMatrix, xgboostApi } from '../models/xgboost/binding.ts';
import { trainBooster } from '../models/xgboost/train.ts';
import { openOnnxScorer } from '../models/onnx/score.ts';
import { cpcvSplits, dateGroups, splitMasks, validationTail } from '../cv/cpcv.ts';
import { calendarFor } from '../calendar/calendar.ts';
import { makeTestContext, runKind, tempDir } from '../test/support/context.ts';
import { SP500_DIR } from '../test/support/sp500.ts';
import { auditUpstream, realChain } from '../test/fit/upstream.ts';

const FIXED_ROUNDS = 50;
const mb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);
const sec = (ms: number): number => Math.round(ms) / 1000;

const all = readdirSync(SP500_DIR()).map((f) => f.replace('_data.csv', '')).sort();
const symbols = process.env.BENCH_SYMBOLS ? all.slice(0, Number(process.env.BENCH_SYMBOLS)) : all;
const dir = tempDir('trademl-bench-fit-');
const store = new ArtifactStore(path.join(dir, 'a'));
const result: Record<string, unknown> = { symbols: symbols.length, cpus: os.cpus().length, load_avg_start: os.loadavg().map((x) => Math.round(x * 100) / 100), xgboost: xgboostApi().version };

// ---- 1. real feature/label panel (features.equities, labels.horizon, labels.triple_barrier) ----
let t = performance.now();
const chain = await realChain(store, symbols);
const { features, horizon: labels } = chain;
result.panel_build_s = sec(performance.now() - t);
const engine = (process.env.BENCH_ENGINE ?? 'xgboost') as 'xgboost' | 'lightgbm';
result.engine = engine;
const fitUpstream = (labelsOut: typeof labels, uses = 'labels.horizon') => ({ audit: auditUpstream(chain.auditReport), features: { uses: 'features.equities', outputs: features }, labels: { uses, outputs: labelsOut } });

// ---- 2. nightly fit.cpcv ----
t = performance.now();
let fits = 0;
let maxGapMs = 0;
let lastBeat = performance.now();
const fit = await runKind(
  fitCpcv,
  { sleeve: 'horizon', engine },
  makeTestContext({
    store,
    kind: fitCpcv,
    upstream: fitUpstream(labels),
    progress: (p) => {
      const now = performance.now();
      maxGapMs = Math.max(maxGapMs, now - lastBeat);
      lastBeat = now;
      if (p.current) fits = p.current;
    },
  }),
);
const fitWall = performance.now() - t;
const fitModel = modelBundle.schema.parse(fit.model);
const m = store.readJson<{ aggregate: Record<string, number>; walk_forward: { rank_ic: number } }>(fitModel.metrics);
result.nightly_fit = {
  wall_s: sec(fitWall),
  fits,
  per_fit_s: sec(fitWall / fits),
  max_s_between_progress_reports: sec(maxGapMs),
  peak_rss_mb: mb(),
  rows: fit.n_rows,
  features: fit.n_features,
  n_splits: fit.n_splits,
  n_paths: fit.n_paths,
  n_trials: fit.n_trials,
  selected_trial: fit.selected_trial,
  mean_ic: fit.mean_ic,
  mean_rank_ic: fit.mean_rank_ic,
  icir: fit.icir,
  sharpe_ls_gross: fit.sharpe,
  walk_forward_rank_ic: fit.walk_forward_rank_ic,
  insample_rank_ic: fit.insample_rank_ic,
  median_best_iteration: m.aggregate.median_best_iteration,
  onnx_parity_max_abs_diff: fit.onnx_parity_max_abs_diff,
};

process.stderr.write(`nightly_fit ${JSON.stringify(result.nightly_fit)}\n`);

// ---- 3. binding overhead vs python xgboost on identical matrices ----
const cfg = loadTrainingConfig(PROJECT_ROOT, 'configs/training/equities_xs.yml', xgboostEngine);
const mdir = path.join(dir, 'matrix');
mkdirSync(mdir, { recursive: true });
const params = { ...cfg.engines.xgboost!.params, seed_per_iteration: true };
const cmp = await withDuckDB(async (con) => {
  const panel = await loadPanel(con, store.path(features.features as ArtifactRef), store.path(labels.labels as ArtifactRef), features.feature_names as string[], calendarFor('nyse'));
  const target = transformTarget(panel, cfg.target.transform);
  const groups = dateGroups(panel.uniqueDates.length, cfg.cv.n_groups);
  const F = panel.nFeatures;
  const stride = cfg.sampling.date_stride;
  const hl = cfg.sampling.half_life_bars!;
  const splitRows = cpcvSplits(cfg.cv.n_groups, cfg.cv.n_test_groups).map((s) => {
    const mk = splitMasks(panel, panel.uniqueDates, groups, s, cfg.cv.embargo_bars);
    const tail = validationTail(panel, panel.uniqueDates, mk.train, cfg.cv.validation_fraction);
    const test: number[] = [];
    for (let i = 0; i < panel.n; i++) if (mk.test[i]) test.push(i);
    return { fit: tail.fit.filter((i) => panel.dateIdx[i]! % stride === 0), valid: tail.valid.filter((i) => panel.dateIdx[i]! % stride === 0), test };
  });
  writeFileSync(path.join(mdir, 'X.f32'), panel.X);
  writeFileSync(path.join(mdir, 'y.f32'), target);
  writeFileSync(path.join(mdir, 'dateidx.i32'), panel.dateIdx);
  const idx: number[] = [];
  const manifest = splitRows.map((s) => {
    const o = { fit: [idx.length, s.fit.length], valid: [idx.length + s.fit.length, s.valid.length], test: [idx.length + s.fit.length + s.valid.length, s.test.length] };
    for (const part of [s.fit, s.valid, s.test]) for (const i of part) idx.push(i);
    return o;
  });
  writeFileSync(path.join(mdir, 'idx.i32'), Int32Array.from(idx));
  writeFileSync(path.join(mdir, 'manifest.json'), JSON.stringify({ n: panel.n, F, rounds: FIXED_ROUNDS, half_life: hl, params, splits: manifest }));

  const gather = (rows: number[], withLabel: boolean, weights: boolean): DMatrix => {
    const x = new Float32Array(rows.length * F);
    rows.forEach((i, k) => x.set(panel.X.subarray(i * F, i * F + F), k * F));
    const info: { label?: Float32Array; weight?: Float32Array } = {};
    if (withLabel) info.label = Float32Array.from(rows, (i) => target[i]!);
    if (weights) {
      let last = 0;
      for (const i of rows) last = Math.max(last, panel.dateIdx[i]!);
      info.weight = Float32Array.from(rows, (i) => Math.pow(0.5, (last - panel.dateIdx[i]!) / hl));
    }
    return new DMatrix(x, rows.length, F, info);
  };
  const preds: Float32Array[] = [];
  const t0 = performance.now();
  for (const s of splitRows) {
    const dtrain = gather(s.fit, true, true), dvalid = gather(s.valid, true, false), dtest = gather(s.test, false, false);
    const r = await trainBooster({ params, dtrain, dvalid, numRounds: FIXED_ROUNDS });
    preds.push(r.booster.predict(dtest).values);
    r.booster.free();
    dtrain.free();
    dvalid.free();
    dtest.free();
  }
  const oursMs = performance.now() - t0;
  const cat = new Float32Array(preds.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of preds) {
    cat.set(p, o);
    o += p.length;
  }
  writeFileSync(path.join(mdir, 'preds_ts.f32'), cat);
  return { oursMs, rows: panel.n, F };
});
const py = `
import json, sys, time, numpy as np, xgboost as xgb
d = sys.argv[1]
m = json.load(open(d + '/manifest.json'))
n, F = m['n'], m['F']
X = np.fromfile(d + '/X.f32', dtype=np.float32).reshape(n, F)
y = np.fromfile(d + '/y.f32', dtype=np.float32)
di = np.fromfile(d + '/dateidx.i32', dtype=np.int32)
idx = np.fromfile(d + '/idx.i32', dtype=np.int32)
params = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in m['params'].items()}
params['seed_per_iteration'] = True
preds = []
t0 = time.perf_counter()
for s in m['splits']:
    fit = idx[s['fit'][0]:s['fit'][0] + s['fit'][1]]
    val = idx[s['valid'][0]:s['valid'][0] + s['valid'][1]]
    te = idx[s['test'][0]:s['test'][0] + s['test'][1]]
    last = di[fit].max()
    w = np.power(0.5, (last - di[fit]) / m['half_life']).astype(np.float32)
    dtrain = xgb.DMatrix(X[fit], label=y[fit], weight=w, missing=np.nan)
    dvalid = xgb.DMatrix(X[val], label=y[val], missing=np.nan)
    dtest = xgb.DMatrix(X[te], missing=np.nan)
    b = xgb.train(params, dtrain, num_boost_round=m['rounds'], evals=[(dvalid, 'valid')], verbose_eval=False)
    preds.append(b.predict(dtest))
wall = time.perf_counter() - t0
p = np.concatenate(preds)
ts = np.fromfile(d + '/preds_ts.f32', dtype=np.float32)
print(json.dumps({'wall_s': wall, 'max_abs_diff_vs_ts': float(np.max(np.abs(p - ts))), 'xgboost': xgb.__version__}))
`;
let python: Record<string, unknown> | string;
try {
  execFileSync('/usr/bin/python3', ['-c', 'import xgboost']);
  // Same OpenMP wait policy as our process (the binding defaults it to passive): with libgomp's default
  // busy-waiting, python's fits were 10-70x slower on this shared 2-core machine.
  const r = spawnSync('/usr/bin/python3', ['-c', py, mdir], { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'passive' } });
  python = r.status === 0 ? (JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>) : `python failed: ${r.stderr.slice(-500)}`;
} catch {
  python = 'not available: /usr/bin/python3 -c "import xgboost" failed (apt-get install -y python3-xgboost)';
}
result.cpcv_28_splits_fixed_rounds = {
  rounds: FIXED_ROUNDS,
  params,
  ours_wall_s: sec(cmp.oursMs),
  ours_per_fit_s: sec(cmp.oursMs / 28),
  python,
  omp_wait_policy: process.env.OMP_WAIT_POLICY ?? null,
  ratio_ours_over_python: typeof python === 'object' ? Math.round((cmp.oursMs / 1000 / (python.wall_s as number)) * 1000) / 1000 : null,
};

// ---- 4. ONNX scoring of 100k rows ----
{
  const F = cmp.F;
  const n = 100_000;
  const x = new Float32Array(n * F);
  let s = 3;
  for (let i = 0; i < x.length; i++) x[i] = ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  const out: Record<string, number> = {};
  for (const threads of [1, 2]) {
    const scorer = await openOnnxScorer(store.path(fitModel.onnx), { threads });
    await scorer.run(x.subarray(0, 1000 * F), 1000, F);
    const t1 = performance.now();
    const r = await scorer.run(x, n, F);
    out[`threads_${threads}_ms`] = Math.round((performance.now() - t1) * 10) / 10;
    if (r.score!.length !== n) throw new Error('ONNX scoring returned the wrong number of rows');
    await scorer.release();
  }
  result.onnx_score_100k = { ...out, us_per_row_1_thread: Math.round((out.threads_1_ms! * 1000) / n * 100) / 100 };
}
// ---- 5. the second nightly sleeve: triple-barrier classifier (multi:softprob) ----
if (process.env.BENCH_TB !== '0') {
  t = performance.now();
  let tbFits = 0;
  const tb = await runKind(
    fitCpcv,
    { sleeve: 'tb', config: 'configs/training/equities_tb.yml', engine },
    makeTestContext({ store, kind: fitCpcv, upstream: fitUpstream(chain.barriers, 'labels.triple_barrier'), progress: (p) => { if (p.current) tbFits = p.current; } }),
  );
  const wall = performance.now() - t;
  const tm = store.readJson<{ aggregate: Record<string, number> }>(modelBundle.schema.parse(tb.model).metrics);
  result.nightly_fit_tb = {
    wall_s: sec(wall), fits: tbFits, per_fit_s: sec(wall / tbFits), rows: tb.n_rows, n_trials: tb.n_trials,
    mean_rank_ic: tb.mean_rank_ic, walk_forward_rank_ic: tb.walk_forward_rank_ic, logloss: tm.aggregate.logloss, auc: tm.aggregate.auc,
    onnx_parity_max_abs_diff: tb.onnx_parity_max_abs_diff,
  };
}
result.peak_rss_mb = mb();
result.load_avg_end = os.loadavg().map((x) => Math.round(x * 100) / 100);
console.log(JSON.stringify(result, null, 2));
