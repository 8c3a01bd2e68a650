/**
 * Starting pipeline runs on Temporal: workflow id, memo, search attributes, the workflow input
 * (plan inline or, when large, stored in the shared artifact store and passed by URI + digest;
 * data cut-off, seed of a re-run, hand-off of parked runs).
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { Plan } from '../engine/plan.ts';
import type { PipelineInput, RunSeed } from './workflow/api.ts';
import { startSearchAttributes } from './workflow/visibility.ts';
import type { TemporalSettings } from './config.ts';
import { PIPELINE_WORKFLOW_TYPE, taskQueueName } from './queues.ts';

export { SEARCH_ATTRIBUTES, startSearchAttributes } from './workflow/visibility.ts';

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

/** What a run is started with besides its plan. */
export interface RunInputOptions {
  noCache?: boolean;
  observe?: boolean;
  /** Shared artifact store for plans above {@link PLAN_INLINE_LIMIT}. */
  store?: ArtifactStore;
  /** Data cut-off (ISO time): steps see `params.as_of`. */
  asOf?: string;
  /** Start from an earlier run's state (temporal/rerun.ts). */
  seed?: RunSeed;
  /** Hand off to a continuation when parked (schedules). */
  handOff?: boolean;
}

/** The workflow input for a plan: inline, or by reference when it is larger than {@link PLAN_INLINE_LIMIT}. */
export async function pipelineInput(plan: Plan, settings: Pick<TemporalSettings, 'taskQueuePrefix' | 'searchAttributes'>, opts: RunInputOptions = {}): Promise<PipelineInput> {
  const base: Omit<PipelineInput, 'plan' | 'planRef'> = {
    taskQueuePrefix: settings.taskQueuePrefix,
    ...(opts.noCache ? { noCache: true } : {}),
    observe: opts.observe ?? true,
    ...(settings.searchAttributes ? { searchAttributes: true } : {}),
    ...(opts.asOf ? { asOf: opts.asOf } : {}),
    ...(opts.seed ? { seed: opts.seed } : {}),
    ...(opts.handOff ? { handOff: true } : {}),
  };
  const json = JSON.stringify(plan);
  if (json.length <= PLAN_INLINE_LIMIT || !opts.store) return { plan, ...base };
  const ref = await opts.store.putJson(plan, `plan-${plan.pipeline}.json`);
  return { planRef: { uri: ref.uri, digest: plan.digest }, ...base };
}

/** Starts `pipelineWorkflow` for a plan on `<prefix>-cpu`; returns its handle. */
export async function startPipelineRun(client: Client, plan: Plan, settings: TemporalSettings, opts: RunInputOptions & { workflowId?: string; memo?: Record<string, unknown> } = {}): Promise<WorkflowHandle> {
  const input = await pipelineInput(plan, settings, opts);
  return client.workflow.start(PIPELINE_WORKFLOW_TYPE, {
    workflowId: opts.workflowId ?? runWorkflowId(plan.pipeline),
    taskQueue: taskQueueName(settings.taskQueuePrefix, 'cpu'),
    args: [input],
    memo: { ...runMemo(plan), ...(opts.memo ?? {}) },
    staticSummary: `${plan.pipeline} (plan ${plan.digest.slice(7, 19)})${opts.seed ? ` — re-run of ${opts.seed.fromWorkflowId} from ${opts.seed.rerun.join(', ')}` : ''}`,
    ...(settings.searchAttributes ? { typedSearchAttributes: startSearchAttributes(plan) } : {}),
  });
}
