/**
 * `options.report`: the options sleeve's self-contained HTML report (kinds/options/report_html.ts)
 * and its JSON, from the contracts the step is bound to and the gate verdict among its ancestors.
 * Written as artifacts and to `<home>/reports/<run-id>/report.html` (the run-report folder of
 * report/index.ts `reportDir`) and, under a name the end-of-run tracking report does not replace,
 * `<home>/reports/<run-id>/options_report.html`. Declare it `when: always` to report failed runs.
 */
import { z } from 'zod';
import { modelBundle } from '../../contracts/index.ts';
import { hedgingStudy, optionsAudit, optionsBacktest, optionsFeatures, optionsIv, optionsRouter, optionsSurface, optionsTargets } from '../../contracts/options.ts';
import { artifactRefSchema, defineStepKind, type StepContext } from '../types.ts';

const opt = <C>(contract: C, description: string) => ({ contract, optional: true as const, description });

/** Inputs of options.report (all optional: a missing one is listed under `missing`). */
export const reportConsumes = {
  audit: opt(optionsAudit, 'chain audit'),
  iv: opt(optionsIv, 'implied vols (counts, re-pricing error)'),
  surface: opt(optionsSurface, 'SVI/SSVI surface (smiles, residuals, flags)'),
  features: opt(optionsFeatures, 'options features'),
  targets: opt(optionsTargets, 'straddle targets'),
  model: opt(modelBundle, 'the learner’s model bundle (its metrics JSON)'),
  backtest: opt(optionsBacktest, 'options backtest'),
  router: opt(optionsRouter, 'router table'),
  hedging: opt(hedgingStudy, 'deep-hedging comparison'),
};

/** What the report holds (also its report.json). */
export type OptionsReport = Awaited<ReturnType<typeof buildReport>>;

const STACKING_NOTE =
  'No stack with the equities sleeve: stacking needs OOF scores of both sleeves on common dates, and the shipped equities data (S&P 500, 2013-02-08 … 2018-02-07) and these chains (2024-11-01 … 2025-10-24) do not overlap in time.';

async function buildReport(ctx: StepContext<typeof reportConsumes>, w: { title?: string; smile_date?: string }) {
  const d = await import('./report_data.ts');
  const missing: string[] = [];
  const get = <K extends keyof typeof reportConsumes>(k: K) => {
    const v = ctx.maybeInput(k);
    if (!v) missing.push(`${k}: no succeeded upstream step provides ${reportConsumes[k].description}`);
    return v?.value;
  };
  const [audit, iv, surface, features, targets, model, backtest, router, hedging] = [get('audit'), get('iv'), get('surface'), get('features'), get('targets'), get('model'), get('backtest'), get('router'), get('hedging')];
  const steps = Object.entries(ctx.ancestors).map(([step, s]) => ({ step, uses: s.uses, status: s.status, error: s.error ? `${s.error.type}: ${s.error.message.split('\n')[0]}` : null }));
  const failed = steps.filter((s) => s.status === 'failed').map((s) => s.step);
  return {
    run: { run_id: ctx.runId, pipeline: ctx.pipeline, title: w.title ?? `TradeML ${ctx.pipeline}`, status: failed.length ? `failed (${failed.join(', ')})` : 'succeeded so far', generated_at: new Date().toISOString(), steps },
    gate: await d.gateSection(ctx.ancestors),
    audit: audit ? await d.auditSection(ctx.artifacts, audit) : null,
    iv: iv ? { n_contracts: iv.n_contracts, n_solved: iv.n_solved, reasons: iv.reasons, max_reprice_error: iv.max_reprice_error } : null,
    surface: surface ? await d.surfaceSection(ctx.artifacts, surface, w.smile_date) : null,
    features: features ? await d.featuresSection(ctx.artifacts, features) : null,
    learner: model ? d.learnerSection(ctx.artifacts, model) : null,
    backtest: backtest ? await d.backtestSection(ctx.artifacts, backtest) : null,
    ...d.smallSections(router, hedging, targets),
    stacking: STACKING_NOTE,
    missing,
  };
}

export const optionsReport = defineStepKind({
  uses: 'options.report',
  version: '1',
  description: 'Self-contained HTML report of the options sleeve: smiles with SVI fits, surface QC, features, learner, backtest equity and vega, router table, deep-hedging comparison, gate bars',
  with: z.strictObject({
    title: z.string().optional().describe('report title (default: TradeML <pipeline>)'),
    smile_date: z.string().regex(/^\d{4}-\d\d-\d\d$/).optional().describe('date whose smiles are drawn (default: the last date with the most fitted expiries)'),
  }),
  consumes: reportConsumes,
  outputs: z.object({
    report_html: artifactRefSchema.describe('report.html'),
    report_json: artifactRefSchema.describe('report.json (the data the page shows)'),
    report_path: z.string().describe('<home>/reports/<run-id>/report.html (the end-of-run tracking report replaces this file)'),
    options_report_path: z.string().describe('<home>/reports/<run-id>/options_report.html (kept)'),
    sections: z.array(z.string()).describe('sections with data'),
    router_rows: z.number().int().describe('rows of the router table'),
    hedging_rows: z.number().int().describe('rows of the hedging table'),
    missing: z.array(z.string()).describe('sections left out, and why'),
  }),
  async run(ctx, w) {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const path = await import('node:path');
    const { reportDir } = await import('../../report/index.ts');
    const { renderOptionsHtml } = await import('./report_html.ts');
    const rep = await buildReport(ctx, w);
    const html = renderOptionsHtml(rep);
    const dir = reportDir(ctx.runId, ctx.home);
    mkdirSync(dir, { recursive: true });
    const files = { html: path.join(dir, 'report.html'), options: path.join(dir, 'options_report.html'), json: path.join(dir, 'options_report.json') };
    writeFileSync(files.html, html);
    writeFileSync(files.options, html);
    writeFileSync(files.json, JSON.stringify(rep, null, 2));
    const sections = (['gate', 'audit', 'surface', 'features', 'learner', 'backtest', 'router', 'hedging'] as const).filter((k) => (k === 'gate' ? rep.gate.length > 0 : rep[k] !== null));
    return {
      report_html: await ctx.artifacts.putBytes(html, 'options_report.html', 'text/html'),
      report_json: await ctx.artifacts.putJson(rep, 'options_report.json'),
      report_path: files.html, options_report_path: files.options, sections,
      router_rows: rep.router?.table.length ?? 0, hedging_rows: rep.hedging?.table.length ?? 0, missing: rep.missing,
    };
  },
});
