/**
 * Report sections of the execution studies, one builder per contract: the replay check
 * (`lob.replay_check`), impact calibration (`execution.impact`), shortfall tables
 * (`execution.shortfall`), the order-type bandit (`execution.order_policy`) and the adaptive cost
 * model (`execution.cost_model`). Each reads only the contract value (and, for curves, its report
 * artifact) and returns a section plus the criteria it states.
 */
import type { ContractValue } from '../../contracts/define.ts';
import type { executionCostModel, executionImpact, executionOrderPolicy, executionShortfall, lobReplayCheck } from '../../contracts/execution.ts';
import { ci, type Criterion, estText, facts, para, type Section, table, verdict } from './report_html.ts';
import { barChart, columnChart, lineChart } from './svg.ts';

type V<C> = { step: string; value: C };
const sid = (prefix: string, step: string) => `${prefix}-${step}`.replace(/[^\w-]/g, '_');

/** The replay check: one row per session; its pass/fail is a criterion. */
export function replaySection(p: V<ContractValue<typeof lobReplayCheck>>): { section: Section; criteria: Criterion[] } {
  const v = p.value;
  const rows = v.sessions.map((s) => [s.symbol, s.date, s.levels, s.rows, s.events, s.mismatched_rows, s.mismatched_cells, s.first_mismatch, s.edge_refills]);
  const rule = 'the book rebuilt from the messages reproduces every recorded snapshot row';
  const detail = v.sessions.map((s) => `${s.symbol}: ${s.mismatched_rows} of ${s.rows} rows differ`).join('; ');
  const html = verdict(v.passed, rule, detail) + table(['symbol', 'date', 'levels', 'rows compared', 'messages applied', 'mismatched rows', 'mismatched cells', 'first mismatch', 'edge refills'], rows) +
    para('Edge refills: levels that enter the visible window from beyond it are read from the snapshot of the same event (a level-L message file holds no events beyond L levels); every other cell is reconstructed from the messages.', 'note');
  return { section: { id: sid('replay', p.step), title: `LOB replay check (${v.dataset})`, html }, criteria: [{ study: `replay check (${p.step})`, rule, holds: v.passed, detail }] };
}

/** Impact calibration: headline estimates, depth profile, permanent impact, fill probability. */
export function impactSection(p: V<ContractValue<typeof executionImpact>>): Section {
  const v = p.value;
  const ac = v.almgren_chriss;
  const head = facts([
    ['session', `${v.symbol} ${v.date}`],
    ['quoted spread, ticks (95% CI)', estText(v.spread_ticks)],
    ['quoted spread, bps', estText(v.spread_bps)],
    ['mid volatility, bps/√s', estText(v.mid_vol_bps_per_sqrt_s)],
    ['book-walk ε, USD/share', estText(v.temporary_book.epsilon_usd)],
    ['book-walk η̂, USD/share²', estText(v.temporary_book.eta_usd_per_share)],
    ['realised cost intercept, bps', estText(v.temporary_realised.epsilon_bps)],
    ['realised cost slope, bps / 100 shares', estText(v.temporary_realised.bps_per_100_shares)],
    ['arrival A, per s per side', estText(v.arrival.A_per_s)],
    ['arrival k, per USD', estText(v.arrival.k_per_usd)],
    ['AC σ (USD/√s), γ (USD/sh²), η (USD·s/sh²), ε (USD)', `${ac.sigma_usd_per_sqrt_s.toPrecision(4)}, ${ac.gamma_usd_per_share2.toPrecision(4)}, ${ac.eta_usd_s_per_share2.toPrecision(4)}, ${ac.epsilon_usd.toPrecision(4)} at τ = ${ac.tau_seconds} s`],
  ]);
  const depth = columnChart(sid('depth', p.step), `${v.symbol} depth profile (mean visible shares by level)`, v.depth.map((d) => `L${d.level}`), [
    { name: 'ask', values: v.depth.map((d) => d.ask_shares.value) },
    { name: 'bid', values: v.depth.map((d) => d.bid_shares.value) },
  ], 'shares');
  const perm = table(['horizon, s', 'buckets', 'bps per 100 shares', '95% CI', 'bps per touch depth', '95% CI', 'γ, USD/share²'], v.permanent.map((x) => [x.horizon_s, x.buckets, x.bps_per_100_shares.value, ci(x.bps_per_100_shares.lo, x.bps_per_100_shares.hi), x.bps_per_touch_depth.value, ci(x.bps_per_touch_depth.lo, x.bps_per_touch_depth.hi), x.gamma_usd_per_share2]), 'Permanent impact: Δmid on signed aggressor volume (OLS, HC1 intervals)');
  const horizons = [...new Set(v.fill_probability.map((f) => f.horizon_s))];
  const fillChart = lineChart(sid('fill', p.step), `${v.symbol} fill probability (touch, upper bound) against distance from the mid`, horizons.map((h) => ({ name: `${h} s`, points: v.fill_probability.filter((f) => f.horizon_s === h && f.touch.value !== null).map((f) => [f.distance_ticks, f.touch.value!] as [number, number]) })), 'distance from the mid, ticks', 'P(touch)');
  const fill = table(['distance, ticks', 'horizon, s', 'P(touch)', '95% CI', 'P(through)', '95% CI'], v.fill_probability.map((f) => [f.distance_ticks, f.horizon_s, f.touch.value, ci(f.touch.lo, f.touch.hi), f.through.value, ci(f.through.lo, f.through.hi)]), 'Fill probability of a passive order (touch = upper bound, trade-through = lower bound)');
  return { id: sid('impact', p.step), title: `Impact calibration (${v.symbol})`, html: head + depth + perm + fillChart + fill };
}

