/**
 * SSVI surface (Gatheral & Jacquier 2014, "Arbitrage-free SVI volatility surfaces", Quant. Finance
 * 14(1), eq. (4.1)) with the power-law φ of their eq. (4.5):
 *
 *   w(k, θ_t) = θ_t/2 · (1 + ρ·φ(θ_t)·k + √((φ(θ_t)·k + ρ)² + 1 − ρ²)),   φ(θ) = η / (θ^γ·(1 + θ)^{1−γ})
 *
 * θ_t = ATM total implied variance of expiry t (read off the market smile, surface/atm.ts), ρ ∈ (−1, 1),
 * η > 0, γ ∈ (0, 1). Fitted by Nelder–Mead on (atanh ρ, ln η, logit γ) minimising vega-weighted squared
 * total-variance residuals over all slices.
 * No-arbitrage conditions checked: butterfly — Theorem 4.2 (θφ(θ)(1 + |ρ|) < 4 and θφ(θ)²(1 + |ρ|) ≤ 4)
 * and Durrleman g(k) ≥ 0 on a k-grid per slice; calendar — Theorem 4.1 (θ_t non-decreasing in t and
 * 0 ≤ ∂θ(θφ(θ)) ≤ (1 + √(1 − ρ²))/ρ² · φ(θ)) and, directly, w(k, t_{i+1}) ≥ w(k, t_i) on the grid.
 */
import { nelderMead } from '../stats/nelder-mead.ts';
import { durrlemanG } from './svi.ts';
import type { SmilePoint } from './svi-fit.ts';

/** SSVI global parameters. */
export interface SsviParams {
  rho: number;
  eta: number;
  gamma: number;
}

/** Power-law φ(θ) = η/(θ^γ (1+θ)^{1−γ}) (G&J 2014 eq. 4.5). */
export function ssviPhi(p: SsviParams, theta: number): number {
  return p.eta / (Math.pow(theta, p.gamma) * Math.pow(1 + theta, 1 - p.gamma));
}

/** SSVI total variance w(k, θ). */
export function ssviW(p: SsviParams, theta: number, k: number): number {
  const phi = ssviPhi(p, theta);
  const x = phi * k + p.rho;
  return (theta / 2) * (1 + p.rho * phi * k + Math.sqrt(x * x + 1 - p.rho * p.rho));
}

/** (w, ∂w/∂k, ∂²w/∂k²) of an SSVI slice at k (closed form). */
export function ssviDerivs(p: SsviParams, theta: number, k: number): [number, number, number] {
  const phi = ssviPhi(p, theta);
  const x = phi * k + p.rho;
  const r = Math.sqrt(x * x + 1 - p.rho * p.rho);
  const w = (theta / 2) * (1 + p.rho * phi * k + r);
  const w1 = (theta / 2) * phi * (p.rho + x / r);
  const w2 = (theta / 2) * phi * phi * (1 - p.rho * p.rho) / (r * r * r);
  return [w, w1, w2];
}

/** One slice of an SSVI fit: θ, its expiry and the market points. */
export interface SsviSlice {
  expiry: string;
  t: number;
  theta: number;
  points: SmilePoint[];
}

/** Result of an SSVI fit. */
export interface SsviFit {
  params: SsviParams;
  objective: number;
  converged: boolean;
}

