/**
 * The embedded runtime: one process, run state in DuckDB (embedded/store.ts), steps in-process.
 * It drives the same run loop as the Temporal workflow (engine/loop.ts) through the embedded host
 * (embedded/host.ts). Every transition is committed before it is acted on, so a killed process
 * leaves a resumable run. Operator commands are the same as on Temporal: retry (all failed, or
 * from a step), skip, abort, approve, reject, resume.
 */
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore } from '../artifacts/store.ts';
import { RunLoop, type LoopOptions } from '../engine/loop.ts';
import type { Plan } from '../engine/plan.ts';
import { upgradePlan } from '../spec/upgrade.ts';
import { reduce, type RunState, type StepState } from '../engine/scheduler.ts';
import { UserError, errorMessage } from '../lib/errors.ts';
import type { RunObserver } from '../tracking/observer.ts';
import { killStaleProcessGroups } from '../kinds/builtin/processes.ts';
import { EmbeddedHost, type HostEvent } from './host.ts';
import { runLogger } from './logs.ts';
import { RunStore, type RunRow } from './store.ts';

/** What the runtime tells its renderer (CLI progress) as the run advances. */
export type RuntimeEvent =
  | HostEvent
  | { type: 'run_started'; runId: string; plan: Plan; resumed: boolean }
  | { type: 'run_finished'; runId: string; status: RunRow['status']; state: RunState };

export interface EmbeddedRuntimeOptions {
  /** State home (`.trademl/`): state.duckdb, artifacts/, logs/. */
  home: string;
  observer?: RunObserver;
  onEvent?: (e: RuntimeEvent) => void;
  /** Approve every approval step at once, recording this approver (demos: `--auto-approve`). */
  autoApprove?: string;
  /** Keep waiting for approvals (default) or return with status `waiting_approval`. */
  waitForApproval?: boolean;
  /** How often a run waiting for a decision polls for one, ms (default 1000). */
  approvalPollMs?: number;
  /** Bypass the cache for every step (`--no-cache`). */
  noCache?: boolean;
}

export interface RunOutcome {
  runId: string;
  /** The plan the run executed (its stored plan on resume/retry). */
  plan: Plan;
  status: RunRow['status'];
  state: RunState;
  failed: string[];
}

/** A run is driven by another process when its owner is alive and heartbeating. */
const STALE_OWNER_MS = 30_000;

export class EmbeddedRuntime {
  readonly store: RunStore;
  readonly artifacts: ArtifactStore;
  private loop?: RunLoop;
  private host?: EmbeddedHost;
  private interrupted = false;

  constructor(readonly opts: EmbeddedRuntimeOptions) {
    this.store = new RunStore(opts.home);
    this.artifacts = new ArtifactStore(path.join(opts.home, 'artifacts'));
  }

  /** Starts a new run of a compiled plan and drives it to the end (or to an approval wait). */
  async start(plan: Plan, runId = newRunId(plan.pipeline)): Promise<RunOutcome> {
    const now = Date.now();
    await this.store.createRun(runId, plan, now);
    return this.drive(runId, plan, { startedAt: now }, false);
  }

  /** Continues a run whose process died (or that waits for approval) without redoing finished steps. */
  async resume(runId: string): Promise<RunOutcome> {
    const run = await this.openRun(runId);
    if (['succeeded', 'failed', 'cancelled'].includes(run.status) && run.ended_at !== null) {
      throw new UserError(`run ${runId} already ended (${run.status}); use: trademl retry ${runId} [--from <step>]`);
    }
    const state = await this.recoverInterrupted(runId, run.plan);
    return this.drive(runId, run.plan, { state, attempts: await this.attemptCounts(runId), startedAt: run.created_at }, true);
  }

