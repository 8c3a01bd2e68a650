/**
 * Thin binding over LightGBM's stable C API (`lib_lightgbm.so`, include/LightGBM/c_api.h) through koffi.
 *
 * - Library location: env `TRADEML_LIGHTGBM_LIB` (a path), else `.native/py/lightgbm/lib/lib_lightgbm.so`
 *   in this checkout, installed from the pinned PyPI wheel by `bash scripts/native.sh`.
 * - OpenMP waits passively after a short spin (models/openmp.ts), set before the library loads.
 * - Every C call is checked; failures throw {@link LightGBMError} carrying `LGBM_GetLastError()`.
 * - Handles are owned by {@link LgbmDataset} / {@link LgbmBooster}: call `free()` (idempotent) in a
 *   `finally`; {@link liveLgbmHandles} counts them so tests can prove nothing leaks.
 * - `LgbmBooster.updateOneIterAsync` runs a boosting round on koffi's worker thread so the event
 *   loop stays free while trees grow.
 * Parameters are LightGBM's `key=value` pairs (see https://lightgbm.readthedocs.io/en/stable/Parameters.html).
 */
import koffi, { type LibraryHandle } from 'koffi';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { StepError } from '../../lib/errors.ts';
import { configureOpenMp } from '../openmp.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';

/** An error raised by lib_lightgbm (message from LGBM_GetLastError) or by loading the library. */
export class LightGBMError extends StepError {
  constructor(message: string, nonRetryable = true) {
    super({ message, type: 'LightGBMError', nonRetryable });
  }
}

type Fn = ReturnType<LibraryHandle['func']>;

const C_API_DTYPE_FLOAT32 = 0;
const C_API_DTYPE_INT32 = 2;
/** LightGBM prediction kinds (C_API_PREDICT_*). */
export const PredictType = { normal: 0, raw: 1 } as const;

const SIGNATURES = {
  LGBM_GetLastError: 'const char *LGBM_GetLastError()',
  LGBM_DatasetCreateFromMat:
    'int LGBM_DatasetCreateFromMat(const void *data, int data_type, int32_t nrow, int32_t ncol, int is_row_major, const char *parameters, LgbmDatasetHandle reference, _Out_ LgbmDatasetHandle *out)',
  LGBM_DatasetSetField: 'int LGBM_DatasetSetField(LgbmDatasetHandle handle, const char *field_name, const void *field_data, int num_element, int type)',
  LGBM_DatasetFree: 'int LGBM_DatasetFree(LgbmDatasetHandle handle)',
  LGBM_BoosterCreate: 'int LGBM_BoosterCreate(LgbmDatasetHandle train_data, const char *parameters, _Out_ LgbmBoosterHandle *out)',
  LGBM_BoosterLoadModelFromString: 'int LGBM_BoosterLoadModelFromString(const char *model_str, _Out_ int *out_num_iterations, _Out_ LgbmBoosterHandle *out)',
  LGBM_BoosterFree: 'int LGBM_BoosterFree(LgbmBoosterHandle handle)',
  LGBM_BoosterAddValidData: 'int LGBM_BoosterAddValidData(LgbmBoosterHandle handle, LgbmDatasetHandle valid_data)',
  LGBM_BoosterUpdateOneIter: 'int LGBM_BoosterUpdateOneIter(LgbmBoosterHandle handle, _Out_ int *produced_empty_tree)',
  LGBM_BoosterGetCurrentIteration: 'int LGBM_BoosterGetCurrentIteration(LgbmBoosterHandle handle, _Out_ int *out_iteration)',
  LGBM_BoosterGetNumClasses: 'int LGBM_BoosterGetNumClasses(LgbmBoosterHandle handle, _Out_ int *out_len)',
  LGBM_BoosterNumModelPerIteration: 'int LGBM_BoosterNumModelPerIteration(LgbmBoosterHandle handle, _Out_ int *out)',
  LGBM_BoosterGetEvalCounts: 'int LGBM_BoosterGetEvalCounts(LgbmBoosterHandle handle, _Out_ int *out_len)',
  LGBM_BoosterGetEvalNames:
    'int LGBM_BoosterGetEvalNames(LgbmBoosterHandle handle, int len, _Out_ int *out_len, size_t buffer_len, _Out_ size_t *out_buffer_len, void **out_strs)',
  LGBM_BoosterGetEval: 'int LGBM_BoosterGetEval(LgbmBoosterHandle handle, int data_idx, _Out_ int *out_len, double *out_results)',
  LGBM_BoosterCalcNumPredict:
    'int LGBM_BoosterCalcNumPredict(LgbmBoosterHandle handle, int num_row, int predict_type, int start_iteration, int num_iteration, _Out_ int64_t *out_len)',
  LGBM_BoosterPredictForMat:
    'int LGBM_BoosterPredictForMat(LgbmBoosterHandle handle, const void *data, int data_type, int32_t nrow, int32_t ncol, int is_row_major, int predict_type, int start_iteration, int num_iteration, const char *parameter, _Out_ int64_t *out_len, double *out_result)',
  LGBM_BoosterSaveModelToString:
    'int LGBM_BoosterSaveModelToString(LgbmBoosterHandle handle, int start_iteration, int num_iteration, int feature_importance_type, int64_t buffer_len, _Out_ int64_t *out_len, void *out_str)',
  LGBM_BoosterDumpModel:
    'int LGBM_BoosterDumpModel(LgbmBoosterHandle handle, int start_iteration, int num_iteration, int feature_importance_type, int64_t buffer_len, _Out_ int64_t *out_len, void *out_str)',
} as const;

