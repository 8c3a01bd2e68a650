/**
 * Task-queue and id naming shared by the client, the workers and the workflow. Pure (no Node
 * imports): the workflow bundle imports it.
 */
import type { Queue } from '../engine/plan.ts';

/** Default task-queue prefix (`TRADEML_TASK_QUEUE_PREFIX` overrides it on clients and workers). */
export const DEFAULT_TASK_QUEUE_PREFIX = 'trademl';

/** Name of the pipeline workflow type registered by the cpu workers. */
export const PIPELINE_WORKFLOW_TYPE = 'pipelineWorkflow';

/** Task queue of a step queue: `<prefix>-cpu` / `<prefix>-gpu`. The workflow itself runs on `<prefix>-cpu`. */
export function taskQueueName(prefix: string, queue: Queue): string {
  if (!/^[A-Za-z0-9._-]+$/.test(prefix)) throw new Error(`bad task queue prefix "${prefix}": use letters, digits, '.', '_' and '-'`);
  return `${prefix}-${queue}`;
}

/** Id of the Temporal Schedule of a pipeline: `<prefix>-<pipeline>`. */
export function scheduleId(prefix: string, pipeline: string): string {
  return `${prefix}-${pipeline}`;
}
