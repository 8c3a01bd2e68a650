import { describe, expect, it } from 'vitest';
import { Rng } from '../../rl/rng.ts';
import {
  cumulativeRatios,
  doublyRobust,
  evaluatePolicy,
  fitFqe,
  perDecisionIS,
  tabulatePolicy,
  weightedPerDecisionIS,
  type OpeEpisode,
  type PolicyFn,
  dateGroups,
  evaluateTable,
  sizingQFeatures,
} from '../../rl/ope/index.ts';
import { evaluateInWorker } from '../../rl/ope/worker.ts';

const oneHot = (k: number, n: number) => {
  const v = new Float64Array(n);
  v[k] = 1;
  return v;
};
const stateOf = (s: Float64Array) => s.indexOf(1);

/** A small tabular MDP with a finite horizon; bandit = horizon 1. */
interface Mdp {
  nS: number;
  nA: number;
  H: number;
  gamma: number;
  p0: number[];
  P: number[][][]; // P[s][a][s']
  R: number[][]; // mean reward
  noise: number;
}

/** Exact value of `pi` (table pi[s][a]) by backward induction: V_0 = Σ_s p0(s) V_0(s). */
function exactValue(m: Mdp, pi: number[][]): number {
  let V = new Array(m.nS).fill(0);
  for (let h = m.H - 1; h >= 0; h--) {
    V = Array.from({ length: m.nS }, (_, s) => {
      let v = 0;
      for (let a = 0; a < m.nA; a++) {
        let q = m.R[s]![a]!;
        for (let s2 = 0; s2 < m.nS; s2++) q += m.gamma * m.P[s]![a]![s2]! * V[s2]!;
        v += pi[s]![a]! * q;
      }
      return v;
    });
  }
  return m.p0.reduce((acc, p, s) => acc + p * V[s]!, 0);
}

function simulate(m: Mdp, beh: number[][], n: number, seed: number): OpeEpisode[] {
  const rng = new Rng(seed);
  const eps: OpeEpisode[] = [];
  for (let i = 0; i < n; i++) {
    const e: OpeEpisode = { states: [], actions: [], rewards: [], propensities: [] };
    let s = rng.choice(m.p0);
    for (let h = 0; h < m.H; h++) {
      const a = rng.choice(beh[s]!);
      e.states.push(oneHot(s, m.nS));
      e.actions.push(a);
      e.propensities.push(beh[s]![a]!);
      e.rewards.push(m.R[s]![a]! + m.noise * rng.normal());
      s = rng.choice(m.P[s]![a]!);
    }
    eps.push(e);
  }
  return eps;
}

const tablePolicy = (pi: number[][]): PolicyFn => (s) => pi[stateOf(s)]!;

function estimates(m: Mdp, eps: OpeEpisode[], pi: number[][]) {
  const tab = tabulatePolicy(eps, tablePolicy(pi), m.nA);
  const rho = cumulativeRatios(tab);
  const f = fitFqe(tab, m.gamma, { ridge: 1e-8 });
  return {
    is: perDecisionIS(tab, rho, m.gamma),
    wis: weightedPerDecisionIS(tab, rho, m.gamma),
    fqe: f.estimate,
    dr: doublyRobust(tab, f.qhat, f.vhat, m.gamma),
  };
}

type Est = ReturnType<typeof estimates>;
const KEYS = ['is', 'wis', 'fqe', 'dr'] as const;

function replicate(m: Mdp, beh: number[][], pi: number[][], n: number, reps: number, seed0: number): Est[] {
  return Array.from({ length: reps }, (_, r) => estimates(m, simulate(m, beh, n, seed0 + r), pi));
}
const mae = (xs: Est[], k: keyof Est, truth: number) => xs.reduce((a, e) => a + Math.abs(e[k] - truth), 0) / xs.length;
const variance = (xs: Est[], k: keyof Est) => {
  const mu = xs.reduce((a, e) => a + e[k], 0) / xs.length;
  return xs.reduce((a, e) => a + (e[k] - mu) ** 2, 0) / (xs.length - 1);
};

const bandit: Mdp = {
  nS: 3,
  nA: 3,
  H: 1,
  gamma: 1,
  p0: [0.5, 0.3, 0.2],
  P: Array.from({ length: 3 }, () => Array.from({ length: 3 }, () => [1 / 3, 1 / 3, 1 / 3])),
  R: [
    [1.0, 0.2, -0.5],
    [0.0, 0.8, 0.3],
    [-0.2, 0.1, 1.5],
  ],
  noise: 0.5,
};
const banditBeh = [
  [0.2, 0.5, 0.3],
  [0.4, 0.3, 0.3],
  [0.5, 0.3, 0.2],
];
const banditTarget = [
  [0.8, 0.1, 0.1],
  [0.1, 0.8, 0.1],
  [0.0, 0.2, 0.8],
];

const mdp: Mdp = {
  nS: 3,
  nA: 2,
  H: 4,
  gamma: 0.9,
  p0: [0.6, 0.3, 0.1],
  P: [
    [
      [0.7, 0.3, 0.0],
      [0.1, 0.6, 0.3],
    ],
    [
      [0.5, 0.5, 0.0],
      [0.0, 0.3, 0.7],
    ],
    [
      [0.3, 0.3, 0.4],
      [0.2, 0.0, 0.8],
    ],
  ],
  R: [
    [0.1, -0.2],
    [0.0, 0.3],
    [1.0, 0.5],
  ],
  noise: 0.3,
};
const mdpBeh = [
  [0.6, 0.4],
  [0.5, 0.5],
  [0.4, 0.6],
];
const mdpTarget = [
  [0.1, 0.9],
  [0.2, 0.8],
  [0.9, 0.1],
];

