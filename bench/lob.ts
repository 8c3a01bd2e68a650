/**
 * bench/lob: the order-book stack of issue 20 on the real data, every stage timed. Prints JSON:
 * simulator throughput (book reconstruction and replay events per second), RL training steps per
 * second, the snapshot check, impact calibration, the schedule benchmarks, the RL-execution
 * shortfall table (held-out slices, bootstrap CIs), the order-type bandit, the adaptive cost model,
 * Avellaneda–Stoikov vs RL market making (GOOG LOB, BTC and ETH hourly bars) and the exit MDP.
 * Run: npx tsx bench/lob.ts  (about 3–5 minutes on 2 cores)
 */
import { runExitStudy } from '../decisions/exit.ts';
import { loadReversalPanel } from '../decisions/panel.ts';
import { runAdaptiveCost } from '../execution/adaptive/experiment.ts';
import { banditRounds, DEFAULT_BANDIT, runOrderTypeBandits } from '../execution/bandit/experiment.ts';
import { bookTemporaryImpact, depthProfile, midVolatility, spreadProfile } from '../execution/impact/book_profile.ts';
import { arrivalIntensity, fillProbabilities } from '../execution/impact/fill.ts';
import { permanentImpact, realisedTemporaryImpact } from '../execution/impact/impact.ts';
import type { Estimate } from '../execution/impact/stats.ts';
import { runRlExecution } from '../execution/rl/experiment.ts';
import { runScheduleBenchmarks } from '../execution/schedules/benchmark.ts';
import type { ShortfallRow } from '../execution/schedules/table.ts';
import { OrderBook } from '../lob/book.ts';
import { loadLobSessions } from '../lob/load.ts';
import { LobReplay } from '../lob/replay.ts';
import { verifyAgainstSnapshots } from '../lob/verify.ts';
import { DEFAULT_MM_STUDY, type MmComparison, runMmBars, runMmLob } from '../marketmaking/experiment.ts';
import { loadBars } from '../marketmaking/klines.ts';

const wall: Record<string, number> = {};
async function timed<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const t = performance.now();
  const r = await fn();
  wall[name] = +((performance.now() - t) / 1000).toFixed(3);
  process.stderr.write(`bench/lob: ${name} ${wall[name]} s\n`);
  return r;
}
const r4 = (x: number) => (Number.isFinite(x) ? +x.toPrecision(4) : x);
const est = (e: Estimate) => ({ value: r4(e.value), ci95: [r4(e.lo), r4(e.hi)], method: e.method });
const row = (r: ShortfallRow) => ({ strategy: r.strategy, episodes: r.episodes, mean_bps: r4(r.mean.value), ci95_bps: [r4(r.mean.lo), r4(r.mean.hi)], std_bps: r4(r.stdBps), forced_completions: r.forcedCompletions });
const mm = (c: MmComparison) => ({
  venue: c.venue, gamma: c.gamma, gamma_selection_on_training: c.gammaSelection.map((g) => ({ gamma: g.gamma, train_sharpe: r4(g.trainSharpe) })),
  calibration: { sigma: est(c.calibration.sigma), A: est(c.calibration.A), k: est(c.calibration.k), units: c.calibration.units, approximations: c.calibration.approximations },
  rows: c.rows.map((x) => ({ policy: x.policy, episodes: x.episodes, pnl_mean: r4(x.pnlMean), pnl_std: r4(x.pnlStd), sharpe_annualised: r4(x.sharpe), calendar: x.calendar, inventory_mean_abs: r4(x.inventory.meanAbs), inventory_std: r4(x.inventory.std), inventory_max_abs: r4(x.inventory.maxAbs), inventory_histogram: x.inventory.histogram, terminal_mean_abs_inventory: r4(x.terminalMeanAbsInventory), fill_rate_per_side_step: r4(x.fillRate), fills_per_episode: r4(x.fillsPerEpisode), spread_captured_bps: r4(x.spreadCapturedBps) })),
  criterion: c.criterion, rl_training: c.training,
});

const sessions = await timed('load_lob_via_ingest', () => loadLobSessions());
const goog = sessions.find((s) => s.symbol === 'GOOG')!;
const checks = await timed('verify_snapshots_all_rows', () => sessions.map(verifyAgainstSnapshots));

