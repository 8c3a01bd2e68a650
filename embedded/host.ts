/**
 * The embedded host of the run loop (engine/loop.ts): steps run in this process through the
 * executor, every tick's transition is one DuckDB transaction committed before its steps start,
 * decisions made by other CLI processes (`trademl approve|reject|abort`) are polled from the run
 * store, and the engine's scheduler retries failed attempts with backoff.
 */
import type pino from 'pino';
import type { ArtifactStore } from '../artifacts/store.ts';
import { executeStep } from '../executor/execute.ts';
import type { LoopHost, ObserveRequest, PolledDecision, StepFailure, StepRunRequest, StepRunResult, Transition } from '../engine/loop.ts';
import type { PlanStep } from '../engine/plan.ts';
import type { StepState } from '../engine/scheduler.ts';
import { CachedStepFailure, classifyFailure } from '../lib/errors.ts';
import { releaseAfterStep } from '../lib/native_memory.ts';
import { PROJECT_ROOT, dataRoot } from '../lib/paths.ts';
import type { StepProgress } from '../kinds/types.ts';
import type { RunObserver } from '../tracking/observer.ts';
import type { RunStore } from './store.ts';

/** Step events the CLI renders. */
export type HostEvent =
  | { type: 'step_started'; stepId: string; attempt: number; queue: string }
  | { type: 'step_progress'; stepId: string; progress: StepProgress }
  | { type: 'step_finished'; stepId: string; state: StepState }
  | { type: 'step_retry_wait'; stepId: string; state: StepState }
  | { type: 'approval_waiting'; runId: string; stepId: string; show: Record<string, unknown> };

export interface EmbeddedHostOptions {
  runId: string;
  store: RunStore;
  artifacts: ArtifactStore;
  home: string;
  log: pino.Logger;
  observer?: RunObserver;
  onEvent?: (e: HostEvent) => void;
  /** How often decisions are polled while the run waits for one, ms. */
  pollIntervalMs?: number;
}

/** A heartbeat marks the run as driven by this process (`trademl approve` elsewhere then only records). */
const HEARTBEAT_MS = 5_000;

export class EmbeddedHost implements LoopHost {
  readonly retries = 'engine' as const;
  readonly pollIntervalMs: number;
  private readonly aborts = new Map<string, AbortController>();
  private poke: () => void = () => {};
  private lastHeartbeat = 0;
  private lastStatus: string | undefined;

  constructor(private readonly o: EmbeddedHostOptions) {
    this.pollIntervalMs = o.pollIntervalMs ?? 1000;
  }

  now(): number {
    return Date.now();
  }

  async runStep(step: PlanStep, req: StepRunRequest): Promise<StepRunResult> {
    const ac = new AbortController();
    this.aborts.set(step.id, ac);
    const attempt = req.attemptBase + 1;
    const log = this.o.log.child({ step: step.id, attempt });
    let lastEmit = 0;
    try {
      const r = await executeStep(
        { runId: req.runId, pipeline: req.pipeline, step, params: req.params, attempt, upstream: req.upstream, force: req.force },
        {
          artifacts: this.o.artifacts,
          home: this.o.home,
          log,
          signal: ac.signal,
          projectRoot: PROJECT_ROOT,
          dataRoot: dataRoot(),
          progress: (p) => {
            const t = Date.now();
            if (t - lastEmit < 100 && (p.fraction ?? 0) < 1) return;
            lastEmit = t;
            log.info({ progress: p }, p.message ?? 'progress');
            this.o.onEvent?.({ type: 'step_progress', stepId: step.id, progress: p });
          },
        },
      );
      return { outputs: r.outputs, cacheHit: r.cacheHit, cacheKey: r.cacheKey, durationMs: r.durationMs, attempt: 1, resolvedWith: r.resolvedWith };
    } catch (e) {
      const f = classifyFailure(e);
      log.error({ err: { type: f.type, message: f.message } }, 'attempt failed');
      const failure: StepFailure = { ...f, attempts: 1, cancelled: ac.signal.aborted, ...(e instanceof CachedStepFailure ? { cached: true } : {}) };
      throw failure;
    } finally {
      this.aborts.delete(step.id);
      releaseAfterStep();
      setImmediate(() => this.poke());
    }
  }