type Api = { [K in keyof typeof SIGNATURES]: Fn } & { libPath: string };

let api: Api | undefined;
let typesDefined = false;

/** Where `bash scripts/native.sh` installs lib_lightgbm.so in this checkout. */
export const NATIVE_LIGHTGBM = path.join(PROJECT_ROOT, '.native', 'py', 'lightgbm', 'lib', 'lib_lightgbm.so');

/** The library path that will be loaded: TRADEML_LIGHTGBM_LIB, else the .native wheel's. */
export function lightgbmLibraryPath(): string {
  return process.env.TRADEML_LIGHTGBM_LIB || NATIVE_LIGHTGBM;
}

/**
 * Opens lib_lightgbm at `libPath`. Throws LightGBMError (non-retryable) naming the path and saying
 * to run `bash scripts/native.sh` when it does not load.
 */
export function openLightgbmLibrary(libPath: string): LibraryHandle {
  try {
    if (libPath.includes('/') && !existsSync(libPath)) throw new Error('no such file');
    return koffi.load(libPath);
  } catch (e) {
    throw new LightGBMError(
      `cannot load lib_lightgbm.so from ${libPath} (${(e as Error).message.split('\n')[0]}). ` +
        'Install it with `bash scripts/native.sh` (PyPI lightgbm wheel into .native/), or point TRADEML_LIGHTGBM_LIB at a lib_lightgbm.so.',
    );
  }
}

/**
 * Loads lib_lightgbm once per process ({@link lightgbmLibraryPath}) and binds the C functions.
 * Throws LightGBMError (non-retryable) when the library does not load (see {@link openLightgbmLibrary}).
 */
export function lightgbmApi(): Api {
  if (api) return api;
  configureOpenMp();
  const libPath = lightgbmLibraryPath();
  const lib = openLightgbmLibrary(libPath);
  if (!typesDefined) {
    koffi.pointer('LgbmDatasetHandle', koffi.opaque());
    koffi.pointer('LgbmBoosterHandle', koffi.opaque());
    typesDefined = true;
  }
  const bound = Object.fromEntries(Object.entries(SIGNATURES).map(([k, sig]) => [k, lib.func(sig)]));
  api = { ...(bound as { [K in keyof typeof SIGNATURES]: Fn }), libPath };
  return api;
}

