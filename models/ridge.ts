/**
 * Closed-form ridge regression (Hoerl & Kennard 1970; Hastie, Tibshirani & Friedman, *The Elements of
 * Statistical Learning*, 2nd ed., §3.4.1): β = (XᵀWX + λI)⁻¹ XᵀWy on weighted-centred data, intercept
 * unpenalised: b₀ = ȳ − x̄ᵀβ. Used by the OOF stacker (few columns, many rows) and, as
 * {@link RidgeLearner}, as a linear learner of the CPCV protocol.
 */
import type { FitOptions, FittedModel, Learner, OnnxExportOptions, TrainingSet } from './learner.ts';
import { DataType, encodeModel, floatTensor, node, valueInfo } from './onnx/proto.ts';
import { scoreHead } from './onnx/trees.ts';

/** A ridge fit: coefficients, intercept and the rows used. */
export interface RidgeFit {
  weights: number[];
  intercept: number;
  /** Rows used (finite x and y, positive weight). */
  n: number;
}

/**
 * Fits ridge on `rows` (indices into the column arrays) or on all rows.
 * `cols[j][i]` = feature j of row i; `y[i]` target; optional `w[i]` ≥ 0 sample weights.
 * Rows with a non-finite value are skipped. Throws RangeError when λ < 0 or no usable row remains;
 * with λ = 0 a singular XᵀX throws as well.
 */
export function fitRidge(cols: ArrayLike<number>[], y: ArrayLike<number>, lambda: number, opts: { rows?: ArrayLike<number>; w?: ArrayLike<number> } = {}): RidgeFit {
  if (!(lambda >= 0)) throw new RangeError(`ridge: lambda must be ≥ 0, got ${lambda}`);
  const p = cols.length;
  const nAll = opts.rows ? opts.rows.length : y.length;
  const rowsIdx = opts.rows;
  const w = opts.w;
  // the usable rows (finite x and y, positive weight), in order: both passes run over them
  const use = new Int32Array(nAll);
  let n = 0;
  for (let k = 0; k < nAll; k++) {
    const i = rowsIdx ? rowsIdx[k]! : k;
    if (!Number.isFinite(y[i]!) || (w && !(w[i]! > 0))) continue;
    let finite = true;
    for (let j = 0; j < p && finite; j++) finite = Number.isFinite(cols[j]![i]!);
    if (finite) use[n++] = i;
  }
  if (n === 0) throw new RangeError('ridge: no usable rows (all rows have a NaN/Inf value or zero weight)');
  let sw = 0;
  const mx = new Float64Array(p);
  let my = 0;
  for (let k = 0; k < n; k++) {
    const i = use[k]!;
    const wi = w ? w[i]! : 1;
    sw += wi;
    my += wi * y[i]!;
    for (let j = 0; j < p; j++) mx[j] += wi * cols[j]![i]!;
  }
  my /= sw;
  for (let j = 0; j < p; j++) mx[j] /= sw;
  // Normal equations on centred data, scaled by 1/Σw so λ is per unit weight.
  const A = Array.from({ length: p }, () => new Float64Array(p));
  const b = new Float64Array(p);
  const xc = new Float64Array(p);
  for (let k = 0; k < n; k++) {
    const i = use[k]!;
    const wi = (w ? w[i]! : 1) / sw;
    const yc = y[i]! - my;
    for (let j = 0; j < p; j++) xc[j] = cols[j]![i]! - mx[j]!;
    for (let j = 0; j < p; j++) {
      const xj = xc[j]!;
      b[j] += wi * xj * yc;
      const Aj = A[j]!;
      for (let l = j; l < p; l++) Aj[l] += wi * xj * xc[l]!;
    }
  }
  for (let j = 0; j < p; j++) {
    for (let l = 0; l < j; l++) A[j]![l] = A[l]![j]!;
    A[j]![j] += lambda;
  }
  const beta = solveSpd(A, b);
  let intercept = my;
  for (let j = 0; j < p; j++) intercept -= mx[j]! * beta[j]!;
  return { weights: Array.from(beta), intercept, n };
}

/** Solves A x = b for symmetric positive-definite A by Cholesky; throws RangeError if A is not SPD. */
export function solveSpd(A: Float64Array[], b: Float64Array): Float64Array {
  const p = b.length;
  const L = Array.from({ length: p }, () => new Float64Array(p));
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i]![j]!;
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      if (i === j) {
        if (!(s > 1e-300)) throw new RangeError('ridge: XᵀX + λI is singular (collinear or constant columns with λ = 0)');
        L[i]![i] = Math.sqrt(s);
      } else L[i]![j] = s / L[j]![j]!;
    }
  }
  const z = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i]![k]! * z[k]!;
    z[i] = s / L[i]![i]!;
  }
  const x = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < p; k++) s -= L[k]![i]! * x[k]!;
    x[i] = s / L[i]![i]!;
  }
  return x;
}

