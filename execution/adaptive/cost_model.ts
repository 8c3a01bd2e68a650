import { z } from 'zod';
import type { CostConfig } from '../cost_models.ts';
import { RecursiveLeastSquares, type RlsState } from './rls.ts';

/**
 * Adaptive execution-cost model: an Almgren–Chriss base plus a residual learned online.
 *
 * Base (AC 2000 linear temporary impact of one child of n shares, h(n) = ε + η̂·n per share,
 * written in unit-free inputs so it transfers across horizons and instruments):
 *   base_bps = spread_bps / 2 + c · σ_h · ρ,
 * spread_bps the quoted spread, σ_h the mid volatility over the child's horizon (bps), ρ the
 * participation n / V_h (V_h the expected traded volume over the horizon, shares), and
 * c = η̂·V̄_h / (M̄·σ̄_h)·10⁴ calibrated once from the book (η̂ USD/share², M̄ mean mid USD).
 * Residual: online ridge / RLS (execution/adaptive/rls.ts) on φ = [1, time of day, spread_bps,
 * σ_h, ρ, side, ρ·σ_h], fitted to realised_bps − base_bps and updated after every realised child.
 * Features are clipped to the range seen in training before predicting, so the residual never
 * extrapolates linearly far outside its data.
 */
export interface CostFeatures {
  /** Fraction of the regular session elapsed (0 at 09:30, 1 at 16:00). */
  timeOfDay: number;
  spreadBps: number;
  sigmaBps: number;
  participation: number;
  /** +1 buy, −1 sell. */
  side: number;
}

/** Names of the residual features φ, in order (the keys of `residual_weights` and of the model JSON's `features`). */
export const RESIDUAL_FEATURES = ['intercept', 'time_of_day', 'spread_bps', 'sigma_bps', 'participation', 'side', 'participation_x_sigma'] as const;

const D = RESIDUAL_FEATURES.length;
const finiteOrNull = z.number().nullable();

/**
 * The saved model (`trademl.adaptive_cost_model/v1`, the `model` artifact of the
 * `execution.cost_model` contract, written by kinds/execution/jobs.ts): AC slope `c`, the residual
 * RLS's ridge, forgetting, weights `w` (7, bps per unit of each feature), matrix `P` (7×7 row-major)
 * and observation count `n`, and the feature range seen in training `lo`/`hi` (7 each; null = ±∞,
 * i.e. nothing seen yet, as JSON writes non-finite numbers). Other fields (e.g. `trained_on`) pass.
 */
export const adaptiveCostModelJson = z
  .object({
    kind: z.literal('trademl.adaptive_cost_model/v1'),
    c: z.number().min(0),
    ridge: z.number().positive(),
    forgetting: z.number().gt(0).max(1),
    features: z.array(z.string()).length(D),
    w: z.array(z.number()).length(D),
    P: z.array(z.number()).length(D * D),
    n: z.number().int().min(0),
    lo: z.array(finiteOrNull).length(D),
    hi: z.array(finiteOrNull).length(D),
  })
  .passthrough();

/** The JSON form of an {@link AdaptiveCostModel} (see {@link adaptiveCostModelJson}). */
export type AdaptiveCostModelJson = z.infer<typeof adaptiveCostModelJson>;

/** φ(features) as used by the residual (see module comment). */
export function residualFeatures(f: CostFeatures): Float64Array {
  return Float64Array.of(1, f.timeOfDay, f.spreadBps, f.sigmaBps, f.participation, f.side, f.participation * f.sigmaBps);
}

/** The AC base in bps (see module comment). */
export function acBaseBps(f: CostFeatures, c: number): number {
  return f.spreadBps / 2 + c * f.sigmaBps * f.participation;
}

/** AC base + online residual (see the module comment); predictions and updates in bps of notional. */
export class AdaptiveCostModel {
  readonly rls: RecursiveLeastSquares;
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;

  /**
   * `c`: calibrated AC slope (dimensionless, ≥ 0); ridge and forgetting of the residual RLS;
   * `saved`: a learned residual state to start from (see {@link AdaptiveCostModel.fromJSON}).
   */
  constructor(readonly c: number, readonly ridge = 1000, readonly forgetting = 1, saved?: RlsState) {
    if (!(c >= 0)) throw new RangeError(`AC slope c must be ≥ 0, got ${c}`);
    this.rls = saved ? RecursiveLeastSquares.restore(7, ridge, forgetting, saved) : new RecursiveLeastSquares(7, ridge, forgetting);
    this.lo = new Float64Array(7).fill(Infinity);
    this.hi = new Float64Array(7).fill(-Infinity);
  }

