import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { executionCostModel, executionImpact, executionOrderPolicy, executionShortfall, exitsStudy, lobReplayCheck, mmCalibration, mmStudy } from '../../contracts/execution.ts';
import { artifactRefSchema, defineStepKind, type StepContext } from '../types.ts';
import { type Criterion, page, type Section } from './report_html.ts';

const many = <C>(contract: C, description: string) => ({ contract, many: true as const, optional: true as const, description });

const consumes = {
  replay: many(lobReplayCheck, 'LOB replay checks'),
  impact: many(executionImpact, 'impact calibrations'),
  shortfall: many(executionShortfall, 'implementation-shortfall studies'),
  policy: many(executionOrderPolicy, 'order-type bandit studies'),
  cost: many(executionCostModel, 'adaptive cost models'),
  calibration: many(mmCalibration, 'Avellaneda–Stoikov calibrations'),
  mm: many(mmStudy, 'A-S vs RL market-making studies'),
  exits: many(exitsStudy, 'optimal-stopping exit studies'),
};

type Ctx = StepContext<typeof consumes>;

/** Regret curves of an order-policy study, from its report artifact (undefined when it is not in the store). */
function regretCurves(ctx: Ctx, ref: z.output<typeof artifactRefSchema>): Array<{ policy: string; regret: Array<[number, number]> }> | undefined {
  if (!ctx.artifacts.has(ref)) return undefined;
  const r = ctx.artifacts.readJson<{ regret_curves?: Array<{ policy: string; regret: Array<[number, number]> }> }>(ref);
  return r.regret_curves;
}

/** Every section of the report in study order, with the criteria the studies state and what is missing. */
async function buildSections(ctx: Ctx): Promise<{ sections: Section[]; criteria: Criterion[]; missing: string[] }> {
  const ex = await import('./report_exec.ts');
  const mm = await import('./report_mm.ts');
  const sections: Section[] = [];
  const criteria: Criterion[] = [];
  const add = (x: { section: Section; criteria: Criterion[] }) => {
    sections.push(x.section);
    criteria.push(...x.criteria);
  };
  for (const p of ctx.inputs('replay')) add(ex.replaySection(p));
  for (const p of ctx.inputs('impact')) sections.push(ex.impactSection(p));
  for (const p of ctx.inputs('shortfall')) add(ex.shortfallSection(p));
  for (const p of ctx.inputs('policy')) sections.push(ex.policySection(p, regretCurves(ctx, p.value.report)));
  for (const p of ctx.inputs('cost')) sections.push(ex.costSection(p));
  const cals = ctx.inputs('calibration');
  const studies = ctx.inputs('mm');
  const key = (v: { source: string; symbol: string }) => `${v.source}:${v.symbol}`;
  for (const p of studies) add(mm.mmSection(p, cals.find((c) => key(c.value) === key(p.value))?.value));
  for (const c of cals) if (!studies.some((s) => key(s.value) === key(c.value))) sections.push(mm.calibrationSection(c));
  for (const p of ctx.inputs('exits')) add(mm.exitsSection(p));
  const missing = Object.entries(ctx.ancestors)
    .filter(([, a]) => a.status !== 'succeeded' && !a.control)
    .map(([id, a]) => `step ${id} (${a.uses}) ${a.status}${a.error ? `: ${a.error.type}: ${a.error.message.split('\n')[0]}` : ''}`)
    .sort();
  if (!sections.length) missing.push('no upstream step provides an execution or market-making study');
  return { sections, criteria, missing };
}

/**
 * `report.study`: a self-contained HTML report (tables, inline SVG charts, every cell escaped) of
 * the execution and market-making studies upstream, found by the contracts they provide (never by
 * kind): replay check, impact calibration, shortfall tables, order-type bandit, adaptive cost
 * model, A-S calibration, A-S vs RL, exit MDP; with the run's outcome (every design criterion and
 * whether it holds) first. Stored as artifacts and written to `<home>/reports/<run-id>/<file>`.
 * Declare it `when: always` to report what ran when a study fails.
 */
export const reportStudyKind = defineStepKind({
  uses: 'report.study',
  version: '1',
  description: 'Self-contained HTML report (tables + inline SVG charts) of the execution / market-making studies upstream, by contract, with the outcome of every design criterion; written to <home>/reports/<run-id>/<file>',
  with: z
    .object({
      title: z.string().optional().describe('page title (default: TradeML <pipeline> study)'),
      file: z.string().regex(/^[\w.-]+\.html$/).default('study.html').describe('file name under <home>/reports/<run-id>/ (report.html there is the run report the tracking observer writes when the run ends)'),
    })
    .strict(),
  consumes,
  outputs: z.object({
    report_html: artifactRefSchema.describe('the HTML report'),
    report_json: artifactRefSchema.describe('the sections and criteria as JSON'),
    report_path: z.string().describe('local path of the HTML under <home>/reports/<run-id>/'),
    sections: z.array(z.string()).describe('section titles, in order'),
    criteria: z.array(z.object({ study: z.string().describe('study and step'), rule: z.string().describe('criterion'), holds: z.boolean().describe('whether it holds'), detail: z.string().describe('figures behind it') })).describe('every design criterion the studies state'),
    missing: z.array(z.string()).describe('steps that did not succeed, and why'),
  }),
  async run(ctx, w) {
    ctx.progress({ fraction: 0.1, message: 'building the study sections' });
    const { sections, criteria, missing } = await buildSections(ctx);
    const title = w.title ?? `TradeML ${ctx.pipeline} study`;
    const html = page({ title, run: [['run', ctx.runId], ['pipeline', ctx.pipeline], ['params', JSON.stringify(ctx.params)]], criteria, sections, missing });
    ctx.progress({ fraction: 0.8, message: 'writing the report' });
    const report_html = await ctx.artifacts.putBytes(html, w.file, 'text/html');
    const report_json = await ctx.artifacts.putJson({ title, run: ctx.runId, pipeline: ctx.pipeline, sections: sections.map((s) => ({ id: s.id, title: s.title })), criteria, missing }, w.file.replace(/\.html$/, '.json'));
    const { reportDir } = await import('../../report/index.ts');
    const dir = reportDir(ctx.runId, ctx.home);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, w.file);
    writeFileSync(file, html);
    ctx.log.info({ report: file }, 'study report written');
    return { report_html, report_json, report_path: file, sections: sections.map((s) => s.title), criteria, missing };
  },
});
