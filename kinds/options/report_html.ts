/**
 * The options report as one self-contained HTML page (inline CSS and SVG, no scripts, no external
 * resources): run and steps, gate bars, chain audit, the smile per expiry with its SVI fit and the
 * surface QC, the 16 features, targets, the learner, the backtest (equity, drawdown, vega), the
 * router table and the deep-hedging comparison. Every cell is HTML-escaped (`esc`); only markup
 * built here from escaped parts is inserted raw.
 */
import { chart, esc, type Series } from './svg.ts';
import type { OptionsReport } from './report.ts';

/** Markup built from escaped parts (inserted as is by {@link table}). */
interface Html {
  html: string;
}

const raw = (html: string): Html => ({ html });
const badge = (text: string, ok: boolean | null) => raw(`<span class="b ${ok === null ? 'na' : ok ? 'ok' : 'bad'}">${esc(text)}</span>`);

/** Formats a cell value: numbers to 4 significant-ish places, null as —. */
export function fmt(v: unknown): string {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toFixed(4);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** An HTML table; every cell escaped unless it is {@link Html}. */
export function table(headers: string[], rows: unknown[][], cls = ''): string {
  const cell = (c: unknown) => `<td>${c && typeof c === 'object' && 'html' in (c as object) ? (c as Html).html : esc(fmt(c))}</td>`;
  return `<table class="${esc(cls)}"><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

const section = (id: string, title: string, body: string) => `<section id="${esc(id)}"><h2>${esc(title)}</h2>${body}</section>`;
const p = (text: string) => `<p>${esc(text)}</p>`;
const inr = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? `₹${Math.round(v).toLocaleString('en-IN')}` : '—');

function runPart(r: OptionsReport): string {
  const steps = table(['step', 'kind', 'status', 'error'], r.run.steps.map((s) => [s.step, s.uses, badge(s.status, s.status === 'succeeded' ? true : s.status === 'failed' ? false : null), s.error ?? '']), 'steps');
  return section('run', 'Run', `${table(['run', 'pipeline', 'status', 'generated'], [[r.run.run_id, r.run.pipeline, r.run.status, r.run.generated_at]])}${steps}`);
}

function gatePart(r: OptionsReport): string {
  if (!r.gate.length) return section('gate', 'Gate bars', p('No gate step upstream.'));
  return section('gate', 'Gate bars', r.gate.map((g) => `<h3>${esc(g.step)}: ${badge(g.passed ? 'PASSED' : 'FAILED', g.passed).html}</h3>${table(['bar', 'kind', 'value', 'op', 'threshold', 'result', 'note'], g.bars.map((b) => [b.id, b.blocking ? 'blocking' : 'info', b.value, b.op, b.threshold, badge(b.pass === null ? 'n/a' : b.pass ? 'pass' : 'fail', b.pass), b.note ?? '']), 'gate')}${g.failing.length ? p(`Failing blocking bars: ${g.failing.join(', ')}.`) : ''}`).join(''));
}

function auditPart(r: OptionsReport): string {
  const a = r.audit;
  if (!a) return '';
  const rules = table(['rule', 'AMBER dates', 'RED dates'], Object.entries(a.rules).map(([k, v]) => [k, v.AMBER, v.RED]));
  const lots = table(['expiry', 'lot sizes inferred (index units per contract)'], a.lots.map((l) => [l.expiry, l.lots]));
  const iv = r.iv ? table(['contracts', 'with an IV', 'max re-pricing error (INR)', 'no IV, by reason'], [[r.iv.n_contracts, r.iv.n_solved, r.iv.max_reprice_error, r.iv.reasons]]) : '';
  return section('audit', 'Chain audit and implied vols', `${p(`Dataset ${a.dataset}: worst status ${a.status}; dates by status ${JSON.stringify(a.by_status)}.`)}${rules}${lots}${iv}`);
}

function surfacePart(r: OptionsReport): string {
  const s = r.surface;
  if (!s) return '';
  const series: Series[] = s.smiles.flatMap((x, i) => [
    { name: `${x.expiry} market`, points: x.market, mode: 'dots' as const, color: ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e'][i % 4] },
    { name: `${x.expiry} SVI`, points: x.curve, color: ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e'][i % 4] },
  ]);
  const smile = chart({ title: `Smile per expiry on ${s.smile_date ?? '—'} with the raw SVI fit`, xLabel: 'log-moneyness k = ln(K/F)', yLabel: 'implied vol, vol points', series });
  const params = table(['expiry', 'T (years)', 'a', 'b', 'ρ', 'm', 'σ', 'points', 'median |residual| (vol pts)', 'flags'], s.smiles.map((x) => [x.expiry, x.t, x.params.a, x.params.b, x.params.rho, x.params.m, x.params.sigma, x.n_points, x.median_abs_residual_vol_pts, x.flags]));
  const res = chart({ title: 'Median |residual| per date', xLabel: 'date', yLabel: 'vol points', series: [{ name: 'SVI', points: s.residuals.map((x) => [x.date, x.svi]) }, { name: 'SSVI', points: s.residuals.map((x) => [x.date, x.ssvi]), dashed: true }] });
  const sum = table(['slices fitted', 'median |SVI residual| (vol pts)', 'p90 |SVI residual|', 'median SSVI residual'], [[s.summary.slices_fitted, s.summary.median_abs_residual_vol_pts, s.summary.p90_abs_residual_vol_pts, s.summary.ssvi_median_abs_residual_vol_pts]]);
  const flags = table(['QC flag', 'count'], Object.entries(s.flag_counts).sort((a, b) => b[1] - a[1]));
  return section('surface', 'Volatility surface: SVI per expiry, SSVI per date', `${smile}${params}${sum}${res}${flags}`);
}

function featuresPart(r: OptionsReport): string {
  const f = r.features;
  if (!f) return '';
  const t = table(['feature', 'definition', `last (${f.last ?? '—'})`, 'mean', 'std', 'NaN dates'], f.stats.map((x) => [x.name, x.definition, x.last, x.mean, x.std, x.nan]), 'features');
  const vol = chart({ title: 'ATM IV vs 20-day realised vol (VRP = the gap)', xLabel: 'date', yLabel: 'vol points', series: [{ name: 'atm_iv', points: f.series.atm_iv }, { name: 'rv20', points: f.series.rv20 }] });
  const skew = chart({ title: '25Δ skew and put/call OI ratio', xLabel: 'date', yLabel: 'vol points / ratio', series: [{ name: 'skew_25d', points: f.series.skew_25d }, { name: 'pcr_oi', points: f.series.pcr_oi }, { name: 'term_slope', points: f.series.term_slope }] });
  return section('features', `Options features (${f.dates} dates, ${f.first} … ${f.last})`, `${t}${vol}${skew}`);
}

function learnerPart(r: OptionsReport): string {
  const parts: string[] = [];
  if (r.targets) parts.push(table(['horizon (sessions)', 'dates with a target', 'P(P&L > 0)', 'mean P&L ÷ premium'], [[r.targets.horizon_bars, r.targets.n, r.targets.p_positive, r.targets.mean_pnl_over_premium]]));
  const m = r.learner?.metrics as { cv?: Record<string, number>; trials?: Array<{ trial_id: string; params: unknown; metrics: Record<string, number | null> }>; walk_forward?: Record<string, number | null>; selected?: string; groups?: Array<{ group: number; first: string; last: string }> } | undefined;
  if (m) {
    parts.push(p(`Ridge on ${r.learner!.features} standardised features; CPCV N = ${m.cv?.n_groups}, k = ${m.cv?.n_test_groups}, embargo ${m.cv?.embargo_bars} sessions; selected ${m.selected}. Time-series IC (one instrument per date).`));
    parts.push(table(['trial', 'params', 'OOF IC', 'OOF rank IC', 'hit rate', 'sign-stream Sharpe'], (m.trials ?? []).map((t) => [t.trial_id, t.params, t.metrics.mean_ic, t.metrics.mean_rank_ic, t.metrics.hit_rate, t.metrics.sharpe])));
    if (m.walk_forward) parts.push(table(['walk-forward IC', 'rank IC', 'hit rate', 'dates'], [[m.walk_forward.ic, m.walk_forward.rank_ic, m.walk_forward.hit_rate, m.walk_forward.n]]));
    if (m.groups) parts.push(table(['CPCV group', 'first date', 'last date'], m.groups.map((g) => [g.group, g.first, g.last])));
  }
  parts.push(p(r.stacking));
  return section('learner', 'Targets and learner', parts.join(''));
}

function backtestPart(r: OptionsReport): string {
  const b = r.backtest;
  if (!b) return '';
  const eq = chart({ title: 'Equity per path (0 = walk-forward)', xLabel: 'date', yLabel: 'INR', series: b.equity.map((e) => ({ name: `path ${e.path}`, points: e.points, dashed: e.path > 0 })), hlines: [{ y: b.capital, label: 'capital' }] });
  const vega = chart({ title: 'Vega exposure, walk-forward path', xLabel: 'date', yLabel: 'INR per vol point', series: [{ name: 'vega', points: b.vega }], hlines: [{ y: b.vega_cap, label: 'cap' }, { y: -b.vega_cap, label: '−cap' }] });
  const rows = b.paths.map((x) => [x.path, inr(x.pnl), x.total_return, x.sharpe, x.max_drawdown, x.trades, x.long_trades, x.short_trades, x.hit_rate, inr(x.costs), x.max_abs_vega]);
  const paths = table(['path', 'P&L', 'return', 'Sharpe', 'max DD', 'trades', 'long', 'short', 'hit rate', 'costs', 'max |vega|'], rows);
  const trades = table(['#', 'structure', 'decided', 'filled', 'exit', 'lots', 'entry (INR)', 'costs', 'hedge P&L', 'P&L'], b.trades.slice(-25).map((t) => [t.n, t.structure, t.decision_date, t.fill_date, t.exit_date, t.lots, t.entry_value, t.costs, t.hedge_pnl, t.pnl]));
  const note = p(`Signal ${b.source.sleeve} of step ${b.source.step}; capital ${inr(b.capital)}, vega cap ₹${b.vega_cap} per vol point, costs ${b.costs.option_bps} bp of premium per fill and ${b.costs.hedge_bps} bp of hedge notional; decisions at the close, fills at the next session's settle, held ${b.hold_days} sessions.`);
  return section('backtest', 'Options backtest of the OOF signal', `${note}${paths}${eq}${vega}<h3>Walk-forward trades (last 25)</h3>${trades}`);
}

function routerPart(r: OptionsReport): string {
  const x = r.router;
  if (!x) return '';
  const t = table(['strategy', 'OOS trades', 'P&L', 'return', 'Sharpe', 'max DD', 'hit rate', 'costs'], x.table.map((y) => [y.name, y.trades, inr(y.pnl), y.total_return, y.sharpe, y.max_drawdown, y.hit_rate, inr(y.costs)]), 'router');
  const note = p(`OOS from ${x.oos_start}; ${x.events} meta-labeling events, Brier ${fmt(x.brier)} vs base rate ${fmt(x.base_rate)}; breadth available on ${x.breadth.with_breadth} of ${x.breadth.oos_dates} OOS dates (${x.breadth.risk_off_dates} risk-off); router picks ${JSON.stringify(x.chosen)}.`);
  return section('router', 'Strategy router (meta-labeling)', `${note}${t}`);
}

function hedgingPart(r: OptionsReport): string {
  const h = r.hedging;
  if (!h) return '';
  const t = table(['paths', 'hedger', 'n', 'mean (bps)', 'std (bps)', 'variance (bps²)', 'CVaR 95 % (bps)'], h.table.map((y) => [y.paths, y.hedger, y.n, y.mean_bps, y.std_bps, y.variance_bps2, y.cvar95_bps]), 'hedging');
  const he = table(['κ', 'θ', 'ξ', 'ρ', 'v₀', 'Feller 2κθ/ξ²', 'fit window'], [[h.heston.kappa, h.heston.theta, h.heston.xi, h.heston.rho, h.heston.v0, h.heston.feller, `${h.heston.from} … ${h.heston.to}`]]);
  const note = p(`Short ATM straddle, trained on simulated paths calibrated to data up to ${h.train_end} (GBM σ = ${fmt(h.sigma_gbm)}, Heston below); real test: ${h.real_paths} NIFTY windows from ${h.test_start} (overlapping, so not independent).`);
  return section('hedging', 'Deep hedging vs Black–Scholes delta', `${note}${t}${he}`);
}

const CSS = 'body{font:13px/1.4 system-ui,sans-serif;margin:20px;max-width:1100px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f4f4f4}.b{padding:1px 6px;border-radius:3px}.ok{background:#d4edda}.bad{background:#f8d7da}.na{background:#eee}svg{display:block;margin:8px 0}section{margin-bottom:24px}';

/** The whole page. */
export function renderOptionsHtml(r: OptionsReport): string {
  const body = [runPart(r), gatePart(r), auditPart(r), surfacePart(r), featuresPart(r), learnerPart(r), backtestPart(r), routerPart(r), hedgingPart(r)].join('');
  const missing = r.missing.length ? section('missing', 'Left out', `<ul>${r.missing.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>`) : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(r.run.title)}</title><style>${CSS}</style></head><body><h1>${esc(r.run.title)}</h1>${body}${missing}</body></html>`;
}
