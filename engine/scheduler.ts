/**
 * The DAG scheduler: a pure, deterministic state machine with no I/O, clock or randomness.
 * Hosts (embedded/ and temporal/workflow/) feed it events stamped with their own time and
 * execute the actions it decides. The same module runs inside the Temporal workflow sandbox.
 *
 *   state = initialState(plan)
 *   loop: { start, awaitApproval, wakeAt, finished } = decide(plan, state, now)
 *         host starts steps, records events: state = reduce(plan, state, event)
 */
import { descendantsOf as descendants } from './graph.ts';
import type { Plan, PlanCondition, PlanStep, Queue } from './plan.ts';

export type StepStatus =
  | 'pending'
  | 'running'
  | 'retry_wait'
  | 'waiting_approval'
  | 'succeeded'
  | 'failed'
  | 'skipped';

export interface StepError {
  message: string;
  type: string;
  details?: unknown;
}

export interface StepState {
  status: StepStatus;
  /** Attempts started since the last reset (1-based once started). */
  attempt: number;
  /** Epoch ms at which a retry_wait step may start its next attempt. */
  retryAt?: number;
  startedAt?: number;
  endedAt?: number;
  outputs?: Record<string, unknown>;
  cacheHit?: boolean;
  error?: StepError;
  /** Why a step was skipped: an upstream failure, an operator's decision, or its `if:` condition (or an upstream one) was false. */
  skipReason?: 'upstream_failed' | 'operator' | 'condition';
}

export type RunStatus = 'running' | 'waiting_approval' | 'succeeded' | 'failed' | 'cancelled';

export interface RunState {
  steps: Record<string, StepState>;
  cancelled: boolean;
}

export type EngineEvent =
  | { type: 'started'; stepId: string; at: number }
  | { type: 'succeeded'; stepId: string; at: number; outputs: Record<string, unknown>; cacheHit?: boolean }
  /** `final`: the host already exhausted the retry policy (Temporal retries activities itself). */
  | { type: 'failed'; stepId: string; at: number; error: StepError; nonRetryable?: boolean; final?: boolean; cacheHit?: boolean }
  | { type: 'approval_waiting'; stepId: string; at: number }
  | { type: 'approved'; stepId: string; at: number; by: string; comment?: string }
  | { type: 'rejected'; stepId: string; at: number; by: string; comment?: string }
  /** Operator: re-run these steps (and reset their skipped dependents), reusing everything else. */
  | { type: 'reset'; stepIds: string[] }
  /** The step's `if:` condition was false when its needs were met: skipped, with its dependents. */
  | { type: 'condition_false'; stepId: string; at: number }
  /** Operator: give up on a failed step but let its dependents run. */
  | { type: 'skip'; stepId: string; at: number }
  | { type: 'cancel'; at: number };

export interface Decision {
  /** Steps to start now (next attempt = state.attempt + 1), in plan order. */
  start: string[];
  /** Approval steps that became ready: the host parks them (event `approval_waiting`). */
  awaitApproval: string[];
  /** Ready steps whose `if:` condition is false: the host records `condition_false` for each. */
  conditionFalse: string[];
  /** Earliest epoch ms a retry_wait step becomes startable (host sleeps until then or an event). */
  wakeAt?: number;
  /** True when nothing is running, waiting or startable: the run is over (see {@link runStatus}). */
  finished: boolean;
}

const TERMINAL: ReadonlySet<StepStatus> = new Set(['succeeded', 'failed', 'skipped']);

export function isTerminal(s: StepStatus): boolean {
  return TERMINAL.has(s);
}

/** Fresh state: every step pending. */
export function initialState(plan: Plan): RunState {
  const steps: Record<string, StepState> = {};
  for (const s of plan.steps) steps[s.id] = { status: 'pending', attempt: 0 };
  return { steps, cancelled: false };
}

/**
 * Retry delay before attempt `nextAttempt` (≥ 2): initial · coefficient^(nextAttempt − 2), capped
 * at maximum_interval (Temporal's RetryPolicy semantics). Milliseconds.
 */
export function backoffMs(step: PlanStep, nextAttempt: number): number {
  const r = step.retry;
  const raw = r.initial_interval_ms * Math.pow(r.backoff_coefficient, Math.max(0, nextAttempt - 2));
  return Math.min(raw, r.maximum_interval_ms);
}

/** Applies one event; returns a new state (inputs are not mutated). Unknown step ids throw. */
export function reduce(plan: Plan, state: RunState, ev: EngineEvent): RunState {
  const next: RunState = { steps: { ...state.steps }, cancelled: state.cancelled };
  applyEvent(plan, next, ev);
  return next;
}

