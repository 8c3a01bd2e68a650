import { z } from 'zod';
import { ancestorSteps } from '../../report/provided.ts';
import { artifactRefSchema, defineStepKind } from '../types.ts';

/** `report`: report.json + report.html of the run so far (declare it `when: always` to see failures). */
export const report = defineStepKind({
  uses: 'report',
  version: '2',
  description: 'Writes report.json and a self-contained report.html of the upstream steps: DAG, and one section per provided contract (data quality, OOF signals with IC and calibration, backtest equity/drawdown/costs per path, gate bars, OPE sizing, approvals, lineage)',
  with: z.object({ title: z.string().optional().describe('report title (default: the pipeline name)') }).strict(),
  outputs: z.object({
    report_json: artifactRefSchema.describe('report.json'),
    report_html: artifactRefSchema.describe('report.html (self-contained, opens offline)'),
    report_path: z.string().describe('local path of report.html under <home>/reports/<run-id>/'),
    charts: z.array(z.string()).describe('ids of the charts drawn'),
    missing: z.array(z.string()).describe('sections left out, and why'),
  }),
  async run(ctx, w) {
    const { writeReport, reportDir } = await import('../../report/index.ts');
    const dir = reportDir(ctx.runId, ctx.home);
    const steps = ancestorSteps(ctx.ancestors);
    const rep = await writeReport(
      {
        runId: ctx.runId,
        pipeline: ctx.pipeline,
        title: w.title,
        status: steps.some((s) => s.status === 'failed') ? 'failed' : 'running',
        params: ctx.params,
        // Steps see no timings or edges of their ancestors; the tracking observer's end-of-run report has them.
        steps,
      },
      ctx.artifacts,
      dir,
    );
    // The tracking observer rewrites this folder at the end of the run with step timings and DAG edges.
    return { report_json: rep.refs.json, report_html: rep.refs.html, report_path: rep.files!.html, charts: rep.charts, missing: rep.data.missing };
  },
});
