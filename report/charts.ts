import { derivedOnce } from '../artifacts/derived.ts';
import type { ArtifactStore } from '../artifacts/store.ts';
import { formatDuration } from '../lib/duration.ts';
import { digestJson } from '../lib/hash.ts';
import type { EquityPoint } from './backtest.ts';
import type { ReportData, ReportSeries } from './model.ts';
import type { BacktestSection, DataSection, SignalSection, SizingSection } from './sections.ts';

/** A rendered chart: a title, a static SVG string (no scripts, no external references) and its Vega-Lite spec. */
export interface Chart {
  id: string;
  title: string;
  svg: string;
  caption?: string;
}

type Spec = Record<string, unknown>;
type Add = (id: string, title: string, spec: Spec, caption?: string) => Promise<unknown>;

const STATUS_COLORS = { domain: ['succeeded', 'failed', 'skipped', 'cancelled', 'running', 'waiting_approval'], range: ['#2e7d32', '#c62828', '#9e9e9e', '#6d4c41', '#1565c0', '#f9a825'] };
const CONFIG = { font: 'DejaVu Sans, Arial, sans-serif', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11 } };

/**
 * Renders a Vega-Lite spec to a static SVG string in Node (vega's headless View, renderer 'none').
 * Throws when the spec does not compile.
 */
export async function renderSvg(spec: Spec): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: CONFIG, background: 'white', ...spec } as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return assertStaticSvg(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/** Elements a static chart never needs and that could run script or load something when the page opens. */
const ACTIVE_ELEMENTS = /<\s*(script|foreignObject|iframe|object|embed|a|image|use|animate|set|handler|style)\b/i;

/**
 * Returns `svg` when it holds only static drawing elements. Vega escapes every text and attribute it
 * writes (labels, titles, aria-labels carry step ids, sleeve names, dataset names verbatim), so
 * element markup can only come from Vega itself; this refuses any SVG with an element that could
 * run script or fetch, in case a spec or a Vega upgrade ever emits one (e.g. an `href` channel).
 */
export function assertStaticSvg(svg: string): string {
  const m = ACTIVE_ELEMENTS.exec(svg);
  if (m) throw new Error(`chart SVG holds an active element <${m[1]}>; report charts must be static drawings (no links, scripts, styles or embedded content)`);
  return svg;
}

/** Version of the chart rendering (CONFIG, vega versions): bump it when the SVG of a spec changes. */
const RENDER_VERSION = 1;

/**
 * Builds and renders every chart the data supports (skips sections without data). With `store`,
 * each chart's SVG is rendered once per spec (artifacts/derived.ts, keyed by the spec's digest): a
 * re-run whose figures did not change reads the SVGs back instead of running Vega again. The DAG
 * labels a cache hit "(cached)" without its (bookkeeping-only) duration and the step timings draw the
 * steps that ran, so a fully cached re-run's DAG is the previous one's and it has no timings chart.
 */
export async function buildCharts(data: ReportData, series: ReportSeries, store?: ArtifactStore): Promise<Chart[]> {
  const out: Chart[] = [];
  const svgOf = (spec: Spec) => (store ? derivedOnce(store, 'chart-svg', RENDER_VERSION, digestJson(spec), () => renderSvg(spec)) : renderSvg(spec));
  const add = async (id: string, title: string, spec: Spec, caption?: string) => out.push({ id, title, svg: assertStaticSvg(await svgOf(spec)), caption });

  await dagCharts(data, add);
  for (const a of data.data.filter((x) => Object.keys(x.by_status).length)) await auditChart(a, add);
  await icCharts(data, add);
  for (const b of data.backtests) await backtestCharts(b, series.equity[b.key] ?? [], add);
  for (const s of data.signals) if (s.calibration?.bins.length) await calibrationChart(s, add);
  for (const o of data.sizing.filter((x) => x.estimate !== undefined)) await opeChart(o, add);
  return out;
}

/** The DAG (nodes by layer, edges as rules, colour = status) and the step timings. */
async function dagCharts(data: ReportData, add: Add): Promise<void> {
  const pos = new Map(data.steps.map((s) => [s.stepId, s]));
  const nodes = data.steps.map((s) => ({ id: s.stepId, uses: s.uses, status: s.status, x: s.layer, y: s.row, label: `${s.stepId}${s.cacheHit ? ' (cached)' : s.durationMs !== undefined ? ` · ${fmtMs(s.durationMs)}` : ''}` }));
  const edges = data.edges.map((e) => ({ x: pos.get(e.from)!.layer, y: pos.get(e.from)!.row, x2: pos.get(e.to)!.layer, y2: pos.get(e.to)!.row }));
  const maxLayer = Math.max(0, ...nodes.map((n) => n.x));
  const maxRow = Math.max(0, ...nodes.map((n) => n.y));
  await add('dag', 'Pipeline DAG', {
    width: Math.max(360, (maxLayer + 1) * 120),
    height: Math.max(80, (maxRow + 1) * 46),
    layer: [
      { data: { values: edges }, mark: { type: 'rule', color: '#90a4ae', strokeWidth: 1.5 }, encoding: { x: { field: 'x', type: 'quantitative', axis: null, scale: { domain: [-0.5, maxLayer + 0.9] } }, y: { field: 'y', type: 'quantitative', axis: null, scale: { domain: [maxRow + 0.6, -0.6] } }, x2: { field: 'x2' }, y2: { field: 'y2' } } },
      {
        data: { values: nodes },
        layer: [
          { mark: { type: 'circle', size: 260, opacity: 1 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, color: { field: 'status', type: 'nominal', scale: STATUS_COLORS, legend: { title: 'status', orient: 'bottom' } }, tooltip: [{ field: 'id' }, { field: 'uses' }, { field: 'status' }] } },
          { mark: { type: 'text', dy: -14, fontSize: 10, align: 'center' }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, text: { field: 'label' } } },
        ],
      },
    ],
  }, data.edges.length ? 'Edges follow `needs`; columns are DAG depth.' : 'Step dependencies were not recorded for this run; steps are shown in run order.');

  const ran = data.steps.filter((s) => s.offset_ms !== undefined && s.durationMs !== undefined && !s.cacheHit);
  const cached = data.steps.filter((s) => s.cacheHit).length;
  const timed = ran.map((s) => ({ id: s.stepId, status: s.status, start: s.offset_ms! / 1000, end: (s.offset_ms! + Math.max(s.durationMs!, 1)) / 1000, dur: fmtMs(s.durationMs!) }));
  if (timed.length) {
    await add('timings', 'Step timings', {
      width: 640,
      height: { step: 20 },
      data: { values: timed },
      layer: [
        { mark: { type: 'bar', cornerRadius: 2 }, encoding: { y: { field: 'id', type: 'nominal', sort: { field: 'start' }, title: null }, x: { field: 'start', type: 'quantitative', title: 'seconds since run start' }, x2: { field: 'end' }, color: { field: 'status', type: 'nominal', scale: STATUS_COLORS, legend: null } } },
        { mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 }, encoding: { y: { field: 'id', type: 'nominal', sort: { field: 'start' } }, x: { field: 'end', type: 'quantitative' }, text: { field: 'dur' } } },
      ],
    }, cached ? `The steps that ran; ${cached} cache hit${cached === 1 ? '' : 's'} (no work done) not drawn.` : undefined);
  }
}

