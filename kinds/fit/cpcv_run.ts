/**
 * The body of `fit.cpcv` (imported lazily by kinds/fit/cpcv.ts so koffi/onnxruntime load only
 * when a fit runs). Trains XGBoost under CPCV (AFML ch. 7 and 12) for every trial of the HPO grid,
 * reconstructs the φ backtest paths, runs the walk-forward reference, refits the selected trial on
 * all data, exports it to ONNX (parity-checked against XGBoost), and writes the artifacts of
 * docs/contracts.md § "CPCV fit".
 */
import { z } from 'zod';
import { withDuckDB, sqlString } from '../../lib/duckdb.ts';
import { digestJson } from '../../lib/hash.ts';
import { StepError } from '../../lib/errors.ts';
import { assertAuditsNotRed } from '../../data/guard.ts';
import { cpcvSplits, dateGroups, nPaths, pathTable, splitMasks, validationTail, walkForwardFolds, type DateGroup, type Split } from '../../cv/cpcv.ts';
import { annualizedSharpe, dailyIc, longShortReturns, meanStd, rocAuc, summarizeIc, type IcSummary } from '../../cv/metrics.ts';
import { checkLeakage, type LeakageReport } from '../../cv/leakage.ts';
import { DMatrix, xgboostApi, type Booster, type BoosterParams } from '../../models/xgboost/binding.ts';
import { trainBooster } from '../../models/xgboost/train.ts';
import { xgboostToOnnx, type XgbModelJson } from '../../models/onnx/trees.ts';
import { openOnnxScorer } from '../../models/onnx/score.ts';
import type { StepContext } from '../types.ts';
import { expandGrid, loadTrainingConfig, type TrainingConfig } from './config.ts';
import { appendColumns, loadPanel, type Panel } from './panel.ts';
import { findUpstream, refSchema, upstreamField } from './upstream.ts';
import type { FitWith, FitOutputs } from './cpcv.ts';

const LABEL_KINDS = ['labels.horizon', 'labels.triple_barrier'];

/** How predictions of one model become the sleeve's score, and classification losses. */
interface TaskCodec {
  task: 'regression' | 'classification';
  /** XGBoost training target for row i (after the per-date transform for regression). */
  target: Float32Array;
  /** Number of prediction columns XGBoost returns per row. */
  width: number;
  /** Score (larger = more bullish) from a prediction row. */
  score(p: Float32Array, off: number): number;
  /** Per-row log loss (classification) or NaN. */
  loss(p: Float32Array, off: number, row: number): number;
  /** Binary target of the AUC (label is the most bullish class), classification only. */
  positive?: Uint8Array;
  /** P(label = most bullish class) from a prediction row, classification only. */
  probUp?(p: Float32Array, off: number): number;
  /** Per-class weights of the ONNX score output. */
  classScore?: number[];
}

function makeCodec(cfg: TrainingConfig, panel: Panel): TaskCodec {
  const n = panel.n;
  const obj = String(cfg.xgboost.params.objective);
  if (cfg.task === 'regression') {
    return { task: 'regression', target: transformTarget(panel, cfg.target.transform), width: 1, score: (p, o) => p[o]!, loss: () => NaN };
  }
  const target = new Float32Array(n);
  const positive = new Uint8Array(n);
  const eps = 1e-15;
  if (obj.startsWith('binary:')) {
    for (let i = 0; i < n; i++) {
      target[i] = panel.label[i]! > 0 ? 1 : 0;
      positive[i] = target[i]!;
    }
    return {
      task: 'classification',
      target,
      width: 1,
      positive,
      probUp: (p, o) => p[o]!,
      score: (p, o) => 2 * p[o]! - 1,
      loss: (p, o, i) => -Math.log(Math.min(1 - eps, Math.max(eps, target[i] ? p[o]! : 1 - p[o]!))),
    };
  }
  const classes = cfg.classes!;
  const K = classes.length;
  const top = classes.indexOf(Math.max(...classes));
  const unknown = new Set<number>();
  for (let i = 0; i < n; i++) {
    const k = classes.indexOf(panel.label[i]!);
    if (k < 0) unknown.add(panel.label[i]!);
    target[i] = k;
    positive[i] = k === top ? 1 : 0;
  }
  if (unknown.size) {
    throw new StepError({ message: `labels contain value(s) ${[...unknown].slice(0, 5).join(', ')} not in the config's classes [${classes.join(', ')}]`, type: 'BadInput', nonRetryable: true });
  }
  const v = classes.map((c) => Math.sign(c));
  return {
    task: 'classification',
    target,
    width: K,
    positive,
    classScore: v,
    probUp: (p, o) => p[o + top]!,
    score: (p, o) => {
      let s = 0;
      for (let k = 0; k < K; k++) s += v[k]! * p[o + k]!;
      return s;
    },
    loss: (p, o, i) => -Math.log(Math.max(eps, p[o + target[i]!]!)),
  };
}

