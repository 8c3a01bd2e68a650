import { formatDuration } from '../lib/duration.ts';
import type { Chart } from './charts.ts';
import type { ReportData } from './model.ts';

/**
 * Markup this module built itself (badges, code spans). Table cells and interpolations escape every
 * other value, whatever it starts with: only an `Html` is written as is.
 */
class Html {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const esc = escapeHtml;

const fmt = (v: unknown): string => {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4);
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
};

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

function table(headers: string[], rows: unknown[][], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c instanceof Html ? c.html : esc(fmt(c))}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function badge(text: string, kind: string): Html {
  return new Html(`<span class="badge ${esc(kind)}">${esc(text)}</span>`);
}

function figure(c: Chart | undefined): string {
  if (!c) return '';
  return `<figure class="chart" id="chart-${esc(c.id)}" data-chart="${esc(c.id)}"><figcaption>${esc(c.title)}</figcaption>${c.svg}${c.caption ? `<p class="note">${esc(c.caption)}</p>` : ''}</figure>`;
}

type Ch = (id: string) => Chart | undefined;
const statusKind = (s: string | undefined) => (s === 'succeeded' || s === 'GREEN' || s === 'passed' ? 'ok' : s === 'failed' || s === 'RED' ? 'bad' : 'warn');
const code = (s: string): Html => new Html(`<code>${esc(s)}</code>`);

function runSection(data: ReportData, ch: Ch): string {
  const r = data.run;
  const run = `<section id="run"><h2>Run</h2>${table(
    ['run', 'pipeline', 'status', 'started', 'ended', 'duration', 'plan digest'],
    [[r.run_id, r.pipeline, badge(r.status, statusKind(r.status)), r.started_at, r.ended_at, r.duration_ms !== undefined ? formatDuration(r.duration_ms) : undefined, r.plan_digest]],
  )}${r.params && Object.keys(r.params).length ? `<h3>Params</h3>${table(['param', 'value'], Object.entries(r.params).map(([k, v]) => [k, v]))}` : ''}</section>`;
  const dag = `<section id="dag"><h2>DAG and step timings</h2>${figure(ch('dag'))}${figure(ch('timings'))}${table(
    ['step', 'kind', 'provides', 'status', 'attempts', 'cache', 'duration', 'error'],
    data.steps.map((s) => [s.stepId, s.uses, s.control ? 'control step' : Object.entries(s.provides ?? {}).map(([k, c]) => `${k}: ${c}`).join(', '), badge(s.status, statusKind(s.status)), s.attempts, s.cacheHit ? 'hit' : s.cacheHit === false ? 'miss' : undefined, s.durationMs !== undefined ? formatDuration(s.durationMs) : undefined, s.error ? `${s.error_type ?? 'Error'}: ${s.error}` : '']),
  )}</section>`;
  return run + dag;
}

function dataSection(data: ReportData, ch: Ch): string {
  if (!data.data.length) return '';
  const parts = data.data.map((a) => {
    const red = a.red_dates.length ? ` — ${a.red_dates.length} RED date(s): ${esc(a.red_dates.slice(0, 12).join(', '))}${a.red_dates.length > 12 ? ', …' : ''}` : '';
    const reasons = a.red_reasons.length ? table(['RED rule', 'dates'], a.red_reasons.map((x) => [x.rule, x.count])) : '';
    const hints = a.red_hints.length ? `<ul>${a.red_hints.map((h) => `<li>${esc(h)}</li>`).join('')}</ul>` : '';
    const lost = a.lost_symbols.length ? `<p>Lost symbols (no usable row): ${esc(a.lost_symbols.slice(0, 20).join(', '))}${a.lost_symbols.length > 20 ? ', …' : ''}</p>` : '';
    const summary = Object.keys(a.summary).length ? table(['item', 'value'], Object.entries(a.summary).map(([k, v]) => [k, v])) : '';
    return `<h3>${code(a.step)}${a.dataset ? ` (${esc(a.dataset)})` : ''}</h3><p>${badge(a.status ?? 'failed', statusKind(a.status ?? 'failed'))}${red}${a.message ? ` — ${esc(a.message)}` : ''}</p>${figure(ch(`audit-${a.key}`))}${reasons}${hints}${lost}${summary}`;
  });
  return `<section id="audit"><h2>Data audit</h2>${parts.join('')}</section>`;
}

