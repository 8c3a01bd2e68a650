/**
 * The pipeline workflow's public surface: its input, the Signals/Updates/Query the CLI and the
 * Temporal UI send, the status it reports, and the step activity's request/result payloads.
 * Pure: imported by the workflow bundle, the activities and the client alike.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApprovalRequest, ObserveRequest, OperatorRequest, StepRunRequest, StepRunResult } from '../../engine/loop.ts';
import type { Plan } from '../../engine/plan.ts';
import type { OperatorAction, RunRecord, RunStatusView, StepRecord, StepView } from '../../engine/records.ts';

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

/** One attempt-series of a step, as the workflow asks a worker to run it (the loop's request). */
export type StepActivityRequest = StepRunRequest;

/** What a step activity returns (the loop's result). */
export type StepActivityResult = StepRunResult;

/** Details attached to the ApplicationFailure a step activity throws. */
export interface StepFailureDetails {
  /** Temporal attempt number (1-based) that failed. */
  attempt: number;
  /** A deterministic failure replayed from the step cache. */
  cached?: boolean;
  details?: unknown;
}

/** A run as the workers' RunObserver sees it (type only: erased from the workflow bundle). */
export type RunView = RunRecord;

/** A finished step as the workers' RunObserver sees it. */
export type StepRecordView = StepRecord;

/** What the `status` Query (and the workflow's result) reports. */
export type PipelineStatus = RunStatusView;

/** Activities the workflow calls (implemented in temporal/activities.ts). */
export interface PipelineActivities {
  runStep(req: StepActivityRequest): Promise<StepActivityResult>;
  observeRun(req: ObserveRequest): Promise<void>;
  loadPlan(ref: PlanRef): Promise<Plan>;
}

export type { ApprovalRequest, ObserveRequest, OperatorRequest, OperatorAction, StepView };

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
