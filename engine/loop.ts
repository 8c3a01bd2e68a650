/**
 * The one decision loop both hosts drive: the embedded runtime (embedded/, DuckDB run state,
 * in-process steps) and the Temporal workflow (temporal/workflow/pipeline.ts). Every state change
 * is a scheduler event (engine/scheduler.ts); the loop executes what `decide` returns through a
 * {@link LoopHost} (engine/loop-types.ts), which declares what differs: who retries attempts,
 * whether ticks are committed, where decisions come from, whether a failed run waits for an
 * operator. Pure: no Node imports (part of the workflow bundle).
 */
import type { Plan, PlanStep } from './plan.ts';
import { StepRecordCache, iso, runRecord, stepView, type OperatorAction, type RunRecord, type RunStatusView, type StepRecord } from './records.ts';
import { applyEvent, decide, initialState, runStatus, type EngineEvent, type RunState, type StepError } from './scheduler.ts';
import { upstreamOf } from './upstream.ts';
import { eventData, formatMs } from './events.ts';
import { PATCHES, type ApprovalRequest, type LoopHost, type LoopOptions, type LoopOutcome, type ObserveRequest, type OperatorRequest, type StepFailure, type StepRunRequest, type StepRunResult, type Transition } from './loop-types.ts';
import { approvalContext, approvalTarget, retryTargets, skipTarget } from './operators.ts';
import { PollThrottle } from './poll_throttle.ts';
export * from './loop-types.ts';

/** Error types after which a failed run ends at once instead of waiting for an operator. */
const NO_WAIT_TYPES = new Set(['ApprovalRejected', 'Cancelled']);

/** Drives one run of a plan. Create one per run execution (per workflow run, per CLI process). */
export class RunLoop {
  private state: RunState;
  private readonly byId: Map<string, PlanStep>;
  private readonly attempts: Record<string, number> = {};
  private readonly launches: Record<string, number> = {};
  private readonly running = new Set<string>();
  private readonly completions: { stepId: string; attempt: number; at: number; result?: StepRunResult; failure?: StepFailure }[] = [];
  private readonly approvalDeadlines = new Map<string, number>();
  private readonly force = new Set<string>();
  private readonly resolvedWith: Record<string, unknown> = {};
  private readonly actions: OperatorAction[] = [];
  private readonly observations: ObserveRequest[] = [];
  private tx: Transition;
  /** Bumped by every operator action, so waits wake up. */
  private version = 0;
  private operatorDeadline: number | undefined;
  private operatorWaitExpired = false;
  private interrupted = false;
  private readonly polls: PollThrottle;
  private readonly records: StepRecordCache;
  private readonly startedAt: number;
  private endedAt: number | undefined;

  constructor(
    readonly plan: Plan,
    private readonly host: LoopHost,
    private readonly opts: LoopOptions,
  ) {
    this.state = opts.state ? { steps: { ...opts.state.steps }, cancelled: opts.state.cancelled } : initialState(plan);
    this.byId = new Map(plan.steps.map((s) => [s.id, s]));
    for (const s of plan.steps) this.attempts[s.id] = opts.attempts?.[s.id] ?? 0;
    for (const id of opts.force ?? []) this.force.add(id);
    this.startedAt = opts.startedAt ?? host.now();
    this.tx = this.emptyTx();
    this.polls = new PollThrottle(host.pollIntervalMs ?? 1000);
    this.records = new StepRecordCache(opts.runId, plan);
    // approvals already waiting (resume): their deadline counts from when they started waiting
    for (const s of plan.steps) {
      const st = this.state.steps[s.id]!;
      if (st.status === 'waiting_approval' && s.control) this.approvalDeadlines.set(s.id, (st.startedAt ?? this.startedAt) + s.control.timeout_ms);
    }
  }

