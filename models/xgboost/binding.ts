/**
 * Thin binding over XGBoost's C API (libxgboost ≥ 1.7, Debian `libxgboost0`) through koffi.
 *
 * - Library location ({@link xgboostLibraryCandidates}): the process's choice made with
 *   {@link useXGBoostLibrary} (`debian` | `wheel` | a path; a step's `xgboost_lib`), else env
 *   `TRADEML_XGBOOST_LIB` (the same words, or a path or soname, e.g. a CUDA-enabled build on a GPU
 *   worker), else Debian's `libxgboost.so.0` (1.7). `wheel` = the PyPI xgboost-cpu wheel's newer
 *   libxgboost in `.native/` (installed by `bash scripts/native.sh`). One library per process.
 * - OpenMP waits passively after a short spin (models/openmp.ts), set before the library loads;
 *   an explicit env value wins.
 * - Every C call is checked; failures throw {@link XGBoostError} carrying `XGBGetLastError()`.
 * - Handles are owned by {@link DMatrix} / {@link Booster} objects: call `free()` (idempotent) in a
 *   `finally`; nothing is left to GC finalizers.
 * - `Booster.updateOneIterAsync` runs the (synchronous, CPU-heavy) boosting round on koffi's async
 *   worker, so the Node event loop keeps serving progress/heartbeats while trees are grown.
 *
 * Only `fit.cpcv`'s `run()` (and tests/bench) import this module: koffi is a heavy native dep.
 */
import koffi, { type LibraryHandle } from 'koffi';
import path from 'node:path';
import { StepError } from '../../lib/errors.ts';
import { configureOpenMp } from '../openmp.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';

/** An error raised by libxgboost (message from XGBGetLastError) or by loading the library. */
export class XGBoostError extends StepError {
  constructor(message: string, nonRetryable = true) {
    super({ message, type: 'XGBoostError', nonRetryable });
  }
}

type Fn = ReturnType<LibraryHandle['func']>;

interface Api {
  version: string;
  libPath: string;
  XGBGetLastError: Fn;
  XGDMatrixCreateFromMat: Fn;
  XGDMatrixSetFloatInfo: Fn;
  XGDMatrixSetUIntInfo: Fn;
  XGDMatrixNumRow: Fn;
  XGDMatrixFree: Fn;
  XGBoosterCreate: Fn;
  XGBoosterFree: Fn;
  XGBoosterSetParam: Fn;
  XGBoosterUpdateOneIter: Fn;
  XGBoosterEvalOneIter: Fn;
  XGBoosterPredictFromDMatrix: Fn;
  XGBoosterSaveModelToBuffer: Fn;
  XGBoosterLoadModelFromBuffer: Fn;
  XGBoosterBoostedRounds: Fn;
  XGBoosterSlice: Fn;
}

let api: Api | undefined;
let typesDefined = false;

/** Which libxgboost a process binds: Debian's package (1.7) or the PyPI wheel's in `.native/`. */
export type XGBoostLib = 'debian' | 'wheel';

/** Where `bash scripts/native.sh` installs the xgboost-cpu wheel's libxgboost in this checkout. */
export const WHEEL_XGBOOST = path.join(PROJECT_ROOT, '.native', 'py', 'xgboost', 'lib', 'libxgboost.so');
const DEBIAN_CANDIDATES = ['libxgboost.so.0', 'libxgboost.so', '/usr/lib/x86_64-linux-gnu/libxgboost.so.0', 'libxgboost.dylib'];

let chosen: string | undefined;

/** Candidates for a choice: `debian`, `wheel`, or a path/soname. */
function candidatesFor(choice: string): string[] {
  if (choice === 'debian') return DEBIAN_CANDIDATES;
  if (choice === 'wheel') return [WHEEL_XGBOOST];
  return [choice];
}

/** Library candidates in the order they are tried (see the module comment for the precedence). */
export function xgboostLibraryCandidates(): string[] {
  const pick = chosen ?? process.env.TRADEML_XGBOOST_LIB;
  return pick ? candidatesFor(pick) : DEBIAN_CANDIDATES;
}

