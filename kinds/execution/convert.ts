/**
 * Pure converters from the domain reports (execution/, marketmaking/, decisions/) to the JSON of
 * the execution contracts (contracts/execution.ts): non-finite numbers become null (JSON cannot
 * carry NaN), camelCase becomes snake_case. No I/O, no heavy imports: both the worker thread and
 * the step kinds use them.
 */
import type { Estimate } from '../../execution/impact/stats.ts';
import type { CalibratedAc } from '../../execution/impact/ac_params.ts';
import type { ShortfallRow } from '../../execution/schedules/table.ts';
import type { MmComparison } from '../../marketmaking/experiment.ts';
import type { MmMetrics } from '../../marketmaking/evaluate.ts';

/** `x` when finite, else null. */
export function fin(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

/** A domain Estimate as the contract's estimate (non-finite parts → null). */
export function est(e: Estimate): { value: number | null; se: number | null; lo: number | null; hi: number | null; method: string; n: number } {
  return { value: fin(e.value), se: fin(e.se), lo: fin(e.lo), hi: fin(e.hi), method: e.method, n: e.n };
}

/** Almgren–Chriss parameters of a calibration as the contract's `almgren_chriss` block. */
export function acBlock(c: CalibratedAc) {
  return {
    sigma_usd_per_sqrt_s: c.params.sigma,
    gamma_usd_per_share2: c.params.gamma,
    eta_usd_s_per_share2: c.params.eta,
    epsilon_usd: c.params.epsilon,
    tau_seconds: c.tauSeconds,
    sources: { ...c.sources },
  };
}

/** One shortfall row (execution/schedules/table.ts) as a contract row, with the optional AC columns. */
export function shortfallRowJson(r: ShortfallRow & { lambda?: number; acPredictedMeanBps?: number; acPredictedStdBps?: number }) {
  return {
    strategy: r.strategy,
    episodes: r.episodes,
    mean_bps: fin(r.mean.value),
    ci_lo_bps: fin(r.mean.lo),
    ci_hi_bps: fin(r.mean.hi),
    std_bps: fin(r.stdBps),
    forced_completions: r.forcedCompletions,
    ...(r.acPredictedMeanBps !== undefined ? { ac_predicted_mean_bps: fin(r.acPredictedMeanBps) } : {}),
    ...(r.acPredictedStdBps !== undefined ? { ac_predicted_std_bps: fin(r.acPredictedStdBps) } : {}),
    ...(r.lambda !== undefined ? { lambda_per_usd: fin(r.lambda) } : {}),
  };
}

/** A market-making metrics row with the evaluation it belongs to. */
export function mmRowJson(m: MmMetrics, policy: string, evaluation: string) {
  return {
    policy,
    evaluation,
    episodes: m.episodes,
    pnl_mean: m.pnlMean,
    pnl_std: m.pnlStd,
    sharpe: m.sharpe,
    calendar: m.calendar,
    inventory_mean_abs: m.inventory.meanAbs,
    inventory_std: m.inventory.std,
    inventory_max_abs: m.inventory.maxAbs,
    inventory_histogram: { ...m.inventory.histogram },
    terminal_mean_abs_inventory: m.terminalMeanAbsInventory,
    fill_rate: m.fillRate,
    fills_per_episode: m.fillsPerEpisode,
    spread_captured_bps: m.spreadCapturedBps,
  };
}

/** Contract form of an mm row. */
export type MmRowJson = ReturnType<typeof mmRowJson>;

/**
 * Splits the rows of an {@link MmComparison} (marketmaking/experiment.ts `compare`: the A-S rows of
 * every evaluation first, named `A-S · <evaluation>`, then per training seed one RL row per
 * evaluation, in the same order) into A-S rows and RL rows labelled with their evaluation. Throws
 * when the rows do not fit that layout.
 */
export function splitMmRows(c: Pick<MmComparison, 'venue' | 'rows'>, seeds: number[]): { evaluations: string[]; as: MmRowJson[]; rl: Array<MmRowJson & { seed: number }> } {
  const E = c.rows.length / (1 + seeds.length);
  if (!Number.isInteger(E) || E < 1) throw new RangeError(`${c.venue}: ${c.rows.length} rows do not split into A-S rows and ${seeds.length} RL seeds`);
  const evaluations = c.rows.slice(0, E).map((r) => {
    const m = /^A-S · (.+)$/.exec(r.policy);
    if (!m) throw new RangeError(`${c.venue}: row "${r.policy}" is not an A-S row; expected the A-S rows first`);
    return m[1]!;
  });
  const as = c.rows.slice(0, E).map((r, i) => mmRowJson(r, 'A-S', evaluations[i]!));
  const rl = seeds.flatMap((seed, k) => c.rows.slice(E * (k + 1), E * (k + 2)).map((r, i) => ({ ...mmRowJson(r, `RL (warm-started from A-S, seed ${seed})`, evaluations[i]!), seed })));
  return { evaluations, as, rl };
}