  cancelStep(stepId: string): void {
    this.aborts.get(stepId)?.abort(new Error('cancelled'));
  }

  /** Cancels every running attempt (interruption). */
  cancelAll(): void {
    for (const ac of this.aborts.values()) ac.abort(new Error('interrupted'));
  }

  waitFor(cond: () => boolean, timeoutMs?: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    // nothing in flight (an approval, a retry backoff): release the state file so other processes
    // (`trademl approve`, `trademl status`) can open it meanwhile
    if (this.aborts.size === 0) this.o.store.close();
    return new Promise((resolve) => {
      const limit = Math.min(timeoutMs ?? Infinity, HEARTBEAT_MS);
      const t = setTimeout(() => {
        this.poke = () => {};
        resolve(cond());
      }, limit);
      this.poke = () => {
        if (!cond()) return;
        clearTimeout(t);
        this.poke = () => {};
        resolve(true);
      };
    });
  }

  /** Wakes a pending wait (an operator action applied in this process). */
  wake(): void {
    setImmediate(() => this.poke());
  }

  async commit(t: Transition): Promise<void> {
    const now = Date.now();
    const beat = now - this.lastHeartbeat > HEARTBEAT_MS;
    if (beat) this.lastHeartbeat = now;
    const status = t.status === 'waiting_operator' ? 'failed' : t.status;
    // the runs row changes only with status or heartbeat, not on every step transition
    const changed = status !== this.lastStatus;
    this.lastStatus = status;
    await this.o.store.write(
      {
        runId: this.o.runId,
        ...(changed ? { runStatus: status } : {}),
        steps: t.steps,
        events: t.events.map((e) => ({ at: e.at, step_id: e.stepId, type: e.type, data: e.data })),
        attemptsStarted: t.attemptsStarted.map((a) => ({ step_id: a.stepId, attempt: a.attempt, at: a.at })),
        attemptsEnded: t.attemptsEnded.map((a) => ({ step_id: a.stepId, attempt: a.attempt, at: a.at, status: a.status, error: a.error })),
        consumedDecisions: t.consumed.map((d) => ({ step_id: d.request.stepId ?? null, action: d.action })),
        heartbeat: beat,
      },
      now,
    );
  }

  async pollDecisions(): Promise<PolledDecision[]> {
    const rows = await this.o.store.pendingDecisions(this.o.runId);
    return rows.map((r) =>
      r.action === 'abort'
        ? { action: 'abort', request: { by: r.by, reason: r.comment }, at: r.at }
        : { action: r.action, request: { stepId: r.step_id ?? undefined, by: r.by, comment: r.comment }, at: r.at },
    );
  }

  async observe(req: ObserveRequest): Promise<void> {
    const obs = this.o.observer;
    if (!obs) return;
    if (req.kind === 'runStarted') await obs.runStarted(req.run);
    else if (req.kind === 'stepFinished') await obs.stepFinished(req.step, { run: req.run, ...(req.steps ? { steps: req.steps } : {}) });
    else if (req.kind === 'approvalDecided') await obs.approvalDecided(req);
    else if (req.kind === 'runFinished') await obs.runFinished(req.run, req.steps);
  }

  onStepEvent: LoopHost['onStepEvent'] = (e) => {
    if (e.type === 'started') this.o.onEvent?.({ type: 'step_started', stepId: e.stepId, attempt: e.attempt, queue: e.queue });
    else if (e.type === 'finished') this.o.onEvent?.({ type: 'step_finished', stepId: e.stepId, state: e.state });
    else if (e.type === 'retry_wait') this.o.onEvent?.({ type: 'step_retry_wait', stepId: e.stepId, state: e.state });
    else this.o.onEvent?.({ type: 'approval_waiting', runId: this.o.runId, stepId: e.stepId, show: e.show ?? {} });
  };

  log(message: string, attrs?: Record<string, unknown>): void {
    this.o.log.warn({ ...attrs }, message);
  }
}

