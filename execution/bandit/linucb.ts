import { dot, quadForm, shermanMorrison } from './linalg.ts';

/**
 * Disjoint LinUCB (Li, Chu, Langford & Schapire 2010, "A contextual-bandit approach to personalized
 * news article recommendation", Algorithm 1): per arm a, ridge statistics A_a = λI + Σ x xᵀ and
 * b_a = Σ r x, θ̂_a = A_a⁻¹ b_a, and the arm maximising θ̂_aᵀx + α·√(xᵀ A_a⁻¹ x) is played (ties → the
 * lowest index). Rewards are any real numbers (here −slippage in bps). Deterministic.
 */
export class LinUcb {
  private readonly inv: Float64Array[];
  private readonly b: Float64Array[];

  /** `arms` ≥ 1, context dimension `d` ≥ 1, exploration α ≥ 0, ridge λ > 0. */
  constructor(readonly arms: number, readonly d: number, readonly alpha = 1, ridge = 1) {
    if (!(arms >= 1 && d >= 1 && alpha >= 0 && ridge > 0)) throw new RangeError(`LinUCB needs arms ≥ 1, d ≥ 1, α ≥ 0, λ > 0 (got ${arms}, ${d}, ${alpha}, ${ridge})`);
    this.inv = Array.from({ length: arms }, () => {
      const m = new Float64Array(d * d);
      for (let i = 0; i < d; i++) m[i * d + i] = 1 / ridge;
      return m;
    });
    this.b = Array.from({ length: arms }, () => new Float64Array(d));
  }

  /** θ̂_a = A_a⁻¹ b_a. */
  theta(a: number): Float64Array {
    const d = this.d;
    const th = new Float64Array(d);
    const inv = this.inv[a]!;
    for (let i = 0; i < d; i++) th[i] = dot(inv.subarray(i * d, (i + 1) * d), this.b[a]!);
    return th;
  }

  /** Upper confidence bound of each arm for context `x` (length d). */
  scores(x: Float64Array): number[] {
    if (x.length !== this.d) throw new RangeError(`context has ${x.length} features, LinUCB expects ${this.d}`);
    return Array.from({ length: this.arms }, (_, a) => dot(this.theta(a), x) + this.alpha * Math.sqrt(Math.max(0, quadForm(this.inv[a]!, x, this.d))));
  }

  /** The arm to play for context `x`. */
  choose(x: Float64Array): number {
    const s = this.scores(x);
    let best = 0;
    for (let a = 1; a < s.length; a++) if (s[a]! > s[best]!) best = a;
    return best;
  }

  /** Records reward `r` of arm `a` in context `x`. */
  update(a: number, x: Float64Array, r: number): void {
    shermanMorrison(this.inv[a]!, x, this.d);
    const b = this.b[a]!;
    for (let i = 0; i < this.d; i++) b[i] += r * x[i]!;
  }
}
