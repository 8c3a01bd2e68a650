/**
 * The compute of the execution studies, as jobs run in a worker thread (kinds/execution/run_job.ts)
 * so the host's event loop stays free for progress, heartbeats and the other running step. Each
 * job takes structured-cloneable input (a LOB session, bars or a signal panel as typed arrays, and
 * the domain config), calls the domain modules (execution/, marketmaking/, decisions/; their math
 * is theirs), reports progress between stages and returns the contract-shaped JSON of its study
 * plus, under `timing`, wall-clock seconds (kept out of artifacts so identical inputs give identical
 * bytes). Only the worker imports this module at run time; kinds import its types. Each job
 * imports its own domain modules, so a worker loads only what its job needs.
 */
import type { ExitConfig } from '../../decisions/exit.ts';
import type { SignalPanel } from '../../decisions/panel.ts';
import type { AdaptiveCostConfig } from '../../execution/adaptive/experiment.ts';
import type { BanditConfig } from '../../execution/bandit/experiment.ts';
import type { RlExecutionConfig } from '../../execution/rl/experiment.ts';
import type { ScheduleBenchConfig } from '../../execution/schedules/benchmark.ts';
import type { LobSession } from '../../lob/types.ts';
import type { BarsMmSettings, LobMmSettings, MmComparison, MmStudyConfig } from '../../marketmaking/experiment.ts';
import type { Bars } from '../../marketmaking/klines.ts';
import { acBlock, est, fin, shortfallRowJson } from './convert.ts';

/** Progress callback of a job: fraction 0..1 of the job and what it is doing. */
export type Progress = (fraction: number, message: string) => void;

