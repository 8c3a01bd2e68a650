/**
 * Small dense linear algebra on row-major Float64Arrays (d × d, d ≈ 10) for the Bayesian linear
 * bandits: Cholesky factorisation, triangular solves, rank-one updates of an inverse.
 */

/** Lower Cholesky factor L of a symmetric positive-definite d×d matrix (A = LLᵀ); throws when not SPD. */
export function cholesky(a: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j]!;
      for (let k = 0; k < j; k++) s -= l[i * d + k]! * l[j * d + k]!;
      if (i === j) {
        if (!(s > 0)) throw new RangeError(`matrix is not positive definite (pivot ${i}: ${s})`);
        l[i * d + i] = Math.sqrt(s);
      } else l[i * d + j] = s / l[j * d + j]!;
    }
  }
  return l;
}

/** Solves A x = b for SPD A via Cholesky (forward then back substitution). */
export function solveSpd(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const l = cholesky(a, d);
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * d + k]! * y[k]!;
    y[i] = s / l[i * d + i]!;
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < d; k++) s -= l[k * d + i]! * x[k]!;
    x[i] = s / l[i * d + i]!;
  }
  return x;
}

/** Sherman–Morrison: replaces inv = A⁻¹ by (A + xxᵀ)⁻¹ in place. */
export function shermanMorrison(inv: Float64Array, x: Float64Array, d: number): void {
  const u = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += inv[i * d + j]! * x[j]!;
    u[i] = s;
  }
  let den = 1;
  for (let i = 0; i < d; i++) den += x[i]! * u[i]!;
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) inv[i * d + j] -= (u[i]! * u[j]!) / den;
}

/** Quadratic form xᵀ M x. */
export function quadForm(m: Float64Array, x: Float64Array, d: number): number {
  let s = 0;
  for (let i = 0; i < d; i++) {
    let r = 0;
    for (let j = 0; j < d; j++) r += m[i * d + j]! * x[j]!;
    s += x[i]! * r;
  }
  return s;
}

/** Dot product. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
