/**
 * A step as an activity of the pipeline workflow: its activity options (queue, timeouts,
 * RetryPolicy, cancellation, the summary the UI shows) and the mapping of what the activity call
 * rejected with to the run loop's StepFailure. Pure workflow code (part of the bundle).
 */
import { ActivityCancellationType, ActivityFailure, ApplicationFailure, CancelledFailure, TimeoutFailure, isCancellation, type ActivityOptions } from '@temporalio/workflow';
import type { StepFailure } from '../../engine/loop.ts';
import type { PlanStep } from '../../engine/plan.ts';
import { taskQueueName } from '../queues.ts';
import type { StepFailureDetails } from './api.ts';

/**
 * Activity options of a step: its queue, timeouts and RetryPolicy (Temporal retries the attempts);
 * cancellation waits until the worker confirms the step stopped (WAIT_CANCELLATION_COMPLETED, the
 * SDK default, spelled out: a cancelled run must not close while a step still computes); the
 * summary names the step and its kind (the UI's activity list shows it).
 */
export function stepActivityOptions(step: PlanStep, prefix: string, activityId: string): ActivityOptions {
  return {
    activityId,
    taskQueue: taskQueueName(prefix, step.queue),
    startToCloseTimeout: step.timeout_ms,
    heartbeatTimeout: step.heartbeat_timeout_ms,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
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

/** Maps what a step activity call rejected with to the loop's {@link StepFailure}. */
export function toStepFailure(e: unknown, step: PlanStep): StepFailure {
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