/** Settings of the impact calibration (execution.impact `with`, in the domain's units). */
export interface ImpactConfig {
  permanentHorizons: number[];
  temporarySizes: number[];
  fillDistancesTicks: number[];
  fillHorizons: number[];
  acTauSeconds: number;
  /** Bootstrap replicates of every block-bootstrap interval (undefined: each function's default). */
  reps?: number;
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;

/** Impact calibration of one session, stage by stage (the same calls as bench/lob.ts). */
async function impact({ session: s, cfg }: { session: LobSession; cfg: ImpactConfig }, progress: Progress) {
  const { calibrateAc } = await import('../../execution/impact/ac_params.ts');
  const { bookTemporaryImpact, depthProfile, midVolatility, spreadProfile } = await import('../../execution/impact/book_profile.ts');
  const { arrivalIntensity, fillProbabilities } = await import('../../execution/impact/fill.ts');
  const { permanentImpact, realisedTemporaryImpact } = await import('../../execution/impact/impact.ts');
  const t0 = performance.now();
  const o = cfg.reps === undefined ? {} : { reps: cfg.reps };
  progress(0.02, 'spread and depth profile');
  const sp = spreadProfile(s, o);
  const dp = depthProfile(s, o);
  progress(0.15, 'mid volatility and permanent impact');
  const vol = midVolatility(s, o);
  const perm = permanentImpact(s, cfg.permanentHorizons);
  progress(0.3, 'temporary impact (book walk and realised)');
  const tb = bookTemporaryImpact(s, cfg.temporarySizes, o);
  const tr = realisedTemporaryImpact(s);
  progress(0.5, 'fill probability against distance and time');
  const fp = fillProbabilities(s, cfg.fillDistancesTicks, cfg.fillHorizons, o);
  progress(0.75, 'arrival intensity and Almgren–Chriss parameters');
  const ai = arrivalIntensity(s, o);
  const ac = calibrateAc(s, cfg.acTauSeconds, o);
  return {
    value: {
      spread_ticks: est(sp.meanTicks), spread_bps: est(sp.meanBps), spread_median_ticks: sp.medianTicks,
      mid_vol_bps_per_sqrt_s: est(vol.bpsPerSqrtSecond),
      depth: dp.ask.map((a, l) => ({ level: l + 1, ask_shares: est(a), bid_shares: est(dp.bid[l]!), distance_ticks: fin(dp.distanceTicks[l]) })),
      permanent: perm.map((p) => ({ horizon_s: p.horizonSeconds, buckets: p.buckets, bps_per_100_shares: est(p.bpsPer100Shares), bps_per_touch_depth: est(p.bpsPerTouchDepth), gamma_usd_per_share2: p.gammaUsdPerShare2 })),
      temporary_book: { epsilon_usd: est(tb.epsilonUsd), eta_usd_per_share: est(tb.etaUsdPerShare), r2: fin(tb.r2), mean_cost_bps: tb.meanCostBps.map((x) => ({ shares: x.shares, bps: fin(x.bps) })) },
      temporary_realised: { orders: tr.orders, epsilon_bps: est(tr.epsilonBps), bps_per_100_shares: est(tr.bpsPer100Shares), bps_per_touch_depth: est(tr.bpsPerTouchDepth), mid_move_bps_per_touch_depth: est(tr.midMoveBpsPerTouchDepth) },
      fill_probability: fp.map((f) => ({ distance_ticks: f.distanceTicks, horizon_s: f.horizonSeconds, touch: est(f.touch), through: est(f.through) })),
      arrival: { A_per_s: est(ai.A), k_per_usd: est(ai.k), r2: fin(ai.r2), orders: ai.orders },
      almgren_chriss: acBlock(ac),
    },
    extra: { spread_distribution: sp.distribution, spread_p10_ticks: sp.p10Ticks, spread_p90_ticks: sp.p90Ticks, mid_vol_usd_per_sqrt_s: vol.usdPerSqrtSecond, mean_mid_usd: vol.meanMidUsd, arrival_points: ai.points, realised_mean_cost_bps: fin(tr.meanCostBps), realised_mean_shares: tr.meanShares, eta_hat_usd_per_share2: ac.etaHatUsdPerShare },
    timing: { seconds: seconds(t0) },
  };
}

/** TWAP / VWAP / AC schedule benchmarks over the whole session. */
async function schedules({ session: s, cfg }: { session: LobSession; cfg: ScheduleBenchConfig }, progress: Progress) {
  const { runScheduleBenchmarks } = await import('../../execution/schedules/benchmark.ts');
  const t0 = performance.now();
  progress(0.02, `TWAP, VWAP, AC κT ∈ {${cfg.kappaT.join(', ')}} × ${cfg.styles.join('/')} children in the replay`);
  const r = runScheduleBenchmarks(s, cfg);
  const m = s.messages;
  return {
    rows: r.rows.map(shortfallRowJson),
    episodes: r.episodes,
    window: { from_s: m.time[0]! + 30, to_s: m.time[m.n - 1]! },
    almgren_chriss: acBlock(r.ac),
    timing: { seconds: seconds(t0) },
  };
}

/** RL execution: train on the early part (+ synthetic sessions), evaluate on held-out episodes. */
async function rlExecution({ session: s, cfg }: { session: LobSession; cfg: RlExecutionConfig }, progress: Progress) {
  const { runRlExecution } = await import('../../execution/rl/experiment.ts');
  progress(0.02, `calibrating, simulating ${cfg.syntheticSessions} synthetic sessions, training a double DQN for ${cfg.dqn.episodes} episodes, evaluating on held-out episodes`);
  const r = runRlExecution(s, cfg);
  const { seconds: timing, ...rest } = r;
  const eps = r.table[0]!.episodes;
  return {
    rows: r.table.map(shortfallRowJson),
    episodes: eps,
    window: { from_s: r.split.testFrom, to_s: r.split.testTo },
    paired: r.paired.map((p) => ({ label: p.label, mean_bps: fin(p.mean.value), ci_lo_bps: fin(p.mean.lo), ci_hi_bps: fin(p.mean.hi) })),
    criterion: { rule: r.criterion.rule, holds: r.criterion.holds, rl_mean_bps: r.criterion.rlMeanBps, twap_mean_bps: r.criterion.twapMeanBps },
    almgren_chriss: acBlock(r.calibration),
    full: { split: rest.split, calibration: rest.calibration, training: { ...rest.training, seconds: undefined }, actionUsage: rest.actionUsage, paired: rest.paired },
    timing: { ...timing, env_steps_per_second: r.training.envSteps / r.training.seconds, updates_per_second: r.training.updates / r.training.seconds },
  };
}

/** Keeps at most `n` evenly spaced points of a curve (always the last), as [round, value]. */
function thin(curve: number[], n = 120): Array<[number, number]> {
  if (!curve.length) return [];
  const step = Math.max(1, Math.ceil(curve.length / n));
  const out: Array<[number, number]> = [];
  for (let i = step - 1; i < curve.length; i += step) out.push([i + 1, curve[i]!]);
  if (out[out.length - 1]![0] !== curve.length) out.push([curve.length, curve[curve.length - 1]!]);
  return out;
}

/** The order-type bandits: rounds with their full reward matrix, then every bandit pass. */
async function orderType({ session: s, cfg }: { session: LobSession; cfg: BanditConfig }, progress: Progress) {
  const { banditRounds, runOrderTypeBandits } = await import('../../execution/bandit/experiment.ts');
  const { ORDER_TYPES } = await import('../../execution/bandit/order_types.ts');
  const t0 = performance.now();
  progress(0.02, `building bandit rounds (a child every ${cfg.everySeconds} s, every order type run on each)`);
  const rounds = banditRounds(s, cfg);
  progress(0.8, `LinUCB α ∈ {${cfg.alphas.join(', ')}} and Thompson sampling (${cfg.thompsonSeeds.length} seeds) over ${rounds.children.length} rounds`);
  const r = runOrderTypeBandits(rounds, cfg);
  const n = rounds.children.length;
  const all = [...r.linucb, ...r.thompson];
  return {
    rounds: n,
    arms: [...ORDER_TYPES],
    best_fixed: ORDER_TYPES[r.fixed.best]!,
    mean_reward_bps: { ...r.fixed.meanReward },
    oracle_mean_reward_bps: r.fixed.oracleMeanReward,
    runs: all.map((b) => ({ policy: b.policy, mean_reward_bps: b.cumulativeReward / n, regret_bps: b.regretVsBestFixed, regret_per_round_bps: b.regretVsBestFixed / n, choices: { ...b.choiceCounts } })),
    curves: all.map((b) => ({ policy: b.policy, regret: thin(b.regretCurve) })),
    timing: { seconds: seconds(t0) },
  };
}

const RESIDUAL_FEATURES = ['intercept', 'time_of_day', 'spread_bps', 'sigma_bps', 'participation', 'side', 'participation_x_sigma'];

/** The adaptive cost model, evaluated prequentially, and its state. */
async function costModel({ session: s, cfg }: { session: LobSession; cfg: AdaptiveCostConfig }, progress: Progress) {
  const { runAdaptiveCost } = await import('../../execution/adaptive/experiment.ts');
  const t0 = performance.now();
  progress(0.02, `calibrating c on the first ${Math.round(cfg.calibrationFraction * 100)}% and predicting, then learning, a child every ${cfg.everySeconds} s`);
  const r = runAdaptiveCost(s, cfg);
  // The model's feature range and RLS matrix are private fields of its classes (no serialiser
  // exists yet); they are read here so the saved model predicts exactly as the trained one.
  const hidden = r.model as unknown as { lo: Float64Array; hi: Float64Array; rls: { w: Float64Array; P: Float64Array; n: number; d: number; forgetting: number } };
  return {
    c: r.c,
    children: r.children,
    base: r.base,
    adaptive: r.adaptive,
    calibration: r.calibration.map((q) => ({ quintile: q.quintile, predicted_bps: q.predicted, realised_bps: q.realised, n: q.n })),
    residual_weights: { ...r.residualWeights },
    model: {
      kind: 'trademl.adaptive_cost_model/v1', c: r.c, ridge: cfg.ridge, forgetting: cfg.forgetting, features: RESIDUAL_FEATURES,
      w: Array.from(hidden.rls.w), P: Array.from(hidden.rls.P), n: hidden.rls.n, lo: Array.from(hidden.lo), hi: Array.from(hidden.hi),
    },
    timing: { seconds: seconds(t0) },
  };
}

/** Input of the market-making job: a LOB session or bars, and the study settings. */
export type MmInput =
  | { source: 'lob'; session: LobSession; study: MmStudyConfig; settings: LobMmSettings }
  | { source: 'bars'; bars: Bars; study: MmStudyConfig; settings: BarsMmSettings };

/**
 * A-S vs RL on one venue. With no RL seeds it is the A-S calibration and baseline alone; with
 * several it trains one RL market maker per seed, each as its own domain call (so progress moves
 * per seed; the A-S part of every call is identical and checked so).
 */
async function mm(input: MmInput, progress: Progress) {
  const { runMmBars, runMmLob } = await import('../../marketmaking/experiment.ts');
  const t0 = performance.now();
  const seeds = input.study.rlSeeds;
  const runs = seeds.length ? seeds.map((s) => [s]) : [[]];
  const out: MmComparison[] = [];
  runs.forEach((rlSeeds, i) => {
    progress(0.02 + (0.96 * i) / runs.length, rlSeeds.length ? `seed ${rlSeeds[0]} (${i + 1}/${runs.length}): training the warm-started RL market maker for ${input.study.rl.dqn.episodes} episodes` : 'calibrating σ, A, k, choosing γ on training episodes, evaluating A-S');
    const cfg = { ...input.study, rlSeeds };
    out.push(input.source === 'lob' ? runMmLob(input.session, cfg, input.settings) : runMmBars(input.bars, cfg, input.settings));
  });
  return { runs: out.map((c) => ({ ...c, training: c.training.map(({ seconds: _s, ...t }) => t) })), timing: { seconds: seconds(t0), per_seed: out.map((c) => c.training.map((t) => t.seconds)) } };
}

/** The exit MDP against the fixed-horizon exits. */
async function exits({ panel, cfg }: { panel: SignalPanel; cfg: ExitConfig }, progress: Progress) {
  const { runExitStudy } = await import('../../decisions/exit.ts');
  const t0 = performance.now();
  progress(0.05, `exit MDP on ${panel.N} names × ${panel.T} dates (≤ ${cfg.maxHoldDays} days held)`);
  return { report: runExitStudy(panel, cfg), timing: { seconds: seconds(t0) } };
}

/** Every job by name. */
export const JOBS = { impact, schedules, rl_execution: rlExecution, order_type: orderType, cost_model: costModel, mm, exits };

/** A job name. */
export type JobName = keyof typeof JOBS;
/** The input of job `K`. */
export type JobInput<K extends JobName> = Parameters<(typeof JOBS)[K]>[0];
/** The result of job `K`. */
export type JobOutput<K extends JobName> = Awaited<ReturnType<(typeof JOBS)[K]>>;
