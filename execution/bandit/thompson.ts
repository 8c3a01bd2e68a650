import type { Rng } from '../../rl/rng.ts';
import { cholesky, dot, solveSpd } from './linalg.ts';

/**
 * Linear Thompson sampling with a Normal-Inverse-Gamma prior per arm (Bayesian linear regression
 * with unknown noise variance; conjugate updates as in Bishop 2006 §3.3 / Murphy 2012 §7.6.3; the
 * sampling rule of Agrawal & Goyal 2013, "Thompson sampling for contextual bandits with linear
 * payoffs"): r = βᵀx + ε, ε ~ N(0, σ²), β | σ² ~ N(μ, σ²Λ⁻¹), σ² ~ IG(a, b). Posterior after data
 * (X, y): Λₙ = Λ₀ + XᵀX, μₙ = Λₙ⁻¹(Λ₀μ₀ + Xᵀy), aₙ = a₀ + n/2, bₙ = b₀ + ½(yᵀy + μ₀ᵀΛ₀μ₀ − μₙᵀΛₙμₙ).
 * Each round draws σ² ~ IG(aₙ, bₙ) and β ~ N(μₙ, σ²Λₙ⁻¹) per arm and plays the arm with the largest
 * βᵀx. Randomness only from the given seeded generator.
 */
export class NigThompson {
  private readonly xtx: Float64Array[];
  private readonly xty: Float64Array[];
  private readonly yty: number[];
  private readonly n: number[];

  /** Prior μ₀ = 0, Λ₀ = λ₀I, IG(a₀, b₀). */
  constructor(readonly arms: number, readonly d: number, readonly rng: Rng, readonly lambda0 = 1, readonly a0 = 2, readonly b0 = 1) {
    if (!(arms >= 1 && d >= 1 && lambda0 > 0 && a0 > 0 && b0 > 0)) throw new RangeError(`NIG Thompson needs arms ≥ 1, d ≥ 1 and positive prior parameters`);
    this.xtx = Array.from({ length: arms }, () => new Float64Array(d * d));
    this.xty = Array.from({ length: arms }, () => new Float64Array(d));
    this.yty = new Array<number>(arms).fill(0);
    this.n = new Array<number>(arms).fill(0);
  }

  /** Posterior (μₙ, Λₙ, aₙ, bₙ) of arm `a`. */
  posterior(a: number): { mu: Float64Array; lambda: Float64Array; a: number; b: number } {
    const d = this.d;
    const lam = this.xtx[a]!.slice();
    for (let i = 0; i < d; i++) lam[i * d + i] += this.lambda0;
    const mu = solveSpd(lam, this.xty[a]!, d);
    const an = this.a0 + this.n[a]! / 2;
    const bn = this.b0 + 0.5 * Math.max(0, this.yty[a]! - dot(mu, this.xty[a]!));
    return { mu, lambda: lam, a: an, b: bn };
  }

  /** Draws β for each arm and returns the sampled rewards βᵀx. */
  sampleScores(x: Float64Array): number[] {
    if (x.length !== this.d) throw new RangeError(`context has ${x.length} features, Thompson sampling expects ${this.d}`);
    const d = this.d;
    return Array.from({ length: this.arms }, (_, a) => {
      const p = this.posterior(a);
      const sigma2 = p.b / gammaSample(this.rng, p.a);
      // β = μ + σ·L⁻ᵀz with Λ = LLᵀ gives Cov β = σ²Λ⁻¹.
      const l = cholesky(p.lambda, d);
      const z = Float64Array.from({ length: d }, () => this.rng.normal());
      const v = new Float64Array(d);
      for (let i = d - 1; i >= 0; i--) {
        let s = z[i]!;
        for (let k = i + 1; k < d; k++) s -= l[k * d + i]! * v[k]!;
        v[i] = s / l[i * d + i]!;
      }
      const sd = Math.sqrt(sigma2);
      let score = 0;
      for (let i = 0; i < d; i++) score += (p.mu[i]! + sd * v[i]!) * x[i]!;
      return score;
    });
  }

  /** The arm to play for context `x` (largest sampled reward). */
  choose(x: Float64Array): number {
    const s = this.sampleScores(x);
    let best = 0;
    for (let a = 1; a < s.length; a++) if (s[a]! > s[best]!) best = a;
    return best;
  }

  /** Records reward `r` of arm `a` in context `x`. */
  update(a: number, x: Float64Array, r: number): void {
    const d = this.d;
    const m = this.xtx[a]!;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) m[i * d + j] += x[i]! * x[j]!;
    const v = this.xty[a]!;
    for (let i = 0; i < d; i++) v[i] += r * x[i]!;
    this.yty[a] += r * r;
    this.n[a]++;
  }
}

/**
 * Gamma(shape k, scale 1) draw by Marsaglia & Tsang (2000), "A simple method for generating gamma
 * variables"; k < 1 via the boost U^{1/k}. Throws for k ≤ 0.
 */
export function gammaSample(rng: Rng, k: number): number {
  if (!(k > 0)) throw new RangeError(`gamma shape must be > 0, got ${k}`);
  if (k < 1) return gammaSample(rng, k + 1) * Math.pow(1 - rng.next(), 1 / k);
  const d = k - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}
