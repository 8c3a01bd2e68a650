/**
 * Starting pipeline runs on Temporal: workflow id, memo, optional search attributes, plan inline
 * or (when large) stored in the shared artifact store and passed by URI + digest.
 */
import { defineSearchAttributeKey, type SearchAttributePair } from '@temporalio/common';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { Plan } from '../engine/plan.ts';
import type { PipelineInput } from './workflow/api.ts';
import type { TemporalSettings } from './config.ts';
import { PIPELINE_WORKFLOW_TYPE, taskQueueName } from './queues.ts';

/** Custom search attributes (Keyword) set on runs when TRADEML_TEMPORAL_SEARCH_ATTRIBUTES=true. */
export const SEARCH_ATTRIBUTES = {
  pipeline: defineSearchAttributeKey('TrademlPipeline', 'KEYWORD'),
  planDigest: defineSearchAttributeKey('TrademlPlanDigest', 'KEYWORD'),
};

/** Plans bigger than this (JSON bytes) travel by artifact URI instead of inline (payloads cap at 2 MB). */
export const PLAN_INLINE_LIMIT = 256 * 1024;

/** `<pipeline>-<yyyymmdd-hhmmss>` (UTC) plus a 4-hex suffix: readable in the UI, unique. */
export function runWorkflowId(pipeline: string, now = new Date(), suffix = Math.floor(Math.random() * 0xffff)): string {
  const ts = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${pipeline}-${ts}-${suffix.toString(16).padStart(4, '0')}`;
}

/** Memo shown in the UI: pipeline, plan digest, params. */
export function runMemo(plan: Plan): Record<string, unknown> {
  return { pipeline: plan.pipeline, plan_digest: plan.digest, params: plan.params };
}

/** Typed search attributes of a run (only when the namespace declares them). */
export function runSearchAttributes(plan: Plan): SearchAttributePair[] {
  return [
    { key: SEARCH_ATTRIBUTES.pipeline, value: plan.pipeline },
    { key: SEARCH_ATTRIBUTES.planDigest, value: plan.digest },
  ];
}

/** The workflow input for a plan: inline, or by reference when it is larger than {@link PLAN_INLINE_LIMIT}. */
export async function pipelineInput(plan: Plan, settings: Pick<TemporalSettings, 'taskQueuePrefix'>, opts: { noCache?: boolean; observe?: boolean; store?: ArtifactStore } = {}): Promise<PipelineInput> {
  const base = { taskQueuePrefix: settings.taskQueuePrefix, ...(opts.noCache ? { noCache: true } : {}), observe: opts.observe ?? true };
  const json = JSON.stringify(plan);
  if (json.length <= PLAN_INLINE_LIMIT || !opts.store) return { plan, ...base };
  const ref = await opts.store.putJson(plan, `plan-${plan.pipeline}.json`);
  return { planRef: { uri: ref.uri, digest: plan.digest }, ...base };
}

/** Starts `pipelineWorkflow` for a plan on `<prefix>-cpu`; returns its handle. */
export async function startPipelineRun(
  client: Client,
  plan: Plan,
  settings: TemporalSettings,
  opts: { workflowId?: string; noCache?: boolean; observe?: boolean; store?: ArtifactStore } = {},
): Promise<WorkflowHandle> {
  const input = await pipelineInput(plan, settings, opts);
  return client.workflow.start(PIPELINE_WORKFLOW_TYPE, {
    workflowId: opts.workflowId ?? runWorkflowId(plan.pipeline),
    taskQueue: taskQueueName(settings.taskQueuePrefix, 'cpu'),
    args: [input],
    memo: runMemo(plan),
    ...(settings.searchAttributes ? { typedSearchAttributes: runSearchAttributes(plan) } : {}),
  });
}
