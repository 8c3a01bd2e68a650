/**
 * Closed-form ridge regression (Hoerl & Kennard 1970; Hastie, Tibshirani & Friedman, *The Elements of
 * Statistical Learning*, 2nd ed., §3.4.1): β = (XᵀWX + λI)⁻¹ XᵀWy on weighted-centred data, intercept
 * unpenalised: b₀ = ȳ − x̄ᵀβ. Used by the OOF stacker (few columns, many rows).
 */
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
  const rowAt = (k: number): number => (opts.rows ? opts.rows[k]! : k);
  const ok = (i: number): boolean => {
    if (!Number.isFinite(y[i]!)) return false;
    if (opts.w && !(opts.w[i]! > 0)) return false;
    for (let j = 0; j < p; j++) if (!Number.isFinite(cols[j]![i]!)) return false;
    return true;
  };
  let sw = 0;
  const mx = new Float64Array(p);
  let my = 0, n = 0;
  for (let k = 0; k < nAll; k++) {
    const i = rowAt(k);
    if (!ok(i)) continue;
    const wi = opts.w ? opts.w[i]! : 1;
    sw += wi;
    n++;
    my += wi * y[i]!;
    for (let j = 0; j < p; j++) mx[j] += wi * cols[j]![i]!;
  }
  if (n === 0) throw new RangeError('ridge: no usable rows (all rows have a NaN/Inf value or zero weight)');
  my /= sw;
  for (let j = 0; j < p; j++) mx[j] /= sw;
  // Normal equations on centred data, scaled by 1/Σw so λ is per unit weight.
  const A = Array.from({ length: p }, () => new Float64Array(p));
  const b = new Float64Array(p);
  for (let k = 0; k < nAll; k++) {
    const i = rowAt(k);
    if (!ok(i)) continue;
    const wi = (opts.w ? opts.w[i]! : 1) / sw;
    const yc = y[i]! - my;
    for (let j = 0; j < p; j++) {
      const xj = cols[j]![i]! - mx[j]!;
      b[j] += wi * xj * yc;
      for (let l = j; l < p; l++) A[j]![l] += wi * xj * (cols[l]![i]! - mx[l]!);
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