/** Per-date cross-sectional transform of a regression label: none, demean, or rank → [−0.5, 0.5]. */
export function transformTarget(panel: Panel, how: 'none' | 'demean' | 'rank'): Float32Array {
  const out = new Float32Array(panel.n);
  const nDates = panel.blocks.length - 1;
  for (let d = 0; d < nDates; d++) {
    const a = panel.blocks[d]!, b = panel.blocks[d + 1]!;
    if (how === 'none') for (let i = a; i < b; i++) out[i] = panel.label[i]!;
    else if (how === 'demean') {
      let s = 0;
      for (let i = a; i < b; i++) s += panel.label[i]!;
      const m = s / (b - a);
      for (let i = a; i < b; i++) out[i] = panel.label[i]! - m;
    } else {
      const idx = Array.from({ length: b - a }, (_, k) => a + k).sort((x, y) => panel.label[x]! - panel.label[y]!);
      const m = idx.length;
      let k = 0;
      while (k < m) {
        let j = k;
        while (j + 1 < m && panel.label[idx[j + 1]!] === panel.label[idx[k]!]) j++;
        const r = m > 1 ? (k + j) / 2 / (m - 1) - 0.5 : 0;
        for (let t = k; t <= j; t++) out[idx[t]!] = r;
        k = j + 1;
      }
    }
  }
  return out;
}

/**
 * Gathers rows (ascending, hence date-ordered) into a DMatrix (features, target, optional
 * time-decay weights); `perDateGroups` sets one ranking query group per date (rank:* objectives).
 */
function buildDMatrix(panel: Panel, rows: number[], target: Float32Array | null, weights: Float32Array | null, perDateGroups = false): DMatrix {
  const F = panel.nFeatures;
  const x = new Float32Array(rows.length * F);
  for (let k = 0; k < rows.length; k++) x.set(panel.X.subarray(rows[k]! * F, rows[k]! * F + F), k * F);
  const info: { label?: Float32Array; weight?: Float32Array } = {};
  if (target) info.label = Float32Array.from(rows, (i) => target[i]!);
  if (weights && !perDateGroups) info.weight = Float32Array.from(rows, (i) => weights[i]!);
  const d = new DMatrix(x, rows.length, F, info);
  if (perDateGroups && target) {
    try {
      const sizes: number[] = [];
      for (let k = 0; k < rows.length; k++) {
        if (k === 0 || panel.dateIdx[rows[k]!] !== panel.dateIdx[rows[k - 1]!]) sizes.push(0);
        sizes[sizes.length - 1]!++;
      }
      d.setGroups(Uint32Array.from(sizes));
      // ranking objectives weight queries, not rows: one time-decay weight per date
      if (weights) {
        const gw: number[] = [];
        for (let k = 0; k < rows.length; k++) if (k === 0 || panel.dateIdx[rows[k]!] !== panel.dateIdx[rows[k - 1]!]) gw.push(weights[rows[k]!]!);
        d.setFloatInfo('weight', Float32Array.from(gw), true);
      }
    } catch (e) {
      d.free();
      throw e;
    }
  }
  return d;
}

/** Time-decay weights 0.5^(age/halfLife), age = trading days before the latest of `rows`. */
function decayWeights(panel: Panel, rows: number[], halfLife: number | null): Float32Array | null {
  if (!halfLife) return null;
  let last = 0;
  for (const i of rows) last = Math.max(last, panel.dateIdx[i]!);
  const w = new Float32Array(panel.n);
  for (const i of rows) w[i] = Math.pow(0.5, (last - panel.dateIdx[i]!) / halfLife);
  return w;
}

const strided = (panel: Panel, rows: number[], stride: number): number[] => (stride <= 1 ? rows : rows.filter((i) => panel.dateIdx[i]! % stride === 0));

interface FoldResult {
  split: number;
  test_groups: number[];
  n_train: number;
  n_fit: number;
  n_valid: number;
  n_test: number;
  n_purged: number;
  n_embargoed: number;
  best_iteration: number;
  rounds: number;
  valid_metric: string | null;
  valid_score: number | null;
  ic: number;
  rank_ic: number;
  icir: number;
  logloss?: number;
  auc?: number;
}

