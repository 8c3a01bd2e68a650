import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ArtifactStore } from '../artifacts/store.ts';
import { executeStep, type ExecuteResult } from '../executor/execute.ts';
import type { StepProgress, UpstreamStep } from '../kinds/types.ts';
import { ancestorsOf } from '../engine/graph.ts';
import type { Plan, PlanStep } from '../engine/plan.ts';
import { applyEvent, decide, initialState, reduce, runStatus, type EngineEvent, type RunState, type StepState } from '../engine/scheduler.ts';
import { parseDuration } from '../lib/duration.ts';
import { CachedStepFailure, UserError, classifyFailure, errorMessage, errorType } from '../lib/errors.ts';
import { PROJECT_ROOT, dataRoot } from '../lib/paths.ts';
import type { RunObserver, RunRecord, StepRecord } from '../tracking/observer.ts';
import { RunStore, type RunRow, type StateWrite } from './store.ts';

/** What the runtime tells its renderer (CLI progress) as the run advances. */
export type RuntimeEvent =
  | { type: 'run_started'; runId: string; plan: Plan; resumed: boolean }
  | { type: 'step_started'; stepId: string; attempt: number; queue: string }
  | { type: 'step_progress'; stepId: string; progress: StepProgress }
  | { type: 'step_finished'; stepId: string; state: StepState }
  | { type: 'step_retry_wait'; stepId: string; state: StepState }
  | { type: 'approval_waiting'; runId: string; stepId: string; show: Record<string, unknown> }
  | { type: 'run_finished'; runId: string; status: RunRow['status']; state: RunState };

export interface LocalRuntimeOptions {
  /** State home (`.trademl/`): state.duckdb, artifacts/, logs/. */
  home: string;
  observer?: RunObserver;
  onEvent?: (e: RuntimeEvent) => void;
  /** Approve every approval step at once, recording this approver (demos: `--auto-approve`). */
  autoApprove?: string;
  /** Keep waiting for approvals (default) or return with status `waiting_approval`. */
  waitForApproval?: boolean;
  /** How often a run waiting for approval polls for a decision, ms (default 1000). */
  approvalPollMs?: number;
  /** Bypass the cache for every step (`--no-cache`). */
  noCache?: boolean;
}

export interface RunOutcome {
  runId: string;
  status: RunRow['status'];
  state: RunState;
  failed: string[];
}

const HEARTBEAT_MS = 5_000;
const STALE_OWNER_MS = 30_000;

/**
 * The embedded runtime: drives the pure scheduler (engine/scheduler.ts) in this process, runs
 * steps through executor/execute.ts, and persists every transition in the DuckDB run store
 * before acting on it, so a killed process leaves a resumable run (`trademl resume`).
 */
export class LocalRuntime {
  readonly store: RunStore;
  readonly artifacts: ArtifactStore;
  private interrupted = false;
  private readonly aborts = new Map<string, AbortController>();

  constructor(readonly opts: LocalRuntimeOptions) {
    this.store = new RunStore(opts.home);
    this.artifacts = new ArtifactStore(path.join(opts.home, 'artifacts'));
  }

  /** Starts a new run of a compiled plan and drives it to the end (or to an approval wait). */
  async start(plan: Plan, runId = newRunId(plan.pipeline)): Promise<RunOutcome> {
    const now = Date.now();
    await this.store.createRun(runId, plan, now);
    await this.opts.observer?.runStarted(runRecord(runId, plan, 'running', now));
    this.emit({ type: 'run_started', runId, plan, resumed: false });
    return this.loop(runId, plan, initialState(plan), new Set(), now);
  }

