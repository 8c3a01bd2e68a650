import { percentileInterval, bootstrapEpisodes, type Interval } from './bootstrap.ts';
import { doublyRobust } from './dr.ts';
import { tabulatePolicy, type OpeEpisode, type PolicyFn } from './episodes.ts';
import { featureScale, fitFqe, type QFeatures } from './fqe.ts';
import { cumulativeRatios, perDecisionIS, weightedPerDecisionIS } from './is.ts';

export * from './episodes.ts';
export * from './bootstrap.ts';
export { fitFqe, featureScale, sizingQFeatures, type QFeatures } from './fqe.ts';
export { doublyRobust } from './dr.ts';
export { cumulativeRatios, perDecisionIS, weightedPerDecisionIS } from './is.ts';

export interface OpeOptions {
  gamma: number;
  ridge: number;
  bootstrap: number;
  ciLevel: number;
  seed: number;
  /** pooled Q function class for FQE / DR (default: one ridge per step and action). */
  qFeatures?: QFeatures;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/** FQE, per-decision IS, per-decision WIS and DR estimates of one target policy, each with a bootstrap CI. */
export interface OpeEstimates {
  fqe: Interval;
  is: Interval;
  wis: Interval;
  dr: Interval;
  n_episodes: number;
  horizon: number;
  /** Effective sample size of the final-step cumulative importance weights, (Σρ)²/Σρ². */
  ess: number;
  /** the same per step h = 0..H−1. */
  ess_by_step: number[];
}

/**
 * Evaluates target policy `pi` on logged `episodes` with all four estimators. Point estimates use all
 * episodes; intervals are episode-bootstrap percentiles where every resample refits FQE (so DR's and
 * FQE's intervals include model-fitting variance). Values are discounted returns over the horizon,
 * in reward units. Throws when there are no episodes or the run is aborted.
 */
export function evaluatePolicy(episodes: OpeEpisode[], pi: PolicyFn, nActions: number, o: OpeOptions): OpeEstimates {
  if (episodes.length === 0) throw new Error('off-policy evaluation needs at least one episode');
  const tab = tabulatePolicy(episodes, pi, nActions);
  const rho = cumulativeRatios(tab);
  const scale = featureScale(tab);
  const all = (w?: Float64Array) => {
    const f = fitFqe(tab, o.gamma, { ridge: o.ridge, weights: w, scale, qFeatures: o.qFeatures });
    return {
      fqe: f.estimate,
      is: perDecisionIS(tab, rho, o.gamma, w),
      wis: weightedPerDecisionIS(tab, rho, o.gamma, w),
      dr: doublyRobust(tab, f.qhat, f.vhat, o.gamma, w),
    };
  };
  const point = all();
  const reps = bootstrapEpisodes(episodes.length, o.bootstrap, o.seed, (w) => {
    if (o.signal?.aborted) throw new Error('off-policy evaluation aborted');
    return all(w);
  }, (b) => o.onProgress?.(b / o.bootstrap));
  const essBy = Array.from({ length: tab.horizon }, (_, h) => {
    let s1 = 0;
    let s2 = 0;
    for (const r of rho) ((s1 += r[h]!), (s2 += r[h]! ** 2));
    return s2 > 0 ? (s1 * s1) / s2 : 0;
  });
  return {
    fqe: percentileInterval(point.fqe, reps.fqe, o.ciLevel),
    is: percentileInterval(point.is, reps.is, o.ciLevel),
    wis: percentileInterval(point.wis, reps.wis, o.ciLevel),
    dr: percentileInterval(point.dr, reps.dr, o.ciLevel),
    n_episodes: episodes.length,
    horizon: tab.horizon,
    ess: essBy[essBy.length - 1] ?? 0,
    ess_by_step: essBy,
  };
}
