import type { ReportInput } from '../../../report/index.ts';
import type { StepRecord } from '../../../tracking/observer.ts';
import type { RunFixture } from '../../tracking/support/fixtures.ts';

/**
 * Strings a hostile (or careless) user can get into a report: through `-p` params, an approver's
 * name and comment, a step id, an error message, a dataset or sleeve name. Each payload, if it ever
 * ran, would record itself in `window.__xss` or log a console line starting with `XSS`.
 */
export const PAYLOADS = {
  script: `<script>(window.__xss=window.__xss||[]).push('script')</script>`,
  img: `<img src=x onerror="(window.__xss=window.__xss||[]).push('img')">`,
  svg: `"><svg onload="(window.__xss=window.__xss||[]).push('svg')">`,
  jsUrl: `javascript:(window.__xss=window.__xss||[]).push('js-url')`,
  link: `<a href="javascript:(window.__xss=window.__xss||[]).push('link')">open</a>`,
  style: `</style><script>console.log('XSS style')</script><style>`,
  title: `</title><script>console.log('XSS title')</script>`,
  attr: `' onmouseover='console.log("XSS attr")' x='`,
  iframe: `<iframe srcdoc="<script>parent.console.log('XSS iframe')</script>"></iframe>`,
  details: `<details open ontoggle="console.log('XSS details')">`,
} as const;

const P = PAYLOADS;
/** Step ids renamed to hostile ones (the DAG chart, the timings chart and the step table show them). */
export const HOSTILE_IDS: Record<string, string> = { audit: `audit${P.img}`, ope: `ope${P.svg}` };
export const HOSTILE_SLEEVE = `h5${P.script}`;
export const HOSTILE_DATASET = `sp500${P.details}`;
export const HOSTILE_FAILED_STEP = `broken${P.attr}`;

/** The outputs of `s` with every `sleeve` field of its contract values replaced by the hostile one. */
function hostileOutputs(s: StepRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { ...s.outputs };
  for (const [k, v] of Object.entries(out)) {
    if (v && typeof v === 'object' && 'sleeve' in v && (v as { sleeve: unknown }).sleeve === 'h5') out[k] = { ...v, sleeve: HOSTILE_SLEEVE };
  }
  if (out.sleeve === 'h5') out.sleeve = HOSTILE_SLEEVE;
  if (s.stepId === 'backtest') out.returns = { ...(out.returns as object), source: { step: 'fit', sleeve: HOSTILE_SLEEVE } };
  if (s.stepId === 'audit') {
    const q = out.quality as Record<string, unknown>;
    out.quality = { ...q, dataset: HOSTILE_DATASET, status: 'RED', red_dates: ['2018-01-02'], red_reasons: [{ rule: `bad_print${P.iframe}`, count: 1 }], red_hints: [`hint ${P.script}`], lost_symbols: [`XYZ${P.link}`] };
  }
  if (s.stepId === 'ope') out.sizing = { ...(out.sizing as object), decision: `accepted ${P.style}` };
  if (s.stepId === 'gate') {
    const v = out.verdict as { bars: Array<Record<string, unknown>> };
    out.verdict = { ...v, bars: v.bars.map((b, i) => (i === 0 ? { ...b, id: `dsr${P.img}` } : b)) };
  }
  if (s.stepId === 'approve') {
    out.by = P.img;
    out.comment = `${P.svg} ${P.style} ${P.jsUrl}`;
  }
  return out;
}

/**
 * The fixture run with hostile strings in every place a user or an upstream step can put one:
 * title, params, step ids (and the `needs` naming them), kinds, error messages and types, approver
 * name and comment, dataset, sleeve, RED rules and hints, lost symbols, gate bar ids, the sizing
 * decision, lineage, and the registration.
 */
export function hostileReportInput(fx: RunFixture): ReportInput {
  const rename = (id: string) => HOSTILE_IDS[id] ?? id;
  const steps = fx.steps.map((s) => ({ ...s, stepId: rename(s.stepId), needs: s.needs?.map(rename), outputs: hostileOutputs(s), control: fx.approvals.includes(s.stepId) || undefined }));
  const last = steps.at(-1)!;
  steps.push({ ...last, stepId: HOSTILE_FAILED_STEP, uses: `shell${P.iframe}`, needs: [], provides: {}, control: undefined, status: 'failed', outputs: {}, error: { message: `exit 1: ${P.script} ${P.title}`, type: `<b>Boom</b>${P.img}` } });
  return {
    runId: fx.run.runId,
    pipeline: fx.run.pipeline,
    title: `Nightly ${P.title} ${P.style}`,
    status: 'failed',
    planDigest: fx.run.planDigest,
    params: { greeting: P.script, dataset: P.img, url: P.jsUrl, nested: { a: P.svg }, [`key${P.attr}`]: 1 },
    startedAt: fx.run.startedAt,
    endedAt: last.endedAt,
    steps,
    lineage: { git_commit: P.link, tracker: P.details },
    registration: { model: `equities${P.svg}`, version: '3', aliases: [`challenger${P.img}`], sleeves: [HOSTILE_SLEEVE] },
  };
}