  /** Continues a run whose process died (or that waits for approval) without redoing finished steps. */
  async resume(runId: string): Promise<RunOutcome> {
    const run = await this.store.getRun(runId);
    this.assertNotLive(run);
    if (['succeeded', 'failed', 'cancelled'].includes(run.status) && run.ended_at !== null) {
      throw new UserError(`run ${runId} already ended (${run.status}); use: trademl retry ${runId} [--from <step>]`);
    }
    const { state } = await this.store.getState(runId);
    const fixed = await this.recoverInterrupted(runId, state);
    await this.opts.observer?.runStarted(runRecord(runId, run.plan, 'running', run.created_at));
    this.emit({ type: 'run_started', runId, plan: run.plan, resumed: true });
    return this.loop(runId, run.plan, fixed, new Set(), run.created_at);
  }

  /**
   * Re-runs the failed steps (or `from` and its dependents), reusing every other step's outputs.
   * The re-run steps bypass the cache.
   */
  async retry(runId: string, from?: string): Promise<RunOutcome> {
    const run = await this.store.getRun(runId);
    this.assertNotLive(run);
    let { state } = await this.store.getState(runId);
    state = await this.recoverInterrupted(runId, state);
    let targets: string[];
    if (from) {
      if (!run.plan.steps.some((s) => s.id === from)) throw new UserError(`run ${runId} has no step "${from}"; steps: ${run.plan.steps.map((s) => s.id).join(', ')}`);
      targets = [from];
    } else {
      targets = run.plan.steps.filter((s) => state.steps[s.id]!.status === 'failed').map((s) => s.id);
      if (!targets.length) throw new UserError(`run ${runId} has no failed step; to re-run one anyway: trademl retry ${runId} --from <step>`);
    }
    const next = reduce(run.plan, state, { type: 'reset', stepIds: targets });
    const force = new Set(run.plan.steps.filter((s) => next.steps[s.id]!.status === 'pending').map((s) => s.id));
    const now = Date.now();
    await this.store.write({ runId, runStatus: 'running', steps: changedSteps(state, next), events: [{ at: now, step_id: null, type: 'retry', data: { targets, rerun: [...force] } }], heartbeat: true }, now);
    await this.opts.observer?.runStarted(runRecord(runId, run.plan, 'running', run.created_at));
    this.emit({ type: 'run_started', runId, plan: run.plan, resumed: true });
    return this.loop(runId, run.plan, next, force, run.created_at);
  }

  /**
   * Records an approve/reject decision. When no live process drives the run, continues the run
   * in this process (so `trademl approve` on a run whose process ended completes it).
   */
  async decide(runId: string, stepId: string, decision: 'approve' | 'reject', by: string, comment = ''): Promise<RunOutcome | undefined> {
    if (!by.trim()) throw new UserError('an approver name is required: --by NAME');
    const run = await this.store.getRun(runId);
    const { state } = await this.store.getState(runId);
    const s = state.steps[stepId];
    if (!s) throw new UserError(`run ${runId} has no step "${stepId}"`);
    const step = run.plan.steps.find((x) => x.id === stepId)!;
    if (step.uses !== 'approval') throw new UserError(`step "${stepId}" of run ${runId} is a ${step.uses} step, not an approval`);
    if (s.status !== 'waiting_approval' && s.status !== 'pending') throw new UserError(`approval step "${stepId}" is ${s.status}, not waiting for a decision`);
    await this.store.addApproval({ run_id: runId, step_id: stepId, decision, by, comment, at: Date.now() });
    if (this.isLive(run)) return undefined;
    return this.resume(runId);
  }

  /** Aborts running steps and leaves the run resumable (SIGINT/SIGTERM). */
  interrupt(): void {
    this.interrupted = true;
    for (const ac of this.aborts.values()) ac.abort(new Error('interrupted'));
  }

