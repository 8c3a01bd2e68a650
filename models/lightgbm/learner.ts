/**
 * The LightGBM learner (engine `lightgbm`) on the learner interface (models/learner.ts), over the C API
 * binding (models/lightgbm/binding.ts).
 *
 * - Objectives: regression (and its robust variants), binary, multiclass (softprob: `num_class`
 *   probabilities per row), lambdarank / rank_xendcg with query groups (TrainingSet.groups).
 * - Early stopping on the time-ordered validation tail (FitOptions.valid), on LightGBM's first
 *   metric (`metric` param; default per objective: l2, binary_logloss, multi_logloss, ndcg@1 …);
 *   higher is better for auc/ndcg/map/average_precision, lower otherwise (LightGBM's own rule).
 * - Per-row sample weights (time decay); with groups, one weight per group, given to its rows.
 * - Deterministic: {@link LIGHTGBM_DEFAULTS} fix deterministic=true, seed, num_threads and
 *   force_row_wise (the params may override each). Same data + params + library → same model bytes.
 * - After training, the model of iterations 0..bestIteration is saved to LightGBM's text format and
 *   reloaded (as lightgbm.train does without keep_training_booster), so the fitted model owns no
 *   Dataset and predict/save/toOnnx all use exactly the best iteration.
 * - Rounds yield to the event loop: fast rounds run synchronously followed by a setImmediate, slow
 *   ones (> syncRoundBudgetMs) on koffi's worker thread.
 */
import { StepError } from '../../lib/errors.ts';
import { SYNC_ROUND_BUDGET_MS } from '../openmp.ts';
import { NativeDataCache, type OnnxExportOptions, type FitOptions, type FittedModel, type Learner, type TrainingSet } from '../learner.ts';
import { lightgbmToOnnx, type LgbmModelJson } from '../onnx/lightgbm.ts';
import { LgbmBooster, LgbmDataset, LightGBMError, type LgbmParams } from './binding.ts';

/** Defaults merged under the caller's params (the caller's values win). */
export const LIGHTGBM_DEFAULTS: Readonly<LgbmParams> = {
  deterministic: true,
  force_row_wise: true,
  num_threads: 2,
  seed: 0,
  verbosity: -1,
};

/**
 * Params that only steer the booster (objective, tree shape, regularisation, sampling, threads), never
 * how a Dataset bins its rows. Every other param is part of a shared Dataset's key
 * ({@link datasetKey}): max_bin, min_data_in_bin, bin_construct_sample_cnt, seed/data_random_seed,
 * feature_pre_filter with min_data_in_leaf and min_sum_hessian_in_leaf, use_missing, linear_tree, ….
 */
const BOOSTER_ONLY = new Set([
  'objective', 'metric', 'learning_rate', 'eta', 'num_leaves', 'max_depth', 'lambda_l1', 'lambda_l2', 'reg_alpha', 'reg_lambda',
  'min_gain_to_split', 'bagging_fraction', 'subsample', 'bagging_freq', 'subsample_freq', 'feature_fraction', 'colsample_bytree',
  'feature_fraction_bynode', 'extra_trees', 'path_smooth', 'max_delta_step', 'num_threads', 'nthread', 'deterministic',
  'force_row_wise', 'force_col_wise', 'verbosity', 'verbose', 'num_class', 'is_unbalance', 'scale_pos_weight', 'sigmoid',
  'alpha', 'huber_delta', 'fair_c', 'label_gain', 'lambdarank_truncation_level', 'eval_at', 'first_metric_only',
]);

/** The params a Dataset built with them depends on, as a canonical string (sorted key=value). */
export function datasetKey(params: LgbmParams): string {
  return Object.keys(params).filter((k) => !BOOSTER_ONLY.has(k)).sort().map((k) => `${k}=${String(params[k])}`).join(' ');
}

/** LightGBM metrics where larger is better (python-package `_is_higher_better`). */
const HIGHER_IS_BETTER = /^(auc|ndcg|map|average_precision|auc_mu)(@|$)/;

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Checks a TrainingSet's shapes; throws LightGBMError naming the mismatch. */
function checkSet(s: TrainingSet, what: string): void {
  if (s.X.length !== s.nRows * s.nFeatures) throw new LightGBMError(`${what}: X has ${s.X.length} values, expected ${s.nRows}×${s.nFeatures}`);
  if (s.y.length !== s.nRows) throw new LightGBMError(`${what}: y has ${s.y.length} values for ${s.nRows} rows`);
  const wantW = s.groups ? s.groups.length : s.nRows;
  if (s.weight && s.weight.length !== wantW) throw new LightGBMError(`${what}: weight has ${s.weight.length} values, expected ${wantW} (${s.groups ? 'one per group' : 'one per row'})`);
}

