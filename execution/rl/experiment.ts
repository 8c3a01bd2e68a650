import { ReplayCheckpoints } from '../../lob/replay.ts';
import { calibrateOrderFlow, simulateSession } from '../../lob/synthetic.ts';
import type { LobSession } from '../../lob/types.ts';
import { Rng } from '../../rl/rng.ts';
import { calibrateAc, type CalibratedAc } from '../impact/ac_params.ts';
import { midVolatility, spreadProfile } from '../impact/book_profile.ts';
import { timeGrid } from '../impact/tape.ts';
import { acLambdaForKappaT, acSchedule } from '../schedules/almgren_chriss.ts';
import { episodeStarts, executeSchedule, type EpisodeSpec } from '../schedules/executor.ts';
import { twapSchedule } from '../schedules/schedule.ts';
import { pairedDifference, shortfallRow, type ShortfallRow } from '../schedules/table.ts';
import { volumeProfile, vwapSchedule } from '../schedules/vwap.ts';
import { DEFAULT_DQN, type DqnConfig, greedyAction, trainDqn } from './dqn.ts';
import { EXEC_ACTIONS, ExecutionEnv, type EpisodeSource } from './env.ts';

/**
 * The RL-execution study of one LOBSTER session: train a double DQN executor (execution/rl/env.ts)
 * on episodes from the early part of the day plus synthetic sessions calibrated to it
 * (lob/synthetic.ts), then evaluate it greedily on held-out later episodes against TWAP, VWAP and
 * Almgren–Chriss schedules executed in the same replay. Deterministic for a given config.
 */
export interface RlExecutionConfig {
  /** Fraction of the session (by time) used for training and calibration; the rest is held out. */
  trainFraction: number;
  shares: number;
  horizonSeconds: number;
  steps: number;
  penaltyBps: number;
  syntheticSessions: number;
  /** Share of training episodes drawn from the synthetic sessions. */
  syntheticWeight: number;
  /** Seconds between held-out episode starts (each start is run as a buy and as a sell). */
  evalStrideSeconds: number;
  /** AC urgencies κT of the benchmark schedules. */
  acKappaT: number[];
  dqn: DqnConfig;
  seed: number;
}

/** Defaults: 1,000-share parents over 5 minutes in 10 decisions on the GOOG sample. */
export const DEFAULT_RL_EXECUTION: RlExecutionConfig = {
  trainFraction: 0.6, shares: 1000, horizonSeconds: 300, steps: 10, penaltyBps: 25,
  syntheticSessions: 3, syntheticWeight: 0.5, evalStrideSeconds: 20, acKappaT: [1, 3, 6],
  dqn: { ...DEFAULT_DQN, episodes: 2000, epsDecayEpisodes: 1400, updateEvery: 2 }, seed: 20,
};

/** Everything the study reports. */
export interface RlExecutionReport {
  split: { trainFrom: number; trainTo: number; testFrom: number; testTo: number };
  calibration: CalibratedAc & { syntheticVolBps: number[]; realVolBps: number; syntheticSpreadTicks: number[]; realSpreadTicks: number };
  training: { episodes: number; envSteps: number; updates: number; meanReturnFirst10pct: number; meanReturnLast10pct: number; seconds: number };
  table: ShortfallRow[];
  /** RL − benchmark shortfall on the same held-out episodes (negative = RL cheaper). */
  paired: { label: string; mean: ShortfallRow['mean'] }[];
  /** How often the greedy policy chose each action on the held-out episodes. */
  actionUsage: Record<string, number>;
  criterion: { rule: string; rlMeanBps: number; twapMeanBps: number; holds: boolean };
  seconds: { calibration: number; synthetic: number; training: number; evaluation: number };
}

