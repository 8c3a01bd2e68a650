/**
 * `pipelineWorkflow`: hosts the run loop both hosts share (engine/loop.ts) inside Temporal. Steps run as `runStep` activities on `<prefix>-cpu` / `<prefix>-gpu`, each with the
 * step's RetryPolicy and timeouts; operators drive failed runs with the `retry`/`skip`/`abort`
 * Signals or Updates, approve with `approve`/`reject`, and read the DAG with the `status` Query.
 *
 * Workflow code: deterministic, no Node modules, only types from activities.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  TimeoutFailure,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Plan, PlanStep } from '../../engine/plan.ts';
import { taskQueueName } from '../queues.ts';
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  rejectSignal,
  rejectUpdate,
  retrySignal,
  retryUpdate,
  skipSignal,
  skipUpdate,
  statusQuery,
  type PipelineActivities,
  type PipelineInput,
  type PipelineStatus,
  type StepFailureDetails,
} from './api.ts';
import { upgradePlan } from '../../spec/upgrade.ts';
import { RunLoop, type LoopHost, type StepFailure } from '../../engine/loop.ts';

/** Activity options of a step: its queue, timeouts and RetryPolicy (Temporal retries the attempts). */
export function stepActivityOptions(step: PlanStep, prefix: string, activityId: string): ActivityOptions {
  return {
    activityId,
    taskQueue: taskQueueName(prefix, step.queue),
    startToCloseTimeout: step.timeout_ms,
    heartbeatTimeout: step.heartbeat_timeout_ms,
    summary: `${step.id} (${step.uses})`,
    retry: {
      maximumAttempts: step.retry.maximum_attempts,
      initialInterval: step.retry.initial_interval_ms,
      backoffCoefficient: step.retry.backoff_coefficient,
      maximumInterval: step.retry.maximum_interval_ms,
      nonRetryableErrorTypes: step.retry.non_retryable,
    },
  };
}