/**
 * Chooses the libxgboost this process binds (`debian`, `wheel`, or a path) before its first use.
 * A no-op when that library is already loaded; throws XGBoostError (non-retryable) when another
 * one is (one libxgboost per process: run the other in a separate worker/process).
 */
export function useXGBoostLibrary(choice: XGBoostLib | string): void {
  if (api) {
    if (candidatesFor(choice).includes(api.libPath)) return;
    throw new XGBoostError(`libxgboost ${api.version} (${api.libPath}) is already loaded in this process; cannot switch to ${choice} (one libxgboost per process)`);
  }
  chosen = choice;
}

/**
 * Opens the first loadable library among `candidates`. Throws XGBoostError (non-retryable) listing
 * what was tried and how to install libxgboost when none loads.
 */
export function openXGBoostLibrary(candidates: string[]): { lib: LibraryHandle; libPath: string } {
  const tried: string[] = [];
  for (const cand of candidates) {
    try {
      return { lib: koffi.load(cand), libPath: cand };
    } catch (e) {
      tried.push(`${cand}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const wheel = candidates.includes(WHEEL_XGBOOST) ? ' For the wheel\'s libxgboost run `bash scripts/native.sh`.' : '';
  throw new XGBoostError(
    `cannot load libxgboost (tried ${tried.join('; ')}). Install it with \`apt-get install -y libxgboost0 libxgboost-dev\` ` +
      `(Debian/Ubuntu, XGBoost ≥ 1.7), or point TRADEML_XGBOOST_LIB at a libxgboost.so (e.g. a CUDA build on a GPU worker).${wheel}`,
  );
}

/**
 * Loads libxgboost once per process and returns the bound C functions.
 * Throws XGBoostError (non-retryable) saying how to install the library when none loads.
 */
export function xgboostApi(): Api {
  if (api) return api;
  configureOpenMp();
  const { lib, libPath } = openXGBoostLibrary(xgboostLibraryCandidates());
  if (!typesDefined) {
    koffi.pointer('XGDMatrixHandle', koffi.opaque());
    koffi.pointer('XGBoosterHandle', koffi.opaque());
    koffi.alias('xgb_ulong', 'uint64_t');
    typesDefined = true;
  }
  const f = (sig: string): Fn => lib.func(sig);
  const XGBoostVersion = f('void XGBoostVersion(_Out_ int *major, _Out_ int *minor, _Out_ int *patch)');
  const maj = [0], min = [0], pat = [0];
  XGBoostVersion(maj, min, pat);
  const version = `${maj[0]}.${min[0]}.${pat[0]}`;
  if (maj[0]! < 1 || (maj[0] === 1 && min[0]! < 7)) {
    throw new XGBoostError(`libxgboost ${version} at ${libPath} is too old: TradeML needs XGBoost ≥ 1.7 (apt-get install -y libxgboost0)`);
  }
  api = {
    version,
    libPath,
    XGBGetLastError: f('const char *XGBGetLastError()'),
    XGDMatrixCreateFromMat: f('int XGDMatrixCreateFromMat(const float *data, xgb_ulong nrow, xgb_ulong ncol, float missing, _Out_ XGDMatrixHandle *out)'),
    XGDMatrixSetFloatInfo: f('int XGDMatrixSetFloatInfo(XGDMatrixHandle h, const char *field, const float *array, xgb_ulong len)'),
    XGDMatrixSetUIntInfo: f('int XGDMatrixSetUIntInfo(XGDMatrixHandle h, const char *field, const uint32_t *array, xgb_ulong len)'),
    XGDMatrixNumRow: f('int XGDMatrixNumRow(XGDMatrixHandle h, _Out_ xgb_ulong *out)'),
    XGDMatrixFree: f('int XGDMatrixFree(XGDMatrixHandle h)'),
    XGBoosterCreate: f('int XGBoosterCreate(XGDMatrixHandle *dmats, xgb_ulong len, _Out_ XGBoosterHandle *out)'),
    XGBoosterFree: f('int XGBoosterFree(XGBoosterHandle h)'),
    XGBoosterSetParam: f('int XGBoosterSetParam(XGBoosterHandle h, const char *name, const char *value)'),
    XGBoosterUpdateOneIter: f('int XGBoosterUpdateOneIter(XGBoosterHandle h, int iter, XGDMatrixHandle dtrain)'),
    XGBoosterEvalOneIter: f('int XGBoosterEvalOneIter(XGBoosterHandle h, int iter, XGDMatrixHandle *dmats, const char **evnames, xgb_ulong len, _Out_ const char **out_result)'),
    XGBoosterPredictFromDMatrix: f('int XGBoosterPredictFromDMatrix(XGBoosterHandle h, XGDMatrixHandle dmat, const char *config, _Out_ void **out_shape, _Out_ xgb_ulong *out_dim, _Out_ void **out_result)'),
    XGBoosterSaveModelToBuffer: f('int XGBoosterSaveModelToBuffer(XGBoosterHandle h, const char *config, _Out_ xgb_ulong *out_len, _Out_ void **out_dptr)'),
    XGBoosterLoadModelFromBuffer: f('int XGBoosterLoadModelFromBuffer(XGBoosterHandle h, const void *buf, xgb_ulong len)'),
    XGBoosterBoostedRounds: f('int XGBoosterBoostedRounds(XGBoosterHandle h, _Out_ int *out)'),
    XGBoosterSlice: f('int XGBoosterSlice(XGBoosterHandle h, int begin_layer, int end_layer, int step, _Out_ XGBoosterHandle *out)'),
  };
  return api;
}

/** Throws XGBoostError with libxgboost's last error when `rc` ≠ 0. */
function check(rc: number, what: string): void {
  if (rc === 0) return;
  const msg = String(xgboostApi().XGBGetLastError() ?? '').trim();
  throw new XGBoostError(`xgboost ${what} failed: ${msg || `return code ${rc}`}`);
}

/** Live handle counts (DMatrix, Booster): tests use them to prove that nothing leaks. */
export const liveHandles = { dmatrix: 0, booster: 0 };

/**
 * A dense DMatrix built from a row-major Float32Array (`nrow × ncol`, NaN = missing).
 * XGBoost copies the data, so the typed array may be reused afterwards.
 */
export class DMatrix {
  handle: unknown;
  readonly nrow: number;
  readonly ncol: number;

  constructor(data: Float32Array, nrow: number, ncol: number, info: { label?: Float32Array; weight?: Float32Array } = {}) {
    if (data.length !== nrow * ncol) throw new XGBoostError(`DMatrix: data has ${data.length} values, expected nrow×ncol = ${nrow}×${ncol}`);
    if (nrow === 0) throw new XGBoostError('DMatrix: no rows (a CV fold with an empty training/test set?)');
    const a = xgboostApi();
    const out = [null as unknown];
    check(a.XGDMatrixCreateFromMat(data, nrow, ncol, NaN, out), 'XGDMatrixCreateFromMat');
    this.handle = out[0];
    liveHandles.dmatrix++;
    this.nrow = nrow;
    this.ncol = ncol;
    try {
      if (info.label) this.setFloatInfo('label', info.label);
      if (info.weight) this.setFloatInfo('weight', info.weight);
    } catch (e) {
      this.free();
      throw e;
    }
  }

  /**
   * Sets a float field (`label`, `weight`, `base_margin`); length must be nrow, or the number of
   * query groups for `weight` when `perGroup` (ranking objectives weight groups).
   */
  setFloatInfo(field: 'label' | 'weight' | 'base_margin', values: Float32Array, perGroup = false): void {
    if (!perGroup && values.length !== this.nrow) throw new XGBoostError(`DMatrix.${field}: ${values.length} values for ${this.nrow} rows`);
    check(xgboostApi().XGDMatrixSetFloatInfo(this.live(), field, values, values.length), `XGDMatrixSetFloatInfo(${field})`);
  }

  /**
   * Query groups for learning-to-rank objectives (rank:pairwise/ndcg/map): consecutive group sizes
   * summing to nrow (e.g. the rows of each date, for a per-date cross-sectional ranking).
   */
  setGroups(sizes: Uint32Array): void {
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== this.nrow) throw new XGBoostError(`DMatrix.group: group sizes sum to ${total}, expected ${this.nrow} rows`);
    check(xgboostApi().XGDMatrixSetUIntInfo(this.live(), 'group', sizes, sizes.length), 'XGDMatrixSetUIntInfo(group)');
  }

  live(): unknown {
    if (this.handle === null) throw new XGBoostError('DMatrix used after free()');
    return this.handle;
  }

  /** Releases the native matrix; safe to call twice. */
  free(): void {
    if (this.handle === null) return;
    const h = this.handle;
    this.handle = null;
    liveHandles.dmatrix--;
    check(xgboostApi().XGDMatrixFree(h), 'XGDMatrixFree');
  }
}

/** Parameters passed to XGBoosterSetParam, as strings (numbers/booleans are stringified). */
export type BoosterParams = Record<string, string | number | boolean>;

/** A gradient-boosted tree ensemble (XGBoost Booster). */
export class Booster {
  handle: unknown;

  /** Creates a booster; `cache` are the matrices it will train/evaluate on (may be empty for loading). */
  constructor(params: BoosterParams, cache: DMatrix[] = []) {
    const a = xgboostApi();
    const out = [null as unknown];
    check(a.XGBoosterCreate(cache.map((d) => d.live()), cache.length, out), 'XGBoosterCreate');
    this.handle = out[0];
    liveHandles.booster++;
    try {
      for (const [k, v] of Object.entries(params)) this.setParam(k, v);
    } catch (e) {
      this.free();
      throw e;
    }
  }

  /** Loads a booster from a model buffer (JSON or UBJSON, as written by {@link saveModel}). */
  static fromBuffer(buf: Uint8Array, params: BoosterParams = {}): Booster {
    const b = new Booster(params);
    try {
      check(xgboostApi().XGBoosterLoadModelFromBuffer(b.live(), buf, buf.length), 'XGBoosterLoadModelFromBuffer');
    } catch (e) {
      b.free();
      throw e;
    }
    return b;
  }

  setParam(name: string, value: string | number | boolean): void {
    const v = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
    check(xgboostApi().XGBoosterSetParam(this.live(), name, v), `XGBoosterSetParam(${name}=${v})`);
  }

  /** One boosting round, synchronously (blocks the event loop for the round's duration). */
  updateOneIter(iter: number, dtrain: DMatrix): void {
    check(xgboostApi().XGBoosterUpdateOneIter(this.live(), iter, dtrain.live()), `XGBoosterUpdateOneIter(iter ${iter})`);
  }

  /**
   * One boosting round on koffi's async worker thread: the event loop stays free meanwhile.
   * XGBGetLastError is thread-local, so on failure the round is replayed synchronously to obtain
   * libxgboost's message (a failing round is deterministic: bad parameter, bad labels).
   */
  updateOneIterAsync(iter: number, dtrain: DMatrix): Promise<void> {
    const h = this.live();
    const d = dtrain.live();
    return new Promise((resolve, reject) => {
      xgboostApi().XGBoosterUpdateOneIter.async(h, iter, d, (err: unknown, rc: number) => {
        if (err) return reject(new XGBoostError(`xgboost XGBoosterUpdateOneIter(iter ${iter}) async call failed: ${String(err)}`, false));
        if (rc === 0) return resolve();
        try {
          this.updateOneIter(iter, dtrain);
          reject(new XGBoostError(`xgboost XGBoosterUpdateOneIter(iter ${iter}) failed on the worker thread (return code ${rc}) but succeeded when replayed`, false));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  /**
   * Evaluates the configured `eval_metric`s on `dmats` after round `iter`.
   * Returns { "<name>-<metric>": value } parsed from XGBoost's "[iter]\tname-metric:value" string.
   */
  evalOneIter(iter: number, dmats: DMatrix[], names: string[]): Record<string, number> {
    const out = [null as unknown];
    check(
      xgboostApi().XGBoosterEvalOneIter(this.live(), iter, dmats.map((d) => d.live()), names, dmats.length, out),
      'XGBoosterEvalOneIter',
    );
    const res: Record<string, number> = {};
    for (const part of String(out[0]).split('\t').slice(1)) {
      const i = part.lastIndexOf(':');
      res[part.slice(0, i)] = Number(part.slice(i + 1));
    }
    return res;
  }

  /**
   * Predictions for `dmat` as a Float32Array copy (row-major `nrow × k`, k = 1 for regression and
   * binary, num_class for `multi:softprob`). `iterationEnd` (exclusive, 0 = all rounds) limits the
   * trees used, e.g. to the early-stopping best iteration + 1. `margin` returns untransformed scores.
   */
  predict(dmat: DMatrix, opts: { iterationEnd?: number; margin?: boolean } = {}): { values: Float32Array; shape: number[] } {
    const cfg = JSON.stringify({ type: opts.margin ? 1 : 0, training: false, iteration_begin: 0, iteration_end: opts.iterationEnd ?? 0, strict_shape: true });
    const shp = [null as unknown], dim = [0n as unknown], res = [null as unknown];
    check(xgboostApi().XGBoosterPredictFromDMatrix(this.live(), dmat.live(), cfg, shp, dim, res), 'XGBoosterPredictFromDMatrix');
    const shape = Array.from(koffi.decode(shp[0], 'uint64_t', Number(dim[0])) as ArrayLike<number | bigint>, Number);
    const n = shape.reduce((a, b) => a * b, 1);
    const values = n === 0 ? new Float32Array(0) : new Float32Array(koffi.view(res[0] as never, n * 4)).slice();
    return { values, shape };
  }

  /** Number of boosting rounds in the model. */
  boostedRounds(): number {
    const out = [0];
    check(xgboostApi().XGBoosterBoostedRounds(this.live(), out), 'XGBoosterBoostedRounds');
    return out[0]!;
  }

  /** A new booster holding boosting rounds [begin, end) of this one (the caller frees it). */
  slice(begin: number, end: number): Booster {
    const out = [null as unknown];
    check(xgboostApi().XGBoosterSlice(this.live(), begin, end, 1, out), `XGBoosterSlice(${begin}, ${end})`);
    return Booster.adopt(out[0]);
  }

  /** Wraps a booster handle returned by libxgboost (counted and freed like any other). */
  private static adopt(handle: unknown): Booster {
    const b = Object.create(Booster.prototype) as Booster;
    b.handle = handle;
    liveHandles.booster++;
    return b;
  }

  /** Serialises the model (`json`: XGBoost's JSON model schema; `ubj`: UBJSON). */
  saveModel(format: 'json' | 'ubj' = 'json'): Uint8Array {
    const len = [0n as unknown], ptr = [null as unknown];
    check(xgboostApi().XGBoosterSaveModelToBuffer(this.live(), JSON.stringify({ format }), len, ptr), 'XGBoosterSaveModelToBuffer');
    const n = Number(len[0]);
    return new Uint8Array(koffi.view(ptr[0] as never, n)).slice();
  }

  live(): unknown {
    if (this.handle === null) throw new XGBoostError('Booster used after free()');
    return this.handle;
  }

  /** Releases the native booster; safe to call twice. */
  free(): void {
    if (this.handle === null) return;
    const h = this.handle;
    this.handle = null;
    liveHandles.booster--;
    check(xgboostApi().XGBoosterFree(h), 'XGBoosterFree');
  }
}
