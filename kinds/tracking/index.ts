import path from 'node:path';
import { z } from 'zod';
import { StepError } from '../../lib/errors.ts';
import { artifactRefSchema, defineStepKind, type StepContext, type StepKind, type UpstreamStep } from '../types.ts';

/*
 * Tracking concern (issue 8): promote, score.daily, report. The tracker is the process's
 * (`openTracker()`: MLflow when MLFLOW_TRACKING_URI is set, else the local DuckDB tracker under
 * the runtime's home `ctx.home`, sharing the step's artifact store). Heavy modules are imported inside run().
 */

function ofKind(ctx: StepContext, uses: string): Array<[string, UpstreamStep]> {
  return Object.entries(ctx.ancestors)
    .filter(([, s]) => s.uses === uses)
    .sort(([a], [b]) => a.localeCompare(b));
}

function modelName(ctx: StepContext, given: string | undefined): string {
  const m = given ?? (typeof ctx.params.model === 'string' ? ctx.params.model : undefined) ?? ctx.pipeline;
  if (!/^[\w.\-]+$/.test(m)) throw new StepError({ message: `${ctx.uses}: model name "${m}" may only hold letters, digits, '_', '-', '.'`, type: 'InputError', nonRetryable: true });
  return m;
}

/** `promote`: registers the run's candidate (if the gate observer has not) and moves `champion` to it. */
export const promote = defineStepKind({
  uses: 'promote',
  version: '1',
  description: 'Registers the fit.cpcv candidate as a model version and moves alias champion to it (old champion → previous-champion); needs a passed gate and an approval upstream',
  with: z
    .object({
      /** Registered model name; default: params.model, else the pipeline name. */
      model: z.string().optional(),
      /** Alias to move; only `champion` is managed with previous-champion bookkeeping. */
      alias: z.literal('champion').default('champion'),
      /**
       * Promote only this sleeve (a fit.cpcv `sleeve` output). Default: every fitted sleeve, blended at
       * scoring time by the upstream stack.oof stacker (required when there are several).
       */
      sleeve: z.string().optional(),
    })
    .strict(),
  outputs: z.object({
    model: z.string(),
    version: z.string(),
    champion: z.string(),
    previous_champion: z.string().nullable(),
    changed: z.boolean(),
    approved_by: z.string(),
    tracker: z.string(),
    model_uri: z.string(),
  }),
  async run(ctx, w) {
    const approvals = ofKind(ctx, 'approval');
    if (!approvals.length) throw new StepError({ message: 'promote: no upstream approval step; add `approve: { uses: approval, needs: [gate] }` and make promote need it', type: 'PromotionBlocked', nonRetryable: true });
    const notApproved = approvals.filter(([, s]) => s.status !== 'succeeded' || s.outputs.approved !== true);
    if (notApproved.length) throw new StepError({ message: `promote: approval step(s) ${notApproved.map(([id]) => id).join(', ')} did not approve; no alias changed`, type: 'PromotionBlocked', nonRetryable: true });
    const gates = ofKind(ctx, 'gate.governance');
    if (!gates.length) throw new StepError({ message: 'promote: no upstream gate.governance step; promotion needs the gate\'s bars', type: 'PromotionBlocked', nonRetryable: true });
    const failed = gates.filter(([, s]) => s.status !== 'succeeded' || s.outputs.passed === false);
    if (failed.length) throw new StepError({ message: `promote: gate(s) ${failed.map(([id]) => id).join(', ')} did not pass; no alias changed`, type: 'PromotionBlocked', nonRetryable: true });
    let fits = ofKind(ctx, 'fit.cpcv').filter(([, s]) => s.status === 'succeeded');
    if (w.sleeve) fits = fits.filter(([, s]) => s.outputs.sleeve === w.sleeve);
    if (!fits.length) throw new StepError({ message: `promote: no succeeded fit.cpcv step upstream${w.sleeve ? ` with sleeve ${w.sleeve}` : ''}`, type: 'InputError', nonRetryable: true });
    const stack = ofKind(ctx, 'stack.oof').find(([, s]) => s.status === 'succeeded')?.[1];
    const [approvalId, appr] = approvals[0]!;
    const { openTracker } = await import('../../tracking/index.ts');
    const { ModelRegistry } = await import('../../tracking/registry.ts');
    const { candidateBundle } = await import('../../tracking/candidate.ts');
    const tracker = openTracker({ store: ctx.artifacts, home: ctx.home });
    try {
      const reg = new ModelRegistry(tracker);
      const model = modelName(ctx, w.model);
      const workDir = path.join(ctx.workDir, 'candidate');
      const datasets: Record<string, string> = {};
      let ohlcv: string | undefined;
      for (const [id, s] of Object.entries(ctx.ancestors)) {
        for (const [k, v] of Object.entries(s.outputs)) {
          const ref = artifactRefSchema.safeParse(v);
          if (ref.success) {
            datasets[`${id}.${k}`] = ref.data.digest;
            if ((s.uses === 'qc.audit' && k === 'curated') || (!ohlcv && s.uses === 'ingest.ohlcv' && k === 'table')) ohlcv = ref.data.uri;
          }
        }
      }
      const gate = gates[0]![1];
      let bundle;
      try {
        bundle = candidateBundle(ctx.artifacts, fits.map(([stepId, s]) => ({ stepId, outputs: s.outputs })), stack?.outputs, workDir);
      } catch (err) {
        throw new StepError({ message: `promote: ${(err as Error).message}`, type: 'InputError', nonRetryable: true });
      }
      const fit = fits[0]![1];
      const version = await reg.registerCandidate({
        model,
        experiment: `trademl/${ctx.pipeline}`,
        trademlRunId: ctx.runId,
        pipeline: ctx.pipeline,
        files: bundle.primary,
        sleeves: bundle.sleeves,
        stacker: bundle.stacker,
        lineage: { run_id: ctx.runId, pipeline: ctx.pipeline, params: ctx.params, fit_steps: fits.map(([id]) => id), sleeves: bundle.sleeves.map((x) => x.sleeve), datasets, ohlcv, gate: { passed: gate.outputs.passed, table: gate.outputs.table } },
        summary: Object.fromEntries(['sleeve', 'task', 'mean_ic', 'mean_rank_ic', 'icir'].filter((k) => ['string', 'number', 'boolean'].includes(typeof fit.outputs[k])).map((k) => [k, fit.outputs[k] as string | number | boolean])),
        workDir,
      });
      const decision = { approved: true, by: String(appr.outputs.by ?? ''), at: String(appr.outputs.at ?? ''), comment: String(appr.outputs.comment ?? '') };
      const res = await reg.promote(model, version.version, decision);
      ctx.log.info({ model, version: version.version, approval: approvalId, previous: res.previousChampion }, 'promoted to champion');
      return {
        model,
        version: version.version,
        champion: res.champion,
        previous_champion: res.previousChampion ?? null,
        changed: res.changed,
        approved_by: decision.by,
        tracker: `${tracker.kind} ${tracker.location}`,
        model_uri: `models:/${model}@champion`,
      };
    } finally {
      await tracker.close();
    }
  },
});

