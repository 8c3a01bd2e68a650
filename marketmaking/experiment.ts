import { DEFAULT_DQN, greedyAction } from '../execution/rl/dqn.ts';
import { ReplayCheckpoints } from '../lob/replay.ts';
import type { LobSession } from '../lob/types.ts';
import type { AsParams } from './avellaneda_stoikov.ts';
import { type AsCalibration, calibrateAsFromBars, calibrateAsFromLob } from './calibrate.ts';
import { evaluateMm, type MmMetrics } from './evaluate.ts';
import type { Bars } from './klines.ts';
import { ArrivalMarket } from './markets/arrival.ts';
import { BarsMarket } from './markets/bars.ts';
import type { MmMarket } from './markets/market.ts';
import { MixtureMarket } from './markets/mixture.ts';
import { ReplayMarket } from './markets/replay.ts';
import { AS_ACTION } from './policy.ts';
import { type RlMmConfig, trainRlMarketMaker } from './rl_mm.ts';
import { MmEnv } from './rl_env.ts';

/**
 * Avellaneda–Stoikov vs the warm-started RL market maker, side by side, on (1) a LOBSTER session —
 * calibrated on its early part, evaluated in the calibrated arrival model (fresh seeds) and in the
 * replay of the held-out later part — and (2) Binance hourly bars — calibrated and trained on the
 * early years, evaluated on the later ones. The A-S risk aversion γ is chosen from `gammas` by the
 * A-S Sharpe on training episodes only; RL then uses the same γ (reward and base quotes).
 */
export interface MmStudyConfig {
  qMax: number;
  rl: RlMmConfig;
  /** RL training seeds: one RL market maker per seed, each evaluated (DQN results vary by seed; all are reported). */
  rlSeeds: number[];
  seed: number;
}

/** One venue's comparison. */
export interface MmComparison {
  venue: string;
  calibration: AsCalibration;
  gamma: number;
  gammaSelection: { gamma: number; trainSharpe: number }[];
  rows: MmMetrics[];
  criterion: { rule: string; holds: boolean; detail: string };
  training: { seed: number; episodes: number; envSteps: number; updates: number; warmStates: number; seconds: number }[];
}

/** Defaults: |q| ≤ 5 lots; RL = double DQN (400 episodes, ε 0.2 → 0.02) warm-started from 60 A-S episodes with margin 2, three training seeds. */
export const DEFAULT_MM_STUDY: MmStudyConfig = {
  qMax: 5,
  rl: { dqn: { ...DEFAULT_DQN, episodes: 400, epsStart: 0.2, epsEnd: 0.02, epsDecayEpisodes: 300, updateEvery: 4, warmup: 1000, lr: 5e-4, seed: 0 }, warmEpisodes: 60, warmEpochs: 3, margin: 2 },
  rlSeeds: [31, 32, 33],
  seed: 41,
};

function pickGamma(gammas: number[], make: (p: AsParams) => MmEnv, base: Omit<AsParams, 'gamma'>, stepsPerBar: number, calendar: string): { gamma: number; table: { gamma: number; trainSharpe: number }[] } {
  const table = gammas.map((gamma) => ({ gamma, trainSharpe: evaluateMm('A-S', make({ ...base, gamma }), () => AS_ACTION, stepsPerBar, calendar).sharpe }));
  const best = table.reduce((a, b) => (b.trainSharpe > a.trainSharpe ? b : a));
  return { gamma: best.gamma, table };
}

function compare(venue: string, calibration: AsCalibration, gamma: number, sel: { gamma: number; trainSharpe: number }[], train: MmEnv, evals: { name: string; env: MmEnv }[], cfg: MmStudyConfig, stepsPerBar: number, calendar: string): MmComparison {
  const rows: MmMetrics[] = evals.map((e) => evaluateMm(`A-S · ${e.name}`, e.env, () => AS_ACTION, stepsPerBar, calendar));
  const training: MmComparison['training'] = [];
  const rlSharpe: number[][] = evals.map(() => []);
  for (const seed of cfg.rlSeeds) {
    const t = performance.now();
    const rl = trainRlMarketMaker(train, { ...cfg.rl, dqn: { ...cfg.rl.dqn, seed } });
    training.push({ seed, episodes: rl.episodes, envSteps: rl.envSteps, updates: rl.updates, warmStates: rl.warmStates, seconds: (performance.now() - t) / 1000 });
    evals.forEach((e, i) => {
      const row = evaluateMm(`RL (warm-started from A-S, seed ${seed}) · ${e.name}`, e.env, (s) => greedyAction(rl.net, s), stepsPerBar, calendar);
      rows.push(row);
      rlSharpe[i]!.push(row.sharpe);
    });
  }
  const mean = (x: number[]) => x.reduce((a, v) => a + v, 0) / x.length;
  const holds = evals.every((_, i) => mean(rlSharpe[i]!) >= rows[i]!.sharpe);
  const detail = evals.map((e, i) => `${e.name}: RL ${mean(rlSharpe[i]!).toFixed(2)} (seeds ${rlSharpe[i]!.map((v) => v.toFixed(2)).join(', ')}) vs A-S ${rows[i]!.sharpe.toFixed(2)}`).join('; ');
  return {
    venue, calibration, gamma, gammaSelection: sel, rows,
    criterion: { rule: 'mean RL annualised Sharpe over the training seeds ≥ A-S annualised Sharpe on every held-out evaluation', holds, detail },
    training,
  };
}

