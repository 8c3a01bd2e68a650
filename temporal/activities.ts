/**
 * Temporal activity wrappers around executor/execute.ts (the one function both hosts use to run
 * a step attempt). They add what a distributed worker needs: heartbeats carrying progress details
 * (the UI shows them; a dead worker is detected after `heartbeat_timeout`), cancellation from
 * `Context.current().cancellationSignal`, errors mapped to ApplicationFailure (type = the step
 * error's type, so the RetryPolicy's `nonRetryableErrorTypes` apply; `nonRetryable` kept), and
 * the run loop's lifecycle observations (`observeRun`) through a RunObserver when the worker has one.
 */
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { Plan } from '../engine/plan.ts';
import { CachedStepFailure, classifyFailure, errorMessage } from '../lib/errors.ts';
import { digestJson } from '../lib/hash.ts';
import type { Logger } from '../lib/log.ts';
import { releaseAfterStep } from '../lib/native_memory.ts';
import type { RunObserver } from '../tracking/observer.ts';
import { readActivityInfoFrom } from '../tracking/stepRuns.ts';
import type { ObserveRequest, PipelineActivities, PlanRef, StepActivityRequest, StepActivityResult, StepFailureDetails } from './workflow/api.ts';
import { executeStep } from '../executor/execute.ts';
import type { StepProgress } from '../kinds/types.ts';

// the tracker tags child runs an observe activity writes with this activity's workflow ids
readActivityInfoFrom(() => Context.current().info);

/** What the activities need from their worker process. */
export interface TemporalActivityDeps {
  /** The artifact store; on a cluster it must live on storage every worker shares (TRADEML_HOME). */
  artifacts: ArtifactStore;
  projectRoot: string;
  dataRoot: string;
  log: Logger;
  observer?: RunObserver;
  /** Longest gap between heartbeats while a step reports no progress, ms (default: heartbeat timeout / 3, at most 10 s). */
  heartbeatEveryMs?: number;
}

/** Heartbeat details of a running step (what the Temporal UI shows under "Pending Activities"). */
export interface StepHeartbeat {
  step: string;
  /** The step's kind (`uses`). */
  kind: string;
  attempt: number;
  fraction?: number;
  current?: number;
  total?: number;
  message?: string;
}

/** The activity implementations registered by the cpu and gpu workers. */
export function createTemporalActivities(deps: TemporalActivityDeps): PipelineActivities {
  return {
    async runStep(req: StepActivityRequest): Promise<StepActivityResult> {
      const ctx = Context.current();
      const temporalAttempt = ctx.info.attempt;
      const attempt = req.attemptBase + temporalAttempt;
      const log = deps.log.child({ run: req.runId, step: req.step.id, attempt, workflow: ctx.info.workflowExecution?.workflowId });
      let progress: StepProgress = {};
      const beat = () => ctx.heartbeat(heartbeatDetails(req.step.id, req.step.uses, attempt, progress));
      const every = deps.heartbeatEveryMs ?? Math.max(50, Math.min(10_000, Math.floor(req.step.heartbeat_timeout_ms / 3)));
      beat();
      const timer = setInterval(beat, every);
      try {
        const r = await executeStep(
          { runId: req.runId, pipeline: req.pipeline, step: req.step, params: req.params, attempt, upstream: req.upstream, force: req.force },
          {
            artifacts: deps.artifacts,
            // the worker's state home: its artifact store lives at <home>/artifacts
            home: path.dirname(deps.artifacts.root),
            log,
            progress: (p) => {
              progress = p;
              beat();
            },
            signal: ctx.cancellationSignal,
            projectRoot: deps.projectRoot,
            dataRoot: deps.dataRoot,
          },
        );
        return { outputs: r.outputs, cacheHit: r.cacheHit, cacheKey: r.cacheKey, durationMs: r.durationMs, attempt: temporalAttempt, resolvedWith: r.resolvedWith };
      } catch (e) {
        if (ctx.cancellationSignal.aborted) {
          log.warn({ reason: errorMessage(ctx.cancellationSignal.reason) }, 'step cancelled');
          throw ctx.cancellationSignal.reason;
        }
        const failure = toApplicationFailure(e, temporalAttempt);
        log.warn({ type: failure.type, nonRetryable: failure.nonRetryable }, failure.message);
        throw failure;
      } finally {
        clearInterval(timer);
        releaseAfterStep();
      }
    },

    async observeRun(req: ObserveRequest): Promise<void> {
      const o = deps.observer;
      if (!o) return;
      if (req.kind === 'runStarted') await o.runStarted(req.run);
      else if (req.kind === 'stepFinished') await o.stepFinished(req.step, { run: req.run, ...(req.steps ? { steps: req.steps } : {}) });
      else if (req.kind === 'approvalDecided') await o.approvalDecided({ runId: req.runId, stepId: req.stepId, approved: req.approved, by: req.by, at: req.at, comment: req.comment });
      else if (req.kind === 'runFinished') await o.runFinished(req.run, req.steps);
    },

    async loadPlan(ref: PlanRef): Promise<Plan> {
      let plan: Plan;
      try {
        plan = deps.artifacts.readJson<Plan>(ref.uri);
      } catch (e) {
        throw ApplicationFailure.create({ message: `cannot read plan ${ref.uri} from the artifact store at ${deps.artifacts.root}: ${errorMessage(e)} (workers need the shared TRADEML_HOME)`, type: 'PlanNotFound', nonRetryable: true });
      }
      const { digest, ...body } = plan;
      if (digest !== ref.digest || digestJson(body) !== ref.digest) {
        throw ApplicationFailure.create({ message: `plan ${ref.uri} does not match digest ${ref.digest}`, type: 'PlanDigestMismatch', nonRetryable: true });
      }
      return plan;
    },
  };
}

/**
 * Maps a step error to the ApplicationFailure Temporal records, by the same classification the
 * embedded host uses ({@link classifyFailure}: `type` matched by the RetryPolicy's
 * nonRetryableErrorTypes, a UserError never retried), details `[{ attempt, details }]`.
 */
export function toApplicationFailure(e: unknown, attempt: number): ApplicationFailure {
  if (e instanceof ApplicationFailure) return e;
  const f = classifyFailure(e);
  const details: StepFailureDetails = { attempt, ...(e instanceof CachedStepFailure ? { cached: true } : {}), ...(f.details !== undefined ? { details: f.details } : {}) };
  return ApplicationFailure.create({ message: f.message, type: f.type, nonRetryable: f.nonRetryable, details: [details], cause: e instanceof Error ? e : undefined });
}


function heartbeatDetails(step: string, kind: string, attempt: number, p: StepProgress): StepHeartbeat {
  const d: StepHeartbeat = { step, kind, attempt };
  if (p.fraction !== undefined) d.fraction = p.fraction;
  if (p.current !== undefined) d.current = p.current;
  if (p.total !== undefined) d.total = p.total;
  if (p.message !== undefined) d.message = p.message;
  return d;
}


