/**
 * Hand-off of a parked run (workflow code, part of the bundle). A scheduled run that waits 72 h for
 * an approval (or 24 h for an operator) would hold its Temporal Schedule the whole time (overlap
 * `skip` skips every nightly in between). So when such a run parks with nothing computing, the
 * workflow starts a continuation — the same workflow type, seeded with the run's state, parent
 * close policy ABANDON, id `<workflow id>-approval` / `-operator` — and closes. The continuation
 * is the same TradeML run (same run id, tracker run and approval deadline) and takes the decision.
 */
import { ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import type { LoopOutcome } from '../../engine/loop.ts';
import type { RunStatusView } from '../../engine/records.ts';
import type { HandOff, PipelineInput, PipelineStatus } from './api.ts';
import { SEARCH_ATTRIBUTES } from './visibility.ts';

/** What a run parks on when nothing computes any more: an approval, an operator, or nothing (still busy). */
export function parkedOn(view: RunStatusView): HandOff['waitingFor'] | undefined {
  // pending steps behind the approval cannot start; startable ones are running by the time this is asked
  if (view.steps.some((s) => s.status === 'running' || s.status === 'retry_wait')) return undefined;
  if (view.status === 'waiting_operator') return 'operator';
  if (view.status === 'waiting_approval' && view.waiting?.kind === 'approval') return 'approval';
  return undefined;
}

/**
 * Starts the continuation of a run interrupted while parked and returns the parked run's result
 * (its status with `handedOff`). `input` is this run's input; `asOf` the cut-off it used.
 */
export async function handOff(input: PipelineInput, out: LoopOutcome, waitingFor: HandOff['waitingFor'], asOf: string | undefined, visible: boolean): Promise<PipelineStatus> {
  const info = workflowInfo();
  const view = out.view;
  const workflowId = `${info.workflowId}-${waitingFor}`;
  const attempts = Object.fromEntries(view.steps.map((s) => [s.id, s.attempts]));
  const child: PipelineInput = {
    ...input,
    handOff: false, // only the run the schedule started holds it; the continuation just waits
    runId: view.runId,
    ...(asOf ? { asOf } : {}),
    seed: { fromWorkflowId: info.workflowId, fromRunId: info.runId, rerun: [], state: out.state, attempts, continued: { startedAt: view.startedAt } },
  };
  const pipeline = view.pipeline;
  const dataset = typeof view.params.dataset === 'string' ? view.params.dataset : undefined;
  await startChild('pipelineWorkflow', {
    workflowId,
    args: [child],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    memo: { ...(info.memo ?? {}), continues: info.workflowId, waiting_for: waitingFor },
    staticSummary: `${pipeline}: ${view.runId} waiting for ${waitingFor === 'approval' ? 'an approval' : 'an operator'} (continues ${info.workflowId})`,
    ...(visible
      ? {
          typedSearchAttributes: [
            { key: SEARCH_ATTRIBUTES.pipeline, value: pipeline },
            { key: SEARCH_ATTRIBUTES.planDigest, value: view.planDigest },
            ...(dataset ? [{ key: SEARCH_ATTRIBUTES.dataset, value: dataset }] : []),
            { key: SEARCH_ATTRIBUTES.runState, value: view.status },
          ],
        }
      : {}),
  });
  return { ...view, handedOff: { workflowId, waitingFor } };
}
