/**
 * A deterministic simulation host of the run loop as the workflow drives it (engine/loop.ts, host retries): fake
 * step activities with virtual durations, a virtual clock, `waitFor` like Temporal's condition().
 * Operator actions run when the run is idle (nothing left to complete but timers), in order.
 */
import type { PlanStep } from '../../engine/plan.ts';
import type { StepActivityRequest, StepActivityResult } from '../../temporal/workflow/api.ts';
import { RunLoop, type LoopHost, type LoopOptions, type StepFailure } from '../../engine/loop.ts';
import type { Plan } from '../../engine/plan.ts';

export type Outcome = { ok: Record<string, unknown>; ms?: number } | { fail: Omit<StepFailure, 'cancelled'> & { cancelled?: boolean }; ms?: number };

export interface SimStart {
  at: number;
  stepId: string;
  activityId: string;
  queue: string;
  req: StepActivityRequest;
}

/** Runs a plan through the real RunLoop (as pipelineWorkflow does) with fake activities. */
export class Simulation implements LoopHost {
  readonly retries = 'host' as const;
  t: number;
  readonly starts: SimStart[] = [];
  readonly completionsOrder: string[] = [];
  readonly cancelled: string[] = [];
  private readonly pending: { at: number; seq: number; stepId: string; settle: () => void; cancel: () => void }[] = [];
  private readonly waiters: { cond: () => boolean; deadline?: number; resolve: (v: boolean) => void }[] = [];
  private seq = 0;
  private readonly actions: ((d: RunLoop) => void)[] = [];
  readonly driver: RunLoop;

  constructor(
    plan: Plan,
    private readonly behave: (step: PlanStep, req: StepActivityRequest, nth: number) => Outcome = () => ({ ok: {} }),
    opts: { start?: number; runId?: string; observe?: boolean; loop?: Partial<LoopOptions> } = {},
  ) {
    this.t = opts.start ?? Date.UTC(2025, 0, 6, 7, 0, 0);
    this.driver = new RunLoop(plan, this, { runId: opts.runId ?? 'sim-run', observe: opts.observe, operatorWait: true, ...opts.loop });
  }

  /** Queues an operator action to run the next time the run is idle. */
  whenIdle(fn: (d: RunLoop) => void): this {
    this.actions.push(fn);
    return this;
  }

  now(): number {
    return this.t;
  }

  runStep(step: PlanStep, req: StepActivityRequest, activityId: string): Promise<StepActivityResult> {
    this.starts.push({ at: this.t, stepId: step.id, activityId, queue: step.queue, req });
    const nth = this.starts.filter((s) => s.stepId === step.id).length;
    const o = this.behave(step, req, nth);
    return new Promise<StepActivityResult>((resolve, reject) => {
      this.pending.push({
        at: this.t + (o.ms ?? 100),
        seq: this.seq++,
        stepId: step.id,
        settle: () => {
          this.completionsOrder.push(step.id);
          if ('ok' in o) resolve({ outputs: o.ok, cacheHit: false, cacheKey: `sha256:${step.id}`, durationMs: o.ms ?? 100, attempt: 1 });
          else reject({ cancelled: false, ...o.fail });
        },
        cancel: () => reject({ message: `step "${step.id}" cancelled`, type: 'Cancelled', nonRetryable: true, attempts: 1, cancelled: true } satisfies StepFailure),
      });
    });
  }

  /** A cancelled fake activity rejects at once with a cancellation failure. */
  cancelStep(stepId: string): void {
    const p = this.pending.find((x) => x.stepId === stepId);
    if (!p) return;
    this.cancelled.push(stepId);
    p.at = this.t;
    p.settle = () => {
      this.completionsOrder.push(stepId);
      p.cancel();
    };
  }

  waitFor(cond: () => boolean, timeoutMs?: number): Promise<boolean> {
    return new Promise((resolve) => this.waiters.push({ cond, resolve, ...(timeoutMs !== undefined ? { deadline: this.t + timeoutMs } : {}) }));
  }

  /** Drives the run to its end; returns the final status. */
  async run(maxSteps = 10_000) {
    let result: Awaited<ReturnType<RunLoop['run']>>['view'] | undefined;
    let error: unknown;
    let done = false;
    this.driver.run().then(
      (r) => ((result = r.view), (done = true)),
      (e) => ((error = e), (done = true)),
    );
    for (let i = 0; i < maxSteps; i++) {
      await flush();
      if (this.unblock()) continue;
      if (done) break;
      if (this.pending.length) {
        this.pending.sort((a, b) => a.at - b.at || a.seq - b.seq);
        const next = this.pending.shift()!;
        this.t = Math.max(this.t, next.at);
        next.settle();
        continue;
      }
      const action = this.actions.shift();
      if (action) {
        action(this.driver);
        continue;
      }
      const timed = this.waiters.filter((w) => w.deadline !== undefined).sort((a, b) => a.deadline! - b.deadline!)[0];
      if (!timed) throw new Error('simulation stuck: the run waits forever with nothing to do');
      this.t = Math.max(this.t, timed.deadline!);
      this.waiters.splice(this.waiters.indexOf(timed), 1);
      timed.resolve(false);
    }
    if (error) throw error;
    if (!done) throw new Error('simulation did not finish');
    return result!;
  }

  private unblock(): boolean {
    let any = false;
    for (const w of [...this.waiters]) {
      if (w.cond()) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(true);
        any = true;
      }
    }
    return any;
  }
}

async function flush(): Promise<void> {
  await new Promise<void>((r) => setImmediate(r));
}
