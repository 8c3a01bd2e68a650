import { describe, expect, it } from 'vitest';
import { DEFAULT_DQN, type DiscreteEnv, trainDqn } from '../../execution/rl/dqn.ts';
import { DEFAULT_RL_EXECUTION, runRlExecution } from '../../execution/rl/experiment.ts';
import { Mlp } from '../../execution/rl/mlp.ts';
import { loadLobSession } from '../../lob/load.ts';
import { calibrateOrderFlow, simulateSession } from '../../lob/synthetic.ts';
import { verifyAgainstSnapshots } from '../../lob/verify.ts';
import { hasSharedData } from '../../lib/paths.ts';
import type { Rng } from '../../rl/rng.ts';

/** A 5-state chain: action 1 moves right (+0 reward, +10 at the end), action 0 stops with +1. Optimal: always 1. */
class Chain implements DiscreteEnv {
  readonly stateSize = 2;
  readonly actionCount = 2;
  private k = 0;
  reset(_rng: Rng): Float64Array {
    this.k = 0;
    return this.state();
  }
  private state(): Float64Array {
    return Float64Array.of(this.k / 4, 1);
  }
  step(a: number) {
    if (a === 0) return { next: this.state(), reward: 1, done: true };
    this.k++;
    const done = this.k === 4;
    return { next: this.state(), reward: done ? 10 : 0, done };
  }
}

describe('typed-array MLP and DQN', () => {
  it('the MLP gradient matches finite differences', () => {
    const net = new Mlp([3, 4, 2], 5);
    const x = Float64Array.of(0.3, -0.7, 1.1, 0.5, 0.2, -0.4);
    const target = Float64Array.of(1, -1, 0.5, 2);
    const mask = Float64Array.of(1, 0, 1, 1);
    const loss = (n: Mlp) => {
      const o = n.forward(x, 2);
      let s = 0;
      for (let i = 0; i < 4; i++) s += mask[i]! * 0.5 * (o[i]! - target[i]!) ** 2;
      return s / 2;
    };
    const g = net.gradients(x, target, mask, 2);
    expect(g.loss).toBeCloseTo(loss(net), 12);
    for (let l = 0; l < 2; l++) {
      for (const [arr, grad] of [[net.w[l]!, g.gw[l]!], [net.b[l]!, g.gb[l]!]] as const) {
        for (let i = 0; i < arr.length; i++) {
          const v = arr[i]!;
          const h = 1e-6;
          arr[i] = v + h;
          const up = loss(net);
          arr[i] = v - h;
          const dn = loss(net);
          arr[i] = v;
          expect(grad[i]!).toBeCloseTo((up - dn) / (2 * h), 6);
        }
      }
    }
  });

  it('DQN learns the optimal policy of a small chain and is deterministic per seed', () => {
    const cfg = { ...DEFAULT_DQN, hidden: [16], episodes: 400, epsDecayEpisodes: 250, warmup: 64, targetSync: 50, seed: 3 };
    const a = trainDqn(new Chain(), cfg);
    const b = trainDqn(new Chain(), cfg);
    expect(Array.from(a.net.w[0]!)).toEqual(Array.from(b.net.w[0]!));
    expect(a.returns).toEqual(b.returns);
    const c = trainDqn(new Chain(), { ...cfg, seed: 4 });
    expect(c.returns).not.toEqual(a.returns);
    const env = new Chain();
    let s = env.reset(null as unknown as Rng);
    let G = 0;
    for (let done = false; !done; ) {
      const q = a.net.forward(s, 1);
      const st = env.step(q[1]! > q[0]! ? 1 : 0);
      G += st.reward;
      s = st.next;
      done = st.done;
    }
    expect(G).toBe(10);
  });
});

describe.skipIf(!hasSharedData())('RL execution on the GOOG sample', () => {
  it('synthetic order flow replays exactly through the simulator', async () => {
    const s = await loadLobSession('GOOG');
    const t0 = s.messages.time[0]!;
    const sim = simulateSession(calibrateOrderFlow(s, t0, t0 + 900), s, 500, 300, 9);
    const chk = verifyAgainstSnapshots(sim);
    expect(chk.rows).toBeGreaterThan(500);
    expect(chk.mismatchedCells).toBe(0);
    const again = simulateSession(calibrateOrderFlow(s, t0, t0 + 900), s, 500, 300, 9);
    expect(Array.from(again.messages.price)).toEqual(Array.from(sim.messages.price));
  });

  it('same seed → identical training and identical shortfall table', async () => {
    const s = await loadLobSession('GOOG');
    const cfg = {
      ...DEFAULT_RL_EXECUTION, syntheticSessions: 1, evalStrideSeconds: 120,
      dqn: { ...DEFAULT_RL_EXECUTION.dqn, hidden: [8], episodes: 40, epsDecayEpisodes: 30, warmup: 50 },
    };
    const a = runRlExecution(s, cfg);
    const b = runRlExecution(s, cfg);
    const strip = (r: typeof a) => ({ table: r.table, paired: r.paired, usage: r.actionUsage, training: { ...r.training, seconds: 0 } });
    expect(strip(a)).toEqual(strip(b));
    expect(a.table.map((r) => r.strategy)).toEqual(expect.arrayContaining(['RL (double DQN)', 'TWAP', 'TWAP passive', 'VWAP']));
    expect(a.table[0]!.episodes).toBe(a.table[1]!.episodes);
    expect(a.training.envSteps).toBe(40 * cfg.steps);
  });
});