const scoreWith = z
  .object({
    /** Registered model name; default: params.model, else the pipeline name. */
    model: z.string().optional(),
    alias: z.string().default('champion'),
    /** Trading date to score (YYYY-MM-DD); default: the last date of the OHLCV. */
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date like 2018-02-07').optional(),
    /** Top/bottom fraction of the universe held long/short. */
    quantile: z.number().gt(0).max(0.5).default(0.1),
    /** Gross exposure (fraction of capital). */
    gross: z.number().positive().max(10).default(1),
    long_only: z.boolean().default(false),
  })
  .strict();

/** `score.daily`: the champion's targets for one date (what a small scoring host runs). */
export const scoreDaily = defineStepKind({
  uses: 'score.daily',
  version: '1',
  description: "Loads a model alias (default champion) and its feature list, builds the date's features from the upstream curated OHLCV, writes target weights and a JSON/Markdown report",
  with: scoreWith,
  outputs: z.object({
    model: z.string(),
    version: z.string(),
    date: z.string(),
    n_universe: z.number().int(),
    n_scored: z.number().int(),
    n_long: z.number().int(),
    n_short: z.number().int(),
    gross: z.number(),
    net: z.number(),
    weights: artifactRefSchema,
    report: artifactRefSchema,
    report_md: artifactRefSchema,
  }),
  async run(ctx, w) {
    const { resolveOhlcvInput } = await import('../../features/input.ts');
    const { openTracker } = await import('../../tracking/index.ts');
    const { ModelRegistry } = await import('../../tracking/registry.ts');
    const { scoreDate } = await import('../../tracking/score.ts');
    const src = resolveOhlcvInput(ctx);
    const tracker = openTracker({ store: ctx.artifacts, home: ctx.home });
    try {
      const reg = new ModelRegistry(tracker);
      const name = modelName(ctx, w.model);
      const v = await reg.resolve(`${name}@${w.alias}`).catch((err: Error) => {
        throw new StepError({ message: `score.daily: ${err.message}`, type: 'NoModel', nonRetryable: true });
      });
      const files = await reg.fetchFiles(v, path.join(ctx.workDir, 'model'));
      const res = await scoreDate({
        model: name,
        version: v.version,
        onnxPath: files.onnx,
        featureListPath: files.featureList,
        sleeves: files.sleeves,
        stackerPath: files.stacker,
        ohlcvPath: ctx.artifacts.path(src.ref),
        date: w.date,
        projectRoot: ctx.projectRoot,
        outDir: path.join(ctx.workDir, 'score'),
        scheme: { quantile: w.quantile, gross: w.gross, longOnly: w.long_only },
      });
      const { files: out, top_long: _l, top_short: _s, null_fraction: _n, ...summary } = res;
      return {
        ...summary,
        weights: await ctx.artifacts.putFile(out.weights, { name: 'weights.parquet', move: false }),
        report: await ctx.artifacts.putFile(out.json, { name: 'score.json', move: false }),
        report_md: await ctx.artifacts.putFile(out.markdown, { name: 'score.md', move: false }),
      };
    } finally {
      await tracker.close();
    }
  },
});

