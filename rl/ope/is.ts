import type { PolicyTable } from './episodes.ts';

/**
 * Cumulative per-decision importance ratios ρ_{0:h} = Π_{j≤h} π(a_j|s_j) / π_b(a_j|s_j), padded to
 * the horizon with the last value (an ended episode keeps its weight and earns 0 afterwards).
 * Returns [episodes][H]. Throws on a zero or missing behaviour propensity.
 */
export function cumulativeRatios(tab: PolicyTable): Float64Array[] {
  return tab.episodes.map((e, i) => {
    const out = new Float64Array(tab.horizon);
    let rho = 1;
    for (let h = 0; h < tab.horizon; h++) {
      if (h < e.actions.length) {
        const pb = e.propensities[h]!;
        if (!(pb > 0)) throw new Error(`behaviour propensity ${pb} at episode ${i} step ${h}: importance sampling needs π_b(a|s) > 0`);
        rho *= tab.probs[i]![h]![e.actions[h]!]! / pb;
      }
      out[h] = rho;
    }
    return out;
  });
}

/**
 * Per-decision importance sampling (Precup, Sutton, Singh 2000):
 *   V̂_PDIS = Σ_i c_i Σ_h γ^h ρ^i_{0:h} r^i_h / Σ_i c_i
 * `weights` c_i are episode multiplicities (1 for the data itself, bootstrap counts otherwise).
 * Units: discounted return over the episode horizon, in reward units.
 */
export function perDecisionIS(tab: PolicyTable, rho: Float64Array[], gamma: number, weights?: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  tab.episodes.forEach((e, i) => {
    const c = weights ? weights[i]! : 1;
    if (c === 0) return;
    let g = 1;
    let v = 0;
    for (let h = 0; h < e.rewards.length; h++) ((v += g * rho[i]![h]! * e.rewards[h]!), (g *= gamma));
    num += c * v;
    den += c;
  });
  return den > 0 ? num / den : NaN;
}

/**
 * Per-decision weighted importance sampling (self-normalised per step; Precup 2000, Thomas 2015):
 *   V̂_WPDIS = Σ_h γ^h Σ_i c_i ρ^i_{0:h} r^i_h / Σ_i c_i ρ^i_{0:h}
 * Biased but consistent; bounded by the range of the rewards at each step.
 */
export function weightedPerDecisionIS(tab: PolicyTable, rho: Float64Array[], gamma: number, weights?: ArrayLike<number>): number {
  const H = tab.horizon;
  const num = new Float64Array(H);
  const den = new Float64Array(H);
  tab.episodes.forEach((e, i) => {
    const c = weights ? weights[i]! : 1;
    if (c === 0) return;
    for (let h = 0; h < H; h++) {
      den[h] += c * rho[i]![h]!;
      if (h < e.rewards.length) num[h] += c * rho[i]![h]! * e.rewards[h]!;
    }
  });
  let v = 0;
  let g = 1;
  for (let h = 0; h < H; h++) {
    if (den[h]! > 0) v += (g * num[h]!) / den[h]!;
    g *= gamma;
  }
  return v;
}