/** Applies a ridge fit to one row of features. */
export function predictRidge(fit: { weights: number[]; intercept: number }, x: ArrayLike<number>): number {
  let s = fit.intercept;
  for (let j = 0; j < fit.weights.length; j++) s += fit.weights[j]! * x[j]!;
  return s;
}

/**
 * Ridge regression on the learner interface (models/learner.ts, engine `ridge`): the closed form of
 * {@link fitRidge} on the feature matrix, missing features (NaN) imputed as 0 — the cross-sectional
 * centre of normalised features — in training, prediction and the ONNX graph alike. Params:
 * `lambda` (≥ 0, default 1). One "round": bestIteration 0, no validation metric. Sample weights are
 * honoured; ranking query groups are refused. Deterministic.
 */
export class RidgeLearner implements Learner {
  readonly name = 'ridge';

  /** Fits β on `train` (λ = params.lambda). Throws RangeError for groups, a bad λ or no usable row. */
  async fit(train: TrainingSet, opts: FitOptions): Promise<FittedModel> {
    if (train.groups) throw new RangeError('ridge: ranking query groups are not supported (use a regression target)');
    const lambda = opts.params.lambda === undefined ? 1 : Number(opts.params.lambda);
    const F = train.nFeatures;
    const cols = Array.from({ length: F }, (_, j) => Float64Array.from({ length: train.nRows }, (_, i) => imputed(train.X[i * F + j]!)));
    const f = fitRidge(cols, train.y, lambda, train.weight ? { w: train.weight } : {});
    return new RidgeModel(f.weights, f.intercept);
  }
}

const imputed = (x: number): number => (Number.isNaN(x) ? 0 : x);

/** A fitted ridge: ŷ = b₀ + Σ_j β_j·x_j (NaN x_j → 0). */
export class RidgeModel implements FittedModel {
  readonly width = 1;
  readonly bestIteration = 0;
  readonly rounds = 1;
  readonly validMetric = null;
  readonly validScore = null;
  private freed = false;

  constructor(readonly weights: number[], readonly intercept: number) {}

  private live(): void {
    if (this.freed) throw new Error('ridge model was freed');
  }

  /** `nRows` predictions of row-major `X` (nRows × weights.length). */
  predict(X: Float32Array, nRows: number): Float32Array {
    this.live();
    const F = this.weights.length;
    if (X.length !== nRows * F) throw new RangeError(`ridge predict: X has ${X.length} values, expected ${nRows}×${F}`);
    const out = new Float32Array(nRows);
    for (let i = 0; i < nRows; i++) {
      let s = this.intercept;
      for (let j = 0; j < F; j++) s += this.weights[j]! * imputed(X[i * F + j]!);
      out[i] = s;
    }
    return out;
  }

  /** JSON `{ model: 'ridge', weights, intercept, missing: 0 }`. */
  save(): Uint8Array {
    this.live();
    return new TextEncoder().encode(JSON.stringify({ model: 'ridge', weights: this.weights, intercept: this.intercept, missing: 0 }));
  }

  /** ONNX: X float[N, F] → Where(IsNaN(X), 0, X) · β + b₀ → Y float[N, 1]; `score` = Y (models/onnx/trees.ts scoreHead). */
  toOnnx(featureNames: string[], opts: OnnxExportOptions = {}): Uint8Array {
    this.live();
    const F = this.weights.length;
    if (featureNames.length !== F) throw new RangeError(`ridge ONNX export: ${featureNames.length} feature names for ${F} weights`);
    const head = scoreHead('linear', 'Identity', 1);
    return encodeModel({
      graphName: 'ridge',
      nodes: [
        node('IsNaN', ['X'], ['x_nan']),
        node('Where', ['x_nan', 'zero', 'X'], ['x_filled']),
        node('MatMul', ['x_filled', 'beta'], ['x_beta']),
        node('Add', ['x_beta', 'b0'], ['linear']),
        ...head.nodes,
      ],
      inputs: [valueInfo('X', DataType.FLOAT, ['N', F])],
      outputs: [valueInfo('Y', DataType.FLOAT, ['N', 1]), valueInfo('score', DataType.FLOAT, ['N', 1])],
      initializers: [floatTensor('zero', [], [0]), floatTensor('beta', [F, 1], this.weights), floatTensor('b0', [1], [this.intercept]), ...head.initializers],
      opsets: [{ domain: '', version: 13 }],
      producerName: 'trademl.ridge',
      docString: `ridge regression: ${F} features, missing → 0`,
      metadata: { model: 'ridge', feature_names: JSON.stringify(featureNames), ...(opts.metadata ?? {}) },
    });
  }

  free(): void {
    this.freed = true;
  }
}
