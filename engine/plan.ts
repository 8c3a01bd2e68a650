/**
 * The compiled, JSON-serialisable Plan that both hosts (local runtime, Temporal workflow) execute.
 * Pure types: this file is part of the Temporal workflow bundle, so it imports nothing from Node.
 */

export type Queue = 'cpu' | 'gpu';

/** Format of compiled plans: 2 adds input bindings, provided contracts and control steps. */
export const PLAN_FORMAT = 2;

/** Retry policy of a step (durations in milliseconds). Mirrors Temporal's RetryPolicy. */
export interface RetryPolicy {
  maximum_attempts: number;
  initial_interval_ms: number;
  backoff_coefficient: number;
  maximum_interval_ms: number;
  /** Error type names that fail the step at once (e.g. `DataQualityError`). */
  non_retryable: string[];
}

/** One upstream output bound to a consumed input of a step. */
export interface InputBinding {
  step: string;
  output: string;
}

/** A control step's compiled settings (the host decides the step instead of executing it). */
export interface PlanControl {
  type: 'approval';
  /** How long the host waits for a decision, ms. */
  timeout_ms: number;
  /** Step ids whose outputs the decider is shown. */
  show: string[];
  instructions: string;
}

/** A step's run-time condition: run only when the referenced upstream output is truthy (or falsy with `negate`). */
export interface PlanCondition {
  /** The expression as written, e.g. `${{ steps.gate.outputs.verdict.passed }}`. */
  expr: string;
  step: string;
  output: string;
  path: string[];
  negate: boolean;
}

export interface PlanStep {
  id: string;
  uses: string;
  /** The step kind's code version (part of the cache key). */
  kind_version: string;
  description?: string;
  /** Direct dependencies, in declaration order. */
  needs: string[];
  /** `with` with `${{ params.* }}` resolved; `${{ steps.<id>.outputs.<name> }}` kept for run time. */
  with: Record<string, unknown>;
  /** Consumed inputs bound to upstream outputs (spec/bindings.ts), by input name, in plan order. */
  inputs: Record<string, InputBinding[]>;
  /** Output key → contract id (`name@version`) of what the step provides. */
  provides: Record<string, string>;
  /** Set for control steps (approval): the host decides them. */
  control?: PlanControl;
  /** Run only when this holds; otherwise the step and its dependents are skipped (an outcome, not a failure). */
  if?: PlanCondition;
  queue: Queue;
  retry: RetryPolicy;
  /** Per-attempt timeout (start-to-close), ms. */
  timeout_ms: number;
  /** Heartbeat timeout for distributed workers, ms. */
  heartbeat_timeout_ms: number;
  cache: boolean;
  /** `on_success` (default): runs when all needs succeeded. `always`: runs once all needs ended. */
  when: 'on_success' | 'always';
  /** What the Temporal host does when the step fails after its retries. */
  on_failure: 'wait' | 'fail';
  /** How long the Temporal host waits for an operator decision after a failure, ms. */
  on_failure_timeout_ms: number;
}

export interface PlanSchedule {
  cron: string;
  timezone: string;
  overlap: 'skip' | 'buffer_one' | 'buffer_all' | 'cancel_other' | 'terminate_other' | 'allow_all';
  catchup_window_ms: number;
  paused: boolean;
}

export interface Plan {
  /** Plan format version. */
  format: typeof PLAN_FORMAT;
  pipeline: string;
  description: string;
  /** Resolved param values (defaults + overrides). */
  params: Record<string, unknown>;
  schedule?: PlanSchedule;
  /** Concurrency limits: total running steps and per queue. */
  concurrency: { total: number; cpu: number; gpu: number };
  /** Steps in a stable topological order (declaration order among independent steps). */
  steps: PlanStep[];
  /** `sha256:<hex>` of the canonical JSON of everything above (key order irrelevant). */
  digest: string;
}