  /**
   * Re-runs the failed steps (or `from` and its dependents), reusing every other step's outputs.
   * The re-run steps bypass the cache.
   */
  async retry(runId: string, from?: string): Promise<RunOutcome> {
    const run = await this.openRun(runId);
    const state = await this.recoverInterrupted(runId, run.plan);
    let targets: string[];
    if (from) {
      if (!run.plan.steps.some((s) => s.id === from)) throw new UserError(`run ${runId} has no step "${from}"; steps: ${run.plan.steps.map((s) => s.id).join(', ')}`);
      targets = [from];
    } else {
      targets = run.plan.steps.filter((s) => state.steps[s.id]!.status === 'failed').map((s) => s.id);
      if (!targets.length) throw new UserError(`run ${runId} has no failed step; to re-run one anyway: trademl retry ${runId} --from <step>`);
    }
    return this.reopen(runId, run, state, { type: 'reset', stepIds: targets }, { action: 'retry', targets });
  }

  /** Gives up on a failed step and lets its dependents run (the operator's `skip`). */
  async skip(runId: string, stepId: string, by: string): Promise<RunOutcome> {
    const run = await this.openRun(runId);
    const state = await this.recoverInterrupted(runId, run.plan);
    const s = state.steps[stepId];
    if (!s) throw new UserError(`run ${runId} has no step "${stepId}"; steps: ${run.plan.steps.map((x) => x.id).join(', ')}`);
    if (s.status !== 'failed') throw new UserError(`step "${stepId}" of run ${runId} is ${s.status}; only a failed step can be skipped`);
    return this.reopen(runId, run, state, { type: 'skip', stepId, at: Date.now() }, { action: 'skip', targets: [stepId], by });
  }

  /** Aborts a run: a live process picks the decision up; otherwise the run is ended as cancelled here. */
  async abort(runId: string, by: string, reason = ''): Promise<RunOutcome | undefined> {
    if (!by.trim()) throw new UserError('who aborts is required: --by NAME');
    const run = await this.store.getRun(runId);
    if (run.ended_at !== null) throw new UserError(`run ${runId} already ended (${run.status})`);
    await this.store.addDecision({ run_id: runId, step_id: null, action: 'abort', by, comment: reason, at: Date.now() });
    if (this.isLive(run)) return undefined;
    return this.resume(runId);
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
    if (!step.control) throw new UserError(`step "${stepId}" of run ${runId} is a ${step.uses} step, not an approval`);
    if (s.status !== 'waiting_approval' && s.status !== 'pending') throw new UserError(`approval step "${stepId}" is ${s.status}, not waiting for a decision`);
    await this.store.addDecision({ run_id: runId, step_id: stepId, action: decision, by, comment, at: Date.now() });
    if (this.isLive(run)) return undefined;
    return this.resume(runId);
  }

  /** Aborts running steps and leaves the run resumable (SIGINT/SIGTERM). */
  interrupt(): void {
    this.interrupted = true;
    this.loop?.interrupt();
    this.host?.cancelAll();
  }

  // ---------------------------------------------------------------------------------------------

  private async reopen(runId: string, run: RunRow, state: RunState, ev: Parameters<typeof reduce>[2], event: { action: string; targets: string[]; by?: string }): Promise<RunOutcome> {
    const next = reduce(run.plan, state, ev);
    const force = run.plan.steps.filter((s) => next.steps[s.id]!.status === 'pending' && state.steps[s.id]!.status !== 'pending').map((s) => s.id);
    const now = Date.now();
    await this.store.write({ runId, runStatus: 'running', reopen: true, steps: changedSteps(state, next), events: [{ at: now, step_id: null, type: event.action, data: { ...event, rerun: force } }], heartbeat: true }, now);
    return this.drive(runId, run.plan, { state: next, attempts: await this.attemptCounts(runId), startedAt: run.created_at, force }, true);
  }