/** A shortfall table with its bar chart; RL studies add the paired differences and the criterion. */
export function shortfallSection(p: V<ContractValue<typeof executionShortfall>>): { section: Section; criteria: Criterion[] } {
  const v = p.value;
  const hasAc = v.rows.some((r) => r.ac_predicted_mean_bps !== undefined);
  const rows = v.rows.map((r) => [r.strategy, r.episodes, r.mean_bps, ci(r.ci_lo_bps, r.ci_hi_bps), r.std_bps, r.forced_completions, ...(hasAc ? [r.ac_predicted_mean_bps ?? null, r.ac_predicted_std_bps ?? null] : [])]);
  const headers = ['strategy', 'episodes', 'mean IS, bps', '95% CI (block bootstrap)', 'std, bps', 'forced completions', ...(hasAc ? ['AC predicted E, bps', 'AC predicted √V, bps'] : [])];
  const title = v.study === 'rl' ? `RL execution vs benchmarks (${v.symbol}, held-out episodes)` : `Execution schedules (${v.symbol})`;
  const chart = barChart(sid('is', p.step), `${title}: mean implementation shortfall with 95% CI`, v.rows.map((r) => ({ label: r.strategy, value: r.mean_bps, lo: r.ci_lo_bps, hi: r.ci_hi_bps, group: r.strategy.startsWith('RL') ? 1 : r.strategy.includes('passive') ? 2 : 0 })), 'bps of the arrival mid');
  const intro = para(`${v.episodes} parent orders of ${v.shares} shares over ${v.horizon_seconds} s in ${v.intervals} intervals, starting between ${v.window.from_s.toFixed(0)} s and ${v.window.to_s.toFixed(0)} s after midnight (each start as a buy and a sell). Implementation shortfall against the arrival mid; positive = cost.`, 'note');
  let html = intro + table(headers, rows) + chart;
  const criteria: Criterion[] = [];
  if (v.paired.length) html += table(['paired difference', 'mean, bps', '95% CI'], v.paired.map((d) => [d.label, d.mean_bps, ci(d.ci_lo_bps, d.ci_hi_bps)]), 'RL − benchmark on the same episodes (negative = RL cheaper)');
  if (v.criterion) {
    const detail = `RL ${v.criterion.rl_mean_bps.toFixed(3)} bps vs TWAP ${v.criterion.twap_mean_bps.toFixed(3)} bps`;
    html = verdict(v.criterion.holds, v.criterion.rule, detail) + html;
    criteria.push({ study: `RL execution (${p.step})`, rule: v.criterion.rule, holds: v.criterion.holds, detail });
  }
  return { section: { id: sid('shortfall', p.step), title, html }, criteria };
}

/** The order-type bandit: fixed arms, every bandit pass, regret curves (from the report artifact). */
export function policySection(p: V<ContractValue<typeof executionOrderPolicy>>, curves: Array<{ policy: string; regret: Array<[number, number]> }> | undefined): Section {
  const v = p.value;
  const fixed = table(['order type', 'mean reward (−slippage), bps'], [...v.arms.map((a) => [a + (a === v.best_fixed ? ' (best fixed)' : ''), v.mean_reward_bps[a] ?? null]), ['per-round oracle (unreachable)', v.oracle_mean_reward_bps]]);
  const runs = table(['policy', 'mean reward, bps', 'regret vs best fixed, bps (Σ)', 'regret per round, bps', ...v.arms.map((a) => `${a} rounds`)], v.runs.map((r) => [r.policy, r.mean_reward_bps, r.regret_bps, r.regret_per_round_bps, ...v.arms.map((a) => r.choices[a] ?? 0)]));
  const chart = curves?.length ? lineChart(sid('regret', p.step), `${v.symbol} order-type bandits: cumulative regret against the best fixed order type`, curves.map((c) => ({ name: c.policy, points: c.regret })), 'round', 'regret, bps') : para('Regret curves: the report artifact is not in the store.', 'note');
  const intro = para(`${v.rounds} child orders; every order type is run on every round in the replay (non-intrusive), so the bandit sees one entry of the full reward matrix per round.`, 'note');
  return { id: sid('bandit', p.step), title: `Order-type policy (${v.symbol})`, html: intro + fixed + runs + chart };
}

/** The adaptive cost model: error statistics, calibration by quintile, residual weights. */
export function costSection(p: V<ContractValue<typeof executionCostModel>>): Section {
  const v = p.value;
  const stats = table(['model', 'MAE, bps', 'RMSE, bps', 'bias, bps', 'R²', 'corr'], [
    ['AC base', v.base.mae, v.base.rmse, v.base.bias, v.base.r2, v.base.corr],
    ['AC base + online residual', v.adaptive.mae, v.adaptive.rmse, v.adaptive.bias, v.adaptive.r2, v.adaptive.corr],
  ], `Predicted (before learning) vs realised cost of ${v.children} child orders`);
  const chart = columnChart(sid('cost', p.step), `${v.symbol} adaptive cost: mean predicted vs realised by quintile of prediction`, v.calibration.map((q) => `Q${q.quintile}`), [
    { name: 'predicted', values: v.calibration.map((q) => q.predicted_bps) },
    { name: 'realised', values: v.calibration.map((q) => q.realised_bps) },
  ], 'bps');
  const weights = table(['residual feature', 'weight'], Object.entries(v.residual_weights).map(([k, w]) => [k, w]));
  return { id: sid('cost', p.step), title: `Adaptive cost model (${v.symbol})`, html: facts([['AC slope c', v.c], ['model artifact', v.model.uri]]) + stats + chart + weights };
}
