import { type DqnConfig, type DqnResult, trainDqn } from '../execution/rl/dqn.ts';
import type { Mlp } from '../execution/rl/mlp.ts';
import type { Rng } from '../rl/rng.ts';
import { AS_ACTION, MM_ACTIONS } from './policy.ts';
import type { MmEnv } from './rl_env.ts';

/**
 * RL market maker warm-started from Avellaneda–Stoikov: before double-DQN training
 * (execution/rl/dqn.ts), `warmEpisodes` episodes are played with the A-S action and the Q-network
 * is regressed (`warmEpochs` passes, minibatches of 64) onto Q(s, a_AS) = G_t and
 * Q(s, a) = G_t − `margin` for every other action, G_t the A-S return-to-go from s. The greedy
 * policy therefore starts as A-S with Q-values on the right scale, and exploration (ε from
 * `dqn.epsStart`, kept small) searches around it. Seeded; deterministic.
 */
export interface RlMmConfig {
  dqn: DqnConfig;
  warmEpisodes: number;
  warmEpochs: number;
  margin: number;
}

/** Trains the warm-started market maker on `env`. */
export function trainRlMarketMaker(env: MmEnv, cfg: RlMmConfig): DqnResult & { warmStates: number } {
  let warmStates = 0;
  const init = (net: Mlp, rng: Rng) => {
    const S = env.stateSize;
    const A = MM_ACTIONS.length;
    const xs: number[] = [];
    const gs: number[] = [];
    for (let e = 0; e < cfg.warmEpisodes; e++) {
      let s = env.reset(rng);
      const ep: { s: Float64Array; r: number }[] = [];
      for (let done = false; !done; ) {
        const st = env.step(AS_ACTION);
        ep.push({ s, r: st.reward });
        s = st.next;
        done = st.done;
      }
      let g = 0;
      for (let t = ep.length - 1; t >= 0; t--) {
        g += ep[t]!.r;
        xs.push(...ep[t]!.s);
        gs.push(g);
      }
    }
    const n = gs.length;
    warmStates = n;
    const B = 64;
    const x = new Float64Array(B * S);
    const y = new Float64Array(B * A);
    const mask = new Float64Array(B * A).fill(1);
    for (let epoch = 0; epoch < cfg.warmEpochs; epoch++) {
      for (let b = 0; b + B <= n; b += B) {
        for (let i = 0; i < B; i++) {
          const j = rng.int(n);
          for (let k = 0; k < S; k++) x[i * S + k] = xs[j * S + k]!;
          for (let a = 0; a < A; a++) y[i * A + a] = gs[j]! - (a === AS_ACTION ? 0 : cfg.margin);
        }
        net.train(x, y, mask, B, cfg.dqn.lr, cfg.dqn.huber);
      }
    }
  };
  const r = trainDqn(env, cfg.dqn, init);
  return { ...r, warmStates };
}
