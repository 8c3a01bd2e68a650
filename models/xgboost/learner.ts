/**
 * The XGBoost learner (engine `xgboost`) on the learner interface (models/learner.ts): exactly what
 * `fit.cpcv` (cv/fold.ts, cv/dataset.ts) does with a booster — dense DMatrix of the rows with label and
 * per-row weights, or for `rank:*` objectives one query group per block with one weight per group;
 * a validation DMatrix (label, groups) for early stopping on the first eval metric; training with
 * models/xgboost/train.ts; predictions of rounds 0..bestIteration (`iteration_range`); ONNX export
 * via models/onnx/trees.ts. The libxgboost it binds is the process's (models/xgboost/binding.ts:
 * `debian` by default, `wheel` via useXGBoostLibrary / TRADEML_XGBOOST_LIB).
 */
import { NativeDataCache, type FitOptions, type FittedModel, type Learner, type TrainingSet } from '../learner.ts';
import { xgboostToOnnx, type XgbModelJson } from '../onnx/trees.ts';
import { type Booster, type BoosterParams, DMatrix, XGBoostError } from './binding.ts';
import { trainBooster } from './train.ts';

/** Checks a TrainingSet's shapes; throws XGBoostError naming the mismatch. */
function checkSet(s: TrainingSet, what: string): void {
  if (s.X.length !== s.nRows * s.nFeatures) throw new XGBoostError(`${what}: X has ${s.X.length} values, expected ${s.nRows}×${s.nFeatures}`);
  if (s.y.length !== s.nRows) throw new XGBoostError(`${what}: y has ${s.y.length} values for ${s.nRows} rows`);
  const wantW = s.groups ? s.groups.length : s.nRows;
  if (s.weight && s.weight.length !== wantW) throw new XGBoostError(`${what}: weight has ${s.weight.length} values, expected ${wantW} (${s.groups ? 'one per group' : 'one per row'})`);
}

/**
 * A DMatrix of a TrainingSet as cv/dataset.ts builds it: label, per-row weights without
 * groups; with groups (`rank:*`), the group sizes and one weight per group.
 */
export function trainingDMatrix(s: TrainingSet): DMatrix {
  const d = new DMatrix(s.X, s.nRows, s.nFeatures, { label: s.y, weight: s.groups ? undefined : s.weight });
  try {
    if (s.groups) {
      d.setGroups(s.groups);
      if (s.weight) d.setFloatInfo('weight', s.weight, true);
    }
  } catch (e) {
    d.free();
    throw e;
  }
  return d;
}

/** Prediction columns of an objective: num_class for multi:softprob, else 1. */
function widthOf(params: BoosterParams): number {
  return String(params.objective ?? '') === 'multi:softprob' ? Number(params.num_class) : 1;
}

/** A trained XGBoost booster; predictions, saved model and ONNX use rounds 0..bestIteration. */
export class XGBoostModel implements FittedModel {
  constructor(
    private readonly booster: Booster,
    readonly nFeatures: number,
    readonly width: number,
    readonly bestIteration: number,
    readonly rounds: number,
    readonly validMetric: string | null,
    readonly validScore: number | null,
  ) {}

  /** `nRows × width` predictions of row-major `X` (booster.predict with iterationEnd = bestIteration + 1). */
  predict(X: Float32Array, nRows: number): Float32Array {
    const d = new DMatrix(X, nRows, this.nFeatures);
    try {
      return this.booster.predict(d, { iterationEnd: this.bestIteration + 1 }).values;
    } finally {
      d.free();
    }
  }

  /** XGBoost's JSON model (rounds 0..bestIteration: sliced when early stopping left later rounds). */
  save(): Uint8Array {
    if (this.bestIteration + 1 >= this.rounds) return this.booster.saveModel('json');
    const s = this.booster.slice(0, this.bestIteration + 1);
    try {
      return s.saveModel('json');
    } finally {
      s.free();
    }
  }

  /**
   * ONNX export (models/onnx/trees.ts, input `X` float[N, F]) of rounds 0..bestIteration;
   * `classScore`/`metadata` as for xgboostToOnnx (fit.cpcv passes its class weights and sleeve).
   */
  toOnnx(featureNames: string[], extra: { classScore?: number[]; metadata?: Record<string, string> } = {}): Uint8Array {
    const json = JSON.parse(Buffer.from(this.booster.saveModel('json')).toString('utf8')) as XgbModelJson;
    return xgboostToOnnx(json, { featureNames, nRounds: this.bestIteration + 1, ...extra });
  }

  free(): void {
    this.booster.free();
  }
}

/** XGBoost on the learner interface. */
export class XGBoostLearner implements Learner {
  readonly name = 'xgboost';

  /** `syncRoundBudgetMs` as in trainBooster (rounds slower than this go to koffi's worker). */
  constructor(private readonly o: { syncRoundBudgetMs?: number } = {}) {}

  /** Trains one booster. Throws XGBoostError with libxgboost's message for bad params/data. */
  async fit(train: TrainingSet, opts: FitOptions): Promise<FittedModel> {
    checkSet(train, 'xgboost train set');
    if (opts.valid) checkSet(opts.valid, 'xgboost validation set');
    // a DMatrix holds no booster params (XGBoost rebuilds its histogram index when max_bin changes),
    // so one per set serves every trial
    // (a fit without a caller's cache gets one of its own, freed when it ends)
    const cache = opts.reuse ?? new NativeDataCache();
    const matrix = (s: TrainingSet, role: string): DMatrix => cache.get(`xgboost:${role}`, s, () => trainingDMatrix(s), (d) => d.free());
    try {
      const dtrain = matrix(train, 'train');
      const dvalid = opts.valid && opts.valid.nRows > 0 ? matrix(opts.valid, 'valid') : undefined;
      const res = await trainBooster({
        params: opts.params,
        dtrain,
        dvalid,
        numRounds: opts.numRounds,
        earlyStoppingRounds: opts.earlyStoppingRounds ?? undefined,
        signal: opts.signal,
        onRound: opts.onRound,
        syncRoundBudgetMs: this.o.syncRoundBudgetMs,
      });
      return new XGBoostModel(res.booster, train.nFeatures, widthOf(opts.params), res.bestIteration, res.rounds, res.metric, res.bestScore);
    } finally {
      if (!opts.reuse) cache.free();
    }
  }
}

/** The default XGBoost learner. */
export const xgboostLearner = new XGBoostLearner();
