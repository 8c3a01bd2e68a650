/**
 * What a pipeline run shows in Temporal's visibility: TradeML's custom search attributes (kept
 * current by the workflow with upsertSearchAttributes), the workflow's current details (what it
 * waits for and how to act, shown by the Web UI) and the run's data cut-off (`params.as_of`).
 * Pure (part of the workflow bundle): keys, values and text are computed from the run's status.
 */
import { defineSearchAttributeKey, type SearchAttributePair, type SearchAttributeUpdatePair } from '@temporalio/common';
import type { Plan } from '../../engine/plan.ts';
import type { RunStatusView } from '../../engine/records.ts';

/** TradeML's custom search attributes (registered by temporal/search-attributes.ts). */
export const SEARCH_ATTRIBUTES = {
  pipeline: defineSearchAttributeKey('TrademlPipeline', 'KEYWORD'),
  planDigest: defineSearchAttributeKey('TrademlPlanDigest', 'KEYWORD'),
  dataset: defineSearchAttributeKey('TrademlDataset', 'KEYWORD'),
  runState: defineSearchAttributeKey('TrademlRunState', 'KEYWORD'),
  failedStep: defineSearchAttributeKey('TrademlFailedStep', 'KEYWORD_LIST'),
  modelVersion: defineSearchAttributeKey('TrademlModelVersion', 'KEYWORD'),
  approver: defineSearchAttributeKey('TrademlApprover', 'KEYWORD'),
} as const;

/** A run's state as search attribute `TrademlRunState` says it (the status view's, or `skipped`). */
export type RunStateValue = RunStatusView['status'] | 'skipped';

/** The search attributes a run starts with (client side: workflow start, schedule action). */
export function startSearchAttributes(plan: Pick<Plan, 'pipeline' | 'digest' | 'params'>): SearchAttributePair[] {
  const dataset = typeof plan.params.dataset === 'string' ? plan.params.dataset : undefined;
  return [
    { key: SEARCH_ATTRIBUTES.pipeline, value: plan.pipeline },
    { key: SEARCH_ATTRIBUTES.planDigest, value: plan.digest },
    ...(dataset ? [{ key: SEARCH_ATTRIBUTES.dataset, value: dataset }] : []),
    { key: SEARCH_ATTRIBUTES.runState, value: 'running' },
  ];
}

/**
 * The model version a run produced, `<model>@<version>`: the last succeeded step whose outputs name
 * a registered model (`model_uri` `models:/…` with `model` and `version`; promotion and challenger
 * registration report them so). Undefined when none did.
 */
export function modelVersionOf(view: RunStatusView): string | undefined {
  let found: string | undefined;
  for (const s of view.steps) {
    const o = s.outputs;
    if (s.status !== 'succeeded' || !o) continue;
    if (typeof o.model_uri === 'string' && o.model_uri.startsWith('models:/') && typeof o.model === 'string' && (typeof o.version === 'string' || typeof o.version === 'number')) found = `${o.model}@${o.version}`;
  }
  return found;
}

/** The run-dependent search attribute values of a status (what the workflow upserts). */
export function runSearchValues(view: RunStatusView, state: RunStateValue = view.status): { runState: string; failedStep: string[]; modelVersion?: string; approver?: string } {
  const decided = view.actions.filter((a) => a.action === 'approve' || a.action === 'reject');
  const model = modelVersionOf(view);
  return {
    runState: state,
    failedStep: view.steps.filter((s) => s.status === 'failed').map((s) => s.id),
    ...(model ? { modelVersion: model } : {}),
    ...(decided.length ? { approver: decided[decided.length - 1]!.by } : {}),
  };
}

/**
 * The upserts that bring the attributes from `last` to `next` (empty when nothing changed). An
 * empty failed-step list removes the attribute.
 */