/** Trains one fold for every trial on shared DMatrices; calls `sink(trial, testRows, preds, width)` with test predictions. */
async function runFold(args: {
  ctx: StepContext;
  panel: Panel;
  cfg: TrainingConfig;
  codec: TaskCodec;
  groups: DateGroup[];
  split: Split;
  trials: BoosterParams[];
  onFitDone(): void;
  sink(trial: number, testRows: number[], preds: Float32Array): void;
}): Promise<{ masks: { nTrain: number; nTest: number; nPurged: number; nEmbargoed: number }; perTrial: { best: number; rounds: number; metric: string | null; score: number | null }[]; nFit: number; nValid: number }> {
  const { panel, cfg, codec, split } = args;
  const masks = splitMasks(panel, panel.uniqueDates, args.groups, split, cfg.cv.embargo_days);
  if (masks.nTrain === 0) throw new StepError({ message: `CPCV split ${split.split} (test groups ${split.testGroups.join(',')}) has no training sample left after purging/embargo: use fewer groups or a shorter embargo`, type: 'BadInput', nonRetryable: true });
  const tail = validationTail(panel, panel.uniqueDates, masks.train, cfg.cv.validation_fraction);
  const stride = cfg.sampling.date_stride;
  const fitRows = strided(panel, tail.fit, stride);
  const validRows = strided(panel, tail.valid, stride);
  const testRows: number[] = [];
  for (let i = 0; i < panel.n; i++) if (masks.test[i]) testRows.push(i);
  const w = decayWeights(panel, fitRows, cfg.sampling.half_life_days);
  const rank = String(cfg.xgboost.params.objective).startsWith('rank:');
  const dtrain = buildDMatrix(panel, fitRows, codec.target, w, rank);
  const dvalid = validRows.length > 0 ? buildDMatrix(panel, validRows, codec.target, null, rank) : undefined;
  const dtest = buildDMatrix(panel, testRows, null, null);
  const perTrial: { best: number; rounds: number; metric: string | null; score: number | null }[] = [];
  try {
    for (let t = 0; t < args.trials.length; t++) {
      let booster: Booster | undefined;
      try {
        const res = await trainBooster({
          params: args.trials[t]!,
          dtrain,
          dvalid,
          numRounds: cfg.xgboost.num_boost_round,
          earlyStoppingRounds: cfg.xgboost.early_stopping_rounds ?? undefined,
          signal: args.ctx.signal,
          onRound: (iter) => {
            if (iter % 25 === 24) args.ctx.progress({ message: `split ${split.split} trial ${t} round ${iter + 1}` });
          },
        });
        booster = res.booster;
        const pred = booster.predict(dtest, { iterationEnd: res.bestIteration + 1 });
        args.sink(t, testRows, pred.values);
        perTrial.push({ best: res.bestIteration, rounds: res.rounds, metric: res.metric, score: res.bestScore });
      } finally {
        booster?.free();
      }
      args.onFitDone();
    }
  } finally {
    dtrain.free();
    dvalid?.free();
    dtest.free();
  }
  return { masks, perTrial, nFit: fitRows.length, nValid: validRows.length };
}

function foldMetrics(panel: Panel, codec: TaskCodec, testRows: number[], score: Float32Array, loss: Float32Array | null): { ic: IcSummary; logloss?: number; auc?: number } {
  const include = new Uint8Array(panel.n);
  for (const i of testRows) include[i] = 1;
  const d = dailyIc(panel.blocks, score, panel.label, include);
  const out: { ic: IcSummary; logloss?: number; auc?: number } = { ic: summarizeIc(d.ic, d.rankIc) };
  if (codec.task === 'classification' && loss && codec.positive) {
    let s = 0;
    for (const i of testRows) s += loss[i]!;
    out.logloss = s / testRows.length;
    out.auc = rocAuc(testRows.map((i) => score[i]!), testRows.map((i) => codec.positive![i]!));
  }
  return out;
}

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

const round6 = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : null);