  private clip(x: Float64Array): Float64Array {
    if (this.rls.n === 0) return x;
    return x.map((v, i) => Math.min(this.hi[i]!, Math.max(this.lo[i]!, v)));
  }

  /** AC base only (bps of notional). */
  baseBps(f: CostFeatures): number {
    return acBaseBps(f, this.c);
  }

  /** Base + learned residual (bps of notional). */
  predictBps(f: CostFeatures): number {
    return this.baseBps(f) + this.rls.predict(this.clip(residualFeatures(f)));
  }

  /**
   * The model as JSON (`trademl.adaptive_cost_model/v1`, {@link adaptiveCostModelJson}): what
   * {@link AdaptiveCostModel.fromJSON} restores to a model that predicts bit for bit the same.
   */
  toJSON(): AdaptiveCostModelJson {
    const s = this.rls.state();
    const fin = (v: number) => (Number.isFinite(v) ? v : null);
    return { kind: 'trademl.adaptive_cost_model/v1', c: this.c, ridge: this.ridge, forgetting: this.forgetting, features: [...RESIDUAL_FEATURES], w: s.w, P: s.P, n: s.n, lo: Array.from(this.lo, fin), hi: Array.from(this.hi, fin) };
  }

  /**
   * Restores a saved model (the JSON of {@link AdaptiveCostModel.toJSON}, or the `model` artifact
   * of an `execution.cost_model` step). Throws RangeError naming the first problem when the JSON is
   * not a `trademl.adaptive_cost_model/v1` model with the residual features of this module.
   */
  static fromJSON(json: unknown): AdaptiveCostModel {
    const r = adaptiveCostModelJson.safeParse(json);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new RangeError(`not a trademl.adaptive_cost_model/v1 model: ${i ? `${i.path.join('.') || '(value)'}: ${i.message}` : 'invalid'}`);
    }
    const j = r.data;
    const bad = j.features.findIndex((f, k) => f !== RESIDUAL_FEATURES[k]);
    if (bad >= 0) throw new RangeError(`adaptive cost model: residual feature ${bad} is "${j.features[bad]}", expected "${RESIDUAL_FEATURES[bad]}" (features: ${RESIDUAL_FEATURES.join(', ')})`);
    const m = new AdaptiveCostModel(j.c, j.ridge, j.forgetting, { w: j.w, P: j.P, n: j.n });
    j.lo.forEach((v, k) => (m.lo[k] = v ?? Infinity));
    j.hi.forEach((v, k) => (m.hi[k] = v ?? -Infinity));
    return m;
  }

  /** Learns from one realised child cost (bps). */
  update(f: CostFeatures, realisedBps: number): void {
    const x = residualFeatures(f);
    for (let i = 0; i < 7; i++) {
      this.lo[i] = Math.min(this.lo[i]!, x[i]!);
      this.hi[i] = Math.max(this.hi[i]!, x[i]!);
    }
    this.rls.update(x, realisedBps - this.baseBps(f));
  }
}

/**
 * The model as a daily-backtest impact cost with the shape of `impactCost` in execution/cost_models.ts:
 * (dw fraction of capital, σ_daily (fraction), ADV (USD), cfg) → cost as a fraction of capital.
 * Mapping: ρ = |dw|·capital/ADV, σ_h = σ_daily·10⁴ bps, spread_bps = 2·cfg.half_spread_bps,
 * side = sign(dw), time of day = `timeOfDay` (default 1: trading at the close). The half-spread is
 * removed from the prediction because the backtest charges it separately (linearCosts); the rest is
 * floored at 0. Unknown σ or ADV falls back to cfg.impact.missing_bps like impactCost.
 */
export function adaptiveImpactCost(model: AdaptiveCostModel, timeOfDay = 1): (dw: number, sigmaDaily: number, advUsd: number, cfg: CostConfig) => number {
  return (dw, sigmaDaily, advUsd, cfg) => {
    const a = Math.abs(dw);
    if (a === 0) return 0;
    if (!(sigmaDaily >= 0) || !(advUsd > 0)) return (a * cfg.impact.missing_bps) / 1e4;
    const f: CostFeatures = { timeOfDay, spreadBps: 2 * cfg.half_spread_bps, sigmaBps: sigmaDaily * 1e4, participation: (a * cfg.capital_usd) / advUsd, side: Math.sign(dw) };
    const bps = Math.max(0, model.predictBps(f) - cfg.half_spread_bps);
    return (a * bps) / 1e4;
  };
}
