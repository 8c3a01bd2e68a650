/**
 * Writes the replay fixtures in test/fixtures/histories/ (run: npx tsx test/temporal/make-histories.ts).
 * Each history is written event by event as a Temporal server records a run of `pipelineWorkflow`
 * for a pipeline of test/fixtures/histories/pipelines.yaml; the replay test checks that the real
 * workflow bundle issues exactly these commands. Payloads the replayer does not compare (workflow
 * results, update results) are the statuses the decision loop reports in a simulation of that run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UpstreamStep } from '../../kinds/types.ts';
import type { Plan, PlanStep } from '../../engine/plan.ts';
import { compilePlan } from '../../spec/compile.ts';
import { validateSpecText } from '../../spec/validate.ts';
import { stepActivityOptions } from '../../temporal/workflow/pipeline.ts';
import type { PipelineInput, StepActivityRequest, StepActivityResult } from '../../temporal/workflow/api.ts';
import { HistoryBuilder, type ActivityOpts } from './history.ts';
import { Simulation } from './simulate.ts';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'histories');
const PREFIX = 'trademl';
const CPU = `${PREFIX}-cpu`;

/** The fixture pipelines, compiled. */
export function fixturePlan(name: string): Plan {
  const r = validateSpecText(readFileSync(path.join(FIXTURES, 'pipelines.yaml'), 'utf8'), 'pipelines.yaml');
  if (!r.spec) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return compilePlan(r.spec, name);
}

function stepOpts(step: PlanStep, activityId: string, req: StepActivityRequest): ActivityOpts {
  const o = stepActivityOptions(step, PREFIX, activityId);
  const r = step.retry;
  return {
    activityId,
    type: 'runStep',
    taskQueue: o.taskQueue!,
    input: req,
    startToCloseMs: step.timeout_ms,
    heartbeatMs: step.heartbeat_timeout_ms,
    retry: { initialInterval: `${r.initial_interval_ms / 1000}s`, backoffCoefficient: r.backoff_coefficient, maximumInterval: `${r.maximum_interval_ms / 1000}s`, maximumAttempts: r.maximum_attempts, nonRetryableErrorTypes: r.non_retryable },
  };
}

const controlOpts = (activityId: string, type: string, input: unknown): ActivityOpts => ({
  activityId,
  type,
  taskQueue: CPU,
  input,
  startToCloseMs: 60_000,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 5 },
});

function req(plan: Plan, runId: string, id: string, upstream: Record<string, UpstreamStep>, attemptBase = 0, force = false): StepActivityRequest {
  return { runId, pipeline: plan.pipeline, step: plan.steps.find((s) => s.id === id)!, params: plan.params, attemptBase, upstream, force };
}

const ok = (outputs: Record<string, unknown>, attempt = 1, cacheKey = 'sha256:' + '0'.repeat(64)): StepActivityResult => ({ outputs, cacheHit: false, cacheKey, durationMs: 100, attempt, resolvedWith: undefined });
const up = (uses: string, outputs: Record<string, unknown>): UpstreamStep => ({ uses, status: "succeeded", outputs, provides: {} });

/** Plain DAG (diamond: ingest → features, labels → fit on gpu) with run observation. */
export async function diamondHistory() {
  const plan = fixturePlan('diamond');
  const wfId = 'diamond-20250106-070000-a1b2';
  const input: PipelineInput = { plan, taskQueuePrefix: PREFIX, observe: true };
  const sim = new Simulation(plan, (s) => ({ ok: s.id === 'ingest' ? { rows: 5 } : {} }), { runId: wfId, observe: false });
  const final = await sim.run();
  const h = new HistoryBuilder(new Date(Date.UTC(2025, 0, 6, 7, 0, 0)));
  h.started('pipelineWorkflow', CPU, [input], { pipeline: plan.pipeline, plan_digest: plan.digest, params: plan.params });
  h.workflowTask(CPU);
  const obs1 = h.scheduleActivity(controlOpts('1', 'observeRun', { kind: 'runStarted' }));
  h.wait(20).completeActivity(obs1, null, 30);
  h.workflowTask(CPU);
  const ingest = h.scheduleActivity(stepOpts(plan.steps[0]!, 'ingest-1', req(plan, wfId, 'ingest', {})));
  h.wait(50).completeActivity(ingest, ok({ rows: 5 }), 400);
  h.workflowTask(CPU);
  const ing = { ingest: up('noop', { rows: 5 }) };
  const features = h.scheduleActivity(stepOpts(plan.steps[1]!, 'features-1', req(plan, wfId, 'features', ing)));
  const labels = h.scheduleActivity(stepOpts(plan.steps[2]!, 'labels-1', req(plan, wfId, 'labels', ing)));
  h.wait(40).completeActivity(features, ok({}), 900);
  h.wait(10).completeActivity(labels, ok({}), 200);
  h.workflowTask(CPU);
  const fit = h.scheduleActivity(stepOpts(plan.steps[3]!, 'fit-1', req(plan, wfId, 'fit', { ...ing, features: up('noop', {}), labels: up('noop', {}) })));
  h.wait(60).completeActivity(fit, ok({}), 3000);
  h.workflowTask(CPU);
  const obs2 = h.scheduleActivity(controlOpts('6', 'observeRun', { kind: 'runFinished' }));
  h.wait(20).completeActivity(obs2, null, 30);
  h.workflowTask(CPU);
  h.completed(final);
  return { workflowId: wfId, history: h.toJSON() };
}

