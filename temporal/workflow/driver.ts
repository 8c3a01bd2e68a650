/**
 * The pipeline workflow's decision loop, written against a small host interface so the SAME loop
 * runs inside Temporal (temporal/workflow/pipeline.ts: activities, condition(), workflow time) and in a
 * plain simulation (tests). It drives the shared pure scheduler (engine/scheduler.ts) unchanged:
 * every state change is a scheduler event; the loop only executes what `decide` returns.
 *
 * Differences from the local runtime, by design:
 * - Temporal retries each activity with the step's RetryPolicy, so a failure that reaches the
 *   loop is final (`failed` with `final: true`).
 * - When the run is stuck on failed steps whose `on_failure` is `wait`, the loop waits (up to
 *   `on_failure_timeout_ms`) for an operator decision: retry (scheduler `reset`), skip (`skip`),
 *   abort (`cancel`).
 * Pure: no Node imports (part of the workflow bundle).
 */
import type { UpstreamStep } from '../../kinds/types.ts';
import { ancestorsOf, descendantsOf } from '../../engine/graph.ts';
import type { Plan, PlanStep } from '../../engine/plan.ts';
import { decide, initialState, reduce, runStatus, type EngineEvent, type RunState, type StepError } from '../../engine/scheduler.ts';
import { parseDuration } from '../../lib/duration.ts';
import type {
  ApprovalRequest,
  ObserveRequest,
  OperatorAction,
  OperatorRequest,
  PipelineStatus,
  RunView,
  StepActivityRequest,
  StepActivityResult,
  StepRecordView,
  StepView,
} from './api.ts';

/** A step attempt-series that ended in failure, as the host reports it. */
export interface StepFailure {
  message: string;
  type: string;
  nonRetryable: boolean;
  /** Temporal attempts made (≥ 1); 1 when unknown. */
  attempts: number;
  /** The attempt was cancelled (abort or workflow cancellation). */
  cancelled: boolean;
  details?: unknown;
}

/** What the loop needs from its host. */
export interface DriverHost {
  /** Current time, epoch ms (workflow time inside Temporal). */
  now(): number;
  /** Runs a step (with its retry policy); rejects with a {@link StepFailure}. */
  runStep(step: PlanStep, req: StepActivityRequest, activityId: string): Promise<StepActivityResult>;
  /** Requests cancellation of a running step started by {@link runStep}. */
  cancelStep(stepId: string): void;
  /** Resolves true once `cond()` holds, false after `timeoutMs` (no timeout when undefined). */
  waitFor(cond: () => boolean, timeoutMs?: number): Promise<boolean>;
  /** Best-effort lifecycle notification (tracker); failures must not fail the run. */
  observe?(req: ObserveRequest): Promise<void>;
  log?(message: string, attrs?: Record<string, unknown>): void;
}

export interface DriverOptions {
  runId: string;
  noCache?: boolean;
  observe?: boolean;
}

/** Error types after which a failed run ends at once instead of waiting for an operator. */
const NO_WAIT_TYPES = new Set(['ApprovalRejected', 'Cancelled']);

/** Drives one run of a plan to its end. Create one per workflow execution. */
export class PipelineDriver {
  private state: RunState;
  private readonly byId: Map<string, PlanStep>;
  private readonly needs: Record<string, string[]>;
  /** Cumulative attempts per step (Temporal retries + operator retries). */
  private readonly attempts: Record<string, number> = {};
  /** Activity starts per step (names activity ids `<step>-<n>`). */
  private readonly launches: Record<string, number> = {};
  private readonly running = new Set<string>();
  private readonly completions: { stepId: string; at: number; result?: StepActivityResult; failure?: StepFailure }[] = [];
  private readonly approvalDeadlines = new Map<string, number>();
  private readonly force = new Set<string>();
  private readonly resolvedWith: Record<string, unknown> = {};
  private readonly actions: OperatorAction[] = [];
  private readonly pendingObservations: ObserveRequest[] = [];
  /** Bumped by every operator action, so the loop wakes up. */
  private version = 0;
  private operatorDeadline: number | undefined;
  private operatorWaitExpired = false;
  private readonly startedAt: number;
  private endedAt: number | undefined;

