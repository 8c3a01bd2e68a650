/**
 * The run loop's contract with its hosts (engine/loop.ts): what a step run is asked and returns,
 * operator requests, lifecycle observations, a tick's durable transition, the host interface and
 * the loop's options. Pure types (part of the workflow bundle).
 */
import type { PlanStep } from './plan.ts';
import type { RunRecord, RunStatusView, StepRecord } from './records.ts';
import type { RunState, StepState } from './scheduler.ts';
import type { UpstreamView } from './upstream.ts';

/** One attempt-series of a step, as the loop asks its host to run it. JSON only (Temporal payload). */
export interface StepRunRequest {
  runId: string;
  pipeline: string;
  step: PlanStep;
  params: Record<string, unknown>;
  /** Attempts this step already made in this run; the host adds its own attempt number (1-based). */
  attemptBase: number;
  /** Every transitive upstream step: kind, status, outputs, error, provided contracts. */
  upstream: Record<string, UpstreamView>;
  force: boolean;
}

/** What a step run returns: small JSON (artifact refs, digests, metrics). */
export interface StepRunResult {
  outputs: Record<string, unknown>;
  cacheHit: boolean;
  cacheKey: string;
  durationMs: number;
  /** Host attempt number (1-based) that succeeded. */
  attempt: number;
  /** The step's `with` after interpolation and schema defaults. */
  resolvedWith?: unknown;
}

/** A step run that ended in failure, as the host reports it (the loop's `runStep` rejects with it). */
export interface StepFailure {
  message: string;
  type: string;
  nonRetryable: boolean;
  /** Attempts the host made (≥ 1). */
  attempts: number;
  /** The attempt was cancelled (abort, workflow cancellation or interruption). */
  cancelled: boolean;
  /** A deterministic failure replayed from the step cache. */
  cached?: boolean;
  details?: unknown;
}

/** An operator decision after a failed step. `stepId` omitted on retry: every failed step. */
export interface OperatorRequest {
  stepId?: string;
  /** Retry: re-run this step and what depends on it even if it succeeded (`retry --from`). */
  from?: boolean;
  by?: string;
  reason?: string;
}

/** An approve/reject decision. `stepId` may be omitted when exactly one step waits. */
export interface ApprovalRequest {
  stepId?: string;
  by: string;
  comment?: string;
}

/** A decision recorded outside the loop (embedded: by another CLI process). */
export type PolledDecision =
  | { action: 'approve' | 'reject'; request: ApprovalRequest; at: number }
  | { action: 'abort'; request: OperatorRequest; at: number };

/** Lifecycle notifications for the host's observer (tracker, reports). */
export type ObserveRequest =
  | { kind: 'runStarted'; run: RunRecord }
  /** `steps`: every other step finished so far, so an observer in any worker process sees the run's upstream (absent in histories recorded before it). */
  | { kind: 'stepFinished'; run: RunRecord; step: StepRecord; steps?: StepRecord[] }
  | { kind: 'approvalDecided'; runId: string; stepId: string; approved: boolean; by: string; at: string; comment: string }
  | { kind: 'runFinished'; run: RunRecord; steps: StepRecord[] };

/** One tick's durable changes (what the embedded host writes in one transaction). */
export interface Transition {
  events: { at: number; stepId: string | null; type: string; data?: unknown }[];
  /** Step id → new state, for every step whose state changed. */
  steps: Record<string, StepState & { cache_key?: string }>;
  attemptsStarted: { stepId: string; attempt: number; at: number }[];
  attemptsEnded: { stepId: string; attempt: number; at: number; status: string; error?: string }[];
  /** Decisions polled from the host and applied this tick (so the host can mark them consumed). */
  consumed: PolledDecision[];
  status: RunStatusView['status'];
}

