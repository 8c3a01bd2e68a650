/**
 * L2-regularised logistic regression fitted by Newton–Raphson (IRLS; Hastie, Tibshirani &
 * Friedman, ESL §4.4.1), on features standardised with the training sample's mean and std.
 * Missing (non-finite) inputs are imputed with the training mean (0 after standardisation).
 * The intercept is not penalised.
 */
import { gaussSolve } from '../surface/svi-fit.ts';

/** A fitted model. */
export interface LogisticModel {
  weights: number[];
  intercept: number;
  means: number[];
  stds: number[];
}

/** Fits P(y = 1 | x) = σ(b + wᵀz), z standardised x. Throws with < 2 rows, ragged rows or labels other than 0/1. */
export function fitLogistic(X: readonly number[][], y: readonly number[], lambda = 1, iterations = 50): LogisticModel {
  const n = X.length;
  if (n < 2) throw new RangeError(`fitLogistic: need ≥ 2 rows, got ${n}`);
  const p = X[0]!.length;
  if (X.some((r) => r.length !== p)) throw new RangeError('fitLogistic: rows of different lengths');
  if (y.length !== n || y.some((v) => v !== 0 && v !== 1)) throw new RangeError('fitLogistic: y must be n labels in {0, 1}');
  const means = Array.from({ length: p }, (_, j) => avg(X.map((r) => r[j]!).filter(Number.isFinite)));
  const stds = Array.from({ length: p }, (_, j) => {
    const v = X.map((r) => r[j]!).filter(Number.isFinite);
    const m = means[j]!;
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, v.length - 1));
    return sd > 0 ? sd : 1;
  });
  const Z = X.map((r) => [1, ...r.map((x, j) => (Number.isFinite(x) && Number.isFinite(means[j]!) ? (x - means[j]!) / stds[j]! : 0))]);
  let beta = new Array<number>(p + 1).fill(0);
  for (let it = 0; it < iterations; it++) {
    const H = Array.from({ length: p + 1 }, () => new Array<number>(p + 2).fill(0));
    const g = new Array<number>(p + 1).fill(0);
    for (let i = 0; i < n; i++) {
      const z = Z[i]!;
      const mu = sigmoid(dot(beta, z));
      const w = Math.max(mu * (1 - mu), 1e-10);
      for (let a = 0; a <= p; a++) {
        g[a]! += (y[i]! - mu) * z[a]!;
        for (let b = 0; b <= p; b++) H[a]![b]! += w * z[a]! * z[b]!;
      }
    }
    for (let a = 1; a <= p; a++) {
      g[a]! -= lambda * beta[a]!;
      H[a]![a]! += lambda;
    }
    for (let a = 0; a <= p; a++) H[a]![p + 1] = g[a]!;
    const step = gaussSolve(H, p + 1);
    if (!step) break;
    beta = beta.map((b, a) => b + step[a]!);
    if (Math.max(...step.map(Math.abs)) < 1e-10) break;
  }
  return { intercept: beta[0]!, weights: beta.slice(1), means, stds };
}

/** P(y = 1 | x) under a fitted model. */
export function predictLogistic(m: LogisticModel, x: readonly number[]): number {
  let s = m.intercept;
  x.forEach((v, j) => {
    if (Number.isFinite(v) && Number.isFinite(m.means[j]!)) s += (m.weights[j]! * (v - m.means[j]!)) / m.stds[j]!;
  });
  return sigmoid(s);
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function avg(xs: readonly number[]): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
}