/** Throws LightGBMError with lib_lightgbm's last error when `rc` ≠ 0. */
function check(rc: number, what: string): void {
  if (rc === 0) return;
  const msg = String(lightgbmApi().LGBM_GetLastError() ?? '').trim();
  throw new LightGBMError(`lightgbm ${what} failed: ${msg || `return code ${rc}`}`);
}

/** Live handle counts (Dataset, Booster): tests use them to prove that nothing leaks. */
export const liveLgbmHandles = { dataset: 0, booster: 0 };

/** LightGBM parameter map; values are stringified (booleans as true/false). */
export type LgbmParams = Record<string, string | number | boolean>;

/**
 * Formats params as LightGBM's `key1=value1 key2=value2` string, keys sorted (stable bytes).
 * Throws LightGBMError for a key or value containing whitespace or `=` (the format cannot carry it).
 */
export function formatParams(params: LgbmParams): string {
  return Object.keys(params)
    .sort()
    .map((k) => {
      const v = String(params[k]);
      if (!k || /[\s=]/.test(k) || /[\s=]/.test(v) || v === '') throw new LightGBMError(`lightgbm parameter ${JSON.stringify(k)}=${JSON.stringify(v)}: keys and values must be non-empty without spaces or '='`);
      return `${k}=${v}`;
    })
    .join(' ');
}

/**
 * A LightGBM Dataset from a dense row-major Float32Array (`nrow × ncol`, NaN = missing). Binning
 * happens here (LightGBM copies the data into its bins, so the array may be reused). A validation
 * set must pass the training set as `reference` so both share bin boundaries.
 */
export class LgbmDataset {
  handle: unknown;
  readonly nrow: number;
  readonly ncol: number;

  constructor(data: Float32Array, nrow: number, ncol: number, params: LgbmParams, reference?: LgbmDataset) {
    if (data.length !== nrow * ncol) throw new LightGBMError(`Dataset: data has ${data.length} values, expected nrow×ncol = ${nrow}×${ncol}`);
    if (nrow === 0 || ncol === 0) throw new LightGBMError(`Dataset: empty matrix (${nrow}×${ncol})`);
    const out = [null as unknown];
    check(
      lightgbmApi().LGBM_DatasetCreateFromMat(data, C_API_DTYPE_FLOAT32, nrow, ncol, 1, formatParams(params), reference ? reference.live() : null, out),
      'LGBM_DatasetCreateFromMat',
    );
    this.handle = out[0];
    liveLgbmHandles.dataset++;
    this.nrow = nrow;
    this.ncol = ncol;
  }

  /** Sets `label` or `weight` (float32, one value per row). */
  setFloatField(field: 'label' | 'weight', values: Float32Array): void {
    if (values.length !== this.nrow) throw new LightGBMError(`Dataset.${field}: ${values.length} values for ${this.nrow} rows`);
    check(lightgbmApi().LGBM_DatasetSetField(this.live(), field, values, values.length, C_API_DTYPE_FLOAT32), `LGBM_DatasetSetField(${field})`);
  }

  /** Query groups for ranking objectives: consecutive group sizes summing to nrow. */
  setGroups(sizes: Uint32Array): void {
    let total = 0;
    for (const s of sizes) total += s;
    if (total !== this.nrow) throw new LightGBMError(`Dataset.group: group sizes sum to ${total}, expected ${this.nrow} rows`);
    const g = Int32Array.from(sizes);
    check(lightgbmApi().LGBM_DatasetSetField(this.live(), 'group', g, g.length, C_API_DTYPE_INT32), 'LGBM_DatasetSetField(group)');
  }

  live(): unknown {
    if (this.handle === null) throw new LightGBMError('Dataset used after free()');
    return this.handle;
  }

  /** Releases the native dataset; safe to call twice. Free boosters trained on it first. */
  free(): void {
    if (this.handle === null) return;
    const h = this.handle;
    this.handle = null;
    liveLgbmHandles.dataset--;
    check(lightgbmApi().LGBM_DatasetFree(h), 'LGBM_DatasetFree');
  }
}