/** `report`: report.json + report.html of the run so far (declare it `when: always` to see failures). */
export const report = defineStepKind({
  uses: 'report',
  version: '1',
  description: 'Writes report.json and a self-contained report.html (DAG, audit, IC, equity/drawdown per CPCV path, costs, gate, calibration, lineage) from the upstream steps',
  with: z.object({ title: z.string().optional() }).strict(),
  outputs: z.object({ report_json: artifactRefSchema, report_html: artifactRefSchema, report_path: z.string(), charts: z.array(z.string()), missing: z.array(z.string()) }),
  async run(ctx) {
    const { writeReport, reportDir } = await import('../../report/index.ts');
    const dir = reportDir(ctx.runId, ctx.home);
    const rep = await writeReport(
      {
        runId: ctx.runId,
        pipeline: ctx.pipeline,
        status: Object.values(ctx.ancestors).some((s) => s.status === 'failed') ? 'failed' : 'running',
        params: ctx.params,
        // Steps see no timings or edges of their ancestors; the tracking observer's end-of-run report has them.
        steps: Object.entries(ctx.ancestors)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([stepId, s]) => ({ stepId, uses: s.uses, status: s.status, outputs: s.outputs, error: s.error })),
      },
      ctx.artifacts,
      dir,
    );
    // The tracking observer rewrites this folder at the end of the run with step timings and DAG edges.
    return { report_json: rep.refs.json, report_html: rep.refs.html, report_path: rep.files!.html, charts: rep.charts, missing: rep.data.missing };
  },
});

/** Step kinds of this concern, registered in kinds/registry.ts. */
export const kinds: StepKind[] = [promote, scoreDaily, report] as unknown as StepKind[];