  constructor(
    readonly plan: Plan,
    private readonly host: DriverHost,
    private readonly opts: DriverOptions,
  ) {
    this.state = initialState(plan);
    this.byId = new Map(plan.steps.map((s) => [s.id, s]));
    this.needs = Object.fromEntries(plan.steps.map((s) => [s.id, s.needs]));
    for (const s of plan.steps) this.attempts[s.id] = 0;
    this.startedAt = host.now();
  }

  /** Runs the loop until the run is over; returns the final status. */
  async run(): Promise<PipelineStatus> {
    if (this.opts.observe) await this.notify({ kind: 'runStarted', run: this.runView() });
    for (;;) {
      const now = this.host.now();
      this.drainCompletions();
      this.expireApprovals(now);
      const d = decide(this.plan, this.state, now);
      for (const id of d.awaitApproval) {
        this.apply({ type: 'approval_waiting', stepId: id, at: now });
        this.approvalDeadlines.set(id, now + approvalTimeoutMs(this.byId.get(id)!));
      }
      for (const id of d.start) this.launch(id, now);
      await this.flushObservations();
      if (d.finished && this.running.size === 0 && this.completions.length === 0) {
        if (!this.shouldWaitForOperator()) break;
        this.operatorDeadline ??= now + this.operatorTimeoutMs();
        const seen = this.version;
        const decided = await this.host.waitFor(() => this.version !== seen, Math.max(0, this.operatorDeadline - now));
        if (!decided) {
          this.operatorWaitExpired = true;
          this.host.log?.('no operator decision before the deadline; the run fails', { steps: this.failedIds() });
        }
        continue;
      }
      const seen = this.version;
      const deadline = this.nextApprovalDeadline();
      await this.host.waitFor(() => this.completions.length > 0 || this.version !== seen, deadline === undefined ? undefined : Math.max(0, deadline - now));
    }
    this.endedAt = this.host.now();
    const final = this.status();
    if (this.opts.observe) await this.notify({ kind: 'runFinished', run: this.runView(), steps: this.stepRecords() });
    return final;
  }

  /** The DAG state for the `status` Query. */
  status(): PipelineStatus {
    const waitingApproval = this.plan.steps.filter((s) => this.state.steps[s.id]!.status === 'waiting_approval').map((s) => s.id);
    const operatorWait = this.operatorDeadline !== undefined && this.endedAt === undefined && this.running.size === 0 && this.shouldWaitForOperator();
    let waiting: PipelineStatus['waiting'];
    if (operatorWait) waiting = { kind: 'operator', steps: this.failedIds(), deadline: iso(this.operatorDeadline!) };
    else if (waitingApproval.length) waiting = { kind: 'approval', steps: waitingApproval, deadline: iso(Math.min(...waitingApproval.map((id) => this.approvalDeadlines.get(id)!))) };
    return {
      runId: this.opts.runId,
      pipeline: this.plan.pipeline,
      planDigest: this.plan.digest,
      params: this.plan.params,
      status: operatorWait ? 'waiting_operator' : runStatus(this.state),
      ...(waiting ? { waiting } : {}),
      steps: this.plan.steps.map((s) => this.stepView(s)),
      actions: [...this.actions],
      startedAt: iso(this.startedAt),
      ...(this.endedAt !== undefined ? { endedAt: iso(this.endedAt) } : {}),
    };
  }

  /** Throws an Error explaining why `retry` is not possible now (Update validator). */
  validateRetry(req: OperatorRequest): void {
    this.retryTargets(req);
  }

  /** Operator `retry`: re-runs the failed step (all failed steps when none named) and its dependents. */
  retry(req: OperatorRequest): PipelineStatus {
    const targets = this.retryTargets(req);
    this.apply({ type: 'reset', stepIds: targets });
    for (const s of this.plan.steps) if (this.state.steps[s.id]!.status === 'pending') this.force.add(s.id);
    this.operatorAction('retry', targets, req.by, req.reason);
    return this.status();
  }

  /** Throws unless `skip` is possible now. */
  validateSkip(req: OperatorRequest): void {
    this.skipTarget(req);
  }

