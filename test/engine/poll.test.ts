/**
 * Decision polling of the run loop (engine/loop.ts): while a run ticks it polls its host's
 * decisions at most once per poll interval, and a poll the throttle skipped is made when the
 * interval is up, not at the next step's end: an abort recorded while a short step ran is applied
 * while a long step still runs.
 */
import { describe, expect, it } from 'vitest';
import { RunLoop, type LoopHost, type PolledDecision, type StepFailure, type StepRunResult } from '../../engine/loop.ts';
import type { PlanStep } from '../../engine/plan.ts';
import { planFromYaml } from '../support/specs.ts';

class TimedHost implements LoopHost {
  readonly retries = 'engine' as const;
  readonly pollIntervalMs = 100;
  polls = 0;
  readonly cancelled: string[] = [];
  private readonly t0 = Date.now();
  private readonly rejects = new Map<string, (f: StepFailure) => void>();
  constructor(private readonly durations: Record<string, number>, private readonly decisionAtMs: number) {}
  now() {
    return Date.now();
  }
  runStep(step: PlanStep): Promise<StepRunResult> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => resolve({ outputs: {}, cacheHit: false, cacheKey: 'k', durationMs: 0, attempt: 1 }), this.durations[step.id]);
      this.rejects.set(step.id, (f) => {
        clearTimeout(t);
        reject(f);
      });
    });
  }
  cancelStep(id: string) {
    this.cancelled.push(id);
    this.rejects.get(id)?.({ message: 'cancelled', type: 'Cancelled', nonRetryable: true, attempts: 1, cancelled: true });
  }
  async waitFor(cond: () => boolean, timeoutMs?: number) {
    const until = Date.now() + (timeoutMs ?? 60_000);
    while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
    return cond();
  }
  private given = false;
  async pollDecisions(): Promise<PolledDecision[]> {
    this.polls++;
    if (this.given || Date.now() - this.t0 < this.decisionAtMs) return [];
    this.given = true;
    return [{ action: 'abort', request: { by: 'ops', reason: 'enough' }, at: Date.now() }];
  }
}

describe('run loop: decision polling', () => {
  it('polls at most once per interval while short steps tick, and makes a skipped poll when it is due', async () => {
    const quick = Array.from({ length: 30 }, (_, i) => `q${i}`);
    const yaml = `version: 1\npipelines:\n  p:\n    steps:\n      long: { uses: noop }\n${quick.map((id) => `      ${id}: { uses: noop }`).join('\n')}\n`;
    const plan = planFromYaml(yaml, 'p', { concurrency: 2 });
    // the quick steps run one after another beside the long one (≈ 30 ticks in ≈ 150 ms); the abort is recorded at 120 ms
    const host = new TimedHost({ long: 3_000, ...Object.fromEntries(quick.map((id) => [id, 5])) }, 120);
    const out = await new RunLoop(plan, host, { runId: 'poll-1' }).run();
    expect(out.status).toBe('cancelled');
    expect(host.cancelled).toContain('long'); // applied while the long step ran, not after it
    expect(out.state.steps.long!.status).not.toBe('succeeded');
    expect(host.polls).toBeLessThanOrEqual(4);
  });

  it('polls at every tick when ticks are further apart than the interval', async () => {
    const yaml = 'version: 1\npipelines:\n  p:\n    steps:\n      a: { uses: noop }\n      b: { uses: noop, needs: [a] }\n      c: { uses: noop, needs: [b] }\n';
    const host = new TimedHost({ a: 120, b: 120, c: 120 }, Infinity);
    const out = await new RunLoop(planFromYaml(yaml, 'p'), host, { runId: 'poll-2' }).run();
    expect(out.status).toBe('succeeded');
    expect(host.polls).toBe(4); // the first tick and one after each step
  });
});
