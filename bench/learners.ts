/**
 * Benchmark of issue 18's learners (run: `npx tsx bench/learners.ts`; prints one JSON object).
 *
 * 1. Builds the real S&P 500 feature panel of test/fit/panel.ts (8 point-in-time rank features with
 *    warm-up NaNs ⋈ 5-day horizon labels, straight from the CSVs with DuckDB; independent of the step
 *    kinds' context API) and loads it with fit.cpcv's loader (cv/panel.ts); target = per-date
 *    cross-sectional rank of the label in [−0.5, 0.5] (the nightly's `transform: rank`).
 * 2. One CPCV-sized fit: the training set of an N = 8 split whose two test groups are the last two
 *    date groups (6/8 of the dates, minus a 5-day purge and 10-day embargo before the holdout),
 *    every date, 200 rounds, no early stopping; hist, eta 0.05, depth 6 (XGBoost) / num_leaves 63
 *    (LightGBM), 2 threads. The holdout block (last 2/8 of the dates) is predicted.
 * 3. Each engine runs in its own child process (one libxgboost per process): LightGBM (wheel),
 *    XGBoost through Debian's libxgboost 1.7, XGBoost through the wheel's libxgboost. Reported:
 *    learner.fit seconds (Dataset/DMatrix build + boosting), predict seconds, and the holdout's
 *    daily rank IC / IC of the predictions against the raw label (cv/metrics.ts).
 * Env: BENCH_SYMBOLS=<n> uses the first n symbols only (quick runs).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Learner, LearnerParams } from '../models/learner.ts';

const ROUNDS = 200;
const ENGINES = ['lightgbm', 'xgboost-debian', 'xgboost-wheel'] as const;
type Engine = (typeof ENGINES)[number];
const PARAMS: Record<Engine, LearnerParams> = {
  lightgbm: { objective: 'regression', num_leaves: 63, learning_rate: 0.05, num_threads: 2, seed: 0, deterministic: true, force_row_wise: true },
  'xgboost-debian': { objective: 'reg:squarederror', tree_method: 'hist', max_depth: 6, eta: 0.05, nthread: 2, seed: 0 },
  'xgboost-wheel': { objective: 'reg:squarederror', tree_method: 'hist', max_depth: 6, eta: 0.05, nthread: 2, seed: 0 },
};
const sec = (ms: number): number => Math.round(ms) / 1000;
const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;
const loadAvg = (): number[] => os.loadavg().map((x) => Math.round(x * 100) / 100);
const f32 = (file: string): Float32Array => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

/** Child: fits one engine on the matrices in `dir`, writes its holdout predictions, prints timings. */
async function child(engine: Engine, dir: string): Promise<void> {
  const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { nTrain: number; nTest: number; F: number };
  const X = f32(path.join(dir, 'X_train.f32')), y = f32(path.join(dir, 'y_train.f32')), Xt = f32(path.join(dir, 'X_test.f32'));
  let learner: Learner;
  let version: string;
  if (engine === 'lightgbm') {
    learner = (await import('../models/lightgbm/learner.ts')).lightgbmLearner;
    version = 'lightgbm 4.7.0 (PyPI wheel, .native)';
  } else {
    const b = await import('../models/xgboost/binding.ts');
    b.useXGBoostLibrary(engine === 'xgboost-wheel' ? 'wheel' : 'debian');
    version = `xgboost ${b.xgboostApi().version} (${b.xgboostApi().libPath})`;
    learner = (await import('../models/xgboost/learner.ts')).xgboostLearner;
  }
  let t = performance.now();
  const model = await learner.fit({ X, y, nRows: m.nTrain, nFeatures: m.F }, { params: PARAMS[engine], numRounds: ROUNDS });
  const fitMs = performance.now() - t;
  t = performance.now();
  const pred = model.predict(Xt, m.nTest);
  const predictMs = performance.now() - t;
  model.free();
  writeFileSync(path.join(dir, `pred_${engine}.f32`), pred);
  process.stdout.write(JSON.stringify({ version, fit_s: sec(fitMs), predict_s: sec(predictMs), rounds: model.rounds, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) }) + '\n');
}

