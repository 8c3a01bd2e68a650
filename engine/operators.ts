/**
 * Which steps an operator request targets, or why it is refused (the Temporal Update validators
 * and the embedded commands use the same rules). Pure: errors are plain Errors whose message says
 * why and what to do.
 */
import { descendantsOf } from './graph.ts';
import type { ApprovalRequest, OperatorRequest } from './loop-types.ts';
import type { Plan, PlanStep } from './plan.ts';
import type { RunState } from './scheduler.ts';

function failedIds(plan: Plan, state: RunState): string[] {
  return plan.steps.filter((s) => state.steps[s.id]!.status === 'failed').map((s) => s.id);
}

/** Steps a `retry` re-runs (with their dependents): the named one, or every failed one. */
export function retryTargets(plan: Plan, state: RunState, running: ReadonlySet<string>, ended: boolean, req: OperatorRequest): string[] {
  if (ended) throw new Error('the run already ended');
  if (state.cancelled) throw new Error('the run was aborted');
  const targets = req.stepId ? [req.stepId] : failedIds(plan, state);
  if (!targets.length) throw new Error('no failed step to retry');
  const needs = Object.fromEntries(plan.steps.map((s) => [s.id, s.needs]));
  for (const id of targets) {
    const s = state.steps[id];
    if (!s) throw new Error(`unknown step "${id}"; steps: ${plan.steps.map((p) => p.id).join(', ')}`);
    if (!req.from && s.status !== 'failed') throw new Error(`step "${id}" is ${s.status}; only a failed step can be retried (or retry from it: from=true)`);
    if (running.has(id)) throw new Error(`step "${id}" is running`);
    const busy = [...descendantsOf(id, needs)].filter((d) => running.has(d));
    if (busy.length) throw new Error(`step "${id}" has running dependents (${busy.join(', ')}); wait for them to finish`);
  }
  return targets;
}

/** The failed step a `skip` gives up on (the only failed one when none is named). */
export function skipTarget(plan: Plan, state: RunState, ended: boolean, req: OperatorRequest): string {
  if (ended) throw new Error('the run already ended');
  if (state.cancelled) throw new Error('the run was aborted');
  const failed = failedIds(plan, state);
  const id = req.stepId ?? (failed.length === 1 ? failed[0] : undefined);
  if (!id) throw new Error(failed.length ? `name the step to skip: one of ${failed.join(', ')}` : 'no failed step to skip');
  const s = state.steps[id];
  if (!s) throw new Error(`unknown step "${id}"`);
  if (s.status !== 'failed') throw new Error(`step "${id}" is ${s.status}; only a failed step can be skipped`);
  return id;
}

/** The approval step a decision applies to (the only waiting one when none is named). */
export function approvalTarget(plan: Plan, state: RunState, req: ApprovalRequest): string {
  if (!req || typeof req.by !== 'string' || !req.by.trim()) throw new Error('approver name required (by)');
  const waiting = plan.steps.filter((s) => state.steps[s.id]!.status === 'waiting_approval').map((s) => s.id);
  const id = req.stepId ?? (waiting.length === 1 ? waiting[0] : undefined);
  if (!id) throw new Error(waiting.length ? `name the step: one of ${waiting.join(', ')} waits for approval` : 'no step waits for approval');
  const s = state.steps[id];
  const step = plan.steps.find((x) => x.id === id);
  if (!s || !step) throw new Error(`unknown step "${id}"`);
  if (!step.control) throw new Error(`step "${id}" is a ${step.uses} step, not an approval`);
  if (s.status !== 'waiting_approval') throw new Error(`step "${id}" is ${s.status}, not waiting for approval`);
  return id;
}

/** Outputs (or errors) of the steps an approval step shows (`with.show`, default: its needs), by step id. */
export function approvalContext(step: PlanStep, state: RunState): Record<string, unknown> {
  const show = step.control?.show.length ? step.control.show : step.needs;
  return Object.fromEntries(show.map((id) => [id, state.steps[id]?.outputs ?? state.steps[id]?.error ?? null]));
}