/** Runs fit.cpcv. See kinds/fit/cpcv.ts for the with/outputs contract. */
export async function runCpcvFit(ctx: StepContext, w: FitWith): Promise<FitOutputs> {
  assertAuditsNotRed(ctx);
  const t0 = performance.now();
  const cfg = loadTrainingConfig(ctx.projectRoot, w.config, {
    n_groups: w.n_groups,
    n_test_groups: w.n_test_groups,
    embargo_days: w.embargo_days,
    params: w.params,
    grid: w.grid,
    num_boost_round: w.num_boost_round,
    date_stride: w.date_stride,
    leakage_action: w.leakage_action,
  });
  const features = findUpstream(ctx, ['features.equities'], 'a feature panel');
  const labelKinds = w.labels ? [w.labels] : LABEL_KINDS;
  const labels = findUpstream(ctx, labelKinds, 'labels');
  const featuresRef = upstreamField(features, 'features', refSchema);
  const featureNames = upstreamField(features, 'feature_names', z.array(z.string()).min(1));
  const labelsRef = upstreamField(labels, 'labels', refSchema);
  const labelTask = labels.outputs.kind;
  if ((labelTask === 'regression' || labelTask === 'classification') && labelTask !== cfg.task) {
    throw new StepError({ message: `${w.config} is a ${cfg.task} config but upstream labels step ${labels.id} (${labels.uses}) produces ${labelTask} labels: pick the matching config or set with.labels`, type: 'BadInput', nonRetryable: true });
  }
  const api = xgboostApi();
  ctx.log.info({ xgboost: api.version, lib: api.libPath }, 'fit.cpcv: libxgboost loaded');

  return withDuckDB(async (con) => {
    ctx.progress({ fraction: 0, message: 'loading features ⋈ labels' });
    const panel = await loadPanel(con, ctx.artifacts.path(featuresRef), ctx.artifacts.path(labelsRef), featureNames);
    ctx.progress({ fraction: 0, message: `panel: ${panel.n} rows × ${panel.nFeatures} features, ${panel.uniqueDates.length} dates` });
    const codec = makeCodec(cfg, panel);
    const N = cfg.cv.n_groups, k = cfg.cv.n_test_groups;
    const groups = dateGroups(panel.uniqueDates.length, N);
    const splits = cpcvSplits(N, k);
    const table = pathTable(splits, N);
    const phi = nPaths(N, k);
    const wfFolds = walkForwardFolds(N);
    const baseParams: BoosterParams = { ...cfg.xgboost.params };
    const trials = expandGrid(baseParams, cfg.grid);
    const trialIds = trials.map((_, t) => `${w.sleeve}:t${t}`);
    const groupOfRow = new Int32Array(panel.n);
    for (const g of groups) for (let d = g.firstIdx; d <= g.lastIdx; d++) for (let i = panel.blocks[d]!; i < panel.blocks[d + 1]!; i++) groupOfRow[i] = g.group;

    const totalFits = splits.length * trials.length + wfFolds.length + 1;
    let fitsDone = 0;
    const onFitDone = (): void => {
      fitsDone++;
      ctx.progress({ fraction: fitsDone / totalFits, current: fitsDone, total: totalFits, message: `fit ${fitsDone}/${totalFits}` });
    };

    // ---- CPCV over all trials ----
    const scores = trials.map(() => Array.from({ length: phi }, () => new Float32Array(panel.n).fill(NaN)));
    const losses = codec.task === 'classification' ? trials.map(() => Array.from({ length: phi }, () => new Float32Array(panel.n).fill(NaN))) : null;
    const probs = codec.probUp ? trials.map(() => Array.from({ length: phi }, () => new Float32Array(panel.n).fill(NaN))) : null;
    const splitRows: FoldResult[][] = trials.map(() => []);
    const cvLayout: Record<string, unknown>[] = [];
    for (const split of splits) {
      if (ctx.signal.aborted) throw new StepError({ message: 'fit.cpcv cancelled', type: 'Cancelled', nonRetryable: true });
      const testScore = new Float32Array(panel.n).fill(NaN);
      const testLoss = new Float32Array(panel.n).fill(NaN);
      const pending: { t: number; rows: number[]; score: Float32Array; loss: Float32Array }[] = [];
      // 0-based path fed by this split's predictions of each of its test groups
      const pathOfGroup = new Int32Array(N + 1).fill(-1);
      for (const g of split.testGroups) pathOfGroup[g] = table[g - 1]!.indexOf(split.split);
      const res = await runFold({
        ctx, panel, cfg, codec, groups, split, trials, onFitDone,
        sink: (t, rows, pred) => {
          const sc = testScore.slice();
          const ls = testLoss.slice();
          for (let r = 0; r < rows.length; r++) {
            const i = rows[r]!;
            const s = codec.score(pred, r * codec.width);
            const p = pathOfGroup[groupOfRow[i]!]!;
            scores[t]![p]![i] = s;
            sc[i] = s;
            if (probs) probs[t]![p]![i] = codec.probUp!(pred, r * codec.width);
            if (losses) {
              const l = codec.loss(pred, r * codec.width, i);
              losses[t]![p]![i] = l;
              ls[i] = l;
            }
          }
          pending.push({ t, rows, score: sc, loss: ls });
        },
      });
      for (const pnd of pending) {
        const m = foldMetrics(panel, codec, pnd.rows, pnd.score, losses ? pnd.loss : null);
        const pt = res.perTrial[pnd.t]!;
        splitRows[pnd.t]!.push({
          split: split.split, test_groups: split.testGroups, n_train: res.masks.nTrain, n_fit: res.nFit, n_valid: res.nValid,
          n_test: res.masks.nTest, n_purged: res.masks.nPurged, n_embargoed: res.masks.nEmbargoed,
          best_iteration: pt.best, rounds: pt.rounds, valid_metric: pt.metric, valid_score: pt.score,
          ic: m.ic.ic, rank_ic: m.ic.rank_ic, icir: m.ic.icir, logloss: m.logloss, auc: m.auc,
        });
      }
      cvLayout.push({ split: split.split, test_groups: split.testGroups, n_train: res.masks.nTrain, n_test: res.masks.nTest, n_purged: res.masks.nPurged, n_embargoed: res.masks.nEmbargoed });
    }

    // ---- per-path metrics, trial streams, selection ----
    const nDates = panel.uniqueDates.length;
    const pathMetrics: { path: number; ls: Float64Array; logloss?: number; auc?: number }[][] = [];
    for (let t = 0; t < trials.length; t++) {
      const list: (IcSummary & { path: number; ls: Float64Array; logloss?: number; auc?: number })[] = [];
      for (let p = 0; p < phi; p++) {
        // per-path metrics are a few hundred ms each on the full panel: let heartbeats through
        await yieldToEventLoop();
        ctx.progress({ message: `metrics: trial ${t + 1}/${trials.length}, path ${p + 1}/${phi}` });
        const sc = scores[t]![p]!;
        const d = dailyIc(panel.blocks, sc, panel.label);
        const s = summarizeIc(d.ic, d.rankIc);
        const extra: { logloss?: number; auc?: number } = {};
        if (losses && codec.positive) {
          extra.logloss = meanStd(losses[t]![p]!).mean;
          extra.auc = rocAuc(sc, codec.positive);
        }
        list.push({ path: p + 1, ...s, ...extra, ls: longShortReturns(panel.blocks, sc, panel.retDaily) });
      }
      pathMetrics.push(list);
    }
    const trialSummaries = trials.map((params, t) => {
      const perPath = pathMetrics[t] as (IcSummary & { path: number; ls: Float64Array; logloss?: number; auc?: number })[];
      const stream = new Float64Array(nDates);
      for (let d = 0; d < nDates; d++) {
        let s = 0, c = 0;
        for (const pp of perPath) if (Number.isFinite(pp.ls[d]!)) {
          s += pp.ls[d]!;
          c++;
        }
        stream[d] = c ? s / c : NaN;
      }
      const mean = (f: (x: (typeof perPath)[number]) => number | undefined): number => meanStd(perPath.map((x) => f(x) ?? NaN)).mean;
      const bests = splitRows[t]!.map((r) => r.best_iteration).sort((a, b) => a - b);
      const metrics = {
        mean_ic: mean((x) => x.ic),
        mean_rank_ic: mean((x) => x.rank_ic),
        icir: mean((x) => x.icir),
        sharpe: annualizedSharpe(stream),
        median_best_iteration: bests[Math.floor(bests.length / 2)]!,
        ...(losses ? { logloss: mean((x) => x.logloss), auc: mean((x) => x.auc) } : {}),
      };
      return { trial_id: trialIds[t]!, params, metrics, perPath, stream };
    });
    const key = { rank_ic: 'mean_rank_ic', ic: 'mean_ic', icir: 'icir', sharpe: 'sharpe' } as const;
    let best = 0;
    trialSummaries.forEach((s, t) => {
      const a = s.metrics[key[cfg.selection]], b = trialSummaries[best]!.metrics[key[cfg.selection]];
      if (Number.isFinite(a) && (!Number.isFinite(b) || a > b)) best = t;
    });
    const sel = trialSummaries[best]!;
    const selParams = trials[best]!;

    // ---- walk-forward reference (selected trial), path 0 ----
    const wfScore = new Float32Array(panel.n).fill(NaN);
    const wfProb = new Float32Array(panel.n).fill(NaN);
    const wfLoss = new Float32Array(panel.n).fill(NaN);
    const wfRows: FoldResult[] = [];
    const wfSplitOfRow = new Int32Array(panel.n);
    for (const fold of wfFolds) {
      const sc = new Float32Array(panel.n).fill(NaN);
      const ls = new Float32Array(panel.n).fill(NaN);
      let rowsSeen: number[] = [];
      const res = await runFold({
        ctx, panel, cfg, codec, groups, split: fold, trials: [selParams], onFitDone,
        sink: (_t, rows, pred) => {
          rowsSeen = rows;
          for (let r = 0; r < rows.length; r++) {
            const i = rows[r]!;
            sc[i] = wfScore[i] = codec.score(pred, r * codec.width);
            if (losses) ls[i] = wfLoss[i] = codec.loss(pred, r * codec.width, i);
            if (codec.probUp) wfProb[i] = codec.probUp(pred, r * codec.width);
            wfSplitOfRow[i] = fold.split;
          }
        },
      });
      const m = foldMetrics(panel, codec, rowsSeen, sc, losses ? ls : null);
      const pt = res.perTrial[0]!;
      wfRows.push({
        split: fold.split, test_groups: fold.testGroups, n_train: res.masks.nTrain, n_fit: res.nFit, n_valid: res.nValid, n_test: res.masks.nTest,
        n_purged: res.masks.nPurged, n_embargoed: res.masks.nEmbargoed, best_iteration: pt.best, rounds: pt.rounds, valid_metric: pt.metric,
        valid_score: pt.score, ic: m.ic.ic, rank_ic: m.ic.rank_ic, icir: m.ic.icir, logloss: m.logloss, auc: m.auc,
      });
    }
    const wfDaily = dailyIc(panel.blocks, wfScore, panel.label);
    const wfSummary = summarizeIc(wfDaily.ic, wfDaily.rankIc);

    // ---- final refit on all data (selected trial, median best rounds) ----
    const nRounds = sel.metrics.median_best_iteration + 1;
    const allRows = strided(panel, Array.from({ length: panel.n }, (_, i) => i), cfg.sampling.date_stride);
    const dAll = buildDMatrix(panel, allRows, codec.target, decayWeights(panel, allRows, cfg.sampling.half_life_days), String(cfg.xgboost.params.objective).startsWith('rank:'));
    let modelJson: Uint8Array;
    let insample: Float32Array;
    let parity: { maxAbsDiff: number; rows: number };
    let onnxBytes: Uint8Array;
    try {
      const res = await trainBooster({ params: selParams, dtrain: dAll, numRounds: nRounds, signal: ctx.signal });
      try {
        modelJson = res.booster.saveModel('json');
        const full = buildDMatrix(panel, Array.from({ length: panel.n }, (_, i) => i), null, null);
        let pred: Float32Array;
        try {
          pred = res.booster.predict(full).values;
        } finally {
          full.free();
        }
        insample = new Float32Array(panel.n);
        for (let i = 0; i < panel.n; i++) insample[i] = codec.score(pred, i * codec.width);
        onnxBytes = xgboostToOnnx(JSON.parse(Buffer.from(modelJson).toString('utf8')) as XgbModelJson, {
          featureNames,
          classScore: codec.classScore,
          metadata: { sleeve: w.sleeve, trial_id: sel.trial_id, task: cfg.task },
        });
        parity = await onnxParity(onnxBytes, panel, pred, codec.width);
      } finally {
        res.booster.free();
      }
    } finally {
      dAll.free();
    }
    onFitDone();
    if (!(parity.maxAbsDiff <= 1e-4)) {
      throw new StepError({ message: `ONNX export does not reproduce XGBoost: max |Δ| = ${parity.maxAbsDiff} on ${parity.rows} rows (tolerance 1e-4)`, type: 'OnnxParityError', nonRetryable: true });
    }
    const insDaily = dailyIc(panel.blocks, insample, panel.label);
    const insSummary = summarizeIc(insDaily.ic, insDaily.rankIc);

    // ---- leakage check ----
    const featureIc: Record<string, number> = {};
    const col = new Float32Array(panel.n);
    for (let j = 0; j < panel.nFeatures; j++) {
      await yieldToEventLoop();
      for (let i = 0; i < panel.n; i++) col[i] = panel.X[i * panel.nFeatures + j]!;
      featureIc[featureNames[j]!] = summarizeIc(new Float64Array(0), dailyIc(panel.blocks, col, panel.label).rankIc).rank_ic;
    }
    const leakage: LeakageReport = checkLeakage(sel.metrics.mean_rank_ic, featureIc, cfg.leakage);
    if (leakage.suspicious) {
      const msg = `fit.cpcv sleeve ${w.sleeve}: suspected look-ahead leakage — ${leakage.reasons.join('; ')}. Check the feature definitions and the labels' t1.`;
      if (cfg.leakage.action === 'fail') throw new StepError({ message: msg, type: 'LeakageSuspected', nonRetryable: true, details: { leakage, feature_rank_ic: featureIc } });
      ctx.log.warn({ leakage }, msg);
    }

    // ---- artifacts ----
    ctx.progress({ fraction: 0.99, message: 'writing artifacts' });
    const rowId = new Int32Array(panel.n * phi), pathCol = new Int32Array(panel.n * phi), splitCol = new Int32Array(panel.n * phi), grpCol = new Int32Array(panel.n * phi);
    const predCol = new Float64Array(panel.n * phi);
    const probCol = probs ? new Float64Array(panel.n * phi) : null;
    let m = 0;
    for (let p = 0; p < phi; p++) {
      const sc = scores[best]![p]!;
      for (let i = 0; i < panel.n; i++) {
        rowId[m] = i;
        pathCol[m] = p + 1;
        grpCol[m] = groupOfRow[i]!;
        splitCol[m] = table[groupOfRow[i]! - 1]![p]!;
        predCol[m] = sc[i]!;
        if (probCol) probCol[m] = probs![best]![p]![i]!;
        m++;
      }
    }
    await appendColumns(con, 'oof_rows', [
      { name: 'row_id', type: 'INTEGER', values: rowId },
      { name: 'path', type: 'INTEGER', values: pathCol },
      { name: 'split', type: 'INTEGER', values: splitCol },
      { name: 'test_group', type: 'INTEGER', values: grpCol },
      { name: 'pred', type: 'DOUBLE', values: predCol },
      ...(probCol ? [{ name: 'prob_up', type: 'DOUBLE' as const, values: probCol }] : []),
    ]);
    const oofPath = ctx.artifacts.tempPath('oof.parquet');
    const probSel = probCol ? ', o.prob_up' : '';
    await con.run(`COPY (SELECT p.date, p.symbol, o.path, o.split, o.test_group, o.pred, p.label, p.ret, p.t1${probSel}
      FROM oof_rows o JOIN panel p USING (row_id) ORDER BY o.path, p.date, p.symbol) TO ${sqlString(oofPath)} (FORMAT parquet)`);
    const oof = await ctx.artifacts.putFile(oofPath);
    ctx.progress({ fraction: 0.995, message: 'writing walk-forward OOF, ledger, model' });

    const wfIdx: number[] = [];
    for (let i = 0; i < panel.n; i++) if (!Number.isNaN(wfScore[i]!)) wfIdx.push(i);
    await appendColumns(con, 'wf_rows', [
      { name: 'row_id', type: 'INTEGER', values: wfIdx },
      { name: 'split', type: 'INTEGER', values: wfIdx.map((i) => wfSplitOfRow[i]!) },
      { name: 'test_group', type: 'INTEGER', values: wfIdx.map((i) => groupOfRow[i]!) },
      { name: 'pred', type: 'DOUBLE', values: wfIdx.map((i) => wfScore[i]!) },
      ...(probCol ? [{ name: 'prob_up', type: 'DOUBLE' as const, values: wfIdx.map((i) => wfProb[i]!) }] : []),
    ]);
    const wfPath = ctx.artifacts.tempPath('oof_walk_forward.parquet');
    await con.run(`COPY (SELECT p.date, p.symbol, 0::INTEGER AS path, o.split, o.test_group, o.pred, p.label, p.ret, p.t1${probSel}
      FROM wf_rows o JOIN panel p USING (row_id) ORDER BY p.date, p.symbol) TO ${sqlString(wfPath)} (FORMAT parquet)`);
    const oofWalkForward = await ctx.artifacts.putFile(wfPath);

    const trIds: string[] = [], trDates: number[] = [], trRet: number[] = [];
    for (const s of trialSummaries) for (let d = 0; d < nDates; d++) if (Number.isFinite(s.stream[d]!)) {
      trIds.push(s.trial_id);
      trDates.push(panel.uniqueDates[d]!);
      trRet.push(s.stream[d]!);
    }
    await appendColumns(con, 'trial_rows', [
      { name: 'trial_id', type: 'VARCHAR', values: trIds },
      { name: 'day', type: 'INTEGER', values: trDates },
      { name: 'ret', type: 'DOUBLE', values: trRet },
    ]);
    const trPath = ctx.artifacts.tempPath('trial_returns.parquet');
    await con.run(`COPY (SELECT trial_id, (DATE '1970-01-01' + day) AS date, ret FROM trial_rows ORDER BY trial_id, date) TO ${sqlString(trPath)} (FORMAT parquet)`);
    const trialReturns = await ctx.artifacts.putFile(trPath);

    const toIso = (day: number): string => new Date(day * 86_400_000).toISOString().slice(0, 10);
    const clean = (o: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(Object.entries(o).map(([kk, v]) => [kk, typeof v === 'number' ? round6(v) : v]));
    const ledger = {
      sleeve: w.sleeve,
      n_trials: trials.length,
      selection: cfg.selection,
      selected_trial: sel.trial_id,
      stream: 'daily return of a dollar-neutral rank-weighted long/short portfolio on the trial OOF scores (gross 1), realised ret / label length in trading days, averaged over the CPCV paths',
      trials: trialSummaries.map((s, t) => ({
        trial_id: s.trial_id,
        params: s.params,
        metrics: clean(s.metrics),
        splits: splitRows[t]!.map((r) => clean(r as unknown as Record<string, unknown>)),
      })),
    };
    const trialLedger = await ctx.artifacts.putJson(ledger, 'trial_ledger.json');

    let registry: unknown = null;
    const regRef = refSchema.safeParse(features.outputs.registry);
    if (regRef.success && ctx.artifacts.has(regRef.data)) registry = ctx.artifacts.readJson(regRef.data);
    const featureList = await ctx.artifacts.putJson(
      {
        feature_names: featureNames,
        features_step: features.id,
        registry_digest: typeof features.outputs.registry_digest === 'string' ? features.outputs.registry_digest : null,
        registry_uri: regRef.success ? regRef.data.uri : null,
        registry,
      },
      'feature_list.json',
    );
    const trainingConfigDoc = { sleeve: w.sleeve, config_file: w.config, config: cfg, selected_params: selParams, final_rounds: nRounds, labels_kind: labels.uses, xgboost_version: api.version };
    const trainingConfig = await ctx.artifacts.putJson(trainingConfigDoc, 'training_config.json');
    const model = await ctx.artifacts.putBytes(onnxBytes, `${cfg.model}_${w.sleeve}.onnx`, 'application/onnx');
    const modelXgb = await ctx.artifacts.putBytes(modelJson, `${cfg.model}_${w.sleeve}.xgb.json`, 'application/json');

    const selPaths = sel.perPath.map(({ ls, ...rest }) => ({ ...clean(rest as Record<string, unknown>), sharpe: round6(annualizedSharpe(ls)) }));
    const metricsDoc = {
      sleeve: w.sleeve,
      task: cfg.task,
      selected_trial: sel.trial_id,
      aggregate: clean({ ...sel.metrics }),
      per_split: splitRows[best]!.map((r) => clean(r as unknown as Record<string, unknown>)),
      per_path: selPaths,
      walk_forward: { ...clean({ ...wfSummary }), folds: wfRows.map((r) => clean(r as unknown as Record<string, unknown>)) },
      insample: clean({ ...insSummary }),
      feature_rank_ic: clean(featureIc),
      leakage,
      calibration: probs && codec.positive ? reliability(probs[best]!, codec.positive, 10) : null,
      onnx_parity: { max_abs_diff: parity.maxAbsDiff, rows: parity.rows },
      cv: {
        n_groups: N, n_test_groups: k, embargo_days: cfg.cv.embargo_days, n_splits: splits.length, n_paths: phi,
        groups: groups.map((g) => ({ group: g.group, first_date: toIso(panel.uniqueDates[g.firstIdx]!), last_date: toIso(panel.uniqueDates[g.lastIdx]!), n_dates: g.lastIdx - g.firstIdx + 1 })),
        path_table: table,
        splits: cvLayout,
      },
      rows: panel.n,
      dates: nDates,
      wall_s: round6((performance.now() - t0) / 1000),
    };
    const metrics = await ctx.artifacts.putJson(metricsDoc, 'metrics.json');
    ctx.progress({ fraction: 1, message: `done: rank IC ${sel.metrics.mean_rank_ic.toFixed(4)}` });
    const num = (x: number): number | null => (Number.isFinite(x) ? x : null);
    return {
      oof,
      oof_walk_forward: oofWalkForward,
      trial_ledger: trialLedger,
      trial_returns: trialReturns,
      model,
      model_xgb: modelXgb,
      feature_list: featureList,
      training_config: trainingConfig,
      training_config_digest: digestJson(trainingConfigDoc),
      metrics,
      sleeve: w.sleeve,
      task: cfg.task,
      labels_kind: labels.uses,
      n_rows: panel.n,
      n_features: panel.nFeatures,
      feature_names: featureNames,
      n_splits: splits.length,
      n_paths: phi,
      n_trials: trials.length,
      selected_trial: sel.trial_id,
      mean_ic: num(sel.metrics.mean_ic),
      mean_rank_ic: num(sel.metrics.mean_rank_ic),
      icir: num(sel.metrics.icir),
      sharpe: num(sel.metrics.sharpe),
      walk_forward_rank_ic: num(wfSummary.rank_ic),
      insample_rank_ic: num(insSummary.rank_ic),
      onnx_parity_max_abs_diff: parity.maxAbsDiff,
      leakage_suspect: leakage.suspicious,
    };
  });
}

/** Max |ONNX − XGBoost| over (up to) 5,000 evenly spaced panel rows, on every prediction column. */
async function onnxParity(onnx: Uint8Array, panel: Panel, xgbPred: Float32Array, width: number): Promise<{ maxAbsDiff: number; rows: number }> {
  const F = panel.nFeatures;
  const take = Math.min(5000, panel.n);
  const step = panel.n / take;
  const rows = Array.from({ length: take }, (_, r) => Math.floor(r * step));
  const x = new Float32Array(take * F);
  rows.forEach((i, r) => x.set(panel.X.subarray(i * F, i * F + F), r * F));
  const scorer = await openOnnxScorer(onnx);
  try {
    const out = await scorer.run(x, take, F);
    const y = out.Y!;
    let max = 0;
    rows.forEach((i, r) => {
      for (let c = 0; c < width; c++) max = Math.max(max, Math.abs(y[r * width + c]! - xgbPred[i * width + c]!));
    });
    return { maxAbsDiff: max, rows: take };
  } finally {
    await scorer.release();
  }
}

/** Reliability diagram of P(most bullish class) over all paths: equal-width bins of the predicted probability. */
function reliability(probPaths: Float32Array[], positive: Uint8Array, bins: number): { bin: number; lo: number; hi: number; mean_pred: number | null; frac_pos: number | null; count: number }[] {
  const sp = new Float64Array(bins), sy = new Float64Array(bins), c = new Float64Array(bins);
  for (const pr of probPaths) {
    for (let i = 0; i < pr.length; i++) {
      const p = pr[i]!;
      if (Number.isNaN(p)) continue;
      const b = Math.min(bins - 1, Math.floor(p * bins));
      sp[b] += p;
      sy[b] += positive[i]!;
      c[b]++;
    }
  }
  return Array.from({ length: bins }, (_, b) => ({ bin: b + 1, lo: b / bins, hi: (b + 1) / bins, mean_pred: c[b] ? round6(sp[b]! / c[b]!) : null, frac_pos: c[b] ? round6(sy[b]! / c[b]!) : null, count: c[b]! }));
}