/** Fits (ρ, η, γ) to slices with known θ. Throws RangeError with no points or a non-positive θ. */
export function fitSsvi(slices: readonly SsviSlice[]): SsviFit {
  const n = slices.reduce((s, x) => s + x.points.length, 0);
  if (n < 3) throw new RangeError(`fitSsvi: need ≥ 3 points over all slices, got ${n}`);
  for (const s of slices) if (!(s.theta > 0)) throw new RangeError(`fitSsvi: θ of ${s.expiry} must be > 0 (got ${s.theta})`);
  const decode = (x: number[]): SsviParams => ({ rho: Math.tanh(x[0]!), eta: Math.exp(x[1]!), gamma: 1 / (1 + Math.exp(-x[2]!)) });
  const scale = slices.reduce((s, sl) => s + sl.points.reduce((u, p) => u + p.weight * p.w * p.w, 0), 0) || 1;
  const obj = (x: number[]) => {
    const p = decode(x);
    let v = 0;
    for (const sl of slices) for (const pt of sl.points) v += pt.weight * (ssviW(p, sl.theta, pt.k) - pt.w) ** 2;
    return v / scale;
  };
  let best = null as ReturnType<typeof nelderMead> | null;
  for (const x0 of [[-0.5, Math.log(1), 0], [-0.2, Math.log(0.3), -1]]) {
    const r = nelderMead(obj, x0, { step: 0.3, ftol: 1e-13, xtol: 1e-7, maxIter: 3000 });
    if (!best || r.fx < best.fx) best = r;
  }
  return { params: decode(best!.x), objective: best!.fx * scale, converged: best!.converged };
}

/** Arbitrage diagnostics of an SSVI surface at the given θ_t (ascending t). */
export interface SsviArbitrage {
  /** Per slice: Theorem 4.2 quantities and min g on the grid. */
  butterfly: Array<{ expiry: string; thetaPhi1: number; thetaPhi2: number; minG: number; ok: boolean }>;
  /** Per consecutive pair: θ non-decreasing and min over the grid of w(k, t_{i+1}) − w(k, t_i). */
  calendar: Array<{ from: string; to: string; thetaIncrease: number; minDiff: number; ok: boolean }>;
  /** Theorem 4.1's bound on ∂θ(θφ(θ)) at each θ (power law, numeric derivative). */
  thetaPhiMonotone: boolean;
  butterflyFree: boolean;
  calendarFree: boolean;
}

/** Checks butterfly and calendar arbitrage of an SSVI surface on k ∈ [kMin, kMax] (step 0.005). */
export function ssviArbitrage(p: SsviParams, slices: ReadonlyArray<Pick<SsviSlice, 'expiry' | 't' | 'theta'>>, kMin = -1, kMax = 1): SsviArbitrage {
  const grid: number[] = [];
  for (let k = kMin; k <= kMax + 1e-12; k += 0.005) grid.push(k);
  const ar = 1 + Math.abs(p.rho);
  const butterfly = slices.map((s) => {
    const phi = ssviPhi(p, s.theta);
    let minG = Infinity;
    for (const k of grid) {
      const [w, w1, w2] = ssviDerivs(p, s.theta, k);
      const g = durrlemanG(k, w, w1, w2);
      minG = Math.min(minG, Number.isNaN(g) ? -Infinity : g);
    }
    const thetaPhi1 = s.theta * phi * ar;
    const thetaPhi2 = s.theta * phi * phi * ar;
    return { expiry: s.expiry, thetaPhi1, thetaPhi2, minG, ok: minG >= 0 };
  });
  const sorted = [...slices].sort((a, b) => a.t - b.t);
  const calendar = sorted.slice(1).map((s, i) => {
    const prev = sorted[i]!;
    let minDiff = Infinity;
    for (const k of grid) minDiff = Math.min(minDiff, ssviW(p, s.theta, k) - ssviW(p, prev.theta, k));
    return { from: prev.expiry, to: s.expiry, thetaIncrease: s.theta - prev.theta, minDiff, ok: s.theta >= prev.theta && minDiff >= -1e-14 };
  });
  let thetaPhiMonotone = true;
  for (const s of slices) {
    const h = 1e-6 * s.theta;
    const tp = (th: number) => th * ssviPhi(p, th);
    const d = (tp(s.theta + h) - tp(s.theta - h)) / (2 * h);
    const bound = p.rho === 0 ? Infinity : ((1 + Math.sqrt(1 - p.rho * p.rho)) / (p.rho * p.rho)) * ssviPhi(p, s.theta);
    if (d < 0 || d > bound) thetaPhiMonotone = false;
  }
  return {
    butterfly, calendar, thetaPhiMonotone,
    butterflyFree: butterfly.every((b) => b.ok),
    calendarFree: calendar.every((c) => c.ok) && thetaPhiMonotone,
  };
}