/** A step fails after its 2 attempts; the run waits; an operator sends the `retry` Signal; it succeeds. */
export async function retryHistory() {
  const plan = fixturePlan('flaky');
  const wfId = 'flaky-20250106-070000-c3d4';
  const input: PipelineInput = { plan, taskQueuePrefix: PREFIX };
  const failure = { message: 'worker lost the GPU (attempt 2)', type: 'IntentionalFailure', nonRetryable: false, attempts: 2, details: undefined };
  const sim = new Simulation(plan, (s, _r, nth) => (s.id === 'fit' && nth === 1 ? { fail: failure } : { ok: s.id === 'fit' ? { attempts: 3 } : {} }), { runId: wfId }).whenIdle((d) => d.retry({ stepId: 'fit', by: 'ops@desk', reason: 'GPU node replaced' }));
  const final = await sim.run();
  const h = new HistoryBuilder(new Date(Date.UTC(2025, 0, 6, 7, 0, 0)));
  h.started('pipelineWorkflow', CPU, [input], { pipeline: plan.pipeline, plan_digest: plan.digest, params: plan.params });
  h.workflowTask(CPU);
  const ingest = h.scheduleActivity(stepOpts(plan.steps[0]!, 'ingest-1', req(plan, wfId, 'ingest', {})));
  h.wait(50).completeActivity(ingest, ok({}), 300);
  h.workflowTask(CPU);
  const ing = { ingest: up('noop', {}) };
  const fit1 = h.scheduleActivity(stepOpts(plan.steps[1]!, 'fit-1', req(plan, wfId, 'fit', ing)));
  // attempt 1 failed and was retried by the server after 1 s (not in history); attempt 2 is final
  h.wait(1500).failActivity(fit1, { message: failure.message, type: failure.type, details: { attempt: 2 }, retryState: 'RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED', attempt: 2 }, 200);
  h.workflowTask(CPU);
  const timer = h.startTimer('1', plan.steps[1]!.on_failure_timeout_ms);
  h.wait(20 * 60_000).signal('retry', { stepId: 'fit', by: 'ops@desk', reason: 'GPU node replaced' });
  h.workflowTask(CPU, [2]);
  h.cancelTimer('1', timer);
  const fit2 = h.scheduleActivity(stepOpts(plan.steps[1]!, 'fit-2', req(plan, wfId, 'fit', ing, 2, true)));
  h.wait(30).completeActivity(fit2, ok({ attempts: 3 }), 500);
  h.workflowTask(CPU);
  const report = h.scheduleActivity(stepOpts(plan.steps[2]!, 'report-1', req(plan, wfId, 'report', { ...ing, fit: up('fail', { attempts: 3 }) }, 0, true)));
  h.wait(30).completeActivity(report, ok({}), 100);
  h.workflowTask(CPU);
  h.completed(final);
  return { workflowId: wfId, history: h.toJSON() };
}

/** An approval step waits (1 h timer); the `approve` Update (approver named) lets `promote` run. */
export async function approvalHistory() {
  const plan = fixturePlan('gated');
  const wfId = 'gated-20250106-070000-e5f6';
  const input: PipelineInput = { plan, taskQueuePrefix: PREFIX };
  const decision = { stepId: 'approve', by: 'risk.officer', comment: 'DSR 0.97, PBO 0.08' };
  let afterUpdate: unknown;
  const sim = new Simulation(plan, (s) => ({ ok: s.id === 'gate' ? { passed: true } : {} }), { runId: wfId }).whenIdle((d) => {
    afterUpdate = d.decideApproval(decision, true);
  });
  const final = await sim.run();
  const h = new HistoryBuilder(new Date(Date.UTC(2025, 0, 6, 7, 0, 0)));
  h.started('pipelineWorkflow', CPU, [input], { pipeline: plan.pipeline, plan_digest: plan.digest, params: plan.params });
  h.workflowTask(CPU);
  const gate = h.scheduleActivity(stepOpts(plan.steps[0]!, 'gate-1', req(plan, wfId, 'gate', {})));
  h.wait(50).completeActivity(gate, ok({ passed: true }), 300);
  h.workflowTask(CPU);
  const timer = h.startTimer('1', 3_600_000);
  h.wait(12 * 60_000);
  h.workflowTask(CPU);
  const accepted = h.updateAccepted('upd-approve-1', 'approve', decision);
  h.updateCompleted('upd-approve-1', accepted, afterUpdate);
  h.cancelTimer('1', timer);
  const promote = h.scheduleActivity(
    stepOpts(plan.steps[2]!, 'promote-1', req(plan, wfId, 'promote', { gate: up('noop', { passed: true }), approve: up('approval', { approved: true, by: decision.by, at: '2025-01-06T07:12:00.357Z', comment: decision.comment }) })),
  );
  h.wait(30).completeActivity(promote, ok({}), 100);
  h.workflowTask(CPU);
  h.completed(final);
  return { workflowId: wfId, history: h.toJSON() };
}

/** Every fixture: file name → builder. */
export const HISTORIES = {
  'plain-dag.json': diamondHistory,
  'failure-retry-signal.json': retryHistory,
  'approval-update.json': approvalHistory,
} as const;

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [file, make] of Object.entries(HISTORIES)) {
    const { workflowId, history } = await make();
    writeFileSync(path.join(FIXTURES, file), JSON.stringify({ workflowId, ...history }, null, 2) + '\n');
    process.stdout.write(`wrote ${file}: ${history.events.length} events\n`);
  }
}
