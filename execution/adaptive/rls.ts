/** The learned state of a {@link RecursiveLeastSquares}, as plain arrays (JSON-safe). */
export interface RlsState {
  w: number[];
  /** d×d, row-major. */
  P: number[];
  n: number;
}

/**
 * Recursive least squares with exponential forgetting (Haykin, *Adaptive Filter Theory*, 4th ed.,
 * §9.3): online ridge regression. With P₀ = I/δ (ridge δ) and forgetting factor ϕ ∈ (0, 1]:
 *   k = P x / (ϕ + xᵀP x),  w ← w + k (y − wᵀx),  P ← (P − k xᵀP) / ϕ.
 * ϕ = 1 is exact ridge regression on all data seen (prior w = 0 with precision δ); ϕ < 1 weights
 * an observation s steps old by ϕˢ. Deterministic.
 */
export class RecursiveLeastSquares {
  readonly w: Float64Array;
  private readonly P: Float64Array;
  n = 0;

  /** `d` features, ridge δ > 0, forgetting ϕ ∈ (0, 1]. */
  constructor(readonly d: number, ridge = 1, readonly forgetting = 1) {
    if (!(d >= 1 && ridge > 0 && forgetting > 0 && forgetting <= 1)) throw new RangeError(`RLS needs d ≥ 1, ridge > 0 and forgetting in (0, 1] (got ${d}, ${ridge}, ${forgetting})`);
    this.w = new Float64Array(d);
    this.P = new Float64Array(d * d);
    for (let i = 0; i < d; i++) this.P[i * d + i] = 1 / ridge;
  }

  /** A copy of the current state (weights w, the d×d matrix P row-major, observations n). */
  state(): RlsState {
    return { w: Array.from(this.w), P: Array.from(this.P), n: this.n };
  }

  /**
   * An RLS with `d` features and forgetting ϕ holding a saved {@link RlsState} exactly (the ridge
   * only sets P₀, which the saved P replaces). Throws RangeError when w or P has the wrong length.
   */
  static restore(d: number, ridge: number, forgetting: number, s: RlsState): RecursiveLeastSquares {
    if (s.w.length !== d || s.P.length !== d * d) throw new RangeError(`RLS state needs ${d} weights and ${d * d} matrix cells, got ${s.w.length} and ${s.P.length}`);
    const r = new RecursiveLeastSquares(d, ridge, forgetting);
    r.w.set(s.w);
    r.P.set(s.P);
    r.n = s.n;
    return r;
  }

  /** wᵀx. */
  predict(x: ArrayLike<number>): number {
    if (x.length !== this.d) throw new RangeError(`RLS expects ${this.d} features, got ${x.length}`);
    let s = 0;
    for (let i = 0; i < this.d; i++) s += this.w[i]! * x[i]!;
    return s;
  }

  /** Incorporates one observation (x, y). */
  update(x: ArrayLike<number>, y: number): void {
    const d = this.d;
    const px = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += this.P[i * d + j]! * x[j]!;
      px[i] = s;
    }
    let den = this.forgetting;
    for (let i = 0; i < d; i++) den += x[i]! * px[i]!;
    const err = y - this.predict(x);
    for (let i = 0; i < d; i++) this.w[i] += (px[i]! / den) * err;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) this.P[i * d + j] = (this.P[i * d + j]! - (px[i]! * px[j]!) / den) / this.forgetting;
    this.n++;
  }
}
