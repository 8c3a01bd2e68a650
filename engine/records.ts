/**
 * Records of runs and steps as both hosts report them to observers (tracker, report writer), and
 * the operator-facing views of a run. Pure (part of the Temporal workflow bundle).
 */
import type { Plan, PlanStep } from './plan.ts';
import type { RunStatus, StepError, StepState, StepStatus } from './scheduler.ts';

/** A finished step as the host reports it to observers. */
export interface StepRecord {
  runId: string;
  pipeline: string;
  stepId: string;
  uses: string;
  status: 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  cacheHit: boolean;
  attempts: number;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  /** Resolved `with` of the step (params for the tracker). */
  with?: unknown;
  outputs: Record<string, unknown>;
  error?: { message: string; type: string; details?: unknown };
  /** The step's `needs` (the report draws DAG edges from them). */
  needs?: string[];
  /** Output key → contract id of what the step provides (views follow contracts, not kinds). */
  provides?: Record<string, string>;
  /** Set for control steps: the host decided the step (e.g. an approval). */
  control?: 'approval';
}

/** A run as the host reports it to observers. */
export interface RunRecord {
  runId: string;
  pipeline: string;
  planDigest: string;
  params: Record<string, unknown>;
  status: RunStatus | 'interrupted';
  startedAt: string;
  endedAt?: string;
  /** Plan summary: the DAG's edges, each step's `with` and provided contracts. */
  plan?: { steps: Array<{ id: string; uses: string; needs: string[]; with?: unknown; provides?: Record<string, string>; control?: 'approval' }> };
}

/** One step of a run as `status` shows it. */
export interface StepView {
  id: string;
  uses: string;
  queue: string;
  needs: string[];
  status: StepStatus;
  /** Attempts made in this run, host retries and operator retries included. */
  attempts: number;
  startedAt?: string;
  endedAt?: string;
  cacheHit?: boolean;
  outputs?: Record<string, unknown>;
  error?: StepError;
  skipReason?: 'upstream_failed' | 'operator' | 'condition';
}

/** An operator decision recorded on a run. */
export interface OperatorAction {
  at: string;
  action: 'retry' | 'skip' | 'abort' | 'approve' | 'reject';
  stepIds: string[];
  by: string;
  detail?: string;
}

/** A run's state as the operator sees it (the Temporal `status` Query, the workflow's result). */
export interface RunStatusView {
  runId: string;
  pipeline: string;
  planDigest: string;
  params: Record<string, unknown>;
  /** Scheduler run status, or `waiting_operator` while a failed run waits for retry/skip/abort. */
  status: RunStatus | 'waiting_operator';
  /** What the run waits for, until when (ISO time), and how to act. */
  waiting?: { kind: 'approval' | 'operator'; steps: string[]; deadline: string; how?: string };
  /** For a completed run whose gate rejected the candidate: the outcome and the failing bars. */
  outcome?: { promoted: boolean; summary: string };
  steps: StepView[];
  actions: OperatorAction[];
  startedAt: string;
  endedAt?: string;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The run record of a plan. */
export function runRecord(runId: string, plan: Plan, status: RunRecord['status'], startedAt: number, endedAt?: number): RunRecord {
  return {
    runId,
    pipeline: plan.pipeline,
    planDigest: plan.digest,
    params: plan.params,
    status,
    startedAt: iso(startedAt),
    ...(endedAt !== undefined ? { endedAt: iso(endedAt) } : {}),
    plan: { steps: plan.steps.map((s) => ({ id: s.id, uses: s.uses, needs: s.needs, with: s.with, provides: s.provides, ...(s.control ? { control: s.control.type } : {}) })) },
  };
}

/** The observer's record of a step in state `s` (`attempts`: attempts made in this run). */
export function stepRecord(runId: string, plan: Plan, step: PlanStep, s: StepState, attempts: number, resolvedWith?: unknown): StepRecord {
  const status: StepRecord['status'] =
    s.status === 'succeeded' ? 'succeeded' : s.status === 'failed' ? 'failed' : s.error?.type === 'Cancelled' ? 'cancelled' : 'skipped';
  return {
    runId,
    pipeline: plan.pipeline,
    stepId: step.id,
    uses: step.uses,
    needs: step.needs,
    provides: step.provides,
    ...(step.control ? { control: step.control.type } : {}),
    status,
    cacheHit: s.cacheHit ?? false,
    attempts,
    ...(s.startedAt !== undefined ? { startedAt: iso(s.startedAt) } : {}),
    ...(s.endedAt !== undefined ? { endedAt: iso(s.endedAt) } : {}),
    ...(s.startedAt !== undefined && s.endedAt !== undefined ? { durationMs: s.endedAt - s.startedAt } : {}),
    with: resolvedWith ?? step.with,
    outputs: s.outputs ?? {},
    ...(s.error ? { error: s.error } : {}),
  };
}

/**
 * {@link stepRecord}s memoised by what they are built from: a step's state object (the scheduler
 * replaces states, never mutates them), its attempts and its resolved `with`. The loop sends the
 * records of every finished step with each step's observation; rebuilding them all each time was
 * O(steps²) ISO dates (0.8 s of a 1,000-step run).
 */
export class StepRecordCache {
  private readonly memo = new Map<string, { s: StepState; attempts: number; resolvedWith: unknown; rec: StepRecord }>();

  constructor(private readonly runId: string, private readonly plan: Plan) {}

  /** The record of `step` in state `s` (the same object while nothing it shows changed). */
  get(step: PlanStep, s: StepState, attempts: number, resolvedWith?: unknown): StepRecord {
    const m = this.memo.get(step.id);
    if (m && m.s === s && m.attempts === attempts && m.resolvedWith === resolvedWith) return m.rec;
    const rec = stepRecord(this.runId, this.plan, step, s, attempts, resolvedWith);
    this.memo.set(step.id, { s, attempts, resolvedWith, rec });
    return rec;
  }
}

/** The `status` view of one step. */
export function stepView(step: PlanStep, s: StepState, attempts: number): StepView {
  return {
    id: step.id,
    uses: step.uses,
    queue: step.queue,
    needs: step.needs,
    status: s.status,
    attempts,
    ...(s.startedAt !== undefined ? { startedAt: iso(s.startedAt) } : {}),
    ...(s.endedAt !== undefined ? { endedAt: iso(s.endedAt) } : {}),
    ...(s.cacheHit !== undefined ? { cacheHit: s.cacheHit } : {}),
    ...(s.outputs ? { outputs: s.outputs } : {}),
    ...(s.error ? { error: s.error } : {}),
    ...(s.skipReason ? { skipReason: s.skipReason } : {}),
  };
}