/** Runs a compiled plan to its end. Returns the final status; throws `PipelineFailed` / `PipelineAborted`. */
export async function pipelineWorkflow(input: PipelineInput): Promise<PipelineStatus> {
  const prefix = input.taskQueuePrefix;
  const control = proxyActivities<PipelineActivities>({
    taskQueue: taskQueueName(prefix, 'cpu'),
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5, initialInterval: '1 second' },
  });
  let plan: Plan;
  if (input.plan) plan = input.plan;
  else if (input.planRef) plan = await control.loadPlan(input.planRef);
  else throw ApplicationFailure.nonRetryable('workflow input needs `plan` or `planRef`', 'BadInput');
  plan = upgradePlan(plan);

  const scopes = new Map<string, CancellationScope>();
  const host: LoopHost = {
    retries: 'host',
    now: () => Date.now(),
    runStep(step, req, activityId) {
      const acts = proxyActivities<PipelineActivities>(stepActivityOptions(step, prefix, activityId));
      const scope = new CancellationScope();
      scopes.set(step.id, scope);
      return scope
        .run(() => acts.runStep(req))
        .catch((e: unknown) => {
          throw toStepFailure(e, step);
        })
        .finally(() => scopes.delete(step.id));
    },
    cancelStep(stepId) {
      scopes.get(stepId)?.cancel();
    },
    async waitFor(cond, timeoutMs) {
      if (timeoutMs === undefined) {
        await condition(cond);
        return true;
      }
      return condition(cond, Math.max(1, timeoutMs));
    },
    observe: input.observe ? (req) => control.observeRun(req) : undefined,
    patched: (id) => patched(id),
    log: (message, attrs) => log.info(message, attrs ?? {}),
  };
  const driver = new RunLoop(plan, host, { runId: input.runId ?? workflowInfo().workflowId, noCache: input.noCache, observe: input.observe, operatorWait: true });

  setHandler(statusQuery, () => driver.status());
  setHandler(retryUpdate, (req) => driver.retry(req), { validator: (req) => driver.validateRetry(req) });
  setHandler(skipUpdate, (req) => driver.skip(req), { validator: (req) => driver.validateSkip(req) });
  setHandler(abortUpdate, (req) => driver.abort(req), { validator: (req) => driver.validateAbort(req) });
  setHandler(approveUpdate, (req) => driver.decideApproval(req, true), { validator: (req) => driver.validateApproval(req) });
  setHandler(rejectUpdate, (req) => driver.decideApproval(req, false), { validator: (req) => driver.validateApproval(req) });
  const guarded = <R>(action: 'retry' | 'skip' | 'abort' | 'approve' | 'reject', fn: (r: R) => unknown) => (req: R) => {
    try {
      fn(req);
    } catch (e) {
      driver.refused(action, (req ?? {}) as never, e instanceof Error ? e.message : String(e));
    }
  };
  setHandler(retrySignal, guarded('retry', (r) => driver.retry(r)));
  setHandler(skipSignal, guarded('skip', (r) => driver.skip(r)));
  setHandler(abortSignal, guarded('abort', (r) => driver.abort(r)));
  setHandler(approveSignal, guarded('approve', (r) => driver.decideApproval(r, true)));
  setHandler(rejectSignal, guarded('reject', (r) => driver.decideApproval(r, false)));

  let final: PipelineStatus;
  try {
    final = (await driver.run()).view;
  } catch (e) {
    if (isCancellation(e)) {
      // Workflow cancelled from the UI/CLI: record it; step scopes are children of the root scope,
      // so their activities already received the cancellation.
      driver.abort({ by: 'temporal', reason: 'workflow cancelled' });
    }
    throw e;
  }
  if (final.status === 'failed') {
    const failed = final.steps.filter((s) => s.status === 'failed').map((s) => `${s.id} (${s.error?.type ?? 'Error'}: ${s.error?.message ?? ''})`);
    throw ApplicationFailure.create({ message: `pipeline ${plan.pipeline} failed: ${failed.join('; ')}`, type: 'PipelineFailed', nonRetryable: true, details: [final] });
  }
  if (final.status === 'cancelled') {
    throw ApplicationFailure.create({ message: `pipeline ${plan.pipeline} aborted by an operator`, type: 'PipelineAborted', nonRetryable: true, details: [final] });
  }
  return final;
}

/** Maps what a step activity call rejected with to the driver's {@link StepFailure}. */
function toStepFailure(e: unknown, step: PlanStep): StepFailure {
  if (e instanceof ActivityFailure) {
    const cause = e.cause;
    const maxed = e.retryState === 'MAXIMUM_ATTEMPTS_REACHED' ? step.retry.maximum_attempts : 1;
    if (cause instanceof ApplicationFailure) {
      const d = (cause.details?.[0] ?? undefined) as StepFailureDetails | undefined;
      return { message: cause.message, type: cause.type ?? 'Error', nonRetryable: cause.nonRetryable === true, attempts: d?.attempt ?? maxed, cancelled: false, ...(d?.cached ? { cached: true } : {}), ...(d?.details !== undefined ? { details: d.details } : {}) };
    }
    if (cause instanceof TimeoutFailure) {
      const type = cause.timeoutType === 'HEARTBEAT' ? 'HeartbeatTimeout' : 'Timeout';
      return { message: `step "${step.id}" ${type === 'HeartbeatTimeout' ? 'stopped heartbeating' : 'timed out'} (${cause.timeoutType})`, type, nonRetryable: false, attempts: maxed, cancelled: false };
    }
    if (cause instanceof CancelledFailure) return { message: `step "${step.id}" cancelled`, type: 'Cancelled', nonRetryable: true, attempts: 1, cancelled: true };
    return { message: cause?.message ?? e.message, type: cause?.name ?? 'ActivityFailure', nonRetryable: false, attempts: maxed, cancelled: false };
  }
  if (isCancellation(e)) return { message: `step "${step.id}" cancelled`, type: 'Cancelled', nonRetryable: true, attempts: 1, cancelled: true };
  return { message: e instanceof Error ? e.message : String(e), type: e instanceof Error ? e.name : 'Error', nonRetryable: false, attempts: 1, cancelled: false };
}