function signalSection(data: ReportData, ch: Ch): string {
  if (!data.signals.length) return '';
  const rows = data.signals.map((s) => [s.sleeve, s.step, s.task, s.components.length ? s.components.join(' + ') : '—', s.n_paths, s.target, s.mean_ic, s.mean_rank_ic, s.icir, s.walk_forward?.rank_ic, s.n_trials]);
  const ic = table(['signal', 'step', 'task', 'blend of', 'paths', 'IC vs', 'mean IC', 'mean rank IC', 'ICIR', 'walk-forward rank IC', 'trials'], rows, 'signals');
  const models = data.models.length ? `<h3>Model bundles</h3>${table(['sleeve', 'step', 'task', 'engine', 'features', 'training config'], data.models.map((m) => [m.sleeve, m.step, m.task, m.engine, m.n_features, m.training_config_digest]))}` : '';
  return `<section id="ic"><h2>Model fit: out-of-fold signals</h2>${ic}<div class="row">${figure(ch('ic-split'))}${figure(ch('ic-path'))}</div>${models}</section>`;
}

function backtestSection(data: ReportData, ch: Ch): string {
  if (!data.backtests.length) return '';
  const parts = data.backtests.map((b) => `<h3>${code(b.step)}: signal ${code(b.source.sleeve)} of ${code(b.source.step)} (${esc(b.calendar)}, fills at ${esc(b.execution)})</h3>${figure(ch(`equity-${b.key}`))}${figure(ch(`drawdown-${b.key}`))}<h4>Cost breakdown</h4>${figure(ch(`costs-${b.key}`))}${table(
    ['path', 'days', 'total return', 'max DD', 'Sharpe', 'gross', 'fee', 'spread', 'impact', 'borrow', 'net', 'turnover'],
    b.paths.map((p) => [p.path, p.days, pct(p.total_return), pct(p.max_drawdown), p.sharpe, pct(p.gross), pct(p.fee), pct(p.spread), pct(p.impact), pct(p.borrow), pct(p.net), p.turnover]),
  )}${Object.keys(b.aggregate).length ? `<h4>Aggregate metrics</h4>${table(['metric', 'value'], Object.entries(b.aggregate).map(([k, v]) => [k, v]))}` : ''}`);
  return `<section id="backtest"><h2>Backtest over CPCV paths</h2>${parts.join('')}</section>`;
}

function calibrationSection(data: ReportData, ch: Ch): string {
  const cal = data.signals.filter((s) => s.calibration);
  if (!cal.length) return '';
  return `<section id="calibration"><h2>Calibration</h2><div class="row">${cal.map((s) => figure(ch(`calibration-${s.key}`))).join('')}</div>${table(['signal', 'task', 'Brier score'], cal.map((s) => [s.sleeve, s.calibration!.task, s.calibration!.brier]))}</section>`;
}

function gateSection(data: ReportData, ch: Ch): string {
  if (!data.gates.length && !data.sizing.length) return '';
  const gates = data.gates.map((g) => `<p>Step ${code(g.step)}: ${badge(g.passed ? 'passed' : 'failed', g.passed ? 'ok' : 'bad')}${g.message ? ` — ${esc(g.message)}` : ''}</p>${table(
    ['bar', 'value', 'op', 'threshold', 'result'],
    g.table.map((row) => [`${row.bar}${row.blocking ? '' : ' (info)'}`, row.value, row.op, row.threshold, row.passed === null ? 'n/a' : badge(row.passed ? 'pass' : 'fail', row.passed ? 'ok' : 'bad')]),
    'gate',
  )}`);
  const sizing = data.sizing.map((o) => `<h3>Off-policy evaluation (${code(o.step)})</h3>${figure(ch(`ope-${o.key}`))}<p>${esc(o.decision)}</p><p>Policy kept: ${esc(o.policy)}; ${esc(o.estimator)} estimate ${esc(fmt(o.estimate))} [${esc(fmt(o.lcb))}, ${esc(fmt(o.ucb))}], baseline ${esc(fmt(o.baseline_value))}, margin ${esc(fmt(o.margin))} (per bar).</p>`);
  return `<section id="gate"><h2>Governance gate</h2>${gates.join('')}${sizing.join('')}</section>`;
}

