/**
 * Raw SVI fit of one smile by the quasi-explicit method of Zeliade Systems (2009, "Quasi-explicit
 * calibration of Gatheral's SVI model", white paper ZWP-0005; De Marco & Martini 2009).
 *
 * For fixed (m, σ), with y = (k − m)/σ, the slice is linear in (a, d, c):
 *   w = a + d·y + c·√(y² + 1),   c = b·σ,  d = ρ·b·σ,
 * and the (weighted) least-squares problem in (a, d, c) is a convex quadratic programme on the
 * polytope 0 ≤ a ≤ max wᵢ, |d| ≤ c, |d| ≤ 4σ − c (Zeliade eq. (5): b ≥ 0, |ρ| ≤ 1 and Roger Lee's
 * moment bound b(1 + |ρ|) ≤ 4). It is solved exactly by enumerating active sets (≤ 3 of the 6
 * constraints) through the KKT system. The outer problem over (m, σ) is minimised by Nelder–Mead
 * (σ through log σ) from a few starts. Objective: Σ ωᵢ (w(kᵢ) − wᵢ)² on total variance.
 */
import { nelderMead } from '../stats/nelder-mead.ts';
import type { SviParams } from './svi.ts';

/** One observation of a smile: log-moneyness, total implied variance σ²T, weight ≥ 0. */
export interface SmilePoint {
  k: number;
  w: number;
  weight: number;
}

/** Result of a quasi-explicit fit. */
export interface SviFitResult {
  params: SviParams;
  /** Weighted sum of squared total-variance residuals at the optimum. */
  objective: number;
  /** Outer Nelder–Mead iterations of the best start. */
  iterations: number;
  converged: boolean;
}

/** Settings: σ bounds and the Nelder–Mead cap. */
export interface SviFitOptions {
  sigmaMin?: number;
  sigmaMax?: number;
  maxIter?: number;
}

/**
 * Fits raw SVI to ≥ 5 points. Throws RangeError for fewer points, non-finite values or negative weights.
 */
export function fitSviQuasiExplicit(points: readonly SmilePoint[], opts: SviFitOptions = {}): SviFitResult {
  if (points.length < 5) throw new RangeError(`fitSviQuasiExplicit: need ≥ 5 points for 5 parameters, got ${points.length}`);
  for (const p of points) {
    if (!Number.isFinite(p.k) || !Number.isFinite(p.w) || !(p.weight >= 0)) throw new RangeError(`fitSviQuasiExplicit: bad point ${JSON.stringify(p)}`);
  }
  const sigmaMin = opts.sigmaMin ?? 1e-3;
  const sigmaMax = opts.sigmaMax ?? 2;
  const wmax = Math.max(...points.map((p) => p.w));
  const scale = points.reduce((s, p) => s + p.weight * p.w * p.w, 0) || 1;
  const toSigma = (u: number) => Math.min(Math.max(Math.exp(u), sigmaMin), sigmaMax);
  const outer = (x: number[]) => innerFit(points, x[0]!, toSigma(x[1]!), wmax).objective / scale;
  const ks = points.map((p) => p.k);
  const kMin = Math.min(...ks);
  const kMax = Math.max(...ks);
  const kAtMin = points.reduce((b, p) => (p.w < b.w ? p : b)).k;
  let best: { x: number[]; fx: number; iterations: number; converged: boolean } | null = null;
  for (const m0 of [kAtMin, 0.5 * (kMin + kMax)]) {
    for (const s0 of [0.05, 0.25]) {
      const r = nelderMead(outer, [m0, Math.log(s0)], { step: [Math.max(0.02, 0.1 * (kMax - kMin)), 0.5], ftol: 1e-15, xtol: 1e-9, maxIter: opts.maxIter ?? 1500 });
      if (!best || r.fx < best.fx) best = r;
    }
  }
  const m = best!.x[0]!;
  const sigma = toSigma(best!.x[1]!);
  const q = innerFit(points, m, sigma, wmax);
  const b = q.c / sigma;
  const rho = q.c > 0 ? Math.max(-1, Math.min(1, q.d / q.c)) : 0;
  return { params: { a: q.a, b, rho, m, sigma }, objective: q.objective, iterations: best!.iterations, converged: best!.converged };
}