  /** Operator `skip`: gives up on a failed step and lets its dependents run. */
  skip(req: OperatorRequest): PipelineStatus {
    const id = this.skipTarget(req);
    this.apply({ type: 'skip', stepId: id, at: this.host.now() });
    this.operatorAction('skip', [id], req.by, req.reason);
    return this.status();
  }

  /** Throws unless the run can still be aborted. */
  validateAbort(_req: OperatorRequest): void {
    if (this.endedAt !== undefined || this.state.cancelled) throw new Error('the run already ended or is being aborted');
  }

  /** Operator `abort`: cancels running steps, skips everything not started, ends the run cancelled. */
  abort(req: OperatorRequest): PipelineStatus {
    this.validateAbort(req);
    this.apply({ type: 'cancel', at: this.host.now() });
    for (const id of this.running) this.host.cancelStep(id);
    this.operatorAction('abort', [...this.running], req.by, req.reason);
    return this.status();
  }

  /** Throws unless `req` names an approver and a step that waits for approval. */
  validateApproval(req: ApprovalRequest): void {
    this.approvalTarget(req);
  }

  /** Approves or rejects a waiting approval step. */
  decideApproval(req: ApprovalRequest, approved: boolean): PipelineStatus {
    const id = this.approvalTarget(req);
    const at = this.host.now();
    const by = req.by.trim();
    const comment = req.comment ?? '';
    this.apply(approved ? { type: 'approved', stepId: id, at, by, comment } : { type: 'rejected', stepId: id, at, by, comment });
    this.approvalDeadlines.delete(id);
    this.operatorAction(approved ? 'approve' : 'reject', [id], by, comment || undefined);
    if (this.opts.observe) this.pendingObservations.push({ kind: 'approvalDecided', runId: this.opts.runId, stepId: id, approved, by, at: iso(at), comment });
    return this.status();
  }

  /** Records an operator request that was refused (a Signal cannot be rejected before it is delivered). */
  refused(action: OperatorAction['action'], req: OperatorRequest | ApprovalRequest, reason: string): void {
    this.actions.push({ at: iso(this.host.now()), action, stepIds: req.stepId ? [req.stepId] : [], by: req.by ?? 'unknown', detail: `refused: ${reason}` });
    this.host.log?.(`operator ${action} refused: ${reason}`, { stepId: req.stepId });
  }

  // ---------------------------------------------------------------------------------------------

  private apply(ev: EngineEvent): void {
    this.state = reduce(this.plan, this.state, ev);
    if (ev.type === 'reset' || ev.type === 'skip' || ev.type === 'cancel' || ev.type === 'approved' || ev.type === 'rejected') {
      this.version++;
      this.operatorDeadline = undefined;
      this.operatorWaitExpired = false;
    }
  }

  private launch(id: string, now: number): void {
    const step = this.byId.get(id)!;
    this.apply({ type: 'started', stepId: id, at: now });
    const n = (this.launches[id] = (this.launches[id] ?? 0) + 1);
    const req: StepActivityRequest = {
      runId: this.opts.runId,
      pipeline: this.plan.pipeline,
      step,
      params: this.plan.params,
      attemptBase: this.attempts[id]!,
      upstream: this.upstreamOf(id),
      force: this.opts.noCache === true || this.force.has(id),
    };
    this.force.delete(id);
    this.running.add(id);
    this.host.runStep(step, req, `${id}-${n}`).then(
      (result) => this.completions.push({ stepId: id, at: this.host.now(), result }),
      (failure: StepFailure) => this.completions.push({ stepId: id, at: this.host.now(), failure }),
    );
  }

  private drainCompletions(): void {
    for (const c of this.completions.splice(0)) {
      this.running.delete(c.stepId);
      const base = this.attempts[c.stepId]!;
      if (c.result) {
        this.attempts[c.stepId] = base + Math.max(1, c.result.attempt);
        if (c.result.resolvedWith !== undefined) this.resolvedWith[c.stepId] = c.result.resolvedWith;
        this.apply({ type: 'succeeded', stepId: c.stepId, at: c.at, outputs: c.result.outputs, cacheHit: c.result.cacheHit });
      } else {
        const f = c.failure!;
        this.attempts[c.stepId] = base + Math.max(1, f.attempts);
        const error: StepError = { message: f.message, type: f.cancelled ? 'Cancelled' : f.type, ...(f.details !== undefined ? { details: f.details } : {}) };
        this.apply({ type: 'failed', stepId: c.stepId, at: c.at, error, nonRetryable: f.nonRetryable, final: true });
      }
    }
  }

