import { percentileInterval, bootstrapDateBlocks, bootstrapEpisodes, type DateGroups, type Interval } from './bootstrap.ts';
import { doublyRobust } from './dr.ts';
import { tabulatePolicy, type OpeEpisode, type PolicyFn, type PolicyTable } from './episodes.ts';
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
  /** Date blocks of the episodes: resample whole dates (all paths together) by the stationary bootstrap; default iid episodes. */
  groups?: DateGroups;
  /**
   * The baseline policy's exact value per episode (its discounted return replayed from the episode's
   * start state, same units as the rewards): adds the paired difference DR(π) − V(baseline).
   */
  baselineValues?: ArrayLike<number>;
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
  /** With `baselineValues`: DR(π) − V(baseline) on the same (resampled) episodes, and V(baseline) itself. */
  difference?: Interval;
  baseline_exact?: number;
}

/** Weighted mean of per-episode values (weights = multiplicities; 1 each by default). */
function weightedMean(v: ArrayLike<number>, w?: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < v.length; i++) {
    const c = w ? w[i]! : 1;
    num += c * v[i]!;
    den += c;
  }
  return den > 0 ? num / den : NaN;
}

/**
 * Evaluates target policy `pi` on logged `episodes` with all four estimators. Point estimates use all
 * episodes; intervals are bootstrap percentiles where every resample refits FQE (so DR's and FQE's
 * intervals include model-fitting variance): by date blocks (Politis & Romano 1994 stationary
 * bootstrap, all paths of a date together) with `o.groups`, else iid episodes. With
 * `o.baselineValues` the paired difference DR(π) − V(baseline) is resampled on the same weights
 * (Jiang & Li 2016 DR against the baseline's exact replay value). Values are discounted returns over
 * the horizon, in reward units. Throws when there are no episodes, the baseline values do not match
 * the episodes, or the run is aborted.
 */
export function evaluatePolicy(episodes: OpeEpisode[], pi: PolicyFn, nActions: number, o: OpeOptions): OpeEstimates {
  if (episodes.length === 0) throw new Error('off-policy evaluation needs at least one episode');
  return evaluateTable(tabulatePolicy(episodes, pi, nActions), o);
}

/**
 * {@link evaluatePolicy} of a policy already tabulated on the episodes (episodes.ts
 * `tabulatePolicy`): plain data, so it also runs in a worker thread (rl/ope/worker.ts). Throws as
 * evaluatePolicy does.
 */
export function evaluateTable(tab: PolicyTable, o: OpeOptions): OpeEstimates {
  const episodes = tab.episodes;
  if (episodes.length === 0) throw new Error('off-policy evaluation needs at least one episode');
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
  const base = o.baselineValues;
  if (base && base.length !== episodes.length) throw new Error(`baseline values for ${base.length} episodes, ${episodes.length} episodes logged`);
  const withDiff = (w?: Float64Array) => {
    const e = all(w);
    return base ? { ...e, diff: e.dr - weightedMean(base, w) } : { ...e, diff: NaN };
  };
  const point = withDiff();
  const stat = (w: Float64Array) => {
    if (o.signal?.aborted) throw new Error('off-policy evaluation aborted');
    return withDiff(w);
  };
  const progress = (b: number) => o.onProgress?.(b / o.bootstrap);
  const reps = o.groups ? bootstrapDateBlocks(o.groups, o.bootstrap, o.seed, stat, progress) : bootstrapEpisodes(episodes.length, o.bootstrap, o.seed, stat, progress);
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
    ...(base ? { difference: percentileInterval(point.diff, reps.diff, o.ciLevel), baseline_exact: weightedMean(base) } : {}),
  };
}
