/**
 * The learner interface the CPCV protocol (cv/) trains through: one implementation per model
 * family (XGBoost, LightGBM, ridge, …). A learner turns a dense row-major training matrix into a
 * fitted model that predicts, exports ONNX and serialises its native form. The protocol (splits,
 * purging, embargo, trials, selection, walk-forward, refit, leakage check, OOF writer) never
 * depends on which learner it drives.
 */

/** Hyper-parameters as the learner's native API names them (e.g. `max_depth`, `num_leaves`). */
export type LearnerParams = Record<string, string | number | boolean>;

/** A dense row-major design matrix with its targets. */
export interface TrainingSet {
  /** Row-major features, `nRows × nFeatures` (NaN = missing). */
  X: Float32Array;
  nRows: number;
  nFeatures: number;
  /** Training target per row: a regression value, or a class index 0..K−1 for classifiers. */
  y: Float32Array;
  /** Optional per-row sample weights (e.g. time-decay weights). */
  weight?: Float32Array;
  /**
   * Optional query groups for ranking objectives: sizes of consecutive row blocks (one per date),
   * summing to nRows. With groups, `weight` is per group (one weight per block).
   */
  groups?: Uint32Array;
}

/** What a fit is told besides the data. */
export interface FitOptions {
  params: LearnerParams;
  /** Maximum boosting rounds / iterations. */
  numRounds: number;
  /** Time-ordered validation tail for early stopping (optional). */
  valid?: TrainingSet;
  /** Stop after this many rounds without improvement on `valid` (null/undefined = no early stopping). */
  earlyStoppingRounds?: number | null;
  /** Aborts training (the returned promise rejects). */
  signal?: AbortSignal;
  /** Called after each round with the validation score when evaluated (progress, curves). */
  onRound?(round: number, score: number | undefined): void;
  /**
   * Keeps the native data a learner builds from `train` and `valid` for later fits of the same sets
   * (the trials of one CPCV fold): XGBoost's DMatrix then keeps its histogram index, LightGBM's
   * Dataset its bins. The caller frees it when the sets are done.
   */
  reuse?: NativeDataCache;
}

/**
 * Native training data shared by several fits of the same TrainingSet objects (one CPCV fold's
 * trials). A learner stores what it built under a key naming the set's role and every parameter
 * the native data depends on; the cache holds each entry's set and refuses another set under the
 * same key (a caller's mistake that would train on the wrong rows). {@link free} releases them all.
 */
export class NativeDataCache {
  private readonly entries = new Map<string, { set: TrainingSet; value: unknown; free(): void }>();

  /**
   * The value stored under `key` for `set`, built by `make` on first use. Throws an Error when `key`
   * holds the data of another TrainingSet object.
   */
  get<T>(key: string, set: TrainingSet, make: () => T, free: (value: T) => void): T {
    const e = this.entries.get(key);
    if (e) {
      if (e.set !== set) throw new Error(`NativeDataCache: "${key}" holds the native data of another training set; use one cache per fold`);
      return e.value as T;
    }
    const value = make();
    this.entries.set(key, { set, value, free: () => free(value) });
    return value;
  }

  /** Frees every entry (in reverse order of creation: a validation set built on its training set goes first). */
  free(): void {
    const list = [...this.entries.values()].reverse();
    this.entries.clear();
    for (const e of list) e.free();
  }
}

/** Extra ONNX export settings. */
export interface OnnxExportOptions {
  /** Per-class weights of the `score` output (classifiers): score = Σ_k classScore[k]·P(k). */
  classScore?: number[];
  /** Model metadata properties (feature set version, sleeve, …). */
  metadata?: Record<string, string>;
}

/** A trained model. The caller owns it and must call {@link FittedModel.free}. */
export interface FittedModel {
  /** Prediction columns per row (1 for regression/binary, K for a K-class softprob). */
  readonly width: number;
  /** 0-based best round (the last round without early stopping). */
  readonly bestIteration: number;
  /** Rounds actually trained. */
  readonly rounds: number;
  /** Name of the validation metric used for early stopping (e.g. `valid-rmse`), null without one. */
  readonly validMetric: string | null;
  /** Best validation score, null without validation. */
  readonly validScore: number | null;
  /**
   * Predictions for `nRows` rows of row-major `X` (`nRows × nFeatures`), `nRows × width` values,
   * using the rounds up to and including the best iteration.
   */
  predict(X: Float32Array, nRows: number): Float32Array;
  /** The native model serialised (XGBoost UBJSON/JSON, LightGBM text model, …). */
  save(): Uint8Array;
  /**
   * The model as an ONNX ModelProto (input `X` float[N, F] in `featureNames` order; outputs `Y`, and
   * `score` float[N, 1] = Σ_k classScore[k]·P(k) when `classScore` is given; see models/onnx/).
   */
  toOnnx(featureNames: string[], opts?: OnnxExportOptions): Uint8Array;
  /** Releases native resources; further calls throw. */
  free(): void;
}

/** A model family the CPCV protocol can train. */
export interface Learner {
  /** Engine name as `fit.cpcv`'s `with.engine` selects it (e.g. `xgboost`, `lightgbm`). */
  readonly name: string;
  /** Trains one model. Deterministic for the same data, params (seed included) and library build. */
  fit(train: TrainingSet, opts: FitOptions): Promise<FittedModel>;
}
