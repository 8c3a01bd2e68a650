import { depthImbalance, RollingMidVol } from '../../lob/features.ts';
import { LobReplay, ReplayCheckpoints } from '../../lob/replay.ts';
import type { LobSession, Side } from '../../lob/types.ts';
import { Rng } from '../../rl/rng.ts';
import { LinUcb } from './linucb.ts';
import { executeOrderType, ORDER_TYPES, type ChildOrder } from './order_types.ts';
import { NigThompson } from './thompson.ts';

/**
 * Order-type selection as a contextual bandit on the LOB replay. Rounds are child orders at
 * regular times through the session (side and size drawn from a seeded generator); the context is
 * the book state at the round's start: x = [1, spread/s̄, side·imbalance, σ/σ̄, shares/opposite touch
 * size, side] (s̄, σ̄: mean spread and 30-s volatility over the rounds, scale only). Because the
 * replay is non-intrusive, every order type can be run on every round, giving the full reward
 * matrix R[t][a] = −slippage (bps); a bandit sees only the entry of the arm it played. Regret
 * against the best fixed order type in hindsight: Σ_t R[t][a*] − Σ_t R[t][a_t],
 * a* = argmax_a Σ_t R[t][a].
 */
export interface BanditConfig {
  everySeconds: number;
  windowSeconds: number;
  sizes: number[];
  povRate: number;
  /** LinUCB exploration parameters to run (each a separate pass; report all, none is tuned out of sample). */
  alphas: number[];
  ridge: number;
  /** Seeds of the Thompson-sampling passes. */
  thompsonSeeds: number[];
  seed: number;
}

/** Defaults for the GOOG sample: a 30-s child every 2 s. */
export const DEFAULT_BANDIT: BanditConfig = { everySeconds: 2, windowSeconds: 30, sizes: [100, 200, 300], povRate: 0.2, alphas: [0.1, 0.3, 1, 2], ridge: 1, thompsonSeeds: [1, 2, 3, 4, 5], seed: 5 };

/** Rounds with contexts and the full reward matrix. */
export interface BanditRounds {
  children: ChildOrder[];
  contexts: Float64Array[];
  /** rewards[t][a] = −slippage bps of order type a on round t. */
  rewards: number[][];
}

/** Builds the rounds of a session (one chronological replay pass for the contexts). */
export function banditRounds(s: LobSession, cfg: BanditConfig = DEFAULT_BANDIT): BanditRounds {
  const m = s.messages;
  const rng = new Rng(cfg.seed);
  const cp = new ReplayCheckpoints(s, 500);
  const pass = LobReplay.fromStart(s);
  const vol = new RollingMidVol(1, 30);
  const children: ChildOrder[] = [];
  const raw: number[][] = [];
  for (let t = m.time[0]! + 30; t + cfg.windowSeconds <= m.time[m.n - 1]!; t += cfg.everySeconds) {
    while (!pass.done && m.time[pass.cursor]! <= t) {
      pass.step();
      vol.observe(pass.time, pass.book.mid());
    }
    const side: Side = rng.next() < 0.5 ? 1 : -1;
    const shares = cfg.sizes[rng.int(cfg.sizes.length)]!;
    const b = pass.book;
    const oppSize = side === 1 ? b.asks.bestSize() : b.bids.bestSize();
    children.push({ start: t, side, shares, windowSeconds: cfg.windowSeconds });
    raw.push([b.spread() / s.tick, side * depthImbalance(b, 1), vol.value(), oppSize > 0 ? shares / oppSize : 10, side]);
  }
  if (raw.length < 10) throw new RangeError(`${s.symbol}: only ${raw.length} bandit rounds fit in the session`);
  const mean = (k: number) => raw.reduce((a, r) => a + r[k]!, 0) / raw.length;
  const sBar = mean(0);
  const vBar = mean(2) || 1;
  const contexts = raw.map((r) => Float64Array.of(1, r[0]! / sBar, r[1]!, r[2]! / vBar, Math.min(r[3]!, 10), r[4]!));
  const rewards = children.map((c) => ORDER_TYPES.map((ty) => -executeOrderType(cp, c, ty, cfg.povRate).slippageBps));
  return { children, contexts, rewards };
}

/** Result of one online bandit pass. */
export interface BanditRun {
  policy: string;
  choices: number[];
  cumulativeReward: number;
  /** Regret against the best fixed order type in hindsight, bps summed over rounds. */
  regretVsBestFixed: number;
  /** Regret after each round (for learning curves). */
  regretCurve: number[];
  choiceCounts: Record<string, number>;
}

/** Best fixed arm in hindsight and every arm's mean reward. */
export function fixedArms(r: BanditRounds): { best: number; meanReward: Record<string, number>; oracleMeanReward: number } {
  const tot = ORDER_TYPES.map((_, a) => r.rewards.reduce((s, row) => s + row[a]!, 0));
  let best = 0;
  for (let a = 1; a < tot.length; a++) if (tot[a]! > tot[best]!) best = a;
  const oracle = r.rewards.reduce((s, row) => s + Math.max(...row), 0) / r.rewards.length;
  return { best, meanReward: Object.fromEntries(ORDER_TYPES.map((t, a) => [t, tot[a]! / r.rewards.length])), oracleMeanReward: oracle };
}

/** Runs a bandit (`choose`/`update`) online over the rounds in order. */
export function runBandit(policy: string, r: BanditRounds, bandit: { choose(x: Float64Array): number; update(a: number, x: Float64Array, rew: number): void }): BanditRun {
  const { best } = fixedArms(r);
  const choices: number[] = [];
  const curve: number[] = [];
  let cum = 0;
  let bestCum = 0;
  r.contexts.forEach((x, t) => {
    const a = bandit.choose(x);
    const rew = r.rewards[t]![a]!;
    bandit.update(a, x, rew);
    choices.push(a);
    cum += rew;
    bestCum += r.rewards[t]![best]!;
    curve.push(bestCum - cum);
  });
  return {
    policy, choices, cumulativeReward: cum, regretVsBestFixed: bestCum - cum, regretCurve: curve,
    choiceCounts: Object.fromEntries(ORDER_TYPES.map((t, a) => [t, choices.filter((c) => c === a).length])),
  };
}

/** LinUCB (every α of the config) and NIG Thompson sampling (every seed) on the same rounds. */
export function runOrderTypeBandits(r: BanditRounds, cfg: BanditConfig = DEFAULT_BANDIT): { linucb: BanditRun[]; thompson: BanditRun[]; fixed: ReturnType<typeof fixedArms> } {
  const d = r.contexts[0]!.length;
  const A = ORDER_TYPES.length;
  return {
    linucb: cfg.alphas.map((alpha) => runBandit(`LinUCB (α=${alpha})`, r, new LinUcb(A, d, alpha, cfg.ridge))),
    thompson: cfg.thompsonSeeds.map((seed) => runBandit(`Thompson sampling (NIG, seed ${seed})`, r, new NigThompson(A, d, new Rng(seed), cfg.ridge))),
    fixed: fixedArms(r),
  };
}