  /** Runs the loop until the run is over (or parked/interrupted); returns how it ended. */
  async run(): Promise<LoopOutcome> {
    if (this.opts.observe) this.observations.push({ kind: 'runStarted', run: this.record('running') });
    await this.flushObservations();
    for (;;) {
      const now = this.host.now();
      await this.applyPolledDecisions(now);
      this.drainCompletions();
      this.expireApprovals(now);
      let d = decide(this.plan, this.state, now);
      if (d.conditionFalse.length && !this.interrupted) {
        for (const id of d.conditionFalse) this.apply({ type: 'condition_false', stepId: id, at: now });
        d = decide(this.plan, this.state, now);
      }
      const decidedAt = this.version; // operator actions bump it: `d` stands until one changes the state
      for (const id of d.awaitApproval) this.park(id, now);
      const start = this.interrupted ? [] : this.opts.autoApprove && d.awaitApproval.length ? decide(this.plan, this.state, now).start : d.start;
      for (const id of start) this.apply({ type: 'started', stepId: id, at: now });
      const tickVersion = this.version; // a decision arriving from here on (Temporal: while an observation runs) must wake the wait below
      await this.commit();
      for (const id of start) this.launch(id);
      await this.flushObservations();

      const idle = this.running.size === 0 && this.completions.length === 0;
      if (idle && this.interrupted) break;
      // steps started this tick keep the run going; else `d` still holds unless an operator action (auto-approval, Update) changed the state
      const finished = start.length ? false : this.version === decidedAt ? d.finished : decide(this.plan, this.state, now).finished;
      if (idle && finished) {
        if (!this.shouldWaitForOperator()) break;
        this.operatorDeadline ??= now + this.operatorTimeoutMs();
        const seen = (this.host.patched?.(PATCHES.wakeOnDecision) ?? true) ? tickVersion : this.version;
        const decided = await this.wait(() => this.version !== seen, this.operatorDeadline - now);
        if (!decided && this.host.now() >= this.operatorDeadline) {
          this.operatorWaitExpired = true;
          this.host.log?.('no operator decision before the deadline; the run fails', { steps: this.failedIds() });
        }
        continue;
      }
      if (idle && this.opts.parkOnApproval && runStatus(this.state) === 'waiting_approval') break;
      const seen = (this.host.patched?.(PATCHES.wakeOnDecision) ?? true) ? tickVersion : this.version;
      const wakeAt = Math.min(d.wakeAt ?? Infinity, this.nextApprovalDeadline() ?? Infinity, this.polls.dueAt ?? Infinity);
      await this.wait(() => this.completions.length > 0 || this.version !== seen, wakeAt === Infinity ? undefined : Math.max(0, wakeAt - now));
    }
    const status = this.interrupted ? 'interrupted' : this.runStatus();
    if (!this.interrupted && status !== 'waiting_approval') {
      this.endedAt = this.host.now();
      if (this.opts.observe) this.observations.push({ kind: 'runFinished', run: this.record(runStatus(this.state), this.endedAt), steps: this.stepRecords() });
      await this.flushObservations();
    }
    return { status, state: this.state, view: this.status() };
  }
  /** The run's status alone (what {@link status} reports, without building every step's view). */
  private runStatus(): RunStatusView['status'] {
    return this.operatorDeadline !== undefined && this.endedAt === undefined && this.running.size === 0 && this.shouldWaitForOperator() ? 'waiting_operator' : runStatus(this.state);
  }

  /** The run's state for operators (Temporal `status` Query, embedded `status`). */
  status(): RunStatusView {
    const waitingApproval = this.plan.steps.filter((s) => this.state.steps[s.id]!.status === 'waiting_approval').map((s) => s.id);
    const operatorWait = this.runStatus() === 'waiting_operator';
    let waiting: RunStatusView['waiting'];
    if (operatorWait) {
      waiting = { kind: 'operator', steps: this.failedIds(), deadline: iso(this.operatorDeadline!), how: `retry, skip or abort (trademl temporal retry|skip|abort ${this.opts.runId} [--step <id>])` };
    } else if (waitingApproval.length) {
      const deadlines = waitingApproval.map((id) => this.approvalDeadlines.get(id)).filter((x): x is number => x !== undefined);
      waiting = { kind: 'approval', steps: waitingApproval, deadline: iso(deadlines.length ? Math.min(...deadlines) : this.host.now()), how: `approve or reject ${waitingApproval.join(', ')} (trademl approve|reject ${this.opts.runId} <step> --by NAME)` };
    }
    return {
      runId: this.opts.runId,
      pipeline: this.plan.pipeline,
      planDigest: this.plan.digest,
      params: this.plan.params,
      status: this.runStatus(),
      ...(waiting ? { waiting } : {}),
      steps: this.plan.steps.map((s) => stepView(s, this.state.steps[s.id]!, this.attemptsOf(s.id))),
      actions: [...this.actions],
      startedAt: iso(this.startedAt),
      ...(this.endedAt !== undefined ? { endedAt: iso(this.endedAt) } : {}),
    };
  }

