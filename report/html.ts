import { formatDuration } from '../lib/duration.ts';
import type { Chart } from './charts.ts';
import type { ReportData } from './model.ts';

const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const fmt = (v: unknown): string => {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4);
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
};

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

function table(headers: string[], rows: unknown[][], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => (typeof c === 'string' && c.startsWith('<')) ? `<td>${c}</td>` : `<td>${esc(fmt(c))}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function badge(text: string, kind: string): string {
  return `<span class="badge ${esc(kind)}">${esc(text)}</span>`;
}

function figure(c: Chart | undefined): string {
  if (!c) return '';
  return `<figure class="chart" id="chart-${esc(c.id)}" data-chart="${esc(c.id)}"><figcaption>${esc(c.title)}</figcaption>${c.svg}${c.caption ? `<p class="note">${esc(c.caption)}</p>` : ''}</figure>`;
}

/**
 * Renders the self-contained report page: inline CSS, inline static SVG charts, no scripts and no
 * external resources, so it opens offline and from an artifact store.
 */
export function renderHtml(data: ReportData, charts: Chart[]): string {
  const ch = (id: string) => charts.find((c) => c.id === id);
  const r = data.run;
  const statusKind = (s: string | undefined) => (s === 'succeeded' || s === 'GREEN' || s === 'passed' ? 'ok' : s === 'failed' || s === 'RED' ? 'bad' : 'warn');
  const sections: string[] = [];

  sections.push(`<section id="run"><h2>Run</h2>${table(
    ['run', 'pipeline', 'status', 'started', 'ended', 'duration', 'plan digest'],
    [[r.run_id, r.pipeline, badge(r.status, statusKind(r.status)), r.started_at, r.ended_at, r.duration_ms !== undefined ? formatDuration(r.duration_ms) : undefined, r.plan_digest]],
  )}${r.params && Object.keys(r.params).length ? `<h3>Params</h3>${table(['param', 'value'], Object.entries(r.params).map(([k, v]) => [k, v]))}` : ''}</section>`);

  sections.push(`<section id="dag"><h2>DAG and step timings</h2>${figure(ch('dag'))}${figure(ch('timings'))}${table(
    ['step', 'kind', 'status', 'attempts', 'cache', 'duration', 'error'],
    data.steps.map((s) => [s.stepId, s.uses, badge(s.status, statusKind(s.status)), s.attempts, s.cacheHit ? 'hit' : s.cacheHit === false ? 'miss' : undefined, s.durationMs !== undefined ? formatDuration(s.durationMs) : undefined, s.error ? `${s.error_type ?? 'Error'}: ${s.error}` : '']),
  )}</section>`);

  if (data.audit) {
    const a = data.audit;
    sections.push(`<section id="audit"><h2>Data audit</h2><p>Step <code>${esc(a.step)}</code>: ${badge(a.status ?? 'unknown', statusKind(a.status))}${a.red_dates.length ? ` — ${a.red_dates.length} RED date(s): ${esc(a.red_dates.slice(0, 12).join(', '))}${a.red_dates.length > 12 ? ', …' : ''}` : ''}</p>${figure(ch('audit'))}${Object.keys(a.summary).length ? table(['item', 'value'], Object.entries(a.summary).map(([k, v]) => [k, v])) : ''}</section>`);
  }

  if (data.ic) {
    const i = data.ic;
    sections.push(`<section id="ic"><h2>Model fit: information coefficient</h2><p>Step <code>${esc(i.step)}</code>${i.sleeve ? `, sleeve <code>${esc(i.sleeve)}</code>` : ''}: mean IC ${esc(fmt(i.mean_ic))}, mean rank IC ${esc(fmt(i.mean_rank_ic))}, ICIR ${esc(fmt(i.icir))}.</p><div class="row">${figure(ch('ic-split'))}${figure(ch('ic-path'))}</div></section>`);
  }

  if (data.backtest) {
    const b = data.backtest;
    sections.push(`<section id="backtest"><h2>Backtest over CPCV paths</h2>${figure(ch('equity'))}${figure(ch('drawdown'))}<h3>Cost breakdown</h3>${figure(ch('costs'))}${table(
      ['path', 'days', 'total return', 'max DD', 'Sharpe', 'gross', 'fee', 'spread', 'impact', 'borrow', 'net', 'turnover'],
      b.paths.map((p) => [p.path, p.days, pct(p.total_return), pct(p.max_drawdown), p.sharpe, pct(p.gross), pct(p.fee), pct(p.spread), pct(p.impact), pct(p.borrow), pct(p.net), p.turnover]),
    )}${Object.keys(b.aggregate).length ? `<h3>Aggregate metrics</h3>${table(['metric', 'value'], Object.entries(b.aggregate).map(([k, v]) => [k, v]))}` : ''}</section>`);
  }

  if (data.calibration) {
    const c = data.calibration;
    sections.push(`<section id="calibration"><h2>Calibration</h2>${figure(ch('calibration'))}${c.brier !== undefined ? `<p>Brier score: ${esc(fmt(c.brier))}</p>` : ''}</section>`);
  }

  if (data.gate || data.ope) {
    const g = data.gate;
    sections.push(`<section id="gate"><h2>Governance gate</h2>${g ? `<p>Step <code>${esc(g.step)}</code>: ${badge(g.passed ? 'passed' : 'failed', g.passed ? 'ok' : 'bad')}${g.message ? ` — ${esc(g.message)}` : ''}</p>${table(
      ['bar', 'value', 'op', 'threshold', 'result'],
      g.table.map((row) => [row.bar, row.value, row.op, row.threshold, badge(row.passed ? 'pass' : 'fail', row.passed ? 'ok' : 'bad')]),
      'gate',
    )}` : ''}${data.ope ? `<h3>Off-policy evaluation</h3>${figure(ch('ope'))}<p>Accepted: ${esc(fmt(data.ope.accepted))}; DR ${esc(fmt(data.ope.estimate))} [${esc(fmt(data.ope.lcb))}, ${esc(fmt(data.ope.ucb))}], baseline ${esc(fmt(data.ope.baseline_value))}.</p>` : ''}</section>`);
  }

  if (data.approval || data.promotion) {
    const a = data.approval;
    const p = data.promotion;
    sections.push(`<section id="promotion"><h2>Approval and promotion</h2>${a ? table(['approval step', 'status', 'approved', 'by', 'at', 'comment'], [[a.step, badge(a.status, statusKind(a.status)), a.approved, a.by, a.at, a.comment ?? a.message]]) : ''}${p ? table(['promote step', 'status', 'outputs'], [[p.step, badge(p.status, statusKind(p.status)), p.outputs]]) : ''}</section>`);
  }

  const l = data.lineage;
  sections.push(`<section id="lineage"><h2>Lineage</h2>${table(['item', 'value'], [['plan digest', l.plan_digest], ...Object.entries(l.extra).map(([k, v]) => [k, v])])}${l.datasets.length ? table(['step', 'kind', 'output', 'name', 'digest'], l.datasets.map((d) => [d.step, d.uses, d.output, d.name, d.digest])) : '<p>No artifacts recorded.</p>'}</section>`);

  if (data.missing.length) sections.push(`<section id="missing"><h2>Not in this report</h2><ul>${data.missing.map((m) => `<li>${esc(m)}</li>`).join('')}</ul></section>`);

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
<body><h1>TradeML run report</h1><p class="note">${esc(r.pipeline)} · ${esc(r.run_id)} · generated offline (static SVG charts, no scripts)</p>
${sections.join('\n')}
</body></html>
`;
}
