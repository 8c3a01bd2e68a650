/**
 * The pipeline workflow's public surface: its input, the Signals/Updates/Query the CLI and the
 * Temporal UI send, the status it reports, and the step activity's request/result payloads.
 * Pure: imported by the workflow bundle, the activities and the client alike.
 */
import type { RunRecord, StepRecord } from '../../tracking/observer.ts';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { StepOutputs, UpstreamStep } from '../../kinds/types.ts';
import type { Plan, PlanStep } from '../../engine/plan.ts';
import type { RunStatus, StepError, StepStatus } from '../../engine/scheduler.ts';

/** A plan stored in the shared artifact store (for plans too big to travel as a payload). */
export interface PlanRef {
  uri: string;
  digest: string;
}

/** Input of `pipelineWorkflow`: the compiled Plan inline, or its artifact URI + digest. */
export interface PipelineInput {
  plan?: Plan;
  planRef?: PlanRef;
  /** Task-queue prefix: steps go to `<prefix>-cpu` / `<prefix>-gpu`. */
  taskQueuePrefix: string;
  /** Run id seen by steps and the tracker (default: the workflow id). */
  runId?: string;
  /** Bypass the step cache for every step (`--no-cache`). */
  noCache?: boolean;
  /** Report run start/finish and approvals to the workers' RunObserver (an `observeRun` activity). */
  observe?: boolean;
}

/** One attempt-series of a step, as the workflow asks a worker to run it. JSON only. */
export interface StepActivityRequest {
  runId: string;
  pipeline: string;
  step: PlanStep;
  params: Record<string, unknown>;
  /** Attempts this step already made in this run (before operator retries); the activity adds Temporal's attempt. */
  attemptBase: number;
  /** Every transitive upstream step: kind, status, outputs (artifact refs + metrics), error. */
  upstream: Record<string, UpstreamStep>;
  force: boolean;
}

/** What a step activity returns: small JSON (artifact refs, digests, metrics). */
export interface StepActivityResult {
  outputs: StepOutputs;
  cacheHit: boolean;
  cacheKey: string;
  durationMs: number;
  /** Temporal attempt number (1-based) that succeeded. */
  attempt: number;
  /** The step's `with` after interpolation and schema defaults (tracked as run params). */
  resolvedWith?: unknown;
}

/** Details attached to the ApplicationFailure a step activity throws. */
export interface StepFailureDetails {
  /** Temporal attempt number (1-based) that failed. */
  attempt: number;
  details?: unknown;
}

/** Run lifecycle notifications for the workers' RunObserver. */
export type ObserveRequest =
  | { kind: 'runStarted'; run: RunView }
  | { kind: 'approvalDecided'; runId: string; stepId: string; approved: boolean; by: string; at: string; comment: string }
  | { kind: 'runFinished'; run: RunView; steps: StepRecordView[] };

/** A run as the workers' RunObserver sees it (type only: erased from the workflow bundle). */
export type RunView = RunRecord;

/** A finished step as the workers' RunObserver sees it. */
export type StepRecordView = StepRecord;

/** Activities the workflow calls (implemented in temporal/activities.ts). */
export interface PipelineActivities {
  runStep(req: StepActivityRequest): Promise<StepActivityResult>;
  observeRun(req: ObserveRequest): Promise<void>;
  loadPlan(ref: PlanRef): Promise<Plan>;
}

/** An operator decision after a failed step. `stepId` omitted on retry: every failed step. */
export interface OperatorRequest {
  stepId?: string;
  by?: string;
  reason?: string;
}

/** An approve/reject decision. `stepId` may be omitted when exactly one step waits. */
export interface ApprovalRequest {
  stepId?: string;
  by: string;
  comment?: string;
}

export interface StepView {
  id: string;
  uses: string;
  queue: string;
  needs: string[];
  status: StepStatus;
  /** Attempts made in this run, Temporal retries and operator retries included. */
  attempts: number;
  startedAt?: string;
  endedAt?: string;
  cacheHit?: boolean;
  outputs?: StepOutputs;
  error?: StepError;
  skipReason?: 'upstream_failed' | 'operator';
}

export interface OperatorAction {
  at: string;
  action: 'retry' | 'skip' | 'abort' | 'approve' | 'reject';
  stepIds: string[];
  by: string;
  detail?: string;
}

/** What the `status` Query (and the workflow's result) reports. */
export interface PipelineStatus {
  runId: string;
  pipeline: string;
  planDigest: string;
  params: Record<string, unknown>;
  /** Scheduler run status, or `waiting_operator` while a failed run waits for retry/skip/abort. */
  status: RunStatus | 'waiting_operator';
  /** What the run waits for, and until when (ISO time). */
  waiting?: { kind: 'approval' | 'operator'; steps: string[]; deadline: string };
  steps: StepView[];
  actions: OperatorAction[];
  startedAt: string;
  endedAt?: string;
}

/**
 * Signals: fire-and-forget (the Temporal UI can send them). Invalid ones are recorded and ignored.
 * Each has an Update of the same name (Signal and Update handlers live in separate namespaces).
 */
export const retrySignal = defineSignal<[OperatorRequest]>('retry');
export const skipSignal = defineSignal<[OperatorRequest]>('skip');
export const abortSignal = defineSignal<[OperatorRequest]>('abort');
export const approveSignal = defineSignal<[ApprovalRequest]>('approve');
export const rejectSignal = defineSignal<[ApprovalRequest]>('reject');

/** Updates: validated (rejected before entering history when invalid), return the new status. */
export const retryUpdate = defineUpdate<PipelineStatus, [OperatorRequest]>('retry');
export const skipUpdate = defineUpdate<PipelineStatus, [OperatorRequest]>('skip');
export const abortUpdate = defineUpdate<PipelineStatus, [OperatorRequest]>('abort');
export const approveUpdate = defineUpdate<PipelineStatus, [ApprovalRequest]>('approve');
export const rejectUpdate = defineUpdate<PipelineStatus, [ApprovalRequest]>('reject');

/** Query: the DAG state. */
export const statusQuery = defineQuery<PipelineStatus>('status');