  private expireApprovals(now: number): void {
    for (const [id, deadline] of [...this.approvalDeadlines]) {
      if (this.state.steps[id]!.status !== 'waiting_approval') {
        this.approvalDeadlines.delete(id);
        continue;
      }
      if (now < deadline) continue;
      this.approvalDeadlines.delete(id);
      const timeout = String((this.byId.get(id)!.with as { timeout?: unknown }).timeout ?? '72h');
      this.apply({ type: 'failed', stepId: id, at: now, final: true, error: { message: `no approval decision within ${timeout}`, type: 'ApprovalTimeout' } });
    }
  }

  private nextApprovalDeadline(): number | undefined {
    let min: number | undefined;
    for (const d of this.approvalDeadlines.values()) min = Math.min(min ?? Infinity, d);
    return min;
  }

  private failedIds(): string[] {
    return this.plan.steps.filter((s) => this.state.steps[s.id]!.status === 'failed').map((s) => s.id);
  }

  /** A finished run with failed steps waits for an operator when every failed step says `on_failure: wait`. */
  private shouldWaitForOperator(): boolean {
    if (this.state.cancelled || this.operatorWaitExpired) return false;
    const failed = this.failedIds();
    if (!failed.length) return false;
    return failed.every((id) => this.byId.get(id)!.on_failure === 'wait' && !NO_WAIT_TYPES.has(this.state.steps[id]!.error?.type ?? ''));
  }

  private operatorTimeoutMs(): number {
    return Math.max(...this.failedIds().map((id) => this.byId.get(id)!.on_failure_timeout_ms));
  }

  private retryTargets(req: OperatorRequest): string[] {
    if (this.endedAt !== undefined) throw new Error('the run already ended');
    if (this.state.cancelled) throw new Error('the run was aborted');
    const targets = req.stepId ? [req.stepId] : this.failedIds();
    if (!targets.length) throw new Error('no failed step to retry');
    for (const id of targets) {
      const s = this.state.steps[id];
      if (!s) throw new Error(`unknown step "${id}"; steps: ${this.plan.steps.map((p) => p.id).join(', ')}`);
      if (s.status !== 'failed') throw new Error(`step "${id}" is ${s.status}; only a failed step can be retried`);
      const busy = [...descendantsOf(id, this.needs)].filter((d) => this.running.has(d));
      if (busy.length) throw new Error(`step "${id}" has running dependents (${busy.join(', ')}); wait for them to finish`);
    }
    return targets;
  }

  private skipTarget(req: OperatorRequest): string {
    if (this.endedAt !== undefined) throw new Error('the run already ended');
    if (this.state.cancelled) throw new Error('the run was aborted');
    const failed = this.failedIds();
    const id = req.stepId ?? (failed.length === 1 ? failed[0] : undefined);
    if (!id) throw new Error(failed.length ? `name the step to skip: one of ${failed.join(', ')}` : 'no failed step to skip');
    const s = this.state.steps[id];
    if (!s) throw new Error(`unknown step "${id}"`);
    if (s.status !== 'failed') throw new Error(`step "${id}" is ${s.status}; only a failed step can be skipped`);
    return id;
  }

  private approvalTarget(req: ApprovalRequest): string {
    if (!req || typeof req.by !== 'string' || !req.by.trim()) throw new Error('approver name required (by)');
    const waiting = this.plan.steps.filter((s) => this.state.steps[s.id]!.status === 'waiting_approval').map((s) => s.id);
    const id = req.stepId ?? (waiting.length === 1 ? waiting[0] : undefined);
    if (!id) throw new Error(waiting.length ? `name the step: one of ${waiting.join(', ')} waits for approval` : 'no step waits for approval');
    const s = this.state.steps[id];
    if (!s) throw new Error(`unknown step "${id}"`);
    if (s.status !== 'waiting_approval') throw new Error(`step "${id}" is ${s.status}, not waiting for approval`);
    return id;
  }

