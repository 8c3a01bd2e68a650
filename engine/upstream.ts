/**
 * What a step sees of its upstream steps: one function both hosts use to build the executor's
 * request. Pure (part of the Temporal workflow bundle).
 */
import { ancestorsOf } from './graph.ts';
import type { Plan } from './plan.ts';
import type { RunState, StepState } from './scheduler.ts';

/** An upstream step as the executor receives it. JSON-serialisable (Temporal payload). */
export interface UpstreamView {
  uses: string;
  status: 'succeeded' | 'failed' | 'skipped';
  outputs: Record<string, unknown>;
  error?: { message: string; type: string; details?: unknown };
  /** Output key → contract id of what the step provides. */
  provides: Record<string, string>;
  /** A control step (approval): it gates execution but feeds no data. */
  control?: true;
}

/** The final status a downstream step sees for an upstream step state. */
export function upstreamStatus(s: StepState): UpstreamView['status'] {
  return s.status === 'succeeded' ? 'succeeded' : s.status === 'failed' ? 'failed' : 'skipped';
}

/** Every transitive upstream step of `id`, by step id, from the run state. */
export function upstreamOf(plan: Plan, state: RunState, id: string): Record<string, UpstreamView> {
  const needs = needsOf(plan);
  const byId = stepsById(plan);
  const out: Record<string, UpstreamView> = {};
  for (const a of ancestorsOf(id, needs)) {
    const s = state.steps[a]!;
    const step = byId.get(a)!;
    out[a] = {
      uses: step.uses,
      status: upstreamStatus(s),
      outputs: s.outputs ?? {},
      ...(s.error ? { error: s.error } : {}),
      provides: step.provides,
      ...(step.control ? { control: true as const } : {}),
    };
  }
  return out;
}

const byIdCache = new WeakMap<Plan, Map<string, Plan['steps'][number]>>();

/** step id → its plan step, memoised per plan (a plan is immutable once compiled). */
function stepsById(plan: Plan): Map<string, Plan['steps'][number]> {
  let m = byIdCache.get(plan);
  if (!m) {
    m = new Map(plan.steps.map((s) => [s.id, s]));
    byIdCache.set(plan, m);
  }
  return m;
}

const needsCache = new WeakMap<Plan, Record<string, string[]>>();

/** step id → its needs, memoised per plan. */
export function needsOf(plan: Plan): Record<string, string[]> {
  let n = needsCache.get(plan);
  if (!n) {
    n = Object.fromEntries(plan.steps.map((s) => [s.id, s.needs]));
    needsCache.set(plan, n);
  }
  return n;
}