/**
 * Applies one event IN PLACE (step entries are replaced, never mutated) and returns the ids of the
 * steps whose state changed. O(1) for start/success events, which keeps hosts with thousands of
 * steps fast; {@link reduce} is the copying wrapper. Unknown step ids throw.
 */
export function applyEvent(plan: Plan, state: RunState, ev: EngineEvent): string[] {
  const steps = state.steps;
  const byId = stepIndex(plan);
  const changed: string[] = [];
  const get = (id: string): StepState => {
    const s = steps[id];
    if (!s || !byId.has(id)) throw new Error(`unknown step "${id}"`);
    return s;
  };
  const set = (id: string, s: StepState) => {
    steps[id] = s;
    changed.push(id);
  };
  switch (ev.type) {
    case 'started': {
      const s = get(ev.stepId);
      set(ev.stepId, { ...s, status: 'running', attempt: s.attempt + 1, startedAt: ev.at, retryAt: undefined, error: undefined, endedAt: undefined });
      break;
    }
    case 'succeeded':
      set(ev.stepId, { ...get(ev.stepId), status: 'succeeded', outputs: ev.outputs, cacheHit: ev.cacheHit ?? false, endedAt: ev.at, error: undefined });
      break;
    case 'failed': {
      const s = get(ev.stepId);
      const step = byId.get(ev.stepId)!;
      const retryable = !ev.final && !ev.nonRetryable && !step.retry.non_retryable.includes(ev.error.type) && s.attempt < step.retry.maximum_attempts && !state.cancelled;
      set(ev.stepId, retryable
        ? { ...s, status: 'retry_wait', error: ev.error, retryAt: ev.at + backoffMs(step, s.attempt + 1), endedAt: ev.at }
        : { ...s, status: 'failed', error: ev.error, endedAt: ev.at, cacheHit: ev.cacheHit ?? false });
      break;
    }
    case 'approval_waiting': {
      const s = get(ev.stepId);
      set(ev.stepId, { ...s, status: 'waiting_approval', attempt: Math.max(1, s.attempt), startedAt: s.startedAt ?? ev.at });
      break;
    }
    case 'approved':
      set(ev.stepId, { ...get(ev.stepId), status: 'succeeded', endedAt: ev.at, outputs: { approved: true, by: ev.by, at: new Date(ev.at).toISOString(), comment: ev.comment ?? '' } });
      break;
    case 'rejected':
      set(ev.stepId, {
        ...get(ev.stepId),
        status: 'failed',
        endedAt: ev.at,
        error: { message: `rejected by ${ev.by}${ev.comment ? `: ${ev.comment}` : ''}`, type: 'ApprovalRejected' },
        outputs: { approved: false, by: ev.by, at: new Date(ev.at).toISOString(), comment: ev.comment ?? '' },
      });
      break;
    case 'reset': {
      const needs = needsMap(plan);
      const toReset = new Set<string>();
      for (const id of ev.stepIds) {
        get(id);
        toReset.add(id);
        for (const d of descendants(id, needs)) toReset.add(d);
      }
      for (const id of toReset) set(id, { status: 'pending', attempt: 0 });
      state.cancelled = false;
      break;
    }
    case 'condition_false':
      set(ev.stepId, { ...get(ev.stepId), status: 'skipped', skipReason: 'condition', endedAt: ev.at });
      break;
    case 'skip':
      set(ev.stepId, { ...get(ev.stepId), status: 'skipped', skipReason: 'operator', endedAt: ev.at });
      // dependents skipped because of this step's failure become runnable again
      for (const d of descendants(ev.stepId, needsMap(plan))) if (steps[d]!.skipReason === 'upstream_failed') set(d, { status: 'pending', attempt: 0 });
      break;
    case 'cancel':
      state.cancelled = true;
      for (const [id, s] of Object.entries(steps)) {
        if (s.status === 'pending' || s.status === 'retry_wait' || s.status === 'waiting_approval') {
          set(id, { ...s, status: 'skipped', skipReason: 'operator', endedAt: ev.at, error: { message: 'run cancelled', type: 'Cancelled' } });
        }
      }
      break;
  }
  // only failures, operator decisions and resets can create new upstream-failed skips
  if (!(ev.type === 'started' || ev.type === 'succeeded' || ev.type === 'approved' || ev.type === 'approval_waiting')) changed.push(...propagateSkips(plan, state));
  return [...new Set(changed)];
}