  /** Throws an Error explaining why `retry` is not possible now (Update validator). */
  validateRetry(req: OperatorRequest): void {
    this.retryTargets(req);
  }

  /** Operator `retry`: re-runs the failed step (every failed step when none is named, or `from` a step) and its dependents. */
  retry(req: OperatorRequest): RunStatusView {
    const targets = this.retryTargets(req);
    this.apply({ type: 'reset', stepIds: targets });
    for (const s of this.plan.steps) if (this.state.steps[s.id]!.status === 'pending') this.force.add(s.id);
    this.operatorAction('retry', targets, req.by, req.reason);
    return this.status();
  }

  /** Throws unless `skip` is possible now. */
  validateSkip(req: OperatorRequest): void {
    skipTarget(this.plan, this.state, this.endedAt !== undefined, req);
  }

  /** Operator `skip`: gives up on a failed step and lets its dependents run. */
  skip(req: OperatorRequest): RunStatusView {
    const id = skipTarget(this.plan, this.state, this.endedAt !== undefined, req);
    this.apply({ type: 'skip', stepId: id, at: this.host.now() });
    this.operatorAction('skip', [id], req.by, req.reason);
    return this.status();
  }

  /** Throws unless the run can still be aborted. */
  validateAbort(_req: OperatorRequest): void {
    if (this.endedAt !== undefined || this.state.cancelled) throw new Error('the run already ended or is being aborted');
  }

  /** Operator `abort`: cancels running steps, skips everything not started, ends the run cancelled. */
  abort(req: OperatorRequest): RunStatusView {
    this.validateAbort(req);
    this.apply({ type: 'cancel', at: this.host.now() });
    for (const id of this.running) this.host.cancelStep(id);
    this.operatorAction('abort', [...this.running], req.by, req.reason);
    return this.status();
  }

  /** Throws unless `req` names an approver and a step that waits for approval. */
  validateApproval(req: ApprovalRequest): void {
    approvalTarget(this.plan, this.state, req);
  }

  /** Approves or rejects a waiting approval step. */
  decideApproval(req: ApprovalRequest, approved: boolean, at = this.host.now()): RunStatusView {
    const id = approvalTarget(this.plan, this.state, req);
    const by = req.by.trim();
    const comment = req.comment ?? '';
    this.apply(approved ? { type: 'approved', stepId: id, at, by, comment } : { type: 'rejected', stepId: id, at, by, comment });
    this.approvalDeadlines.delete(id);
    this.operatorAction(approved ? 'approve' : 'reject', [id], by, comment || undefined);
    if (this.opts.observe) this.observations.push({ kind: 'approvalDecided', runId: this.opts.runId, stepId: id, approved, by, at: iso(at), comment });
    return this.status();
  }

  /** Records an operator request that was refused (a Signal cannot be rejected before it is delivered). */
  refused(action: OperatorAction['action'], req: OperatorRequest | ApprovalRequest, reason: string): void {
    this.actions.push({ at: iso(this.host.now()), action, stepIds: req.stepId ? [req.stepId] : [], by: req.by ?? 'unknown', detail: `refused: ${reason}` });
    this.host.log?.(`operator ${action} refused: ${reason}`, { stepId: req.stepId });
  }

  /**
   * Stops the run so it can be resumed: no new step starts, running attempts are cancelled and
   * their outcome ignored (they stay `running` in the state and are recovered on resume).
   */
  interrupt(): void {
    this.interrupted = true;
    for (const id of this.running) this.host.cancelStep(id);
    this.version++;
  }

  // ---------------------------------------------------------------------------------------------

  private emptyTx(): Transition {
    return { events: [], steps: {}, attemptsStarted: [], attemptsEnded: [], consumed: [], status: 'running' };
  }

  private apply(ev: EngineEvent): void {
    for (const id of applyEvent(this.plan, this.state, ev)) this.tx.steps[id] = this.state.steps[id]!;
    this.tx.events.push({ at: 'at' in ev ? ev.at : this.host.now(), stepId: 'stepId' in ev ? ev.stepId : null, type: ev.type, data: eventData(ev) });
    if (ev.type === 'started') this.tx.attemptsStarted.push({ stepId: ev.stepId, attempt: this.attempts[ev.stepId]! + 1, at: ev.at });
    if (ev.type === 'reset' || ev.type === 'skip' || ev.type === 'cancel' || ev.type === 'approved' || ev.type === 'rejected') {
      this.version++;
      this.operatorDeadline = undefined;
      this.operatorWaitExpired = false;
    }
  }

