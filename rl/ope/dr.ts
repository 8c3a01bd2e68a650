import type { PolicyTable } from './episodes.ts';

/**
 * Doubly robust estimator for finite-horizon episodes (Jiang & Li 2016), backwards recursion per episode:
 *   V_DR^{(L)} = 0,  V_DR^{(h)} = V̂_h(s_h) + ρ_h (r_h + γ V_DR^{(h+1)} − Q̂_h(s_h, a_h))
 * with single-step ratios ρ_h = π(a_h|s_h)/π_b(a_h|s_h); the estimate is the weighted mean of
 * V_DR^{(0)} over episodes. Unbiased when the propensities are right, whatever Q̂; low variance when
 * Q̂ is close to Q^π. `qhat`/`vhat` come from {@link fitFqe}. Reward units, discounted over H steps.
 */
export function doublyRobust(tab: PolicyTable, qhat: Float64Array[][], vhat: Float64Array[], gamma: number, weights?: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  tab.episodes.forEach((e, i) => {
    const c = weights ? weights[i]! : 1;
    if (c === 0) return;
    let v = 0;
    for (let h = e.actions.length - 1; h >= 0; h--) {
      const a = e.actions[h]!;
      const rho = tab.probs[i]![h]![a]! / e.propensities[h]!;
      v = vhat[i]![h]! + rho * (e.rewards[h]! + gamma * v - qhat[i]![h]![a]!);
    }
    num += c * v;
    den += c;
  });
  return den > 0 ? num / den : NaN;
}
