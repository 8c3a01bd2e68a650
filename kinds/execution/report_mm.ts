/**
 * Report sections of the market-making and exit studies: A-S calibration (`mm.calibration`),
 * A-S vs RL side by side (`mm.study`, with the calibration of the same venue when present) and
 * the exit MDP (`exits.study`). Each reads only contract values.
 */
import type { ContractValue } from '../../contracts/define.ts';
import type { exitsStudy, mmCalibration, mmStudy } from '../../contracts/execution.ts';
import { type Criterion, estText, facts, para, type Section, table, verdict } from './report_html.ts';
import { barChart, columnChart, esc } from './svg.ts';

type V<C> = { step: string; value: C };
type Cal = ContractValue<typeof mmCalibration>;
type Row = Cal['rows'][number];
const sid = (prefix: string, step: string) => `${prefix}-${step}`.replace(/[^\w-]/g, '_');

/** The A-S vs RL table columns. */
function mmTable(rows: Row[]): string {
  return table(
    ['policy', 'evaluation', 'episodes', 'PnL mean', 'PnL std', 'Sharpe (ann.)', 'calendar', '|q| mean, lots', 'q std', '|q| max', 'terminal |q|', 'fill rate / side / step', 'fills / episode', 'spread captured, bps'],
    rows.map((r) => [r.policy, r.evaluation, r.episodes, r.pnl_mean, r.pnl_std, r.sharpe, r.calendar, r.inventory_mean_abs, r.inventory_std, r.inventory_max_abs, r.terminal_mean_abs_inventory, r.fill_rate, r.fills_per_episode, r.spread_captured_bps]),
  );
}

/** Calibration facts, the γ grid and the approximations of one venue. */
function calibrationHtml(c: Cal): string {
  const f = facts([
    ['σ', `${estText(c.sigma)} (price: ${c.units.price}; time: ${c.units.time})`],
    ['A', `${estText(c.A)} (arrivals per time unit per side)`],
    ['k', `${estText(c.k)} (per price unit)`],
    ['γ chosen on training episodes', c.gamma],
  ]);
  const grid = table(['γ', 'A-S Sharpe on training episodes'], c.gamma_selection.map((g) => [g.gamma, g.train_sharpe]), 'Risk-aversion grid (chosen by training Sharpe only)');
  const approx = `<h3>Approximations</h3><ul class="approx">${c.approximations.map((a) => `<li>${esc(a)}</li>`).join('')}</ul>`;
  return f + grid + approx;
}

/** Inventory histograms of A-S and the RL seeds on one evaluation, as grouped columns. */
function inventoryChart(id: string, title: string, rows: Row[]): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.inventory_histogram)))].map(Number).sort((a, b) => a - b);
  const series = rows.map((r) => {
    const tot = Object.values(r.inventory_histogram).reduce((a, n) => a + n, 0) || 1;
    return { name: r.policy.replace(/^RL \(warm-started from A-S, seed (\d+)\)$/, 'RL seed $1'), values: keys.map((k) => (r.inventory_histogram[String(k)] ?? 0) / tot) };
  });
  return columnChart(id, title, keys.map(String), series, 'share of steps');
}

/** A venue's A-S calibration on its own (no mm.study consumed it in this run). */
export function calibrationSection(p: V<Cal>): Section {
  const c = p.value;
  return { id: sid('as', p.step), title: `Avellaneda–Stoikov on ${c.venue}`, html: calibrationHtml(c) + mmTable(c.rows) };
}