  private async loop(runId: string, plan: Plan, initial: RunState, force: Set<string>, createdAt: number): Promise<RunOutcome> {
    // the loop owns this state and updates it in place (engine applyEvent)
    const state: RunState = { steps: { ...initial.steps }, cancelled: initial.cancelled };
    const byId = new Map(plan.steps.map((s) => [s.id, s]));
    const needs = Object.fromEntries(plan.steps.map((s) => [s.id, s.needs]));
    const completions: { stepId: string; attempt: number; result?: ExecuteResult; error?: unknown; at: number }[] = [];
    const running = new Set<string>();
    let wake: () => void = () => {};
    let lastHeartbeat = 0;
    let lastApprovalPoll = 0;
    let lastStatus: RunRow['status'] | undefined;
    const resolved: Record<string, unknown> = {};

    const apply = (ev: EngineEvent, w: Required<Pick<StateWrite, 'events'>> & StateWrite) => {
      const ws = (w.steps ??= {});
      for (const id of applyEvent(plan, state, ev)) ws[id] = state.steps[id]!;
      w.events.push({ at: 'at' in ev ? ev.at : Date.now(), step_id: 'stepId' in ev ? ev.stepId : null, type: ev.type, data: eventData(ev) });
    };

    for (;;) {
      // group commit: let completions that land in the same moment share one transaction
      await new Promise((r) => setImmediate(r));
      const now = Date.now();
      const w: StateWrite & { events: NonNullable<StateWrite['events']> } = { runId, events: [], attemptsStarted: [], attemptsEnded: [] };
      const finishedNow: string[] = [];

      // 1. completed attempts
      for (const c of completions.splice(0)) {
        running.delete(c.stepId);
        if (c.result) {
          apply({ type: 'succeeded', stepId: c.stepId, at: c.at, outputs: c.result.outputs, cacheHit: c.result.cacheHit }, w);
          w.steps![c.stepId] = { ...state.steps[c.stepId]!, cache_key: c.result.cacheKey } as StepState & { cache_key: string };
          w.attemptsEnded!.push({ step_id: c.stepId, attempt: c.attempt, at: c.at, status: c.result.cacheHit ? 'cached' : 'succeeded' });
          resolved[c.stepId] = c.result.resolvedWith;
        } else {
          const interruptedNow = this.interrupted;
          if (interruptedNow) continue; // handled below as interruption
          const err = c.error;
          const { nonRetryable, ...error } = classifyFailure(err);
          const cached = err instanceof CachedStepFailure;
          apply({ type: 'failed', stepId: c.stepId, at: c.at, error, nonRetryable, cacheHit: cached }, w);
          w.attemptsEnded!.push({ step_id: c.stepId, attempt: c.attempt, at: c.at, status: cached ? 'failed (cached)' : 'failed', error: error.message });
          if (state.steps[c.stepId]!.status === 'retry_wait') this.emit({ type: 'step_retry_wait', stepId: c.stepId, state: state.steps[c.stepId]! });
        }
      }

      // 2. approvals: decisions recorded by `trademl approve|reject`, timeouts
      const waiting = plan.steps.filter((s) => state.steps[s.id]!.status === 'waiting_approval');
      if (waiting.length && (now - lastApprovalPoll >= (this.opts.approvalPollMs ?? 1000) || lastApprovalPoll === 0)) {
        lastApprovalPoll = now;
        for (const a of await this.store.pendingApprovals(runId)) {
          if (state.steps[a.step_id]?.status !== 'waiting_approval') continue;
          apply(a.decision === 'approve' ? { type: 'approved', stepId: a.step_id, at: a.at, by: a.by, comment: a.comment } : { type: 'rejected', stepId: a.step_id, at: a.at, by: a.by, comment: a.comment }, w);
          (w.consumedApprovals ??= []).push({ step_id: a.step_id });
          await this.opts.observer?.approvalDecided({ runId, stepId: a.step_id, approved: a.decision === 'approve', by: a.by, at: new Date(a.at).toISOString(), comment: a.comment });
        }
        for (const s of waiting) {
          const st = state.steps[s.id]!;
          if (st.status !== 'waiting_approval') continue;
          const limit = parseDuration(String((s.with as { timeout?: string }).timeout ?? '72h'));
          if (now - (st.startedAt ?? now) > limit) {
            apply({ type: 'failed', stepId: s.id, at: now, final: true, error: { message: `no approval decision within ${(s.with as { timeout?: string }).timeout ?? '72h'}`, type: 'ApprovalTimeout' } }, w);
          }
        }
      }

      // 3. decide
      const d = decide(plan, state, now);
      const parkedNow: RuntimeEvent[] = [];
      for (const id of d.awaitApproval) {
        apply({ type: 'approval_waiting', stepId: id, at: now }, w);
        const show = this.approvalContext(plan, state, byId.get(id)!);
        parkedNow.push({ type: 'approval_waiting', runId, stepId: id, show });
        if (this.opts.autoApprove) {
          apply({ type: 'approved', stepId: id, at: now, by: this.opts.autoApprove, comment: 'auto-approved (--auto-approve)' }, w);
          await this.opts.observer?.approvalDecided({ runId, stepId: id, approved: true, by: this.opts.autoApprove, at: new Date(now).toISOString(), comment: 'auto-approved (--auto-approve)' });
        }
      }
      const toStart = this.interrupted ? [] : d.awaitApproval.length && this.opts.autoApprove ? decide(plan, state, now).start : d.start;
      for (const id of toStart) {
        apply({ type: 'started', stepId: id, at: now }, w);
        w.attemptsStarted!.push({ step_id: id, attempt: state.steps[id]!.attempt, at: now });
      }

      // 4. observe terminal transitions
      for (const [id, s] of Object.entries(w.steps ?? {})) {
        if (s.status === 'succeeded' || s.status === 'failed' || s.status === 'skipped') finishedNow.push(id);
      }

      // 5. persist, then act
      const status = runStatus(state);
      const over = (d.finished || this.interrupted) && running.size === 0 && toStart.length === 0;
      const parked = !over && running.size === 0 && toStart.length === 0 && status === 'waiting_approval' && this.opts.waitForApproval === false;
      const finalStatus: RunRow['status'] = this.interrupted ? 'interrupted' : status;
      if (over || parked) w.runStatus = finalStatus;
      else if (status !== lastStatus) w.runStatus = status;
      if (w.runStatus) lastStatus = w.runStatus;
      if (now - lastHeartbeat > HEARTBEAT_MS || over || parked) {
        w.heartbeat = !over;
        lastHeartbeat = now;
      }
      if (over && !this.interrupted) w.ended = true;
      if (w.events.length || w.heartbeat || w.ended || w.runStatus) await this.store.write(w, now);

      for (const id of finishedNow) {
        const s = state.steps[id]!;
        this.emit({ type: 'step_finished', stepId: id, state: s });
        await this.opts.observer?.stepFinished(stepRecord(runId, plan, byId.get(id)!, s, resolved[id]));
      }
      parkedNow.forEach((e) => this.emit(e));
      for (const id of toStart) {
        running.add(id);
        const step = byId.get(id)!;
        const attempt = state.steps[id]!.attempt;
        this.emit({ type: 'step_started', stepId: id, attempt, queue: step.queue });
        const upstream = upstreamOf(plan, state, id, needs);
        this.runAttempt(runId, plan, step, attempt, upstream, force.has(id) || this.opts.noCache === true)
          .then(
            (result) => completions.push({ stepId: id, attempt, result, at: Date.now() }),
            (error) => completions.push({ stepId: id, attempt, error, at: Date.now() }),
          )
          .finally(() => wake());
      }

      if (over || parked) {
        if (this.interrupted) await this.recoverInterrupted(runId, state);
        const outcome: RunOutcome = { runId, status: finalStatus, state, failed: plan.steps.filter((s) => state.steps[s.id]!.status === 'failed').map((s) => s.id) };
        if (over && !this.interrupted) {
          // every step of the run (also those finished before a resume or retry), in plan order
          const all = plan.steps.map((p) => stepRecord(runId, plan, p, state.steps[p.id]!, resolved[p.id]));
          await this.opts.observer?.runFinished({ ...runRecord(runId, plan, finalStatus as RunRecord['status'], createdAt), endedAt: new Date().toISOString() }, all);
        }
        this.emit({ type: 'run_finished', runId, status: finalStatus, state });
        this.store.close();
        return outcome;
      }

      // 6. sleep until something happens
      const waits: number[] = [];
      if (d.wakeAt !== undefined) waits.push(Math.max(0, d.wakeAt - Date.now()));
      if (plan.steps.some((s) => state.steps[s.id]!.status === 'waiting_approval')) waits.push(this.opts.approvalPollMs ?? 1000);
      waits.push(HEARTBEAT_MS);
      // nothing in flight (waiting for an approval or a retry backoff): release the state file so
      // other processes (`trademl approve`, `trademl status`) can open it meanwhile
      if (running.size === 0) this.store.close();
      if (completions.length === 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(...waits));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    }
  }

