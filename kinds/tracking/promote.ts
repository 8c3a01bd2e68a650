import path from 'node:path';
import { z } from 'zod';
import { gateVerdict, modelBundle, ohlcvDaily, signalsOof } from '../../contracts/index.ts';
import { StepError } from '../../lib/errors.ts';
import { ancestorSteps, controlSteps, type ViewStep } from '../../report/provided.ts';
import { defineStepKind, type StepContext } from '../types.ts';
import { modelName } from './common.ts';

const blocked = (message: string) => new StepError({ message, type: 'PromotionBlocked', nonRetryable: true });

/** The approval decisions upstream of a promote step; throws PromotionBlocked unless every one approved. */
function approvalOf(steps: readonly ViewStep[]): { step: string; by: string; at: string; comment: string } {
  const approvals = controlSteps(steps);
  if (!approvals.length) throw blocked('promote: no approval step upstream; add `approve: { uses: approval, needs: [gate] }` and make promote need it');
  const notApproved = approvals.filter((s) => s.status !== 'succeeded' || s.outputs.approved !== true);
  if (notApproved.length) throw blocked(`promote: approval step(s) ${notApproved.map((s) => s.stepId).join(', ')} did not approve; no alias changed`);
  const a = approvals[0]!;
  return { step: a.stepId, by: String(a.outputs.by ?? ''), at: String(a.outputs.at ?? ''), comment: String(a.outputs.comment ?? '') };
}

const promoteConsumes = {
  verdict: { contract: gateVerdict, description: 'the gate verdict the candidate must have passed' },
  model: { contract: modelBundle, many: true, description: 'the candidate model bundle(s); with.sleeve keeps one' },
  signals: { contract: signalsOof, many: true, optional: true, description: 'upstream signals: the one blending exactly the bundles\' sleeves gives the stack weights' },
  ohlcv: { contract: ohlcvDaily, many: true, optional: true, description: 'daily OHLCV the model scores from (the last one is recorded in the lineage)' },
};

async function registerAndPromote(ctx: StepContext<typeof promoteConsumes>, w: { model?: string; sleeve?: string }) {
  const steps = ancestorSteps(ctx.ancestors);
  const verdict = ctx.maybeInput('verdict');
  if (!verdict) throw blocked('promote: the gate upstream did not pass (it provided no gate.verdict); no alias changed');
  const approval = approvalOf(steps);
  if (!verdict.value.passed) throw blocked(`promote: gate ${verdict.step} did not pass (${verdict.value.failing.join(', ')}); no alias changed`);
  const { openTracker } = await import('../../tracking/index.ts');
  const { ModelRegistry } = await import('../../tracking/registry.ts');
  const c = await import('../../tracking/candidate.ts');
  const signals = ctx.inputs('signals').map((s) => ({ step: s.step, value: s.value, outputs: ctx.ancestors[s.step]?.outputs }));
  const candidate = c.candidateBundle(ctx.artifacts, ctx.inputs('model'), signals, { sleeve: w.sleeve });
  const ohlcv = ctx.inputs('ohlcv').at(-1)?.value;
  const tracker = openTracker({ store: ctx.artifacts, home: ctx.home });
  try {
    const reg = new ModelRegistry(tracker);
    const model = modelName(ctx, w.model);
    const version = await reg.registerCandidate({
      model,
      experiment: `trademl/${ctx.pipeline}`,
      trademlRunId: ctx.runId,
      pipeline: ctx.pipeline,
      files: candidate.primary,
      sleeves: candidate.sleeves,
      stacker: candidate.stacker,
      lineage: { run_id: ctx.runId, pipeline: ctx.pipeline, params: ctx.params, ...c.candidateLineage(candidate), datasets: c.datasetDigests(steps), ohlcv: ohlcv?.uri, ohlcv_calendar: ohlcv?.calendar, gate: { step: verdict.step, passed: verdict.value.passed, table: verdict.value.table } },
      summary: await c.candidateSummary(ctx.artifacts, candidate, signals),
      workDir: path.join(ctx.workDir, 'candidate'),
    });
    const decision = { approved: true, by: approval.by, at: approval.at, comment: approval.comment };
    const res = await reg.promote(model, version.version, decision);
    ctx.log.info({ model, version: version.version, approval: approval.step, previous: res.previousChampion }, 'promoted to champion');
    return { model, version: version.version, champion: res.champion, previous_champion: res.previousChampion ?? null, changed: res.changed, approved_by: decision.by, tracker: `${tracker.kind} ${tracker.location}`, model_uri: `models:/${model}@champion`, sleeves: candidate.sleeves.map((s) => s.sleeve) };
  } finally {
    await tracker.close();
  }
}

/** `promote`: registers the run's candidate (if the tracking observer has not) and moves `champion` to it. */
export const promote = defineStepKind({
  uses: 'promote',
  version: '2',
  description: 'Registers the upstream model bundle(s) (blended by their stack when several) as a model version and moves alias champion to it (old champion → previous-champion); needs a passed gate verdict and an approval upstream',
  with: z
    .object({
      model: z.string().optional().describe('registered model name; default params.model, else the pipeline name'),
      alias: z.literal('champion').default('champion').describe('alias to move; only champion is managed, with previous-champion bookkeeping'),
      sleeve: z.string().optional().describe('promote only the model bundle of this sleeve; default every upstream bundle, blended by the signal whose components are their sleeves'),
    })
    .strict(),
  consumes: promoteConsumes,
  outputs: z.object({
    model: z.string().describe('registered model name'),
    version: z.string().describe('model version promoted'),
    champion: z.string().describe('version the champion alias points at'),
    previous_champion: z.string().nullable().describe('version the previous-champion alias points at, null when none'),
    changed: z.boolean().describe('false when the version already was champion (a retried promote)'),
    approved_by: z.string().describe('who approved'),
    tracker: z.string().describe('tracker kind and location'),
    model_uri: z.string().describe('models:/<name>@champion'),
    sleeves: z.array(z.string()).describe('sleeves of the promoted version'),
  }),
  async run(ctx, w) {
    return registerAndPromote(ctx, w);
  },
});
