import { Rng } from '../../rl/rng.ts';
import { Mlp } from './mlp.ts';

/**
 * Double DQN (Mnih et al. 2015, "Human-level control through deep reinforcement learning";
 * van Hasselt, Guez & Silver 2016 for the double-Q target) for small episodic problems:
 * ε-greedy exploration, uniform experience replay, a target network synced every `targetSync`
 * updates, Huber loss, target y = r + γ·(1 − done)·Q_target(s′, argmax_a Q(s′, a)).
 * Everything random comes from one seeded generator, so the same seed gives the same network.
 */

/** An episodic environment with a discrete action set; states are already scaled to O(1). */
export interface DiscreteEnv {
  readonly stateSize: number;
  readonly actionCount: number;
  /** Starts an episode (the env draws what it needs from `rng`) and returns the first state. */
  reset(rng: Rng): Float64Array;
  step(action: number): { next: Float64Array; reward: number; done: boolean };
}

/** DQN settings. */
export interface DqnConfig {
  hidden: number[];
  episodes: number;
  gamma: number;
  lr: number;
  batch: number;
  bufferSize: number;
  epsStart: number;
  epsEnd: number;
  /** Episodes over which ε decays linearly from epsStart to epsEnd. */
  epsDecayEpisodes: number;
  targetSync: number;
  /** One gradient update every `updateEvery` environment steps (after `warmup` transitions). */
  updateEvery: number;
  warmup: number;
  huber: number;
  seed: number;
}

/** Defaults sized for the 5-feature executor (seconds of training on 2 cores). */
export const DEFAULT_DQN: DqnConfig = {
  hidden: [32, 32], episodes: 1500, gamma: 1, lr: 1e-3, batch: 32, bufferSize: 20_000,
  epsStart: 1, epsEnd: 0.05, epsDecayEpisodes: 1000, targetSync: 250, updateEvery: 1, warmup: 500, huber: 1, seed: 7,
};

/** Training summary. */
export interface DqnResult {
  net: Mlp;
  episodes: number;
  envSteps: number;
  updates: number;
  /** Undiscounted return of each training episode. */
  returns: number[];
}

/** Index of the largest of `q` (first on ties). */
export function argmaxQ(q: ArrayLike<number>): number {
  let b = 0;
  for (let k = 1; k < q.length; k++) if (q[k]! > q[b]!) b = k;
  return b;
}

/** Greedy action of `net` in state `s`. */
export function greedyAction(net: Mlp, s: Float64Array): number {
  return argmaxQ(net.forward(s, 1));
}

/**
 * Trains a Q-network on episodes of `env`. `init`, when given, initialises the online network
 * before training (a warm start, e.g. imitation of a benchmark policy); the target network starts
 * as its copy. Throws RangeError for a non-positive episode count or batch.
 */
export function trainDqn(env: DiscreteEnv, cfg: DqnConfig, init?: (net: Mlp, rng: Rng) => void): DqnResult {
  if (!(cfg.episodes >= 1) || !(cfg.batch >= 1)) throw new RangeError(`DQN needs episodes ≥ 1 and batch ≥ 1 (got ${cfg.episodes}, ${cfg.batch})`);
  const rng = new Rng(cfg.seed);
  const S = env.stateSize;
  const A = env.actionCount;
  const net = new Mlp([S, ...cfg.hidden, A], cfg.seed + 1);
  if (init) init(net, rng);
  const target = new Mlp([S, ...cfg.hidden, A], cfg.seed + 1);
  target.copyFrom(net);
  const cap = cfg.bufferSize;
  const bs = new Float64Array(cap * S);
  const bn = new Float64Array(cap * S);
  const ba = new Int32Array(cap);
  const br = new Float64Array(cap);
  const bd = new Uint8Array(cap);
  let size = 0;
  let head = 0;
  let updates = 0;
  let envSteps = 0;
  const returns: number[] = [];
  const xb = new Float64Array(cfg.batch * S);
  const xn = new Float64Array(cfg.batch * S);
  const tgt = new Float64Array(cfg.batch * A);
  const mask = new Float64Array(cfg.batch * A);
  const idx = new Int32Array(cfg.batch);
  const update = () => {
    for (let i = 0; i < cfg.batch; i++) {
      const j = rng.int(size);
      idx[i] = j;
      xb.set(bs.subarray(j * S, (j + 1) * S), i * S);
      xn.set(bn.subarray(j * S, (j + 1) * S), i * S);
    }
    const qNextOnline = net.forward(xn, cfg.batch);
    const qNextTarget = target.forward(xn, cfg.batch);
    tgt.fill(0);
    mask.fill(0);
    for (let i = 0; i < cfg.batch; i++) {
      const j = idx[i]!;
      const aStar = argmaxQ(qNextOnline.subarray(i * A, (i + 1) * A));
      tgt[i * A + ba[j]!] = br[j]! + (bd[j] ? 0 : cfg.gamma * qNextTarget[i * A + aStar]!);
      mask[i * A + ba[j]!] = 1;
    }
    net.train(xb, tgt, mask, cfg.batch, cfg.lr, cfg.huber);
    updates++;
    if (updates % cfg.targetSync === 0) target.copyFrom(net);
  };
  for (let ep = 0; ep < cfg.episodes; ep++) {
    const eps = cfg.epsEnd + (cfg.epsStart - cfg.epsEnd) * Math.max(0, 1 - ep / Math.max(1, cfg.epsDecayEpisodes));
    let s = env.reset(rng);
    let G = 0;
    for (let done = false; !done; ) {
      const a = rng.next() < eps ? rng.int(A) : greedyAction(net, s);
      const st = env.step(a);
      bs.set(s, head * S);
      bn.set(st.next, head * S);
      ba[head] = a;
      br[head] = st.reward;
      bd[head] = st.done ? 1 : 0;
      head = (head + 1) % cap;
      size = Math.min(cap, size + 1);
      G += st.reward;
      s = st.next;
      done = st.done;
      envSteps++;
      if (size >= cfg.warmup && envSteps % cfg.updateEvery === 0) update();
    }
    returns.push(G);
  }
  return { net, episodes: cfg.episodes, envSteps, updates, returns };
}