export function searchAttributeUpdates(last: ReturnType<typeof runSearchValues> | undefined, next: ReturnType<typeof runSearchValues>): SearchAttributeUpdatePair[] {
  const out: SearchAttributeUpdatePair[] = [];
  if (last?.runState !== next.runState) out.push({ key: SEARCH_ATTRIBUTES.runState, value: next.runState });
  if ((last?.failedStep ?? []).join(',') !== next.failedStep.join(',')) out.push({ key: SEARCH_ATTRIBUTES.failedStep, value: next.failedStep.length ? next.failedStep : null });
  if (next.modelVersion && last?.modelVersion !== next.modelVersion) out.push({ key: SEARCH_ATTRIBUTES.modelVersion, value: next.modelVersion });
  if (next.approver && last?.approver !== next.approver) out.push({ key: SEARCH_ATTRIBUTES.approver, value: next.approver });
  return out;
}

/**
 * The workflow's current details (Markdown, shown by the Web UI): the run's state, what it waits
 * for, until when, and the exact command, Update and Signal that act on it.
 */
export function currentDetails(view: RunStatusView, workflowId: string): string {
  const done = view.steps.filter((s) => s.status === 'succeeded' || s.status === 'skipped').length;
  const running = view.steps.filter((s) => s.status === 'running').map((s) => `${s.id} (${s.uses}, ${s.queue})`);
  const lines = [`**${view.pipeline}**: ${view.status} — ${done}/${view.steps.length} steps done`];
  if (view.params.as_of) lines.push(`data cut-off (params.as_of): ${String(view.params.as_of)}`);
  if (running.length) lines.push(`running: ${running.join(', ')}`);
  const w = view.waiting;
  if (w?.kind === 'approval') {
    const step = w.steps[0]!;
    lines.push(
      '',
      `**Waiting for approval** of \`${w.steps.join(', ')}\` until ${w.deadline}.`,
      ...approvalShows(view, w.steps),
      `Approve: \`trademl temporal approve ${workflowId} --step ${step} --by NAME --comment "…"\` or the Update \`approve\` with \`{"stepId":"${step}","by":"NAME","comment":"…"}\`.`,
      `Reject: \`trademl temporal reject ${workflowId} --step ${step} --by NAME --comment "…"\` (Update or Signal \`reject\`).`,
    );
  } else if (w?.kind === 'operator') {
    const failed = view.steps.filter((s) => s.status === 'failed').map((s) => `\`${s.id}\`: ${s.error?.type ?? 'Error'}: ${(s.error?.message ?? '').split('\n')[0]!.slice(0, 200)}`);
    lines.push(
      '',
      `**Failed; waiting for an operator** until ${w.deadline}.`,
      ...failed,
      `Retry: \`trademl temporal retry ${workflowId} --step ${w.steps[0]}\` (or \`--from <step>\`), skip: \`trademl temporal skip ${workflowId} --step ${w.steps[0]}\`, abort: \`trademl temporal abort ${workflowId}\` — or the Update/Signal \`retry\` with \`{"stepId":"${w.steps[0]}","by":"NAME"}\`.`,
      `After the deadline: \`trademl temporal rerun ${workflowId} --from ${w.steps[0]}\`.`,
    );
  } else if (view.status === 'failed') {
    const first = view.steps.find((s) => s.status === 'failed');
    if (first) lines.push('', `Failed at \`${first.id}\`. Re-run from it: \`trademl temporal rerun ${workflowId} --from ${first.id}\`.`);
  }
  return lines.join('\n');
}

/** One line per scalar figure of the steps an approval shows (the gate's verdict, OPE result). */
function approvalShows(view: RunStatusView, steps: string[]): string[] {
  const out: string[] = [];
  for (const id of steps) {
    for (const s of view.steps.filter((x) => x.status === 'succeeded' && x.outputs && view.steps.find((a) => a.id === id)?.needs.includes(x.id))) {
      const scalars = Object.entries(s.outputs!).filter(([, v]) => typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length <= 80));
      if (scalars.length) out.push(`\`${s.id}\` (${s.uses}): ${scalars.slice(0, 12).map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`).join(', ')}`);
    }
  }
  return out;
}