  private async runAttempt(runId: string, plan: Plan, step: PlanStep, attempt: number, upstream: Record<string, UpstreamStep>, force: boolean): Promise<ExecuteResult> {
    const ac = new AbortController();
    const key = `${step.id}#${attempt}`;
    this.aborts.set(key, ac);
    const log = this.runLog(runId).child({ step: step.id, attempt });
    let lastEmit = 0;
    try {
      return await executeStep(
        { runId, pipeline: plan.pipeline, step, params: plan.params, attempt, upstream, force },
        {
          artifacts: this.artifacts,
          home: this.opts.home,
          log,
          signal: ac.signal,
          projectRoot: PROJECT_ROOT,
          dataRoot: dataRoot(),
          progress: (p) => {
            const t = Date.now();
            if (t - lastEmit < 100 && (p.fraction ?? 0) < 1) return;
            lastEmit = t;
            log.info({ progress: p }, p.message ?? 'progress');
            this.emit({ type: 'step_progress', stepId: step.id, progress: p });
          },
        },
      );
    } catch (e) {
      log.error({ err: { type: errorType(e), message: errorMessage(e) } }, 'attempt failed');
      throw e;
    } finally {
      this.aborts.delete(key);
    }
  }

  private logs = new Map<string, pino.Logger>();

