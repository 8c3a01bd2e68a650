import { describe, expect, it } from 'vitest';
import { rlConfigSchema, type TrainConfig } from '../../rl/config.ts';
import { argmax, mlpForward, TfMlp, type MlpParams } from '../../rl/networks.ts';
import { Rng } from '../../rl/rng.ts';
import { inputScale, trainOffline, trainOnBackend, type TrainData } from '../../rl/train.ts';
import { trainInWorker } from '../../rl/worker.ts';
import { loadTf } from '../../rl/tf.ts';
import { mlpToOnnx, scoreOnnx } from '../../models/onnx/mlp.ts';

// Tabular MDP: 4 states, 3 actions, γ = 0.9. The logged data only ever takes the actions in SUPPORT[s].
// Action 2 in state 0 and action 0 in state 1 would pay the most but are never logged.
const nS = 4;
const nA = 3;
const gamma = 0.9;
const R = [
  [0.2, 1.0, 3.0],
  [5.0, 0.1, 0.8],
  [0.5, 0.0, 1.2],
  [1.0, 0.3, 0.0],
];
const NEXT = [
  [1, 2, 3],
  [2, 3, 0],
  [3, 0, 1],
  [0, 1, 2],
]; // deterministic transitions s' = NEXT[s][a]
const SUPPORT = [
  [0, 1],
  [1, 2],
  [0, 2],
  [0, 1],
];

/** Optimal in-support action per state by value iteration restricted to logged actions. */
function inSupportOptimal(): number[] {
  let V = new Array(nS).fill(0);
  for (let it = 0; it < 500; it++) V = V.map((_, s) => Math.max(...SUPPORT[s]!.map((a) => R[s]![a]! + gamma * V[NEXT[s]![a]!]!)));
  return Array.from({ length: nS }, (_, s) => SUPPORT[s]!.reduce((b, a) => (R[s]![a]! + gamma * V[NEXT[s]![a]!]! > R[s]![b]! + gamma * V[NEXT[s]![b]!]! ? a : b)));
}

function loggedData(n: number, seed: number): TrainData {
  const rng = new Rng(seed);
  const s = new Float32Array(n * nS);
  const s2 = new Float32Array(n * nS);
  const a = new Int32Array(n);
  const r = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const st = rng.int(nS);
    const act = SUPPORT[st]![rng.int(2)]!;
    s[i * nS + st] = 1;
    s2[i * nS + NEXT[st]![act]!] = 1;
    a[i] = act;
    r[i] = R[st]![act]! + 0.1 * rng.normal();
  }
  const { mean, invStd } = inputScale(s, n, nS);
  return { n, dim: nS, nActions: nA, s, a, r, s2, done: new Float32Array(n), mean, invStd };
}

const base = rlConfigSchema.parse({}).train;
const cfg = (over: Partial<TrainConfig>): TrainConfig => ({ ...base, hidden: [32], batch_size: 64, learning_rate: 3e-3, reward_scale: 1, gamma, target_update_every: 50, log_every: 100, ...over });
const eye = Float32Array.from({ length: nS * nS }, (_, i) => (i % (nS + 1) === 0 ? 1 : 0));
const greedy = (p: MlpParams) => {
  const q = mlpForward(p, eye, nS);
  return Array.from({ length: nS }, (_, s) => argmax(q, s * nA, nA));
};