/** What the loop needs from its host. */
export interface LoopHost {
  /** Who retries failed attempts: the host (Temporal RetryPolicy) or the engine (scheduler backoff). */
  readonly retries: 'host' | 'engine';
  /** Current time, epoch ms (workflow time inside Temporal). */
  now(): number;
  /** Runs a step; rejects with a {@link StepFailure}. `attemptKey` is unique per launch (`<step>-<n>`). */
  runStep(step: PlanStep, req: StepRunRequest, attemptKey: string): Promise<StepRunResult>;
  /** Requests cancellation of a running step started by {@link LoopHost.runStep}. */
  cancelStep(stepId: string): void;
  /** Resolves true once `cond()` holds, false after `timeoutMs` (none when undefined). */
  waitFor(cond: () => boolean, timeoutMs?: number): Promise<boolean>;
  /** Persists a tick's transition before its started steps are dispatched. */
  commit?(t: Transition): Promise<void>;
  /** Decisions recorded elsewhere since the last call. */
  pollDecisions?(): Promise<PolledDecision[]>;
  /** How often to poll decisions while something waits for one, ms. */
  readonly pollIntervalMs?: number;
  /** Best-effort lifecycle notification; failures must not fail the run. */
  observe?(req: ObserveRequest): Promise<void>;
  /** Step-level events for progress renderers. */
  onStepEvent?(e: { type: 'started' | 'finished' | 'retry_wait' | 'approval_waiting'; stepId: string; queue: string; state: StepState; attempt: number; show?: Record<string, unknown> }): void;
  log?(message: string, attrs?: Record<string, unknown>): void;
  /**
   * Workflow code versioning (docs/temporal.md § Versioning): whether the run takes the code path
   * introduced under `patchId`. Temporal's `patched()`; hosts without histories: always true.
   */
  patched?(patchId: string): boolean;
}

/** Patch ids of behaviour added to the loop after runs could be parked on it (see docs/temporal.md). */
export const PATCHES = {
  /** Each finished step is observed from the loop (tracking outside the step attempt). */
  observeStepFinished: 'trademl-observe-step-finished-v1',
  /**
   * A cancelled workflow waits (non-cancellable) until its running steps stopped, then observes
   * the run's end (MLflow run KILLED) before it closes (temporal/workflow/pipeline.ts).
   */
  cancelDrain: 'trademl-cancel-drain-v1',
  /** A run that starts waiting for an approval in place (Temporal) is observed as it stands (report and tracker run before the decision). */
  observeWaiting: 'trademl-observe-waiting-approval-v1',
  /** The workflow keeps TradeML's search attributes current (temporal/workflow/visibility.ts). */
  visibility: 'trademl-visibility-v1',
  /** Run inputs read at start: the data cut-off `params.as_of` and a re-run's (or continuation's) seed state. */
  runInputs: 'trademl-run-inputs-v1',
  /**
   * A decision (Update/Signal) that arrives while the loop awaits an observation wakes the loop's
   * next wait at once; before, the wait compared against a version taken after the decision and
   * could block forever (an approval right after the run parked hung the run).
   */
  wakeOnDecision: 'trademl-wake-on-decision-v1',
  /** A run parked on an approval or an operator hands off to a continuation workflow and closes (temporal/workflow/handoff.ts). */
  handOff: 'trademl-hand-off-v1',
} as const;

export interface LoopOptions {
  runId: string;
  /** Bypass the step cache for every step (`--no-cache`). */
  noCache?: boolean;
  /** Notify the host's observer. */
  observe?: boolean;
  /** Resume from this state (embedded resume/retry); default: every step pending. */
  state?: RunState;
  /** Attempts already made per step (resume); default 0. */
  attempts?: Record<string, number>;
  /** Steps to run bypassing the cache (operator retry). */
  force?: Iterable<string>;
  /** When the run started (resume), epoch ms. */
  startedAt?: number;
  /** A run stuck on failed `on_failure: wait` steps waits for an operator (Temporal). */
  operatorWait?: boolean;
  /** Return instead of waiting when only approvals are pending (embedded `--no-wait`). */
  parkOnApproval?: boolean;
  /** Approve every approval at once as this approver (demos). */
  autoApprove?: string;
}

/** How a loop ended. */
export interface LoopOutcome {
  status: RunStatusView['status'] | 'interrupted';
  state: RunState;
  view: RunStatusView;
}

