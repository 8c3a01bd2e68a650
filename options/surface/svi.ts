/**
 * Raw SVI total-variance slice (Gatheral 2004, "A parsimonious arbitrage-free implied volatility
 * parameterization", eq. (1); Gatheral & Jacquier 2014, eq. (3.1)):
 *
 *   w(k) = a + b·(ρ·(k − m) + √((k − m)² + σ²)),   k = ln(K/F), w = σ_BS²·T (total implied variance)
 *
 * with b ≥ 0, |ρ| < 1, σ > 0 and a + b·σ·√(1 − ρ²) ≥ 0 (so that min w ≥ 0). Butterfly arbitrage is
 * absent on a slice iff Durrleman's density condition g(k) ≥ 0 holds (Gatheral & Jacquier 2014, Lemma 2.2):
 *
 *   g(k) = (1 − k·w′/(2w))² − (w′²/4)·(1/w + 1/4) + w″/2.
 */

/** Raw SVI parameters (dimensionless; w in years × vol²). */
export interface SviParams {
  a: number;
  b: number;
  rho: number;
  m: number;
  sigma: number;
}

/** w(k) of raw SVI. */
export function sviW(p: SviParams, k: number): number {
  const x = k - p.m;
  return p.a + p.b * (p.rho * x + Math.sqrt(x * x + p.sigma * p.sigma));
}

/** dw/dk of raw SVI. */
export function sviW1(p: SviParams, k: number): number {
  const x = k - p.m;
  return p.b * (p.rho + x / Math.sqrt(x * x + p.sigma * p.sigma));
}

/** d²w/dk² of raw SVI: b·σ²/((k − m)² + σ²)^{3/2}. */
export function sviW2(p: SviParams, k: number): number {
  const x = k - p.m;
  const r = x * x + p.sigma * p.sigma;
  return (p.b * p.sigma * p.sigma) / (r * Math.sqrt(r));
}

/** Durrleman's g(k) from w, w′, w″ at k (NaN where w ≤ 0: the density is not defined there). */
export function durrlemanG(k: number, w: number, w1: number, w2: number): number {
  if (!(w > 0)) return NaN;
  const u = 1 - (k * w1) / (2 * w);
  return u * u - ((w1 * w1) / 4) * (1 / w + 0.25) + w2 / 2;
}

/** Durrleman's g(k) of a raw SVI slice. */
export function sviG(p: SviParams, k: number): number {
  return durrlemanG(k, sviW(p, k), sviW1(p, k), sviW2(p, k));
}

/** Why a parameter set is not a valid raw SVI slice, or null when it is. */
export function sviInvalid(p: SviParams): string | null {
  if (![p.a, p.b, p.rho, p.m, p.sigma].every(Number.isFinite)) return 'non-finite parameter';
  if (p.b < 0) return `b = ${p.b} < 0`;
  if (!(Math.abs(p.rho) < 1)) return `|ρ| = ${Math.abs(p.rho)} ≥ 1`;
  if (!(p.sigma > 0)) return `σ = ${p.sigma} ≤ 0`;
  if (p.a + p.b * p.sigma * Math.sqrt(1 - p.rho * p.rho) < -1e-14) return 'a + bσ√(1−ρ²) < 0 (negative total variance)';
  return null;
}

/** Minimum of g over a k-grid (default [−1.5, 1.5] step 0.005) and where it occurs: butterfly-free iff min ≥ 0. */
export function sviButterflyCheck(p: SviParams, kMin = -1.5, kMax = 1.5, step = 0.005): { minG: number; atK: number; arbitrageFree: boolean } {
  let minG = Infinity;
  let atK = NaN;
  for (let k = kMin; k <= kMax + 1e-12; k += step) {
    const g = sviG(p, k);
    if (!(g >= minG)) [minG, atK] = [Number.isNaN(g) ? -Infinity : g, k];
  }
  return { minG, atK, arbitrageFree: minG >= 0 };
}