/** Dates by status of one data-quality verdict. */
async function auditChart(a: DataSection, add: Add): Promise<void> {
  await add(`audit-${a.key}`, `Data quality (${a.step}): dates by status`, {
    width: 300,
    height: 120,
    data: { values: Object.entries(a.by_status).map(([status, n]) => ({ status, n })) },
    mark: 'bar',
    encoding: { y: { field: 'status', type: 'nominal', sort: ['GREEN', 'AMBER', 'RED'], title: null }, x: { field: 'n', type: 'quantitative', title: 'dates' }, color: { field: 'status', type: 'nominal', scale: { domain: ['GREEN', 'AMBER', 'RED'], range: ['#2e7d32', '#f9a825', '#c62828'] }, legend: null } },
  });
}

/** DR estimate with its confidence bounds against the baseline of one sizing decision. */
async function opeChart(o: SizingSection, add: Add): Promise<void> {
  const vals = [{ what: 'learned policy', v: o.estimate, lo: o.lcb ?? o.estimate, hi: o.ucb ?? o.estimate }, ...(o.baseline_value !== undefined ? [{ what: 'baseline', v: o.baseline_value, lo: o.baseline_value, hi: o.baseline_value }] : [])];
  await add(`ope-${o.key}`, `Off-policy evaluation (${o.step}): ${o.estimator.replace(/_/g, ' ')}, with confidence bounds`, {
    width: 320,
    height: 90,
    data: { values: vals },
    layer: [
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { y: { field: 'what', type: 'nominal', title: null }, x: { field: 'lo', type: 'quantitative', title: 'policy value', scale: { zero: false } }, x2: { field: 'hi' } } },
      { mark: { type: 'point', filled: true, size: 80 }, encoding: { y: { field: 'what', type: 'nominal' }, x: { field: 'v', type: 'quantitative' }, color: { field: 'what', type: 'nominal', legend: null } } },
    ],
  });
}

