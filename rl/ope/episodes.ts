import type { RlDataset } from '../dataset.ts';

/**
 * One logged episode for off-policy evaluation: L ≤ H consecutive steps of the behaviour policy.
 * states[h] is the state vector at step h; propensities[h] = π_b(actions[h] | states[h]).
 * The episode ends after its last step (finite horizon: nothing is bootstrapped beyond it).
 */
export interface OpeEpisode {
  states: Float64Array[];
  actions: number[];
  rewards: number[];
  propensities: number[];
}

/** Action probabilities of a (target) policy at a state: length A, summing to 1. */
export type PolicyFn = (state: Float64Array) => ArrayLike<number>;

/** A deterministic policy as a PolicyFn: all mass on `choose(state)`. */
export function deterministic(nActions: number, choose: (state: Float64Array) => number): PolicyFn {
  return (s) => {
    const p = new Float64Array(nActions);
    p[choose(s)] = 1;
    return p;
  };
}

/** The evaluation-period episodes of a dataset (split = eval), in episode order. */
export function episodesFromDataset(ds: RlDataset): OpeEpisode[] {
  const F = ds.featureNames.length;
  const out: OpeEpisode[] = [];
  let cur = -1;
  for (let i = 0; i < ds.n; i++) {
    if (ds.split[i] !== 1) continue;
    if (ds.episode[i] !== cur) {
      cur = ds.episode[i]!;
      out.push({ states: [], actions: [], rewards: [], propensities: [] });
    }
    const e = out[out.length - 1]!;
    e.states.push(ds.state.slice(i * F, (i + 1) * F));
    e.actions.push(ds.action[i]!);
    e.rewards.push(ds.reward[i]!);
    e.propensities.push(ds.propensity[i]!);
  }
  return out;
}

/**
 * Target-policy probabilities evaluated once at every logged state: probs[i][h] is π(·|s_h) of
 * episode i. Policies are evaluated once and reused by every estimator and bootstrap resample.
 */
export interface PolicyTable {
  episodes: OpeEpisode[];
  nActions: number;
  horizon: number;
  probs: Float64Array[][];
}

export function tabulatePolicy(episodes: OpeEpisode[], pi: PolicyFn, nActions: number): PolicyTable {
  let H = 0;
  const probs = episodes.map((e) => {
    H = Math.max(H, e.states.length);
    return e.states.map((s) => {
      const p = Float64Array.from(pi(s) as ArrayLike<number>);
      if (p.length !== nActions) throw new Error(`policy returned ${p.length} probabilities for ${nActions} actions`);
      return p;
    });
  });
  return { episodes, nActions, horizon: H, probs };
}