// Simulator throughput: pure book reconstruction (with edge refills) and the replay with a resting order of ours.
const reps = 20;
const tBook = performance.now();
for (let k = 0; k < reps; k++) {
  const b = OrderBook.fromSnapshot(goog.book, 0);
  for (let i = 1; i < goog.messages.n; i++) b.apply(goog.messages, i, goog.book);
}
const bookEps = (reps * (goog.messages.n - 1)) / ((performance.now() - tBook) / 1000);
const tRep = performance.now();
for (let k = 0; k < reps; k++) {
  const r = LobReplay.fromStart(goog);
  r.limit(1, r.book.bestBid(), 100);
  r.limit(-1, r.book.bestAsk(), 100);
  while (!r.done) r.step();
}
const replayEps = (reps * (goog.messages.n - 1)) / ((performance.now() - tRep) / 1000);

const calibration = await timed('impact_calibration_goog', () => {
  const sp = spreadProfile(goog);
  const dp = depthProfile(goog);
  return {
    spread_ticks: est(sp.meanTicks), spread_bps: est(sp.meanBps), spread_median_ticks: sp.medianTicks,
    depth_ask_shares: dp.ask.map(est), depth_bid_shares: dp.bid.map(est), level_distance_ticks: dp.distanceTicks.map(r4),
    mid_vol_bps_per_sqrt_s: est(midVolatility(goog).bpsPerSqrtSecond),
    permanent_impact: permanentImpact(goog, [1, 5, 10, 30, 60]).map((p) => ({ horizon_s: p.horizonSeconds, buckets: p.buckets, bps_per_100_shares: est(p.bpsPer100Shares), bps_per_touch_depth: est(p.bpsPerTouchDepth), gamma_usd_per_share2: r4(p.gammaUsdPerShare2) })),
    temporary_impact_book: (() => {
      const t = bookTemporaryImpact(goog, [100, 200, 300, 500]);
      return { epsilon_usd: est(t.epsilonUsd), eta_usd_per_share: est(t.etaUsdPerShare), mean_cost_bps: t.meanCostBps.map((x) => ({ shares: x.shares, bps: r4(x.bps) })) };
    })(),
    temporary_impact_realised: (() => {
      const t = realisedTemporaryImpact(goog);
      return { orders: t.orders, epsilon_bps: est(t.epsilonBps), bps_per_100_shares: est(t.bpsPer100Shares), bps_per_touch_depth: est(t.bpsPerTouchDepth), mid_move_bps_per_touch_depth: est(t.midMoveBpsPerTouchDepth) };
    })(),
    fill_probability: fillProbabilities(goog, [5, 10, 20, 30, 50], [1, 5, 10, 30, 60]).map((f) => ({ distance_ticks: f.distanceTicks, horizon_s: f.horizonSeconds, touch: est(f.touch), through: est(f.through) })),
    arrival_intensity: (() => {
      const a = arrivalIntensity(goog);
      return { A_per_s: est(a.A), k_per_usd: est(a.k), r2: r4(a.r2), orders: a.orders };
    })(),
  };
});
const schedules = await timed('schedule_benchmarks_goog', () => runScheduleBenchmarks(goog));
const rl = await timed('rl_execution_goog', () => runRlExecution(goog));
const bandit = await timed('order_type_bandit_goog', () => {
  const rounds = banditRounds(goog);
  return { rounds, runs: runOrderTypeBandits(rounds, DEFAULT_BANDIT) };
});
const adaptive = await timed('adaptive_cost_goog', () => runAdaptiveCost(goog));
const mmLob = await timed('market_making_goog_lob', () => runMmLob(goog));
const barsCfg = { ...DEFAULT_MM_STUDY, rl: { ...DEFAULT_MM_STUDY.rl, dqn: { ...DEFAULT_MM_STUDY.rl.dqn, episodes: 200, epsDecayEpisodes: 150, updateEvery: 8 }, warmEpisodes: 30 } };
const btc = await timed('load_klines_via_ingest', () => loadBars('BTCUSDT'));
const eth = await loadBars('ETHUSDT');
const mmBtc = await timed('market_making_btc_bars', () => runMmBars(btc, barsCfg));
const mmEth = await timed('market_making_eth_bars', () => runMmBars(eth, barsCfg));
const panel = await timed('load_sp500_subset_via_ingest', () => loadReversalPanel('sp500_subset'));
const exit = await timed('exit_mdp_sp500_subset', () => runExitStudy(panel));