/** Per-date cross-sectional rank of `label` → [−0.5, 0.5] (ties share the mean rank). */
function rankTarget(label: Float64Array, blocks: Int32Array): Float32Array {
  const out = new Float32Array(label.length);
  for (let d = 0; d + 1 < blocks.length; d++) {
    const a = blocks[d]!, b = blocks[d + 1]!, m = b - a;
    const idx = Array.from({ length: m }, (_, k) => a + k).sort((x, z) => label[x]! - label[z]!);
    for (let k = 0; k < m; ) {
      let j = k;
      while (j + 1 < m && label[idx[j + 1]!] === label[idx[k]!]) j++;
      for (let q = k; q <= j; q++) out[idx[q]!] = m > 1 ? (k + j) / 2 / (m - 1) - 0.5 : 0;
      k = j + 1;
    }
  }
  return out;
}

/** Parent: builds the panel and the split, runs the three children, scores their predictions. */
async function main(): Promise<void> {
  const { ArtifactStore } = await import('../artifacts/store.ts');
  const { loadPanel } = await import('../cv/panel.ts');
  const { withDuckDB } = await import('../lib/duckdb.ts');
  const { dailyIc, summarizeIc } = await import('../cv/metrics.ts');
  const { SP500_DIR } = await import('../test/support/sp500.ts');
  const { buildFixturePanel } = await import('../test/fit/panel.ts');
  const result: Record<string, unknown> = { cpus: os.cpus().length, load_avg_start: loadAvg(), rounds: ROUNDS, params: PARAMS };
  const all = readdirSync(SP500_DIR()).map((f) => f.replace('_data.csv', '')).sort();
  const symbols = process.env.BENCH_SYMBOLS ? all.slice(0, Number(process.env.BENCH_SYMBOLS)) : all;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trademl-bench-learners-'));
  const store = new ArtifactStore(path.join(dir, 'a'));
  let t = performance.now();
  const fx = await buildFixturePanel(store, dir, symbols, { horizon: 5 });
  const panel = await withDuckDB((con) => loadPanel(con, store.path(fx.features), store.path(fx.horizonLabels), fx.featureNames));
  result.panel = { symbols: symbols.length, rows: panel.n, features: fx.featureNames, dates: panel.uniqueDates.length, build_s: sec(performance.now() - t) };

  // split: holdout = the last 2 of 8 date groups; train = dates before it minus purge (5) + embargo (10)
  const nd = panel.uniqueDates.length;
  const hStart = Math.floor((nd * 6) / 8);
  const trainEnd = hStart - 15;
  const F = panel.nFeatures;
  const nTrain = panel.blocks[trainEnd]!, t0 = panel.blocks[hStart]!, nTest = panel.n - t0;
  const target = rankTarget(panel.label, panel.blocks);
  const mdir = path.join(dir, 'm');
  mkdirSync(mdir, { recursive: true });
  writeFileSync(path.join(mdir, 'X_train.f32'), panel.X.subarray(0, nTrain * F));
  writeFileSync(path.join(mdir, 'y_train.f32'), target.subarray(0, nTrain));
  writeFileSync(path.join(mdir, 'X_test.f32'), panel.X.subarray(t0 * F));
  writeFileSync(path.join(mdir, 'manifest.json'), JSON.stringify({ nTrain, nTest, F }));
  result.split = { train_rows: nTrain, train_dates: trainEnd, holdout_rows: nTest, holdout_dates: nd - hStart, purge_embargo_dates: 15 };

  const include = new Uint8Array(panel.n);
  include.fill(1, t0);
  const self = fileURLToPath(import.meta.url);
  const engines: Record<string, unknown> = {};
  for (const e of ENGINES) {
    const loadBefore = loadAvg();
    const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', e, mdir], { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'ignore'] });
    const rep = JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
    const pred = f32(path.join(mdir, `pred_${e}.f32`));
    const score = new Float32Array(panel.n).fill(NaN);
    score.set(pred, t0);
    const d = dailyIc(panel.blocks, score, panel.label, include);
    const s = summarizeIc(d.ic, d.rankIc);
    engines[e] = { ...rep, holdout_rank_ic: r4(s.rank_ic), holdout_ic: r4(s.ic), holdout_icir: r4(s.icir), holdout_dates: s.n_dates, load_avg_before: loadBefore };
    process.stderr.write(`${e} ${JSON.stringify(engines[e])}\n`);
  }
  result.engines = engines;
  const fit = (e: Engine): number => (engines[e] as { fit_s: number }).fit_s;
  result.ratios = {
    lightgbm_over_xgboost_debian: r4(fit('lightgbm') / fit('xgboost-debian')),
    xgboost_wheel_over_debian: r4(fit('xgboost-wheel') / fit('xgboost-debian')),
  };
  result.load_avg_end = loadAvg();
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

if (process.argv[2] === '--child') await child(process.argv[3] as Engine, process.argv[4]!);
else await main();
