/**
 * Re-running a Temporal run from a step after its operator window closed (or after it failed,
 * was aborted, cancelled or terminated): `trademl temporal rerun <workflow-id> [--from <step>]`
 * starts a new workflow with the same plan, seeded (LoopOptions.state) with the earlier run's
 * succeeded outputs; the named steps, what depends on them and every step that had not succeeded
 * run again, bypassing the step cache. Also: following a run's hand-off to its continuation.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { descendantsOf } from '../engine/graph.ts';
import type { RunState, StepState } from '../engine/scheduler.ts';
import { UserError, errorMessage } from '../lib/errors.ts';
import type { TemporalSettings } from './config.ts';
import { PIPELINE_WORKFLOW_TYPE, taskQueueName } from './queues.ts';
import { runWorkflowId, startSearchAttributes } from './runs.ts';
import { statusQuery, type PipelineInput, type PipelineStatus, type RunSeed } from './workflow/api.ts';

/**
 * The workflow a run currently lives in: follows hand-offs (a closed run whose result names the
 * continuation it handed off to) until a run that did not hand off.
 */
export async function followHandOff(client: Client, workflowId: string): Promise<string> {
  let id = workflowId;
  for (let hops = 0; hops < 10; hops++) {
    const desc = await client.workflow.getHandle(id).describe();
    if (desc.status.name !== 'COMPLETED') return id;
    const result = (await client.workflow.getHandle(id).result()) as PipelineStatus;
    if (!result?.handedOff) return id;
    id = result.handedOff.workflowId;
  }
  return id;
}

/** The final (or current) status of a run: its `status` Query, else the status its failure carries. */
export async function runStatusOf(client: Client, workflowId: string, runId?: string): Promise<PipelineStatus> {
  const handle = client.workflow.getHandle(workflowId, runId);
  try {
    return await handle.query(statusQuery);
  } catch (queryError) {
    try {
      return (await handle.result()) as PipelineStatus;
    } catch (e) {
      const details = e instanceof WorkflowFailedError ? ((e.cause as { details?: unknown[] } | undefined)?.details?.[0] as PipelineStatus | undefined) : undefined;
      if (details?.steps) return details;
      throw new UserError(`cannot read the state of ${workflowId}: ${errorMessage(queryError)} (is a cpu worker running? it answers the status query)`);
    }
  }
}

/** The input a run was started with (first event of its history). */
export async function runInputOf(client: Client, workflowId: string, runId?: string): Promise<PipelineInput> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const payload = started?.input?.payloads?.[0];
  if (!payload) throw new UserError(`${workflowId}: its history has no workflow input`);
  return defaultPayloadConverter.fromPayload<PipelineInput>(payload);
}

/**
 * The seed of a re-run of `status` from `from` (step ids; none: from every step that did not
 * succeed). Throws a UserError for an unknown step or when nothing would run again.
 */
export function rerunSeed(status: PipelineStatus, fromWorkflowId: string, from: string[] = [], fromRunId?: string): RunSeed {
  const ids = status.steps.map((s) => s.id);
  for (const id of from) if (!ids.includes(id)) throw new UserError(`--from ${id}: no such step; steps: ${ids.join(', ')}`);
  const needs = Object.fromEntries(status.steps.map((s) => [s.id, s.needs]));
  const roots = [...from, ...status.steps.filter((s) => s.status !== 'succeeded').map((s) => s.id)];
  const again = new Set<string>();
  for (const id of roots) {
    again.add(id);
    for (const d of descendantsOf(id, needs)) again.add(d);
  }
  if (!again.size) throw new UserError(`${fromWorkflowId} succeeded in every step; name the step to re-run with --from <step>`);
  const steps: Record<string, StepState> = {};
  const attempts: Record<string, number> = {};
  for (const s of status.steps) {
    attempts[s.id] = s.attempts;
    steps[s.id] = again.has(s.id)
      ? { status: 'pending', attempt: 0 }
      : {
          status: 'succeeded',
          attempt: Math.max(1, s.attempts),
          ...(s.startedAt ? { startedAt: Date.parse(s.startedAt) } : {}),
          ...(s.endedAt ? { endedAt: Date.parse(s.endedAt) } : {}),
          outputs: s.outputs ?? {},
          ...(s.cacheHit !== undefined ? { cacheHit: s.cacheHit } : {}),
        };
  }
  const state: RunState = { steps, cancelled: false };
  return { fromWorkflowId, ...(fromRunId ? { fromRunId } : {}), rerun: ids.filter((id) => again.has(id)), state, attempts };
}

/**
 * Starts the re-run of a closed run: same plan (inline or by reference), same options, seeded with
 * its succeeded outputs. Refuses a run that is still open (use `retry` while it waits).
 */
export async function startRerun(client: Client, settings: TemporalSettings, workflowId: string, opts: { from?: string[]; newWorkflowId?: string } = {}): Promise<{ workflowId: string; seed: RunSeed }> {
  const current = await followHandOff(client, workflowId);
  const desc = await client.workflow.getHandle(current).describe();
  if (desc.status.name === 'RUNNING') {
    throw new UserError(`${current} is still open (${(await runStatusOf(client, current)).status}); while it waits use \`trademl temporal retry ${current}${opts.from?.length ? ` --from ${opts.from[0]}` : ''}\`, or cancel it first`);
  }
  const [input, status] = await Promise.all([runInputOf(client, current, desc.runId), runStatusOf(client, current, desc.runId)]);
  const seed = rerunSeed(status, current, opts.from, desc.runId);
  const id = opts.newWorkflowId ?? runWorkflowId(status.pipeline);
  const { seed: _old, runId: _runId, handOff: _h, ...rest } = input;
  const next: PipelineInput = { ...rest, taskQueuePrefix: settings.taskQueuePrefix, searchAttributes: settings.searchAttributes, seed };
  await client.workflow.start(PIPELINE_WORKFLOW_TYPE, {
    workflowId: id,
    taskQueue: taskQueueName(settings.taskQueuePrefix, 'cpu'),
    args: [next],
    memo: { ...(desc.memo ?? {}), reruns: current },
    staticSummary: `${status.pipeline}: re-run of ${current} from ${seed.rerun.join(', ')}`,
    ...(settings.searchAttributes ? { typedSearchAttributes: startSearchAttributes({ pipeline: status.pipeline, digest: status.planDigest, params: status.params }) } : {}),
  });
  return { workflowId: id, seed };
}