/** Marks pending `on_success` steps whose needs failed or were skipped (by failure) as skipped, in place. */
function propagateSkips(plan: Plan, state: RunState): string[] {
  const changed: string[] = [];
  const steps = state.steps;
  for (let again = true; again; ) {
    again = false;
    for (const step of plan.steps) {
      const s = steps[step.id]!;
      if (s.status !== 'pending' || step.when === 'always') continue;
      const failed = step.needs.some((n) => {
        const ns = steps[n]!;
        return ns.status === 'failed' || (ns.status === 'skipped' && (ns.skipReason === 'upstream_failed' || state.cancelled));
      });
      const conditioned = !failed && step.needs.some((n) => steps[n]!.status === 'skipped' && steps[n]!.skipReason === 'condition');
      if (failed || conditioned) {
        steps[step.id] = { ...s, status: 'skipped', skipReason: failed ? 'upstream_failed' : 'condition' };
        changed.push(step.id);
        again = true;
      }
    }
  }
  return changed;
}

/** Whether all of a step's needs allow it to start now. */
function needsSatisfied(step: PlanStep, state: RunState): boolean {
  return step.needs.every((n) => {
    const ns = state.steps[n]!;
    if (step.when === 'always') return isTerminal(ns.status);
    return ns.status === 'succeeded' || (ns.status === 'skipped' && ns.skipReason === 'operator' && !state.cancelled);
  });
}

/**
 * Decides what the host should do at time `now` (epoch ms): which steps to start (respecting the
 * plan's total and per-queue concurrency), which approvals to park, when to wake up for a retry.
 */
export function decide(plan: Plan, state: RunState, now: number): Decision {
  const running: Record<Queue | 'total', number> = { cpu: 0, gpu: 0, total: 0 };
  for (const step of plan.steps) {
    if (state.steps[step.id]!.status === 'running') {
      running[step.queue]++;
      running.total++;
    }
  }
  const start: string[] = [];
  const awaitApproval: string[] = [];
  const conditionFalse: string[] = [];
  let wakeAt: number | undefined;
  let active = running.total > 0;
  for (const step of plan.steps) {
    const s = state.steps[step.id]!;
    if (s.status === 'waiting_approval') active = true;
    if (state.cancelled) continue;
    let startable = false;
    if (s.status === 'pending' && needsSatisfied(step, state)) {
      if (step.if && !conditionHolds(step.if, state)) {
        conditionFalse.push(step.id);
        active = true;
        continue;
      }
      if (step.control?.type === 'approval') {
        awaitApproval.push(step.id);
        active = true;
        continue;
      }
      startable = true;
    } else if (s.status === 'retry_wait') {
      active = true;
      if (s.retryAt! <= now) startable = true;
      else wakeAt = Math.min(wakeAt ?? Infinity, s.retryAt!);
    }
    if (!startable) continue;
    active = true;
    if (running.total >= plan.concurrency.total || running[step.queue] >= plan.concurrency[step.queue]) continue;
    start.push(step.id);
    running.total++;
    running[step.queue]++;
  }
  return { start, awaitApproval, conditionFalse, wakeAt, finished: !active };
}

/**
 * Whether a step's `if:` holds: the referenced upstream output (a path into it) is truthy, or falsy
 * with `negate`. A missing value counts as false; a step that did not succeed has no outputs.
 */
export function conditionHolds(c: PlanCondition, state: RunState): boolean {
  let v: unknown = state.steps[c.step]?.status === 'succeeded' ? state.steps[c.step]!.outputs?.[c.output] : undefined;
  for (const k of c.path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return c.negate ? !v : Boolean(v);
}

/** Overall status of a run from its step states. */
export function runStatus(state: RunState): RunStatus {
  const all = Object.values(state.steps);
  if (all.some((s) => s.status === 'running' || s.status === 'retry_wait')) return 'running';
  if (state.cancelled) return 'cancelled';
  if (all.some((s) => s.status === 'waiting_approval')) return 'waiting_approval';
  if (all.some((s) => s.status === 'pending')) return 'running';
  if (all.some((s) => s.status === 'failed' || (s.status === 'skipped' && s.skipReason === 'upstream_failed'))) return 'failed';
  return 'succeeded';
}

/** Ids of failed steps, in plan order. */
export function failedSteps(plan: Plan, state: RunState): string[] {
  return plan.steps.filter((s) => state.steps[s.id]!.status === 'failed').map((s) => s.id);
}

const indexCache = new WeakMap<Plan, Map<string, PlanStep>>();
function stepIndex(plan: Plan): Map<string, PlanStep> {
  let m = indexCache.get(plan);
  if (!m) {
    m = new Map(plan.steps.map((s) => [s.id, s]));
    indexCache.set(plan, m);
  }
  return m;
}

function needsMap(plan: Plan): Record<string, string[]> {
  return Object.fromEntries(plan.steps.map((s) => [s.id, s.needs]));
}