  /** The run's log (JSON lines in `<home>/logs/<run-id>.log`, one field `step` per line). */
  private runLog(runId: string): pino.Logger {
    let l = this.logs.get(runId);
    if (!l) {
      mkdirSync(path.join(this.opts.home, 'logs'), { recursive: true });
      l = pino({ level: process.env.TRADEML_STEP_LOG_LEVEL ?? 'info', base: undefined }, pino.destination({ dest: path.join(this.opts.home, 'logs', `${runId}.log`), sync: true, append: true }));
      this.logs.set(runId, l);
    }
    return l;
  }

  /** Outputs of the steps an approval step shows (`with.show`, default: its needs). */
  private approvalContext(plan: Plan, state: RunState, step: PlanStep): Record<string, unknown> {
    const show = ((step.with as { show?: string[] }).show ?? []).length ? (step.with as { show: string[] }).show : step.needs;
    return Object.fromEntries(show.map((id) => [id, state.steps[id]?.outputs ?? state.steps[id]?.error ?? null]));
  }

  /** Steps left `running` by a dead process go back to pending; their attempt is marked interrupted. */
  private async recoverInterrupted(runId: string, state: RunState): Promise<RunState> {
    const steps = { ...state.steps };
    const ended: NonNullable<StateWrite['attemptsEnded']> = [];
    const now = Date.now();
    for (const [id, s] of Object.entries(steps)) {
      if (s.status === 'running') {
        ended.push({ step_id: id, attempt: s.attempt, at: now, status: 'interrupted' });
        steps[id] = { status: 'pending', attempt: Math.max(0, s.attempt - 1) };
      }
    }
    const next = { ...state, steps };
    if (ended.length) await this.store.write({ runId, steps: changedSteps(state, next), attemptsEnded: ended, events: ended.map((e) => ({ at: now, step_id: e.step_id, type: 'interrupted' })) }, now);
    return next;
  }