/** Exact constrained weighted LS in (a, d, c) for fixed (m, σ) — the inner problem of the quasi-explicit method. */
export function innerFit(points: readonly SmilePoint[], m: number, sigma: number, wmax: number): { a: number; d: number; c: number; objective: number } {
  const H = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  const g = [0, 0, 0];
  let c0 = 0; // Σω w², the scale of the multiplier tolerance
  for (const p of points) {
    const y = (p.k - m) / sigma;
    const phi = [1, y, Math.sqrt(y * y + 1)];
    for (let i = 0; i < 3; i++) {
      g[i]! += p.weight * p.w * phi[i]!;
      for (let j = 0; j < 3; j++) H[i]![j]! += p.weight * phi[i]! * phi[j]!;
    }
    c0 += p.weight * p.w * p.w;
  }
  const s4 = 4 * sigma;
  const A = [[-1, 0, 0], [1, 0, 0], [0, 1, -1], [0, -1, -1], [0, 1, 1], [0, -1, 1]];
  const bnd = [0, wmax, 0, 0, s4, s4];
  const tol = 1e-12 * Math.max(1, wmax, s4);
  // Convex QP: the optimum is the first active set (by size) whose equality-constrained solution is
  // feasible with non-negative multipliers (KKT conditions are sufficient); the objective is then
  // evaluated directly from the residuals (the expanded quadratic loses precision near zero).
  for (const set of activeSets(6, 3)) {
    const sol = solveKkt(H, g, set.map((i) => A[i]!), set.map((i) => bnd[i]!));
    if (!sol || sol.mu.some((u) => u < -1e-12 * Math.max(1, Math.abs(c0)))) continue;
    const x = sol.x;
    if (!A.every((row, i) => row[0]! * x[0]! + row[1]! * x[1]! + row[2]! * x[2]! <= bnd[i]! + tol)) continue;
    let v = 0;
    for (const p of points) {
      const y = (p.k - m) / sigma;
      const e = x[0]! + x[1]! * y + x[2]! * Math.sqrt(y * y + 1) - p.w;
      v += p.weight * e * e;
    }
    return { a: x[0]!, d: x[1]!, c: x[2]!, objective: v };
  }
  return { a: NaN, d: NaN, c: NaN, objective: Infinity };
}

const SETS = new Map<string, number[][]>();

/** All subsets of {0..n−1} of size ≤ k, smallest first (memoised). */
function activeSets(n: number, k: number): number[][] {
  const key = `${n}/${k}`;
  const hit = SETS.get(key);
  if (hit) return hit;
  const out: number[][] = [[]];
  const rec = (start: number, cur: number[]) => {
    for (let i = start; i < n; i++) {
      const next = [...cur, i];
      out.push(next);
      if (next.length < k) rec(i + 1, next);
    }
  };
  rec(0, []);
  out.sort((x, y) => x.length - y.length);
  SETS.set(key, out);
  return out;
}

/** Solves min xᵀHx − 2gᵀx s.t. Aₑx = bₑ via the KKT system [H Aₑᵀ; Aₑ 0][x; μ] = [g; bₑ]; null when singular. */
function solveKkt(H: number[][], g: number[], Ae: number[][], be: number[]): { x: number[]; mu: number[] } | null {
  const n = 3 + Ae.length;
  const M: number[][] = Array.from({ length: n }, () => new Array<number>(n + 1).fill(0));
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) M[i]![j] = H[i]![j]!;
    M[i]![n] = g[i]!;
  }
  Ae.forEach((row, r) => {
    for (let j = 0; j < 3; j++) {
      M[3 + r]![j] = row[j]!;
      M[j]![3 + r] = row[j]!;
    }
    M[3 + r]![n] = be[r]!;
  });
  const x = gaussSolve(M, n);
  return x ? { x: x.slice(0, 3), mu: x.slice(3) } : null;
}

/** Gaussian elimination with partial pivoting on an augmented n×(n+1) matrix (in place); null when singular. */
export function gaussSolve(M: number[][], n: number): number[] | null {
  let norm = 0;
  for (const row of M) for (let j = 0; j < n; j++) norm = Math.max(norm, Math.abs(row[j]!));
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(M[r]![col]!) > Math.abs(M[piv]![col]!)) piv = r;
    if (Math.abs(M[piv]![col]!) <= 1e-13 * (norm || 1)) return null;
    [M[col], M[piv]] = [M[piv]!, M[col]!];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = M[r]![col]! / M[col]![col]!;
      if (f === 0) continue;
      for (let j = col; j <= n; j++) M[r]![j]! -= f * M[col]![j]!;
    }
  }
  return M.map((row, i) => row[n]! / row[i]!);
}
