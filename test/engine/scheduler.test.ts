import { describe, expect, it } from 'vitest';
import { backoffMs, decide, initialState, reduce, runStatus, type RunState } from '../../engine/scheduler.ts';
import { findCycle, topoSort } from '../../engine/graph.ts';
import type { Plan } from '../../engine/plan.ts';
import { planFromYaml } from '../support/specs.ts';

const spec = (steps: string, extra = '') => `version: 1
defaults: { retry: { maximum_attempts: 3, initial_interval: 1s, backoff_coefficient: 2, maximum_interval: 3s }, concurrency: { total: 2, cpu: 2, gpu: 1 } }
pipelines:
  p:
${extra}    steps:
${steps}`;

/** Drives the pure scheduler with an instant fake host; returns the start order and max parallelism. */
function simulate(plan: Plan, outcome: (id: string, attempt: number) => 'ok' | 'fail' = () => 'ok') {
  let state: RunState = initialState(plan);
  let t = 0;
  const order: string[] = [];
  let maxRunning = 0;
  const running: string[] = [];
  for (let guard = 0; guard < 10_000; guard++) {
    const d = decide(plan, state, t);
    for (const id of d.start) {
      state = reduce(plan, state, { type: 'started', stepId: id, at: t });
      running.push(id);
      order.push(id);
    }
    maxRunning = Math.max(maxRunning, running.length);
    if (d.finished) break;
    // complete the oldest running step
    const id = running.shift();
    if (id === undefined) {
      t = d.wakeAt ?? t + 1;
      continue;
    }
    t += 10;
    const attempt = state.steps[id]!.attempt;
    state = outcome(id, attempt) === 'ok'
      ? reduce(plan, state, { type: 'succeeded', stepId: id, at: t, outputs: {} })
      : reduce(plan, state, { type: 'failed', stepId: id, at: t, error: { message: 'x', type: 'Boom' } });
  }
  return { state, order, maxRunning };
}

