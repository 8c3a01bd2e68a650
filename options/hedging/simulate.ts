/**
 * Price paths for the deep-hedging study, in units of the initial price (S₀ = 1), `steps` steps of
 * `dt` years, zero drift (the hedger's P&L is evaluated without financing; see hedging/study.ts).
 * - GBM: S_{i+1} = S_i·exp(−σ²dt/2 + σ√dt·Z).
 * - Heston (1993): dS = √v S dW₁, dv = κ(θ − v)dt + ξ√v dW₂, corr(dW₁, dW₂) = ρ; full-truncation
 *   Euler scheme for v (Lord, Koekkoek & van Dijk 2010) with `substeps` per step and the log-Euler
 *   step for S. Seeded: the same seed gives the same paths.
 */
import { normalRng } from '../stats/rng.ts';

/** Heston parameters (annualised; v in variance units, e.g. 0.0225 = 15 % vol). */
export interface HestonParams {
  kappa: number;
  theta: number;
  xi: number;
  rho: number;
  v0: number;
}

/** `n` GBM paths of `steps + 1` points each (row-major Float64Array of n × (steps + 1)). */
export function gbmPaths(n: number, steps: number, dt: number, sigma: number, seed: number): Float64Array {
  if (!(sigma > 0) || !(dt > 0)) throw new RangeError(`gbmPaths: sigma and dt must be > 0 (σ=${sigma}, dt=${dt})`);
  const z = normalRng(seed);
  const out = new Float64Array(n * (steps + 1));
  const a = -0.5 * sigma * sigma * dt;
  const b = sigma * Math.sqrt(dt);
  for (let p = 0; p < n; p++) {
    let s = 1;
    out[p * (steps + 1)] = 1;
    for (let i = 1; i <= steps; i++) {
      s *= Math.exp(a + b * z());
      out[p * (steps + 1) + i] = s;
    }
  }
  return out;
}

/** `n` Heston paths (same layout as {@link gbmPaths}). Throws on |ρ| ≥ 1 or negative parameters. */
export function hestonPaths(n: number, steps: number, dt: number, h: HestonParams, seed: number, substeps = 4): Float64Array {
  if (!(Math.abs(h.rho) < 1) || !(h.kappa >= 0 && h.theta > 0 && h.xi >= 0 && h.v0 > 0)) throw new RangeError(`hestonPaths: bad parameters ${JSON.stringify(h)}`);
  const z = normalRng(seed);
  const out = new Float64Array(n * (steps + 1));
  const h1 = dt / substeps;
  const sq = Math.sqrt(h1);
  const c = Math.sqrt(1 - h.rho * h.rho);
  for (let p = 0; p < n; p++) {
    let x = 0;
    let v = h.v0;
    out[p * (steps + 1)] = 1;
    for (let i = 1; i <= steps; i++) {
      for (let k = 0; k < substeps; k++) {
        const z1 = z();
        const z2 = h.rho * z1 + c * z();
        const vp = Math.max(v, 0);
        x += -0.5 * vp * h1 + Math.sqrt(vp) * sq * z1;
        v += h.kappa * (h.theta - vp) * h1 + h.xi * Math.sqrt(vp) * sq * z2;
      }
      out[p * (steps + 1) + i] = Math.exp(x);
    }
  }
  return out;
}