  private async commit(): Promise<void> {
    const tx = this.tx;
    this.tx = this.emptyTx();
    tx.status = this.runStatus();
    for (const [id, s] of Object.entries(tx.steps)) if (s.status === 'succeeded' || s.status === 'failed' || s.status === 'skipped') this.finished(id);
    if (this.host.commit && (tx.events.length || tx.consumed.length)) await this.host.commit(tx);
  }

  /** A step reached a final state this tick: tell the renderer and the observer. */
  private finished(id: string): void {
    this.host.onStepEvent?.({ type: 'finished', stepId: id, queue: this.byId.get(id)!.queue, state: this.state.steps[id]!, attempt: this.attemptsOf(id) });
    const rec = (x: string): StepRecord => this.records.get(this.byId.get(x)!, this.state.steps[x]!, this.attemptsOf(x), this.resolvedWith[x]);
    if (this.opts.observe && (this.host.patched?.(PATCHES.observeStepFinished) ?? true)) this.observations.push({ kind: 'stepFinished', run: this.record('running'), step: rec(id), steps: this.plan.steps.filter((p) => p.id !== id && ['succeeded', 'failed', 'skipped'].includes(this.state.steps[p.id]!.status)).map((p) => rec(p.id)) });
  }

  private park(id: string, now: number): void {
    const step = this.byId.get(id)!;
    this.apply({ type: 'approval_waiting', stepId: id, at: now });
    this.approvalDeadlines.set(id, now + (step.control?.timeout_ms ?? 0));
    const show = approvalContext(step, this.state);
    this.host.onStepEvent?.({ type: 'approval_waiting', stepId: id, queue: step.queue, state: this.state.steps[id]!, attempt: 1, show });
    if (this.opts.autoApprove) this.decideApproval({ stepId: id, by: this.opts.autoApprove, comment: 'auto-approved (--auto-approve)' }, true, now);
    // a host that waits in place (Temporal) reports the run as it stands, so the approver reads the report first (the embedded host parks and reports)
    else if (this.opts.observe && !this.opts.parkOnApproval && (this.host.patched?.(PATCHES.observeWaiting) ?? true)) this.observations.push({ kind: 'runFinished', run: this.record('waiting_approval'), steps: this.stepRecords() });
  }

  private launch(id: string): void {
    const step = this.byId.get(id)!;
    const n = (this.launches[id] = (this.launches[id] ?? 0) + 1);
    const attemptBase = this.attempts[id]!;
    const req: StepRunRequest = {
      runId: this.opts.runId,
      pipeline: this.plan.pipeline,
      step,
      params: this.plan.params,
      attemptBase,
      upstream: upstreamOf(this.plan, this.state, id),
      force: this.opts.noCache === true || this.force.has(id),
    };
    this.force.delete(id);
    this.running.add(id);
    this.host.onStepEvent?.({ type: 'started', stepId: id, queue: step.queue, state: this.state.steps[id]!, attempt: attemptBase + 1 });
    this.host.runStep(step, req, `${id}-${n}`).then(
      (result) => this.completions.push({ stepId: id, attempt: attemptBase + Math.max(1, result.attempt), at: this.host.now(), result }),
      (failure: StepFailure) => this.completions.push({ stepId: id, attempt: attemptBase + Math.max(1, failure.attempts), at: this.host.now(), failure }),
    );
  }

  private drainCompletions(): void {
    for (const c of this.completions.splice(0)) {
      this.running.delete(c.stepId);
      if (this.interrupted) continue; // left `running`: recovered as interrupted on resume
      this.attempts[c.stepId] = c.attempt;
      if (c.result) {
        if (c.result.resolvedWith !== undefined) this.resolvedWith[c.stepId] = c.result.resolvedWith;
        this.apply({ type: 'succeeded', stepId: c.stepId, at: c.at, outputs: c.result.outputs, cacheHit: c.result.cacheHit });
        this.tx.steps[c.stepId] = { ...this.state.steps[c.stepId]!, cache_key: c.result.cacheKey };
        this.tx.attemptsEnded.push({ stepId: c.stepId, attempt: c.attempt, at: c.at, status: c.result.cacheHit ? 'cached' : 'succeeded' });
      } else {
        const f = c.failure!;
        const error: StepError = { message: f.message, type: f.cancelled ? 'Cancelled' : f.type, ...(f.details !== undefined ? { details: f.details } : {}) };
        const cached = f.cached === true;
        this.apply({ type: 'failed', stepId: c.stepId, at: c.at, error, nonRetryable: f.nonRetryable || f.cancelled, final: this.host.retries === 'host', cacheHit: cached });
        this.tx.attemptsEnded.push({ stepId: c.stepId, attempt: c.attempt, at: c.at, status: cached ? 'failed (cached)' : 'failed', error: f.message });
        const s = this.state.steps[c.stepId]!;
        if (s.status === 'retry_wait') this.host.onStepEvent?.({ type: 'retry_wait', stepId: c.stepId, queue: this.byId.get(c.stepId)!.queue, state: s, attempt: c.attempt });
      }
    }
  }