/** Reads a string produced by a LightGBM `(buffer_len, out_len, out_str)` call, growing the buffer once. */
function readString(call: (len: number, outLen: unknown[], buf: Buffer) => number, what: string): string {
  let buf = Buffer.alloc(1 << 20);
  const outLen = [0n as unknown];
  check(call(buf.length, outLen, buf), what);
  const n = Number(outLen[0]);
  if (n > buf.length) {
    buf = Buffer.alloc(n);
    check(call(buf.length, outLen, buf), what);
  }
  // out_len counts the terminating NUL
  return buf.toString('utf8', 0, Math.max(0, n - 1));
}

/** A LightGBM booster (GBDT). Keeps its datasets alive by reference only: free them after it. */
export class LgbmBooster {
  handle: unknown;

  private constructor(handle: unknown) {
    this.handle = handle;
    liveLgbmHandles.booster++;
  }

  /** Creates a booster on `train` with `params` (LightGBM validates them here). */
  static create(train: LgbmDataset, params: LgbmParams): LgbmBooster {
    const out = [null as unknown];
    check(lightgbmApi().LGBM_BoosterCreate(train.live(), formatParams(params), out), 'LGBM_BoosterCreate');
    return new LgbmBooster(out[0]);
  }

  /** Loads a booster from LightGBM's text model (as written by {@link saveModelToString}). */
  static fromString(model: string): LgbmBooster {
    const iters = [0], out = [null as unknown];
    check(lightgbmApi().LGBM_BoosterLoadModelFromString(model, iters, out), 'LGBM_BoosterLoadModelFromString');
    return new LgbmBooster(out[0]);
  }

  /** Adds a validation set (built with the training set as reference); evaluated every round. */
  addValidData(valid: LgbmDataset): void {
    check(lightgbmApi().LGBM_BoosterAddValidData(this.live(), valid.live()), 'LGBM_BoosterAddValidData');
  }

  /** One boosting round, synchronously. Returns true when the round could not split any more (training finished). */
  updateOneIter(): boolean {
    const fin = [0];
    check(lightgbmApi().LGBM_BoosterUpdateOneIter(this.live(), fin), 'LGBM_BoosterUpdateOneIter');
    return fin[0] === 1;
  }

  /**
   * One boosting round on koffi's worker thread (event loop free meanwhile). LGBM_GetLastError is
   * thread-local, so a failure is reported with the return code and a hint to rerun synchronously.
   */
  updateOneIterAsync(): Promise<boolean> {
    const h = this.live();
    const fin = [0];
    return new Promise((resolve, reject) => {
      lightgbmApi().LGBM_BoosterUpdateOneIter.async(h, fin, (err: unknown, rc: number) => {
        if (err) return reject(new LightGBMError(`lightgbm LGBM_BoosterUpdateOneIter async call failed: ${String(err)}`, false));
        if (rc !== 0) return reject(new LightGBMError(`lightgbm LGBM_BoosterUpdateOneIter failed on the worker thread (return code ${rc}; LightGBM's message stays on that thread — rerun with syncRoundBudgetMs large to see it)`));
        resolve(fin[0] === 1);
      });
    });
  }

  /** Number of boosting iterations in the model. */
  currentIteration(): number {
    const out = [0];
    check(lightgbmApi().LGBM_BoosterGetCurrentIteration(this.live(), out), 'LGBM_BoosterGetCurrentIteration');
    return out[0]!;
  }

  /** Number of classes (1 for regression, binary and ranking). */
  numClasses(): number {
    const out = [0];
    check(lightgbmApi().LGBM_BoosterGetNumClasses(this.live(), out), 'LGBM_BoosterGetNumClasses');
    return out[0]!;
  }

  /** Trees per boosting iteration (num_class for multiclass, else 1). */
  treesPerIteration(): number {
    const out = [0];
    check(lightgbmApi().LGBM_BoosterNumModelPerIteration(this.live(), out), 'LGBM_BoosterNumModelPerIteration');
    return out[0]!;
  }