describe('OPE known answers: contextual bandit', () => {
  const truth = exactValue(bandit, banditTarget);

  it('has the hand-computed true value', () => {
    // 0.5·(0.8·1 + 0.1·0.2 − 0.05) + 0.3·(0 + 0.64 + 0.03) + 0.2·(0 + 0.02 + 1.2)
    expect(truth).toBeCloseTo(0.5 * 0.77 + 0.3 * 0.67 + 0.2 * 1.22, 12);
  });

  it('IS, WIS, FQE and DR converge to the true value as data grows; DR variance < IS variance', () => {
    const small = replicate(bandit, banditBeh, banditTarget, 100, 30, 1000);
    const large = replicate(bandit, banditBeh, banditTarget, 4000, 30, 5000);
    for (const k of KEYS) {
      expect(mae(large, k, truth), k).toBeLessThan(0.5 * mae(small, k, truth));
      expect(mae(large, k, truth), k).toBeLessThan(0.04);
    }
    expect(variance(large, 'dr')).toBeLessThan(variance(large, 'is'));
    expect(variance(small, 'dr')).toBeLessThan(variance(small, 'is'));
  });
});

describe('OPE known answers: tabular MDP (H = 4, γ = 0.9)', () => {
  const truth = exactValue(mdp, mdpTarget);

  it('estimators converge to the exact DP value; DR variance < per-decision IS variance', () => {
    const small = replicate(mdp, mdpBeh, mdpTarget, 100, 30, 2000);
    const large = replicate(mdp, mdpBeh, mdpTarget, 4000, 30, 9000);
    for (const k of KEYS) {
      expect(mae(large, k, truth), k).toBeLessThan(0.5 * mae(small, k, truth));
      expect(mae(large, k, truth), k).toBeLessThan(0.06);
    }
    expect(variance(large, 'dr')).toBeLessThan(variance(large, 'is'));
    expect(variance(small, 'dr')).toBeLessThan(variance(small, 'is'));
  });

  it('FQE on exact tabular data reproduces dynamic programming', () => {
    // noise-free rewards and many episodes: FQE (one-hot, tiny ridge) ≈ DP on the empirical MDP
    const eps = simulate({ ...mdp, noise: 0 }, mdpBeh, 20000, 77);
    const e = estimates({ ...mdp, noise: 0 }, eps, mdpTarget);
    expect(e.fqe).toBeCloseTo(truth, 1);
    expect(Math.abs(e.fqe - truth)).toBeLessThan(0.02);
  });

  it('bootstrap intervals are ordered and the 99% DR interval covers the truth', () => {
    const eps = simulate(mdp, mdpBeh, 3000, 31);
    const r = evaluatePolicy(eps, tablePolicy(mdpTarget), mdp.nA, { gamma: mdp.gamma, ridge: 1e-8, bootstrap: 200, ciLevel: 0.99, seed: 3 });
    for (const k of KEYS) {
      expect(r[k].lcb, k).toBeLessThanOrEqual(r[k].estimate);
      expect(r[k].ucb, k).toBeGreaterThanOrEqual(r[k].estimate);
    }
    expect(r.dr.lcb).toBeLessThanOrEqual(truth);
    expect(r.dr.ucb).toBeGreaterThanOrEqual(truth);
    expect(r.dr.se).toBeLessThan(r.is.se);
    expect(r.n_episodes).toBe(3000);
    expect(r.horizon).toBe(4);
  });

  it('importance sampling refuses a zero behaviour propensity', () => {
    const eps = simulate(mdp, mdpBeh, 5, 1);
    eps[0]!.propensities[0] = 0;
    expect(() => cumulativeRatios(tabulatePolicy(eps, tablePolicy(mdpTarget), 2))).toThrow(/propensity/);
  });

  it('a worker thread evaluates a tabulated policy to the same bits as this thread (date blocks, sizing Q features); an abort stops it', async () => {
    const eps = simulate(mdp, mdpBeh, 400, 9);
    const table = tabulatePolicy(eps, tablePolicy(mdpTarget), mdp.nA);
    const groups = dateGroups(eps.map((_, i) => `d${String(Math.floor(i / 4)).padStart(4, '0')}`), 5, (d) => Number(d.slice(1)));
    const options = { gamma: mdp.gamma, ridge: 1e-6, bootstrap: 40, ciLevel: 0.9, seed: 5, groups };
    const sizingQ = { actions: [0.5, 1], prevIndex: 1, stateDim: mdp.nS };
    const here = evaluateTable(table, { ...options, qFeatures: sizingQFeatures(sizingQ.actions, sizingQ.prevIndex, sizingQ.stateDim) });
    const progress: number[] = [];
    const there = await evaluateInWorker({ table, options, sizingQ }, { onProgress: (f) => progress.push(f) });
    expect(there).toEqual(here);
    expect(progress.at(-1)).toBe(1);
    const stop = new AbortController();
    const run = evaluateInWorker({ table, options: { ...options, bootstrap: 100000 }, sizingQ: null }, { signal: stop.signal });
    stop.abort();
    await expect(run).rejects.toThrow(/off-policy evaluation aborted/);
  });
});

