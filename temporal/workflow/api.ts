/**
 * The pipeline workflow's public surface: its input, the Signals/Updates/Query the CLI and the
 * Temporal UI send, the status it reports, and the step activity's request/result payloads.
 * Pure: imported by the workflow bundle, the activities and the client alike.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApprovalRequest, ObserveRequest, OperatorRequest, StepRunRequest, StepRunResult } from '../../engine/loop.ts';
import type { Plan } from '../../engine/plan.ts';
import type { RunState } from '../../engine/scheduler.ts';
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
  /** Keep TradeML's search attributes current (the client registered them: temporal/search-attributes.ts). */
  searchAttributes?: boolean;
  /**
   * Data cut-off, ISO time (`trademl temporal run --as-of`). Scheduled and backfilled runs default
   * to their scheduled time (search attribute TemporalScheduledStartTime). Steps see it as `params.as_of`.
   */
  asOf?: string;
  /** Start from an earlier run's state (`trademl temporal rerun`): its succeeded outputs are reused. */
  seed?: RunSeed;
  /**
   * Hand the run to a continuation workflow (`<workflow id>-approval` / `-operator`, parent close
   * policy ABANDON) when it parks on an approval or an operator decision with nothing computing, and
   * close: a parked run then no longer holds its schedule (schedules set it; docs/temporal.md § Schedules).
   */
  handOff?: boolean;
}

/** The state a re-run starts from (temporal/rerun.ts builds it from the earlier run's status). */
export interface RunSeed {
  /** The run it continues: workflow id and run id. */
  fromWorkflowId: string;
  fromRunId?: string;
  /** Steps re-run (the named ones, what depends on them, and every step that had not succeeded). */
  rerun: string[];
  state: RunState;
  /** Attempts each step made in the earlier run (attempt numbers continue). */
  attempts: Record<string, number>;
  /** The same TradeML run continued (a hand-off): its start was observed already; times count from `startedAt`. */
  continued?: { startedAt: string };
}

/** Where a run that handed off (parked on an approval or an operator) continues. */
export interface HandOff {
  workflowId: string;
  waitingFor: 'approval' | 'operator';
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

/** What the `status` Query (and the workflow's result) reports; `handedOff` when the run continues in another workflow. */
export type PipelineStatus = RunStatusView & { handedOff?: HandOff };

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