/** LOB settings: 5-minute episodes of 5-s quotes, one lot = 100 shares. */
export interface LobMmSettings {
  trainFraction: number;
  episodeSeconds: number;
  stepSeconds: number;
  lotShares: number;
  arrivalEvalEpisodes: number;
  replayStrideSeconds: number;
  /** Risk aversions (1/(USD·lot)) A-S chooses from on the training replay. */
  gammas: number[];
}
/** Defaults for the GOOG sample (train on the first 60% of the 50 minutes). */
export const DEFAULT_LOB_MM: LobMmSettings = { trainFraction: 0.6, episodeSeconds: 300, stepSeconds: 5, lotShares: 100, arrivalEvalEpisodes: 200, replayStrideSeconds: 30, gammas: [0.001, 0.003, 0.01, 0.03, 0.1] };

/** The LOB study (see the module comment). Sharpe on 1-minute bars, `nyse@1m`. */
export function runMmLob(s: LobSession, cfg: MmStudyConfig = DEFAULT_MM_STUDY, st: LobMmSettings = DEFAULT_LOB_MM): MmComparison {
  const m = s.messages;
  const t0 = m.time[0]!;
  const t1 = m.time[m.n - 1]!;
  const tSplit = t0 + st.trainFraction * (t1 - t0);
  const cal = calibrateAsFromLob(s, t0, tSplit);
  const base = { sigma: cal.sigma.value, k: cal.k.value, A: cal.A.value };
  const steps = Math.round(st.episodeSeconds / st.stepSeconds);
  const cp = new ReplayCheckpoints(s, 500);
  const volBps = (cal.sigma.value / (m.price[0]! / 1e4)) * 1e4;
  const trainStarts: number[] = [];
  for (let t = t0 + 30; t + st.episodeSeconds <= tSplit; t += st.replayStrideSeconds) trainStarts.push(t);
  const testStarts: number[] = [];
  for (let t = tSplit; t + st.episodeSeconds <= t1; t += st.replayStrideSeconds) testStarts.push(t);
  const replayTrain = new ReplayMarket(cp, steps, st.stepSeconds, st.lotShares, trainStarts, t0 + 30, tSplit, volBps);
  const replayTest = new ReplayMarket(cp, steps, st.stepSeconds, st.lotShares, testStarts, tSplit, t1, volBps);
  const s0 = cp.atTime(tSplit).book.mid() / 1e4;
  const arrival = (p: AsParams, seed: number) => new ArrivalMarket(p, s0, steps, 1, st.stepSeconds, st.lotShares, st.arrivalEvalEpisodes, seed);
  const perBar = Math.round(60 / st.stepSeconds);
  const sel = pickGamma(st.gammas, (p) => new MmEnv(replayTrain, p, cfg.qMax), base, perBar, 'nyse@1m');
  const p: AsParams = { ...base, gamma: sel.gamma };
  const mix: MmMarket = new MixtureMarket([{ market: arrival(p, cfg.seed), weight: 0.5 }, { market: replayTrain, weight: 0.5 }]);
  return compare(`${s.symbol} LOB`, cal, sel.gamma, sel.table, new MmEnv(mix, p, cfg.qMax), [
    { name: 'arrival model (held-out seeds)', env: new MmEnv(arrival(p, cfg.seed + 10_000), p, cfg.qMax) },
    { name: 'replay (held-out later part)', env: new MmEnv(replayTest, p, cfg.qMax) },
  ], cfg, perBar, 'nyse@1m');
}

/** Bars settings: one-week episodes of hourly quotes, one lot = $10,000. */
export interface BarsMmSettings {
  /** First bar (epoch s) of the held-out test period. */
  testFrom: number;
  episodeHours: number;
  lotUsd: number;
  /** Risk aversions (1/(log-price·lot)) A-S chooses from on the training years. */
  gammas: number[];
}
/** Defaults for Binance: train 2017-08..2019-12, test 2020-01..2021-06. */
export const DEFAULT_BARS_MM: BarsMmSettings = { testFrom: Date.UTC(2020, 0, 1) / 1000, episodeHours: 168, lotUsd: 10_000, gammas: [0.003, 0.03, 0.3, 3, 30] };

/** The Binance study (see the module comment). Sharpe on hourly bars, `24x7@1h`. */
export function runMmBars(b: Bars, cfg: MmStudyConfig = DEFAULT_MM_STUDY, st: BarsMmSettings = DEFAULT_BARS_MM): MmComparison {
  const split = b.ts.findIndex((t) => t >= st.testFrom);
  if (split < 1000) throw new RangeError(`${b.symbol}: the test period must leave ≥ 1000 training bars (split at index ${split})`);
  const cal = calibrateAsFromBars(b, 1, split);
  const base = { sigma: cal.sigma.value, k: cal.k.value, A: cal.A.value };
  const train = new BarsMarket(b, st.episodeHours, 1, split, st.lotUsd, cal.sigma.value);
  const test = new BarsMarket(b, st.episodeHours, split, b.ts.length, st.lotUsd, cal.sigma.value);
  const sel = pickGamma(st.gammas, (p) => new MmEnv(train, p, cfg.qMax), base, 1, '24x7@1h');
  const p: AsParams = { ...base, gamma: sel.gamma };
  return compare(`${b.symbol} hourly bars`, cal, sel.gamma, sel.table, new MmEnv(train, p, cfg.qMax), [{ name: 'bars (held-out 2020–2021)', env: new MmEnv(test, p, cfg.qMax) }], cfg, 1, '24x7@1h');
}