  /** Names of the evaluation metrics (e.g. `l2`, `binary_logloss`, `ndcg@1`), in evaluation order. */
  evalNames(): string[] {
    const a = lightgbmApi();
    const count = [0];
    check(a.LGBM_BoosterGetEvalCounts(this.live(), count), 'LGBM_BoosterGetEvalCounts');
    const n = count[0]!;
    if (n === 0) return [];
    const size = 256;
    const bufs = Array.from({ length: n }, () => Buffer.alloc(size));
    const outLen = [0], need = [0n as unknown];
    check(a.LGBM_BoosterGetEvalNames(this.live(), n, outLen, size, need, bufs), 'LGBM_BoosterGetEvalNames');
    if (Number(need[0]) > size) throw new LightGBMError(`lightgbm metric name longer than ${size} bytes`);
    return bufs.map((b) => b.toString('utf8', 0, Math.max(0, b.indexOf(0))));
  }

  /** Current metric values on data set `dataIdx` (0 = training, 1 = first validation set …), in {@link evalNames} order. */
  getEval(dataIdx: number, nMetrics: number): Float64Array {
    const out = new Float64Array(Math.max(1, nMetrics));
    const len = [0];
    check(lightgbmApi().LGBM_BoosterGetEval(this.live(), dataIdx, len, out), `LGBM_BoosterGetEval(data ${dataIdx})`);
    return out.subarray(0, len[0]!);
  }

  /**
   * Predictions for row-major float32 `X` (`nrow × ncol`): `nrow × numClasses` doubles. `numIteration`
   * limits the iterations used (from 0; ≤ 0 = all); `type` normal (transformed) or raw (margins).
   * `params` are prediction parameters (e.g. `num_threads`).
   */
  predict(X: Float32Array, nrow: number, ncol: number, opts: { numIteration?: number; type?: 'normal' | 'raw'; params?: LgbmParams } = {}): Float64Array {
    if (X.length !== nrow * ncol) throw new LightGBMError(`predict: X has ${X.length} values, expected ${nrow}×${ncol}`);
    const type = PredictType[opts.type ?? 'normal'];
    const numIter = opts.numIteration ?? 0;
    const a = lightgbmApi();
    const want = [0n as unknown];
    check(a.LGBM_BoosterCalcNumPredict(this.live(), nrow, type, 0, numIter, want), 'LGBM_BoosterCalcNumPredict');
    const out = new Float64Array(Number(want[0]));
    if (nrow === 0) return out;
    const len = [0n as unknown];
    check(a.LGBM_BoosterPredictForMat(this.live(), X, C_API_DTYPE_FLOAT32, nrow, ncol, 1, type, 0, numIter, formatParams(opts.params ?? {}), len, out), 'LGBM_BoosterPredictForMat');
    if (Number(len[0]) !== out.length) throw new LightGBMError(`predict: LightGBM wrote ${len[0]} values, expected ${out.length}`);
    return out;
  }

  /** LightGBM's text model of iterations [0, numIteration) (≤ 0 = all). */
  saveModelToString(numIteration = 0): string {
    const h = this.live();
    return readString((n, outLen, buf) => lightgbmApi().LGBM_BoosterSaveModelToString(h, 0, numIteration, 0, n, outLen, buf), 'LGBM_BoosterSaveModelToString');
  }

  /** The model of iterations [0, numIteration) (≤ 0 = all) as LightGBM's JSON dump (see models/onnx/lightgbm.ts). */
  dumpModel(numIteration = 0): string {
    const h = this.live();
    return readString((n, outLen, buf) => lightgbmApi().LGBM_BoosterDumpModel(h, 0, numIteration, 0, n, outLen, buf), 'LGBM_BoosterDumpModel');
  }

  live(): unknown {
    if (this.handle === null) throw new LightGBMError('Booster used after free()');
    return this.handle;
  }

  /** Releases the native booster; safe to call twice. */
  free(): void {
    if (this.handle === null) return;
    const h = this.handle;
    this.handle = null;
    liveLgbmHandles.booster--;
    check(lightgbmApi().LGBM_BoosterFree(h), 'LGBM_BoosterFree');
  }
}