  private async drive(runId: string, plan: Plan, loopOpts: Omit<LoopOptions, 'runId'>, resumed: boolean): Promise<RunOutcome> {
    const log = runLogger(this.opts.home, runId);
    const host = new EmbeddedHost({ runId, store: this.store, artifacts: this.artifacts, home: this.opts.home, log, observer: this.opts.observer, onEvent: this.opts.onEvent, pollIntervalMs: this.opts.approvalPollMs });
    const loop = new RunLoop(plan, host, {
      runId,
      ...loopOpts,
      noCache: this.opts.noCache,
      observe: this.opts.observer !== undefined,
      parkOnApproval: this.opts.waitForApproval === false,
      autoApprove: this.opts.autoApprove,
    });
    this.loop = loop;
    this.host = host;
    if (this.interrupted) loop.interrupt();
    this.opts.onEvent?.({ type: 'run_started', runId, plan, resumed });
    const out = await loop.run();
    const status: RunRow['status'] = out.status === 'waiting_operator' ? 'failed' : out.status;
    const now = Date.now();
    const over = status !== 'interrupted' && status !== 'waiting_approval';
    await this.store.write({ runId, runStatus: status, ended: over, heartbeat: !over }, now);
    if (status === 'interrupted') await this.recoverInterrupted(runId, plan);
    this.opts.onEvent?.({ type: 'run_finished', runId, status, state: out.state });
    this.store.close();
    return { runId, plan, status, state: out.state, failed: plan.steps.filter((s) => out.state.steps[s.id]!.status === 'failed').map((s) => s.id) };
  }

  private async openRun(runId: string): Promise<RunRow> {
    const stored = await this.store.getRun(runId);
    let run: RunRow;
    try {
      run = { ...stored, plan: upgradePlan(stored.plan) };
    } catch (e) {
      throw new UserError(`run ${runId}: ${errorMessage(e)}; start a new run: trademl run ${stored.pipeline}`);
    }
    if (this.isLive(run)) throw new UserError(`run ${run.run_id} is being executed by process ${run.owner_pid} on this machine; wait for it or stop it first`);
    return run;
  }

  /** Attempts made per step so far (attempt numbers keep counting across resumes and retries). */
  private async attemptCounts(runId: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const a of await this.store.attempts(runId)) out[a.step_id] = Math.max(out[a.step_id] ?? 0, a.attempt);
    return out;
  }

  /**
   * Steps left `running` by a dead process go back to pending; their attempt is marked interrupted.
   * Process groups the dead attempts left behind (shell commands) are stopped first, so a step
   * never runs twice at once; each stopped group is recorded as a `process_group_killed` event.
   */
  private async recoverInterrupted(runId: string, _plan: Plan): Promise<RunState> {
    const killed = (await killStaleProcessGroups(this.opts.home, runId)).filter((k) => k.outcome === 'killed');
    const { state } = await this.store.getState(runId);
    const steps = { ...state.steps };
    const ended: { step_id: string; attempt: number; at: number; status: string }[] = [];
    const now = Date.now();
    const attempts = await this.attemptCounts(runId);
    for (const [id, s] of Object.entries(steps)) {
      if (s.status === 'running') {
        ended.push({ step_id: id, attempt: attempts[id] ?? 1, at: now, status: 'interrupted' });
        steps[id] = { status: 'pending', attempt: Math.max(0, s.attempt - 1) };
      }
    }
    const next = { ...state, steps };
    const events = [
      ...killed.map((k) => ({ at: now, step_id: k.stepId, type: 'process_group_killed', data: { pgid: k.pgid, attempt: k.attempt } })),
      ...ended.map((e) => ({ at: now, step_id: e.step_id, type: 'interrupted' })),
    ];
    if (events.length) await this.store.write({ runId, steps: changedSteps(state, next), attemptsEnded: ended, events }, now);
    return next;
  }

  /**
   * The status to show for a stored run: a run recorded as `running` whose owner process is gone
   * (killed, crashed) is `interrupted` — `trademl resume` continues it.
   */
  shownStatus(run: RunRow): RunRow['status'] {
    if (run.status !== 'running' || run.ended_at !== null) return run.status;
    if (run.owner_pid === null) return 'interrupted';
    try {
      process.kill(run.owner_pid, 0);
      return 'running';
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM' ? 'running' : 'interrupted';
    }
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

export { readRunLog } from './logs.ts';