for (const backend of ['kernel', 'tfjs'] as const) describe(`discrete CQL and IQL on a tabular MDP with a logged dataset (${backend} backend)`, () => {
  const data = loggedData(3000, 5);
  const train = (c: TrainConfig) => trainOnBackend(data, { ...c, backend });
  const best = inSupportOptimal();

  it('the in-support optimum differs from the unconstrained one (the test has teeth)', () => {
    expect(best).toEqual([1, 2, 2, 0]);
  });

  it('CQL: greedy policy = optimal in-support action; out-of-distribution Q pushed below the data', async () => {
    const cql = await train(cfg({ algo: 'cql', steps: 1200, cql: { alpha: 1.0 } }));
    expect(greedy(cql.policy)).toEqual(best);
    const q = mlpForward(cql.q!, eye, nS);
    const dqn = await train(cfg({ algo: 'cql', steps: 1200, cql: { alpha: 0 } }));
    const q0 = mlpForward(dqn.q!, eye, nS);
    let gapCql = 0;
    let gapDqn = 0;
    for (let s = 0; s < nS; s++) {
      const ood = [0, 1, 2].find((a) => !SUPPORT[s]!.includes(a))!;
      const minIn = Math.min(...SUPPORT[s]!.map((a) => q[s * nA + a]!));
      expect(q[s * nA + ood]!, `state ${s}`).toBeLessThan(minIn);
      gapCql += q[s * nA + ood]! - Math.max(...SUPPORT[s]!.map((a) => q[s * nA + a]!));
      gapDqn += q0[s * nA + ood]! - Math.max(...SUPPORT[s]!.map((a) => q0[s * nA + a]!));
    }
    expect(gapCql).toBeLessThan(gapDqn);
    expect(cql.curves.step.length).toBe(12);
    expect(cql.curves.cql_gap!.at(-1)!).toBeLessThan(cql.curves.cql_gap![0]!);
  });

  it('IQL: greedy policy = optimal in-support action; never an unlogged action', async () => {
    const iql = await train(cfg({ algo: 'iql', steps: 1500, iql: { expectile: 0.8, beta: 5, max_weight: 100 } }));
    expect(greedy(iql.policy)).toEqual(best);
    expect(iql.final.v_loss).toBeGreaterThan(0);
  });

  it('BC recovers the behaviour support only', async () => {
    const bc = await train(cfg({ algo: 'bc', steps: 400 }));
    greedy(bc.policy).forEach((a, s) => expect(SUPPORT[s]).toContain(a));
  });

  it('is reproducible from the seed, also in the worker thread, and depends on it', async () => {
    const c = cfg({ algo: 'iql', steps: 60, log_every: 20 });
    const a = await train(c);
    const b = await trainInWorker(data, { ...c, backend });
    const other = await train({ ...c, seed: c.seed + 1 });
    expect(b.policy).toEqual(a.policy);
    expect(b.curves).toEqual(a.curves);
    expect(other.policy.layers[0]!.w).not.toEqual(a.policy.layers[0]!.w);
  });
});

describe('ONNX export of the policy network', () => {
  it('exported scores equal tfjs scores within 1e-5', async () => {
    const data = loggedData(500, 9);
    const res = await trainOffline({ ...data, dim: nS }, cfg({ algo: 'iql', steps: 100, hidden: [16, 16] }));
    const rng = new Rng(4);
    const n = 64;
    const states = Float32Array.from({ length: n * nS }, () => rng.normal() * 2);
    const tf = await loadTf();
    const net = TfMlp.fromParams(tf, res.policy);
    const tfScores = net.score(states, n);
    net.dispose();
    const onnx = mlpToOnnx(res.policy, { metadata: { actions: '[0,1,2]' } });
    const ort = await scoreOnnx(onnx, states, n, nS);
    expect(ort.length).toBe(n * nA);
    let maxDiff = 0;
    for (let i = 0; i < ort.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ort[i]! - tfScores[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
    // and the plain-JS forward used by OPE agrees too
    const js = mlpForward(res.policy, states, n);
    for (let i = 0; i < js.length; i++) expect(Math.abs(js[i]! - tfScores[i]!)).toBeLessThan(1e-4);
  });

  it('rejects layer shapes that do not chain', () => {
    const bad: MlpParams = { inputMean: [0, 0], inputInvStd: [1, 1], layers: [{ in: 3, out: 1, w: [1, 2, 3], b: [0] }] };
    expect(() => mlpToOnnx(bad)).toThrow(/expects 3 inputs/);
  });
});
