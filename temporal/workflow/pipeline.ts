/**
 * `pipelineWorkflow`: hosts the run loop both hosts share (engine/loop.ts) inside Temporal. Steps
 * run as `runStep` activities on `<prefix>-cpu` / `<prefix>-gpu`, each with the step's RetryPolicy
 * and timeouts; operators drive failed runs with the `retry`/`skip`/`abort` Signals or Updates,
 * approve with `approve`/`reject`, and read the DAG with the `status` Query (handlers.ts). The run
 * keeps its search attributes and current details up to date (visibility.ts); a cancelled run
 * waits until its steps stopped and observes its end before it closes; a scheduled run parked on
 * an approval or an operator hands off to a continuation and closes (handoff.ts).
 *
 * Workflow code: deterministic, no Node modules, only types from activities. Every behaviour added
 * after runs could be parked on this code is behind `patched(PATCHES.x)` (docs/temporal.md § Versioning).
 */
import { ApplicationFailure, CancellationScope, condition, isCancellation, log, patched, proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';
import type { Plan } from '../../engine/plan.ts';
import { taskQueueName } from '../queues.ts';
import type { PipelineActivities, PipelineInput, PipelineStatus } from './api.ts';
import { upgradePlan } from '../../spec/upgrade.ts';
import { PATCHES, RunLoop, type LoopHost, type LoopOptions } from '../../engine/loop.ts';
import { SEARCH_ATTRIBUTES, currentDetails, runSearchValues, searchAttributeUpdates, type RunStateValue } from './visibility.ts';
import { stepActivityOptions, toStepFailure } from './steps.ts';
import { registerHandlers } from './handlers.ts';
import { handOff, parkedOn } from './handoff.ts';

export { stepActivityOptions } from './steps.ts';

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', 'DATETIME');

/** Runs a compiled plan to its end. Returns the final status; throws `PipelineFailed` / `PipelineAborted`. */
export async function pipelineWorkflow(input: PipelineInput): Promise<PipelineStatus> {
  const info = workflowInfo();
  const control = proxyActivities<PipelineActivities>({
    taskQueue: taskQueueName(input.taskQueuePrefix, 'cpu'),
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5, initialInterval: '1 second' },
  });
  let plan: Plan;
  if (input.plan) plan = input.plan;
  else if (input.planRef) plan = await control.loadPlan(input.planRef);
  else throw ApplicationFailure.nonRetryable('workflow input needs `plan` or `planRef`', 'BadInput');
  plan = upgradePlan(plan);

  const scheduledAt = info.typedSearchAttributes.get(SCHEDULED_START);
  const runInputs = Boolean(input.asOf || scheduledAt || input.seed) && patched(PATCHES.runInputs);
  const visible = input.searchAttributes === true && patched(PATCHES.visibility);
  const handsOff = input.handOff === true && patched(PATCHES.handOff);
  const loopOpts: LoopOptions = { runId: input.runId ?? info.workflowId, noCache: input.noCache, observe: input.observe, operatorWait: true };
  let asOf: string | undefined;
  if (runInputs) {
    asOf = input.asOf ?? scheduledAt?.toISOString();
    if (asOf && !plan.params.as_of) plan = { ...plan, params: { ...plan.params, as_of: asOf } };
    const seed = input.seed;
    if (seed) Object.assign(loopOpts, { state: seed.state, attempts: seed.attempts, force: seed.rerun, ...(seed.continued ? { startedAt: Date.parse(seed.continued.startedAt) } : {}) });
  }

  let driver: RunLoop | undefined;
  let lastSearch: ReturnType<typeof runSearchValues> | undefined;
  /** Brings the current details and (when on) the search attributes up to date with the loop. */
  const refresh = (state?: RunStateValue) => {
    if (!driver) return;
    const view = driver.status();
    setCurrentDetails(currentDetails(view, info.workflowId));
    if (!visible) return;
    const next = runSearchValues(view, state);
    const updates = searchAttributeUpdates(lastSearch, next);
    if (updates.length) upsertSearchAttributes(updates);
    lastSearch = next;
  };
  const host = stepHost(input, control, refresh, Boolean(input.seed?.continued));
  driver = new RunLoop(plan, host, loopOpts);
  registerHandlers(driver);
  if (handsOff) void condition(() => parkedOn(driver!.status()) !== undefined).then(() => driver!.interrupt());

  let out: Awaited<ReturnType<RunLoop['run']>>;
  try {
    out = await driver.run();
  } catch (e) {
    if (!isCancellation(e)) throw e;
    // Workflow cancelled from the UI/CLI: record it; step scopes are children of the root scope, so
    // their activities already received the cancellation.
    driver.abort({ by: 'temporal', reason: 'workflow cancelled' });
    if (patched(PATCHES.cancelDrain)) {
      // wait (not cancellable) until every running step confirmed it stopped, then observe the end
      await CancellationScope.nonCancellable(() => driver!.run());
      refresh('cancelled');
    }
    throw e;
  }
  if (out.status === 'interrupted' && handsOff) {
    const waitingFor = parkedOn(out.view)!;
    const parked = await handOff(input, out, waitingFor, asOf, visible);
    setCurrentDetails(`**${plan.pipeline}**: parked on ${waitingFor === 'approval' ? 'an approval' : 'an operator decision'}; the run continues in workflow \`${parked.handedOff!.workflowId}\` — act there (the CLI follows the hand-off).`);
    if (visible) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.runState, value: 'handed_off' }]);
    return parked;
  }
  refresh();
  return finish(plan, out.view);
}

/** The loop's host inside the workflow: steps as activities in their own cancellation scopes. */
function stepHost(input: PipelineInput, control: PipelineActivities, refresh: () => void, startObserved: boolean): LoopHost {
  const scopes = new Map<string, CancellationScope>();
  let observedStart = startObserved;
  return {
    retries: 'host',
    now: () => Date.now(),
    runStep(step, req, activityId) {
      const acts = proxyActivities<PipelineActivities>(stepActivityOptions(step, input.taskQueuePrefix, activityId));
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
      refresh(); // the run is about to wait: say for what (operator waits start without a new event)
      if (timeoutMs === undefined) {
        await condition(cond);
        return true;
      }
      return condition(cond, Math.max(1, timeoutMs));
    },
    async commit() {
      refresh();
    },
    // observed once per TradeML run: not again when a cancelled loop drains, nor in a continuation
    observe: input.observe
      ? (req) => {
          if (req.kind === 'runStarted' && observedStart) return Promise.resolve();
          if (req.kind === 'runStarted') observedStart = true;
          return control.observeRun(req);
        }
      : undefined,
    patched: (id) => patched(id),
    log: (message, attrs) => log.info(message, attrs ?? {}),
  };
}

/** The workflow's result: the final status, or a failure carrying it (failed / aborted runs). */
function finish(plan: Plan, final: PipelineStatus): PipelineStatus {
  if (final.status === 'failed') {
    const failed = final.steps.filter((s) => s.status === 'failed').map((s) => `${s.id} (${s.error?.type ?? 'Error'}: ${s.error?.message ?? ''})`);
    throw ApplicationFailure.create({ message: `pipeline ${plan.pipeline} failed: ${failed.join('; ')}`, type: 'PipelineFailed', nonRetryable: true, details: [final] });
  }
  if (final.status === 'cancelled') {
    throw ApplicationFailure.create({ message: `pipeline ${plan.pipeline} aborted by an operator`, type: 'PipelineAborted', nonRetryable: true, details: [final] });
  }
  return final;
}