/** Builds a Dataset with label, weight (per-group weights spread to their rows) and groups. */
function makeDataset(s: TrainingSet, params: LgbmParams, reference?: LgbmDataset): LgbmDataset {
  const d = new LgbmDataset(s.X, s.nRows, s.nFeatures, params, reference);
  try {
    d.setFloatField('label', s.y);
    if (s.groups) d.setGroups(s.groups);
    if (s.weight && s.groups) {
      const w = new Float32Array(s.nRows);
      let off = 0;
      s.groups.forEach((size, g) => {
        w.fill(s.weight![g]!, off, off + size);
        off += size;
      });
      d.setFloatField('weight', w);
    } else if (s.weight) d.setFloatField('weight', s.weight);
  } catch (e) {
    d.free();
    throw e;
  }
  return d;
}

/** The caller's params over the defaults; an explicit force_col_wise turns the default force_row_wise off. */
export function lightgbmParams(user: LgbmParams): LgbmParams {
  const p: LgbmParams = { ...LIGHTGBM_DEFAULTS, ...user };
  if (user.force_col_wise === true && user.force_row_wise === undefined) p.force_row_wise = false;
  return p;
}

/** A trained LightGBM model (iterations 0..bestIteration), owning one booster loaded from its text model. */
export class LightgbmModel implements FittedModel {
  readonly width: number;

  constructor(
    private readonly booster: LgbmBooster,
    private readonly text: string,
    readonly nFeatures: number,
    readonly bestIteration: number,
    readonly rounds: number,
    readonly validMetric: string | null,
    readonly validScore: number | null,
    private readonly numThreads: number,
  ) {
    this.width = booster.numClasses();
  }

  /** `nRows × width` predictions (probabilities for binary/multiclass) of row-major `X`. */
  predict(X: Float32Array, nRows: number): Float32Array {
    return Float32Array.from(this.booster.predict(X, nRows, this.nFeatures, { params: { num_threads: this.numThreads } }));
  }

  /** LightGBM's text model (UTF-8) of iterations 0..bestIteration. */
  save(): Uint8Array {
    this.booster.live();
    return new TextEncoder().encode(this.text);
  }

  /** ONNX TreeEnsemble export (models/onnx/lightgbm.ts) with input `X` float[N, F]. */
  toOnnx(featureNames: string[], opts: OnnxExportOptions = {}): Uint8Array {
    return lightgbmToOnnx(JSON.parse(this.booster.dumpModel()) as LgbmModelJson, { featureNames, ...opts });
  }

  /** LightGBM's JSON dump of the model (trees, objective, feature infos). */
  dump(): string {
    return this.booster.dumpModel();
  }

  free(): void {
    this.booster.free();
  }
}

/** Options of the learner itself (not of one fit). */
export interface LightgbmLearnerOptions {
  /**
   * Rounds run synchronously with a yield after each while a round takes less than this many ms
   * (default SYNC_ROUND_BUDGET_MS, models/openmp.ts); then the remaining rounds run on koffi's worker
   * thread. 0 = always the worker.
   */
  syncRoundBudgetMs?: number;
}

/** Runs the boosting loop; returns the rounds trained and the best iteration/score. */
async function boost(booster: LgbmBooster, opts: FitOptions, metric: string | null, nMetrics: number, syncBudget: number): Promise<{ rounds: number; best: number; bestScore: number | null }> {
  const higher = metric !== null && HIGHER_IS_BETTER.test(metric);
  let best = 0;
  let bestScore: number | null = null;
  let offload = syncBudget === 0;
  for (let iter = 0; iter < opts.numRounds; iter++) {
    if (opts.signal?.aborted) throw new StepError({ message: 'training cancelled (run cancelled or attempt timed out)', type: 'Cancelled', nonRetryable: true });
    let finished: boolean;
    if (iter === 0 || !offload) {
      const t = performance.now();
      finished = booster.updateOneIter();
      if (iter > 0 && performance.now() - t > syncBudget) offload = true;
      await yieldToEventLoop();
    } else {
      finished = await booster.updateOneIterAsync();
    }
    // a round that cannot split any more is dropped by LightGBM: training is over
    if (finished && iter > 0) break;
    let score: number | undefined;
    if (metric !== null) {
      score = booster.getEval(1, nMetrics)[0]!;
      if (bestScore === null || (higher ? score > bestScore : score < bestScore)) {
        bestScore = score;
        best = iter;
      }
    } else best = iter;
    opts.onRound?.(iter, score);
    if (metric !== null && opts.earlyStoppingRounds && iter - best >= opts.earlyStoppingRounds) break;
    if (finished) break;
  }
  // a first round without any split keeps its constant tree but does not count as an iteration
  return { rounds: Math.max(booster.currentIteration(), best + 1), best, bestScore };
}