/** A-S vs RL on one venue: criterion, calibration, side-by-side table, Sharpe and inventory charts. */
export function mmSection(p: V<ContractValue<typeof mmStudy>>, cal: Cal | undefined): { section: Section; criteria: Criterion[] } {
  const v = p.value;
  const evals = v.summary.map((s) => s.evaluation);
  const sharpe = barChart(sid('mm-sharpe', p.step), `${v.venue}: annualised Sharpe, A-S vs RL (per seed and mean)`, v.summary.flatMap((s, e) => [
    { label: `A-S · ${s.evaluation}`, value: s.as_sharpe, group: 0 },
    { label: `RL mean · ${s.evaluation}`, value: s.rl_mean_sharpe, group: 1 },
    ...s.rl_sharpes.map((x, k) => ({ label: `RL seed ${v.training[k]?.seed ?? k} · ${s.evaluation}`, value: x, group: 2 + (e % 2) })),
  ]), 'Sharpe');
  const summary = table(['evaluation', 'A-S Sharpe', 'RL mean Sharpe', 'RL Sharpe per seed'], v.summary.map((s) => [s.evaluation, s.as_sharpe, s.rl_mean_sharpe, s.rl_sharpes.map((x) => x.toFixed(2)).join(', ')]));
  const inv = evals.map((e, i) => inventoryChart(sid(`mm-inv-${i}`, p.step), `${v.venue} · ${e}: inventory distribution (lots)`, v.rows.filter((r) => r.evaluation === e))).join('');
  const training = table(['seed', 'DQN episodes', 'env steps', 'updates', 'warm-start states'], v.training.map((t) => [t.seed, t.episodes, t.env_steps, t.updates, t.warm_states]), 'RL training');
  const html = verdict(v.criterion.holds, v.criterion.rule, v.criterion.detail) + (cal ? calibrationHtml(cal) : para('The A-S calibration of this venue is not in the run.', 'note')) + summary + sharpe + mmTable(v.rows) + inv + training;
  return { section: { id: sid('mm', p.step), title: `Market making on ${v.venue}: A-S vs RL`, html }, criteria: [{ study: `market making ${v.venue} (${p.step})`, rule: v.criterion.rule, holds: v.criterion.holds, detail: v.criterion.detail }] };
}

/** The exit MDP: policy by days held, test results per rule, and which exit did better. */
export function exitsSection(p: V<ContractValue<typeof exitsStudy>>): { section: Section; criteria: Criterion[] } {
  const v = p.value;
  const mdp = v.results.find((r) => r.rule.startsWith('MDP'));
  const fixed = v.results[0];
  const policy = table(['days held', ...v.states], v.policy_by_days_held.map((s, h) => [h + 1, ...s.split('').map((c) => (c === 'X' ? 'exit' : 'hold'))]), 'Optimal policy by days held and state (intensity bin, position-aligned strength)');
  const reward = table(['state', 'estimated next-day reward of holding, bps', 'training decision days'], v.states.map((s, i) => [s, v.hold_reward_bps[i] ?? null, v.hold_counts[i] ?? null]));
  const results = table(['exit rule', 'test trades', 'mean net, bps', 'mean days held', 'net bps / position-day', 'hit rate', 'Sharpe (ann.)'], v.results.map((r) => [r.rule, r.trades, r.mean_net_bps, r.mean_hold_days, r.net_bps_per_position_day, r.hit_rate, r.sharpe]));
  const chart = barChart(sid('exits-chart', p.step), 'Mean net return per test trade by exit rule', v.results.map((r, i) => ({ label: r.rule, value: r.mean_net_bps, group: i })), 'bps');
  const intro = para(`${v.signal} on ${v.dataset} (${v.calendar}); MDP estimated on ${v.train_trades} trades before ${v.split_date}, compared on the trades from it; round-trip cost ${v.cost_bps} bps per trade.`, 'note');
  const criteria: Criterion[] = mdp && fixed ? [{ study: `exits (${p.step})`, rule: `MDP exit mean net return ≥ ${fixed.rule} on the test trades`, holds: mdp.mean_net_bps >= fixed.mean_net_bps, detail: `MDP ${mdp.mean_net_bps.toFixed(2)} bps vs ${fixed.mean_net_bps.toFixed(2)} bps per trade` }] : [];
  const head = criteria.map((c) => verdict(c.holds, c.rule, c.detail)).join('');
  return { section: { id: sid('exits', p.step), title: `Optimal-stopping exits (${v.dataset})`, html: head + intro + results + chart + policy + reward }, criteria };
}