/** Rank IC (or IC) per CPCV path and per split, one bar group per id, one bar per signal. */
async function icCharts(data: ReportData, add: Add): Promise<void> {
  for (const kind of ['path', 'split'] as const) {
    const label = (s: SignalSection) => (data.signals.filter((x) => x.sleeve === s.sleeve).length > 1 ? `${s.sleeve} (${s.key})` : s.sleeve);
    const rows = data.signals.flatMap((s) => (kind === 'path' ? s.paths : s.splits).map((p) => ({ signal: label(s), id: p.id, rank_ic: p.rank_ic, ic: p.ic })));
    if (!rows.length) continue;
    const field = rows.some((p) => p.rank_ic !== undefined) ? 'rank_ic' : 'ic';
    const ids = new Set(rows.map((r) => r.id)).size;
    await add(`ic-${kind}`, `${field === 'rank_ic' ? 'Rank IC' : 'IC'} per CPCV ${kind}, by signal`, {
      width: Math.max(240, ids * 14 * Math.max(1, data.signals.length)),
      height: 180,
      data: { values: rows.map((p) => ({ signal: p.signal, id: p.id, v: p[field] ?? null })) },
      layer: [
        { mark: 'bar', encoding: { x: { field: 'id', type: 'ordinal', title: kind }, xOffset: { field: 'signal' }, y: { field: 'v', type: 'quantitative', title: field }, color: { field: 'signal', type: 'nominal', title: 'signal' } } },
        { mark: { type: 'rule', color: '#424242' }, encoding: { y: { datum: 0 } } },
      ],
    });
  }
}

/** Equity, drawdown and cost charts of one backtest. */
async function backtestCharts(b: BacktestSection, equity: EquityPoint[], add: Add): Promise<void> {
  if (equity.length) {
    const eq = thin(equity, 4000);
    await add(`equity-${b.key}`, `Equity per CPCV path, net of costs (${b.step})`, {
      width: 640,
      height: 240,
      data: { values: eq },
      mark: { type: 'line', strokeWidth: 1.2 },
      encoding: { x: { field: 'date', type: 'temporal', title: null }, y: { field: 'equity', type: 'quantitative', title: 'equity (start = 1)', scale: { zero: false } }, color: { field: 'path', type: 'nominal', title: 'path' } },
    });
    await add(`drawdown-${b.key}`, `Drawdown per CPCV path (${b.step})`, {
      width: 640,
      height: 160,
      data: { values: eq },
      mark: { type: 'line', strokeWidth: 1 },
      encoding: { x: { field: 'date', type: 'temporal', title: null }, y: { field: 'drawdown', type: 'quantitative', title: 'drawdown', axis: { format: '%' } }, color: { field: 'path', type: 'nominal', title: 'path' } },
    });
  }
  if (b.paths.length) {
    const rows = b.paths.flatMap((p) => (['fee', 'spread', 'impact', 'borrow'] as const).map((c) => ({ path: p.path, component: c, bps: p[c] * 1e4 })));
    await add(`costs-${b.key}`, `Cost breakdown per path, sum of per-bar costs in bps of capital (${b.step})`, {
      width: Math.max(240, b.paths.length * 30),
      height: 200,
      data: { values: rows },
      mark: 'bar',
      encoding: { x: { field: 'path', type: 'ordinal' }, y: { field: 'bps', type: 'quantitative', title: 'bps', stack: 'zero' }, color: { field: 'component', type: 'nominal', scale: { domain: ['fee', 'spread', 'impact', 'borrow'], range: ['#5c6bc0', '#26a69a', '#ef6c00', '#8d6e63'] } } },
    });
  }
}

/** Reliability diagram (classification) or score deciles (regression) of one signal. */
async function calibrationChart(s: SignalSection, add: Add): Promise<void> {
  const c = s.calibration!;
  const cls = c.task === 'classification';
  const lo = Math.min(...c.bins.map((b) => Math.min(b.mean_pred, b.mean_outcome)));
  const hi = Math.max(...c.bins.map((b) => Math.max(b.mean_pred, b.mean_outcome)));
  const diag = cls ? [{ a: Math.min(0, lo), b: Math.min(0, lo) }, { a: Math.max(1, hi), b: Math.max(1, hi) }] : [];
  await add(`calibration-${s.key}`, `${cls ? 'Reliability diagram' : 'Score calibration (deciles)'} of signal ${s.sleeve} (OOF)`, {
    width: 320,
    height: 260,
    layer: [
      ...(diag.length ? [{ data: { values: diag }, mark: { type: 'line', strokeDash: [4, 4], color: '#9e9e9e' }, encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } } }] : []),
      { data: { values: c.bins }, mark: { type: 'line', point: true, color: '#1565c0' }, encoding: { x: { field: 'mean_pred', type: 'quantitative', title: cls ? 'mean predicted' : 'mean score', scale: { zero: false } }, y: { field: 'mean_outcome', type: 'quantitative', title: cls ? 'observed' : 'mean realised return', scale: { zero: false } }, tooltip: [{ field: 'bin' }, { field: 'count' }] } },
    ],
  }, c.note);
}

function thin<T extends { path: number }>(rows: T[], max: number): T[] {
  if (rows.length <= max) return rows;
  const keepEvery = Math.ceil(rows.length / max);
  const out: T[] = [];
  let i = 0;
  let last = -1;
  for (const r of rows) {
    // keep the first and every k-th point of each path
    if (r.path !== last || i % keepEvery === 0) out.push(r);
    last = r.path;
    i++;
  }
  return out;
}

const fmtMs = formatDuration;