/** LightGBM on the learner interface. */
export class LightgbmLearner implements Learner {
  readonly name = 'lightgbm';

  constructor(private readonly o: LightgbmLearnerOptions = {}) {}

  /**
   * Trains one model. Throws LightGBMError with LightGBM's message for bad params or data (e.g.
   * `Unknown objective type name`, ranking without groups), StepError('Cancelled') on abort.
   */
  async fit(train: TrainingSet, opts: FitOptions): Promise<FittedModel> {
    checkSet(train, 'lightgbm train set');
    if (opts.valid) {
      checkSet(opts.valid, 'lightgbm validation set');
      if (opts.valid.nFeatures !== train.nFeatures) throw new LightGBMError(`lightgbm: validation set has ${opts.valid.nFeatures} features, training set ${train.nFeatures}`);
    }
    if (!(opts.numRounds >= 1)) throw new LightGBMError(`lightgbm: numRounds must be ≥ 1, got ${opts.numRounds}`);
    const params = lightgbmParams(opts.params);
    // a fit without a caller's cache gets one of its own, freed when it ends
    const cache = opts.reuse ?? new NativeDataCache();
    const key = datasetKey(params);
    let dvalid: LgbmDataset | undefined;
    let booster: LgbmBooster | undefined;
    try {
      const dtrain = cache.get(`lightgbm:train:${key}`, train, () => makeDataset(train, params), (d) => d.free());
      const v = opts.valid;
      if (v && v.nRows > 0) dvalid = cache.get(`lightgbm:valid:${key}`, v, () => makeDataset(v, params, dtrain), (d) => d.free());
      booster = LgbmBooster.create(dtrain, params);
      let metric: string | null = null;
      let nMetrics = 0;
      if (dvalid) {
        booster.addValidData(dvalid);
        const names = booster.evalNames();
        nMetrics = names.length;
        if (names.length) metric = names[0]!;
        else if (opts.earlyStoppingRounds) throw new LightGBMError('lightgbm: early stopping needs a validation metric, but params.metric yields none');
      }
      const r = await boost(booster, opts, metric, nMetrics, this.o.syncRoundBudgetMs ?? SYNC_ROUND_BUDGET_MS);
      const text = booster.saveModelToString(r.best + 1);
      const loaded = LgbmBooster.fromString(text);
      return new LightgbmModel(loaded, text, train.nFeatures, r.best, r.rounds, metric === null ? null : `valid-${metric}`, r.bestScore, Number(params.num_threads));
    } finally {
      booster?.free();
      if (!opts.reuse) cache.free();
    }
  }
}

/** The default LightGBM learner. */
export const lightgbmLearner = new LightgbmLearner();

/**
 * Integer relevance grades 0..nGrades−1 per query group from real-valued targets (LightGBM's
 * lambdarank needs integer labels): within each group, rows are ranked by `y` and split into
 * nGrades equal-count bins (ties share the lower bin). `groups` are consecutive group sizes.
 */
export function relevanceGrades(y: Float32Array, groups: Uint32Array, nGrades: number): Float32Array {
  if (!(nGrades >= 2 && nGrades <= 31)) throw new LightGBMError(`relevanceGrades: nGrades must be in 2..31 (LightGBM's default label_gain), got ${nGrades}`);
  const out = new Float32Array(y.length);
  let off = 0;
  for (const size of groups) {
    const idx = Array.from({ length: size }, (_, k) => off + k).sort((a, b) => y[a]! - y[b]! || a - b);
    let k = 0;
    while (k < size) {
      let j = k;
      while (j + 1 < size && y[idx[j + 1]!] === y[idx[k]!]) j++;
      const g = Math.min(nGrades - 1, Math.floor((k * nGrades) / size));
      for (let t = k; t <= j; t++) out[idx[t]!] = g;
      k = j + 1;
    }
    off += size;
  }
  if (off !== y.length) throw new LightGBMError(`relevanceGrades: group sizes sum to ${off}, expected ${y.length} rows`);
  return out;
}