  private operatorAction(action: OperatorAction['action'], stepIds: string[], by: string | undefined, detail: string | undefined): void {
    this.actions.push({ at: iso(this.host.now()), action, stepIds, by: by?.trim() || 'unknown', ...(detail ? { detail } : {}) });
  }

  private upstreamOf(id: string): Record<string, UpstreamStep> {
    const out: Record<string, UpstreamStep> = {};
    for (const a of this.plan.steps) {
      if (!ancestorsOf(id, this.needs).has(a.id)) continue;
      const s = this.state.steps[a.id]!;
      out[a.id] = {
        uses: a.uses,
        status: s.status === 'succeeded' ? 'succeeded' : s.status === 'failed' ? 'failed' : 'skipped',
        outputs: s.outputs ?? {},
        ...(s.error ? { error: s.error } : {}),
      };
    }
    return out;
  }

  private stepView(step: PlanStep): StepView {
    const s = this.state.steps[step.id]!;
    const attempts = step.uses === 'approval' ? s.attempt : this.attempts[step.id]! + (s.status === 'running' ? 1 : 0);
    return {
      id: step.id,
      uses: step.uses,
      queue: step.queue,
      needs: step.needs,
      status: s.status,
      attempts,
      ...(s.startedAt !== undefined ? { startedAt: iso(s.startedAt) } : {}),
      ...(s.endedAt !== undefined ? { endedAt: iso(s.endedAt) } : {}),
      ...(s.cacheHit !== undefined ? { cacheHit: s.cacheHit } : {}),
      ...(s.outputs ? { outputs: s.outputs } : {}),
      ...(s.error ? { error: s.error } : {}),
      ...(s.skipReason ? { skipReason: s.skipReason } : {}),
    };
  }

  private runView(): RunView {
    const st = runStatus(this.state);
    return {
      runId: this.opts.runId,
      pipeline: this.plan.pipeline,
      planDigest: this.plan.digest,
      params: this.plan.params,
      status: st,
      startedAt: iso(this.startedAt),
      ...(this.endedAt !== undefined ? { endedAt: iso(this.endedAt) } : {}),
    };
  }

  private stepRecords(): StepRecordView[] {
    return this.plan.steps.map((step) => {
      const v = this.stepView(step);
      const s = this.state.steps[step.id]!;
      const status: StepRecordView['status'] = v.status === 'succeeded' ? 'succeeded' : v.status === 'failed' ? 'failed' : s.error?.type === 'Cancelled' ? 'cancelled' : 'skipped';
      return {
        runId: this.opts.runId,
        pipeline: this.plan.pipeline,
        stepId: step.id,
        uses: step.uses,
        status,
        cacheHit: v.cacheHit ?? false,
        attempts: v.attempts,
        ...(v.startedAt ? { startedAt: v.startedAt } : {}),
        ...(v.endedAt ? { endedAt: v.endedAt } : {}),
        ...(s.startedAt !== undefined && s.endedAt !== undefined ? { durationMs: s.endedAt - s.startedAt } : {}),
        with: this.resolvedWith[step.id] ?? step.with,
        outputs: v.outputs ?? {},
        ...(v.error ? { error: v.error } : {}),
      };
    });
  }

  private async flushObservations(): Promise<void> {
    for (const o of this.pendingObservations.splice(0)) await this.notify(o);
  }

  private async notify(req: ObserveRequest): Promise<void> {
    if (!this.host.observe) return;
    try {
      await this.host.observe(req);
    } catch (e) {
      this.host.log?.('run observer failed; the run goes on', { kind: req.kind, error: e instanceof Error ? e.message : String(e) });
    }
  }
}

/** The `with.timeout` of an approval step in ms (default 72h). */
export function approvalTimeoutMs(step: PlanStep): number {
  const t = (step.with as { timeout?: unknown }).timeout;
  return parseDuration(typeof t === 'string' ? t : '72h');
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