  private isLive(run: RunRow): boolean {
    if (run.owner_pid === null || run.owner_pid === process.pid) return false;
    if (run.heartbeat_at !== null && Date.now() - run.heartbeat_at > STALE_OWNER_MS) return false;
    try {
      process.kill(run.owner_pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  private assertNotLive(run: RunRow): void {
    if (this.isLive(run)) throw new UserError(`run ${run.run_id} is being executed by process ${run.owner_pid} on this machine; wait for it or stop it first`);
  }

  private emit(e: RuntimeEvent): void {
    this.opts.onEvent?.(e);
  }
}

/** `<pipeline>-<yyyymmdd-hhmmss>-<4 hex>`: sortable, readable, unique. */
export function newRunId(pipeline: string, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${pipeline}-${ts}-${Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0')}`;
}

/** The approver name for `--auto-approve` and `--by` defaults: the OS user. */
export function cliUser(): string {
  return process.env.TRADEML_USER ?? process.env.USER ?? os.userInfo().username;
}

function changedSteps(before: RunState, after: RunState): Record<string, StepState> {
  const out: Record<string, StepState> = {};
  for (const [id, s] of Object.entries(after.steps)) if (before.steps[id] !== s) out[id] = s;
  return out;
}

function upstreamOf(plan: Plan, state: RunState, id: string, needs: Record<string, string[]>): Record<string, UpstreamStep> {
  const out: Record<string, UpstreamStep> = {};
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  for (const a of ancestorsOf(id, needs)) {
    const s = state.steps[a]!;
    out[a] = {
      uses: byId.get(a)!.uses,
      status: s.status === 'succeeded' ? 'succeeded' : s.status === 'failed' ? 'failed' : 'skipped',
      outputs: s.outputs ?? {},
      ...(s.error ? { error: s.error } : {}),
    };
  }
  return out;
}

function runRecord(runId: string, plan: Plan, status: RunRecord['status'], startedAt: number): RunRecord {
  return {
    runId,
    pipeline: plan.pipeline,
    planDigest: plan.digest,
    params: plan.params,
    status,
    startedAt: new Date(startedAt).toISOString(),
    plan: { steps: plan.steps.map((s) => ({ id: s.id, uses: s.uses, needs: s.needs, with: s.with })) },
  };
}

function stepRecord(runId: string, plan: Plan, step: PlanStep, s: StepState, resolvedWith: unknown): StepRecord {
  return {
    runId,
    pipeline: plan.pipeline,
    stepId: step.id,
    uses: step.uses,
    needs: step.needs,
    status: s.status === 'succeeded' ? 'succeeded' : s.status === 'failed' ? 'failed' : 'skipped',
    cacheHit: s.cacheHit ?? false,
    attempts: s.attempt,
    startedAt: s.startedAt ? new Date(s.startedAt).toISOString() : undefined,
    endedAt: s.endedAt ? new Date(s.endedAt).toISOString() : undefined,
    durationMs: s.startedAt && s.endedAt ? s.endedAt - s.startedAt : undefined,
    with: resolvedWith ?? step.with,
    outputs: s.outputs ?? {},
    error: s.error,
  };
}

function eventData(ev: EngineEvent): unknown {
  switch (ev.type) {
    case 'failed':
      return { error: ev.error, nonRetryable: ev.nonRetryable ?? false };
    case 'succeeded':
      return { cacheHit: ev.cacheHit ?? false };
    case 'approved':
    case 'rejected':
      return { by: ev.by, comment: ev.comment ?? '' };
    case 'reset':
      return { stepIds: ev.stepIds };
    default:
      return undefined;
  }
}

/** A run's log lines (parsed JSON), optionally of one step only; empty when nothing was logged. */
export function readRunLog(home: string, runId: string, stepId?: string): { time: number; level: number; msg: string; step?: string; attempt?: number }[] {
  const f = path.join(home, 'logs', `${runId}.log`);
  if (!existsSync(f)) return [];
  const out = [];
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const j = JSON.parse(line) as { time: number; level: number; msg: string; step?: string; attempt?: number };
      if (!stepId || j.step === stepId) out.push(j);
    } catch {
      // a line cut by a crash: skip it
    }
  }
  return out;
}