describe('graph', () => {
  it('finds and prints cycles, sorts stably', () => {
    expect(findCycle({ a: ['c'], b: ['a'], c: ['b'] })).toEqual(['a', 'c', 'b', 'a']);
    expect(findCycle({ a: [], b: ['a'] })).toBeNull();
    expect(topoSort(['d', 'b', 'c', 'a'], { a: [], b: ['a'], c: ['a'], d: ['b', 'c'] })).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('scheduler', () => {
  it('runs a diamond in dependency order', () => {
    const plan = planFromYaml(spec(`      a: { uses: noop }
      b: { uses: noop, needs: a }
      c: { uses: noop, needs: a }
      d: { uses: noop, needs: [b, c] }
`), 'p');
    const { order, state } = simulate(plan);
    expect(order[0]).toBe('a');
    expect(order.indexOf('d')).toBe(3);
    expect(runStatus(state)).toBe('succeeded');
  });

  it('respects total and per-queue concurrency on a wide DAG', () => {
    const steps = Array.from({ length: 8 }, (_, i) => `      w${i}: { uses: noop, needs: root${i % 2 ? ', queue: gpu' : ''} }`).join('\n');
    const plan = planFromYaml(spec(`      root: { uses: noop }\n${steps}\n`, '    concurrency: { cpu: 3 }\n'), 'p', { concurrency: 4 });
    let state = initialState(plan);
    state = reduce(plan, state, { type: 'started', stepId: 'root', at: 0 });
    state = reduce(plan, state, { type: 'succeeded', stepId: 'root', at: 1, outputs: {} });
    const d = decide(plan, state, 2);
    expect(d.start).toHaveLength(4);
    expect(d.start.filter((id) => Number(id.slice(1)) % 2 === 1)).toHaveLength(1); // gpu concurrency 1
    expect(d.start.filter((id) => Number(id.slice(1)) % 2 === 0)).toHaveLength(3); // cpu concurrency 3
    expect(simulate(plan).maxRunning).toBeLessThanOrEqual(4);
  });

  it('a failing branch skips only its dependents', () => {
    const plan = planFromYaml(spec(`      a: { uses: noop }
      bad: { uses: noop, needs: a }
      after_bad: { uses: noop, needs: bad }
      good: { uses: noop, needs: a }
      after_good: { uses: noop, needs: good }
      report: { uses: noop, needs: [after_bad, after_good], when: always }
`), 'p');
    const { state } = simulate(plan, (id) => (id === 'bad' ? 'fail' : 'ok'));
    expect(state.steps.bad!.status).toBe('failed');
    expect(state.steps.bad!.attempt).toBe(3);
    expect(state.steps.after_bad).toMatchObject({ status: 'skipped', skipReason: 'upstream_failed' });
    expect(state.steps.after_good!.status).toBe('succeeded');
    expect(state.steps.report!.status).toBe('succeeded');
    expect(runStatus(state)).toBe('failed');
  });

  it('retries with capped exponential backoff; non-retryable fails at once', () => {
    const plan = planFromYaml(spec(`      a: { uses: noop, retry: { maximum_attempts: 5, non_retryable: [Fatal] } }\n`), 'p');
    const step = plan.steps[0]!;
    expect([2, 3, 4, 5].map((n) => backoffMs(step, n))).toEqual([1000, 2000, 3000, 3000]);
    let s = reduce(plan, initialState(plan), { type: 'started', stepId: 'a', at: 0 });
    s = reduce(plan, s, { type: 'failed', stepId: 'a', at: 100, error: { message: 'x', type: 'Boom' } });
    expect(s.steps.a).toMatchObject({ status: 'retry_wait', retryAt: 1100 });
    expect(decide(plan, s, 500)).toMatchObject({ start: [], wakeAt: 1100, finished: false });
    expect(decide(plan, s, 1100).start).toEqual(['a']);
    s = reduce(plan, s, { type: 'started', stepId: 'a', at: 1100 });
    s = reduce(plan, s, { type: 'failed', stepId: 'a', at: 1200, error: { message: 'x', type: 'Fatal' } });
    expect(s.steps.a!.status).toBe('failed');
    expect(s.steps.a!.attempt).toBe(2);
  });

  it('reset re-runs a step and its dependents only; skip lets dependents run', () => {
    const plan = planFromYaml(spec(`      a: { uses: noop }
      b: { uses: noop, needs: a }
      c: { uses: noop, needs: b }
      d: { uses: noop, needs: a }
`), 'p');
    const { state } = simulate(plan, (id) => (id === 'b' ? 'fail' : 'ok'));
    const reset = reduce(plan, state, { type: 'reset', stepIds: ['b'] });
    expect(Object.fromEntries(Object.entries(reset.steps).map(([k, v]) => [k, v.status]))).toEqual({ a: 'succeeded', b: 'pending', c: 'pending', d: 'succeeded' });
    const skipped = reduce(plan, state, { type: 'skip', stepId: 'b', at: 1 });
    expect(skipped.steps.c!.status).toBe('pending');
    expect(decide(plan, skipped, 2).start).toEqual(['c']);
  });

  it('parks approval steps and is deterministic', () => {
    const plan = planFromYaml(spec(`      a: { uses: noop }
      ok: { uses: approval, needs: a }
      b: { uses: noop, needs: ok }
`), 'p');
    let s = reduce(plan, initialState(plan), { type: 'started', stepId: 'a', at: 0 });
    s = reduce(plan, s, { type: 'succeeded', stepId: 'a', at: 1, outputs: {} });
    expect(decide(plan, s, 2)).toMatchObject({ start: [], awaitApproval: ['ok'] });
    s = reduce(plan, s, { type: 'approval_waiting', stepId: 'ok', at: 2 });
    expect(runStatus(s)).toBe('waiting_approval');
    const rejected = reduce(plan, s, { type: 'rejected', stepId: 'ok', at: 3, by: 'ann', comment: 'no' });
    expect(rejected.steps.b!.status).toBe('skipped');
    expect(runStatus(rejected)).toBe('failed');
    expect(simulate(plan).order).toEqual(simulate(plan).order);
  });
});