function promotionSection(data: ReportData): string {
  const reg = data.registration;
  if (!data.approvals.length && !reg) return '';
  const approvals = data.approvals.length ? table(['approval step', 'status', 'approved', 'by', 'at', 'comment'], data.approvals.map((a) => [a.step, badge(a.status, statusKind(a.status)), a.approved, a.by, a.at, a.comment ?? a.message])) : '';
  const registered = reg
    ? table(['model', 'version', 'aliases', 'sleeves', 'blend'], [[reg.model, reg.version, reg.aliases.join(', ') || '—', reg.sleeves.join(', '), reg.blend ? `${reg.blend.step}: ${Object.entries(reg.blend.weights).map(([k, w]) => `${k} ${fmt(w)}`).join(', ')}` : '—']])
    : '';
  return `<section id="promotion"><h2>Approval and promotion</h2>${approvals}${registered}</section>`;
}

function lineageSection(data: ReportData): string {
  const l = data.lineage;
  const missing = data.missing.length ? `<section id="missing"><h2>Not in this report</h2><ul>${data.missing.map((m) => `<li>${esc(m)}</li>`).join('')}</ul></section>` : '';
  return `<section id="lineage"><h2>Lineage</h2>${table(['item', 'value'], [['plan digest', l.plan_digest], ...Object.entries(l.extra).map(([k, v]) => [k, v])])}${l.datasets.length ? table(['step', 'kind', 'output', 'contract', 'name', 'digest'], l.datasets.map((d) => [d.step, d.uses, d.output, d.contract, d.name, d.digest])) : '<p>No artifacts recorded.</p>'}</section>${missing}`;
}

/**
 * Renders the self-contained report page: inline CSS, inline static SVG charts, no scripts and no
 * external resources, so it opens offline and from an artifact store. Sections follow the
 * contracts the run's steps provide (report/sections.ts).
 */
export function renderHtml(data: ReportData, charts: Chart[]): string {
  const ch: Ch = (id) => charts.find((c) => c.id === id);
  const r = data.run;
  const sections = [runSection(data, ch), dataSection(data, ch), signalSection(data, ch), backtestSection(data, ch), calibrationSection(data, ch), gateSection(data, ch), promotionSection(data), lineageSection(data)].filter(Boolean);

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>TradeML run ${esc(r.run_id)} — ${esc(r.pipeline)}</title>
<style>
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px auto;max-width:1100px;color:#212121;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;border-bottom:1px solid #e0e0e0;padding-bottom:4px;margin-top:28px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0;font-size:12px}th,td{border:1px solid #e0e0e0;padding:3px 8px;text-align:left;vertical-align:top;max-width:520px;overflow-wrap:anywhere}th{background:#f5f5f5}
code{background:#f5f5f5;padding:0 3px}.badge{padding:1px 6px;border-radius:3px;font-size:11px;color:#fff}.ok{background:#2e7d32}.bad{background:#c62828}.warn{background:#f9a825;color:#212121}
figure.chart{margin:10px 0;display:inline-block;vertical-align:top}figcaption{font-weight:bold;font-size:13px;margin-bottom:4px}.note{font-size:11px;color:#616161;max-width:640px}
.row{display:flex;flex-wrap:wrap;gap:24px}
</style></head>
<body><h1>${esc(r.title ?? 'TradeML run report')}</h1><p class="note">${esc(r.pipeline)} · ${esc(r.run_id)} · generated offline (static SVG charts, no scripts)</p>
${sections.join('\n')}
</body></html>
`;
}