  /** Applies the decisions recorded elsewhere (embedded: other CLI processes), polled through {@link PollThrottle}. */
  private async applyPolledDecisions(now: number): Promise<void> {
    if (!this.host.pollDecisions || !this.polls.take(now)) return;
    const list = await this.host.pollDecisions();
    for (const d of list) {
      try {
        if (d.action === 'abort') this.abort(d.request);
        else this.decideApproval(d.request, d.action === 'approve', d.at);
        this.tx.consumed.push(d);
      } catch (e) {
        this.refused(d.action, d.request, e instanceof Error ? e.message : String(e));
        this.tx.consumed.push(d);
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
      const ms = this.byId.get(id)!.control?.timeout_ms ?? 0;
      this.apply({ type: 'failed', stepId: id, at: now, final: true, error: { message: `no approval decision within ${formatMs(ms)}`, type: 'ApprovalTimeout' } });
    }
  }

  private async wait(cond: () => boolean, timeoutMs: number | undefined): Promise<boolean> {
    const somethingDecides = this.host.pollDecisions && (this.approvalDeadlines.size > 0 || this.operatorDeadline !== undefined);
    const poll = somethingDecides ? this.host.pollIntervalMs ?? 1000 : undefined;
    const t = timeoutMs === undefined ? poll : poll === undefined ? timeoutMs : Math.min(timeoutMs, poll);
    return this.host.waitFor(cond, t === undefined ? undefined : Math.max(0, t));
  }

  private async flushObservations(): Promise<void> {
    for (const o of this.observations.splice(0)) {
      if (!this.host.observe) continue;
      try {
        await this.host.observe(o);
      } catch (e) {
        this.host.log?.('run observer failed; the run goes on', { kind: o.kind, error: e instanceof Error ? e.message : String(e) });
      }
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

  /** Attempts a step made in this run (a control step counts its one decision). */
  private attemptsOf(id: string): number {
    const s = this.state.steps[id]!;
    if (this.byId.get(id)!.control) return s.attempt;
    return this.attempts[id]! + (s.status === 'running' ? 1 : 0);
  }

  /** A finished run with failed steps waits for an operator when every failed step says `on_failure: wait`. */
  private shouldWaitForOperator(): boolean {
    if (!this.opts.operatorWait || this.state.cancelled || this.operatorWaitExpired || this.interrupted) return false;
    const failed = this.failedIds();
    if (!failed.length) return false;
    return failed.every((id) => this.byId.get(id)!.on_failure === 'wait' && !NO_WAIT_TYPES.has(this.state.steps[id]!.error?.type ?? ''));
  }

  private operatorTimeoutMs(): number {
    return Math.max(...this.failedIds().map((id) => this.byId.get(id)!.on_failure_timeout_ms));
  }

  private retryTargets(req: OperatorRequest): string[] {
    return retryTargets(this.plan, this.state, this.running, this.endedAt !== undefined, req);
  }

  private operatorAction(action: OperatorAction['action'], stepIds: string[], by: string | undefined, detail: string | undefined): void {
    this.actions.push({ at: iso(this.host.now()), action, stepIds, by: by?.trim() || 'unknown', ...(detail ? { detail } : {}) });
  }

  private record(status: RunRecord['status'], endedAt?: number): RunRecord {
    return runRecord(this.opts.runId, this.plan, status, this.startedAt, endedAt);
  }

  private stepRecords(): StepRecord[] {
    return this.plan.steps.map((step) => this.records.get(step, this.state.steps[step.id]!, this.attemptsOf(step.id), this.resolvedWith[step.id]));
  }
}