/** Runs the study (see the module comment). Throws when the session is too short for the split. */
export function runRlExecution(s: LobSession, cfg: RlExecutionConfig = DEFAULT_RL_EXECUTION): RlExecutionReport {
  const m = s.messages;
  const t0 = m.time[0]!;
  const t1 = m.time[m.n - 1]!;
  const tSplit = t0 + cfg.trainFraction * (t1 - t0);
  if (tSplit - t0 < 2 * cfg.horizonSeconds || t1 - tSplit < cfg.horizonSeconds) throw new RangeError(`${s.symbol}: ${(t1 - t0).toFixed(0)} s of data cannot hold training and held-out ${cfg.horizonSeconds}-s episodes`);
  const tau = cfg.horizonSeconds / cfg.steps;
  let clock = performance.now();
  const lap = () => {
    const now = performance.now();
    const d = (now - clock) / 1000;
    clock = now;
    return d;
  };

  const trainGrid = timeGrid(s, 1, t0, tSplit);
  const ac = calibrateAc(s, tau, { grid: trainGrid });
  const realVol = midVolatility(s, { grid: trainGrid, reps: 50 }).bpsPerSqrtSecond.value;
  const realSpread = spreadProfile(s, { grid: trainGrid, reps: 50 }).meanTicks.value;
  const tCal = lap();

  const flow = calibrateOrderFlow(s, t0, tSplit);
  const rng = new Rng(cfg.seed);
  const sims: LobSession[] = [];
  const trainRows = m.n - 1 - Array.from(m.time).reverse().findIndex((t) => t < tSplit);
  for (let k = 0; k < cfg.syntheticSessions; k++) sims.push(simulateSession(flow, s, 1 + rng.int(Math.max(1, trainRows - 1)), tSplit - t0, cfg.seed * 100 + k));
  const tSyn = lap();

  const cpReal = new ReplayCheckpoints(s, 500);
  const sources: EpisodeSource[] = [{ cp: cpReal, from: t0 + 30, to: tSplit, weight: 1 - cfg.syntheticWeight }];
  for (const sim of sims) sources.push({ cp: new ReplayCheckpoints(sim, 500), from: sim.messages.time[0]! + 30, to: sim.messages.time[sim.messages.n - 1]!, weight: cfg.syntheticWeight / Math.max(1, sims.length) });
  const envCfg = { shares: cfg.shares, horizonSeconds: cfg.horizonSeconds, steps: cfg.steps, penaltyBps: cfg.penaltyBps, spreadScale: realSpread, volScale: realVol };
  const env = new ExecutionEnv(envCfg, cfg.syntheticWeight >= 1 ? sources.slice(1) : cfg.syntheticWeight <= 0 ? sources.slice(0, 1) : sources);
  const trained = trainDqn(env, { ...cfg.dqn, seed: cfg.seed + cfg.dqn.seed });
  const tTrain = lap();

  const eps: EpisodeSpec[] = episodeStarts(tSplit, t1, cfg.evalStrideSeconds, cfg.shares, cfg.horizonSeconds);
  const evalEnv = new ExecutionEnv(envCfg);
  const usage = new Array<number>(EXEC_ACTIONS.length).fill(0);
  const rl = eps.map((e) => {
    const r = evalEnv.run(cpReal, e, (st) => greedyAction(trained.net, st));
    r.actions.forEach((a) => usage[a]!++);
    return r;
  });
  const { rows, paired } = benchmarkRows(s, cpReal, cfg, ac, eps, rl);
  const tEval = lap();

  const ret = trained.returns;
  const tenth = Math.max(1, Math.floor(ret.length / 10));
  const avg = (x: number[]) => x.reduce((a, v) => a + v, 0) / x.length;
  const rlMean = rows[0]!.mean.value;
  const twapMean = rows[1]!.mean.value;
  return {
    split: { trainFrom: t0, trainTo: tSplit, testFrom: tSplit, testTo: t1 },
    calibration: {
      ...ac, realVolBps: realVol, realSpreadTicks: realSpread,
      syntheticVolBps: sims.map((x) => midVolatility(x, { reps: 20 }).bpsPerSqrtSecond.value),
      syntheticSpreadTicks: sims.map((x) => spreadProfile(x, { reps: 20 }).meanTicks.value),
    },
    training: { episodes: trained.episodes, envSteps: trained.envSteps, updates: trained.updates, meanReturnFirst10pct: avg(ret.slice(0, tenth)), meanReturnLast10pct: avg(ret.slice(-tenth)), seconds: tTrain },
    table: rows,
    paired,
    actionUsage: Object.fromEntries(EXEC_ACTIONS.map((a, i) => [a.name, usage[i]!])),
    criterion: { rule: 'RL mean shortfall ≤ TWAP (market child orders) mean shortfall on held-out episodes', rlMeanBps: rlMean, twapMeanBps: twapMean, holds: rlMean <= twapMean },
    seconds: { calibration: tCal, synthetic: tSyn, training: tTrain, evaluation: tEval },
  };
}

/** The shortfall rows (RL first, then TWAP, TWAP passive, VWAP, AC) and the paired RL − benchmark differences. */
function benchmarkRows(s: LobSession, cpReal: ReplayCheckpoints, cfg: RlExecutionConfig, ac: CalibratedAc, eps: EpisodeSpec[], rl: { shortfallBps: number; unfilledAtDeadline: number }[]) {
  const starts = eps.map((e) => e.start);
  const rows: ShortfallRow[] = [];
  const byName: Record<string, number[]> = {};
  const add = (name: string, bps: number[], forced: number) => {
    byName[name] = bps;
    rows.push(shortfallRow(name, bps, starts, { forced }));
  };
  add('RL (double DQN)', rl.map((r) => r.shortfallBps), rl.filter((r) => r.unfilledAtDeadline > 0).length);
  const N = cfg.steps;
  const bench: { name: string; run: (e: EpisodeSpec) => ReturnType<typeof executeSchedule> }[] = [
    { name: 'TWAP', run: (e) => executeSchedule(cpReal, e, twapSchedule(e.shares, e.horizonSeconds, N), 'market', cfg.penaltyBps) },
    { name: 'TWAP passive', run: (e) => executeSchedule(cpReal, e, twapSchedule(e.shares, e.horizonSeconds, N), 'passive', cfg.penaltyBps) },
    { name: 'VWAP', run: (e) => executeSchedule(cpReal, e, vwapSchedule(e.shares, e.horizonSeconds, volumeProfile(s, e.start, e.horizonSeconds, N)), 'market', cfg.penaltyBps) },
    ...cfg.acKappaT.map((kT) => {
      const lambda = acLambdaForKappaT(kT, cfg.horizonSeconds, N, ac.params);
      return { name: `AC κT=${kT} (λ=${lambda.toExponential(2)}/USD)`, run: (e: EpisodeSpec) => executeSchedule(cpReal, e, acSchedule(e.shares, e.horizonSeconds, N, ac.params, lambda), 'market', cfg.penaltyBps) };
    }),
  ];
  for (const b of bench) {
    const res = eps.map(b.run);
    add(b.name, res.map((r) => r.shortfallBps), res.filter((r) => r.unfilledAtDeadline > 0).length);
  }
  const rlBps = byName['RL (double DQN)']!;
  return { rows, paired: bench.map((b) => pairedDifference(`RL − ${b.name}`, rlBps, byName[b.name]!, starts)) };
}