const out = {
  simulator: {
    book_events_per_second: Math.round(bookEps), replay_events_per_second_with_two_resting_orders: Math.round(replayEps),
    snapshot_check: checks.map((c) => ({ symbol: c.symbol, levels: c.levels, rows: c.rows, mismatched_rows: c.mismatchedRows, mismatched_cells: c.mismatchedCells, edge_refills: c.edgeRefills })),
  },
  rl_training: {
    env_steps_per_second: Math.round(rl.training.envSteps / rl.training.seconds), dqn_updates_per_second: Math.round(rl.training.updates / rl.training.seconds),
    env_steps: rl.training.envSteps, updates: rl.training.updates, seconds: r4(rl.training.seconds),
    mean_return_first_10pct: r4(rl.training.meanReturnFirst10pct), mean_return_last_10pct: r4(rl.training.meanReturnLast10pct),
  },
  calibration,
  schedule_benchmarks: { episodes: schedules.episodes, ac_params: schedules.ac.params, ac_sources: schedules.ac.sources, rows: schedules.rows.map((r) => ({ ...row(r), lambda_per_usd: r.lambda, ac_predicted_mean_bps: r.acPredictedMeanBps && r4(r.acPredictedMeanBps), ac_predicted_std_bps: r.acPredictedStdBps && r4(r.acPredictedStdBps) })) },
  rl_execution: {
    split_seconds_after_midnight: rl.split, table: rl.table.map(row),
    paired_rl_minus_benchmark: rl.paired.map((p) => ({ label: p.label, mean_bps: r4(p.mean.value), ci95_bps: [r4(p.mean.lo), r4(p.mean.hi)] })),
    action_usage: rl.actionUsage, criterion: rl.criterion,
    calibration: { ac: rl.calibration.params, real_vol_bps: r4(rl.calibration.realVolBps), synthetic_vol_bps: rl.calibration.syntheticVolBps.map(r4), real_spread_ticks: r4(rl.calibration.realSpreadTicks), synthetic_spread_ticks: rl.calibration.syntheticSpreadTicks.map(r4) },
    seconds: rl.seconds,
  },
  order_type_bandit: {
    rounds: bandit.rounds.children.length, best_fixed: ['limit', 'market', 'POV', 'pegged'][bandit.runs.fixed.best],
    mean_reward_bps_by_type: Object.fromEntries(Object.entries(bandit.runs.fixed.meanReward).map(([k, v]) => [k, r4(v)])),
    oracle_mean_reward_bps: r4(bandit.runs.fixed.oracleMeanReward),
    runs: [...bandit.runs.linucb, ...bandit.runs.thompson].map((b) => ({ policy: b.policy, mean_reward_bps: r4(b.cumulativeReward / bandit.rounds.children.length), regret_vs_best_fixed_bps: r4(b.regretVsBestFixed), regret_per_round_bps: r4(b.regretVsBestFixed / bandit.rounds.children.length), choices: b.choiceCounts })),
  },
  adaptive_cost: { c: r4(adaptive.c), children: adaptive.children, base: adaptive.base, adaptive: adaptive.adaptive, calibration_by_quintile: adaptive.calibration, residual_weights: adaptive.residualWeights },
  market_making: [mm(mmLob), mm(mmBtc), mm(mmEth)],
  exit_mdp: { split_date: exit.splitDate, train_trades: exit.trainTrades, hold_reward_bps: exit.holdRewardBps.map(r4), hold_counts: exit.holdCounts, states: exit.states, policy_by_days_held: exit.policy.map((p) => p.join('')), results: exit.results.map((x) => ({ ...x, meanNetBps: r4(x.meanNetBps), netBpsPerPositionDay: r4(x.netBpsPerPositionDay), hitRate: r4(x.hitRate), sharpe: r4(x.sharpe), meanHoldDays: r4(x.meanHoldDays) })) },
  wall_seconds: wall,
};
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
