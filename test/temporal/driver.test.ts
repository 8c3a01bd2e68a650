/**
 * The run loop as the workflow drives it (engine/loop.ts, the code pipelineWorkflow runs) under a
 * simulated host, and against the local runtime: fed the same plans, both must issue the same
 * activities in the same dependency order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../engine/plan.ts';
import { compilePlan } from '../../spec/compile.ts';
import { validateSpecText } from '../../spec/validate.ts';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { fixturePlan, loadHistory, scheduledActivities } from './history.ts';
import { Simulation } from './simulate.ts';

const SPEC = `
version: 1
defaults: { retry: { maximum_attempts: 1 }, on_failure_timeout: 2h }
pipelines:
  wide:
    concurrency: { total: 3, cpu: 3, gpu: 1 }
    steps:
      ingest: { uses: noop }
      audit: { uses: noop, needs: [ingest] }
      features: { uses: noop, needs: [audit] }
      labels: { uses: noop, needs: [audit] }
      fit_a: { uses: noop, needs: [features, labels], queue: gpu }
      fit_b: { uses: noop, needs: [features, labels], queue: gpu }
      stack: { uses: noop, needs: [fit_a, fit_b] }
      side: { uses: noop }
      report: { uses: noop, needs: [stack, side], when: always }
  chain:
    steps:
      a: { uses: noop }
      b: { uses: noop, needs: [a] }
      c: { uses: noop, needs: [b] }
      d: { uses: noop, needs: [a] }
`;
const spec = validateSpecText(SPEC, 'spec.yaml').spec!;
const plan = (name: string, concurrency?: number): Plan => compilePlan(spec, name, { concurrency });

const homes: string[] = [];
afterAll(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })));

async function localStarts(p: Plan): Promise<string[]> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'trademl-local-vs-temporal-'));
  homes.push(home);
  const started: string[] = [];
  const rt = new EmbeddedRuntime({ home, onEvent: (e) => e.type === 'step_started' && started.push(e.stepId) });
  const out = await rt.start(p);
  expect(out.status).toBe('succeeded');
  return started;
}

function respectsNeeds(p: Plan, order: string[]): boolean {
  return p.steps.every((s) => s.needs.every((n) => order.indexOf(n) < order.indexOf(s.id)));
}

describe('workflow decision loop vs local runtime', () => {
  it('issues the same activities in the same order as the local runtime (sequential plans)', async () => {
    for (const name of ['wide', 'chain']) {
      const p = plan(name, 1);
      const sim = new Simulation(p);
      await sim.run();
      expect(sim.starts.map((s) => s.stepId)).toEqual(await localStarts(p));
    }
  });

  it('with concurrency: same activity set, every step after its needs, per-queue limits kept', async () => {
    const p = plan('wide');
    const sim = new Simulation(p, (s) => ({ ok: {}, ms: s.queue === 'gpu' ? 500 : 100 }));
    const final = await sim.run();
    expect(final.status).toBe('succeeded');
    const temporalOrder = sim.starts.map((s) => s.stepId);
    const local = await localStarts(p);
    expect([...temporalOrder].sort()).toEqual([...local].sort());
    expect(respectsNeeds(p, temporalOrder)).toBe(true);
    expect(respectsNeeds(p, local)).toBe(true);
    // fit_a and fit_b (gpu, limit 1) never overlap
    const a = sim.starts.find((s) => s.stepId === 'fit_a')!, b = sim.starts.find((s) => s.stepId === 'fit_b')!;
    expect(Math.abs(b.at - a.at)).toBeGreaterThanOrEqual(500);
    expect(sim.starts.find((s) => s.stepId === 'fit_a')!.queue).toBe('gpu');
  });

  it('the plain-DAG history recorded from the server schedules the activities the local runtime runs, in its order', async () => {
    const h = loadHistory('plain.json');
    const fromHistory = scheduledActivities(h).filter((a) => a.type === 'runStep').map((a) => a.step);
    expect(fromHistory).toEqual(await localStarts(fixturePlan('diamond')));
  });
});

describe('operator decisions and approvals', () => {
  const failOnce = (id: string) => (s: { id: string }, _r: unknown, nth: number) =>
    s.id === id && nth === 1 ? { fail: { message: 'boom', type: 'VendorDown', nonRetryable: false, attempts: 1 } } : { ok: { from: s.id } };

  it('a failed step waits for retry; retry re-runs only it and its dependents with upstream outputs', async () => {
    const sim = new Simulation(plan('chain'), failOnce('b'));
    let waiting: unknown;
    sim.whenIdle((d) => {
      waiting = d.status();
      d.retry({ stepId: 'b', by: 'ops' });
    });
    const final = await sim.run();
    expect(waiting).toMatchObject({ status: 'waiting_operator', waiting: { kind: 'operator', steps: ['b'] } });
    expect(final.status).toBe('succeeded');
    expect(sim.starts.map((s) => s.activityId)).toEqual(['a-1', 'b-1', 'd-1', 'b-2', 'c-1']);
    const b2 = sim.starts.find((s) => s.activityId === 'b-2')!;
    expect(b2.req).toMatchObject({ attemptBase: 1, force: true, upstream: { a: { status: 'succeeded', outputs: { from: 'a' } } } });
    expect(final.steps.find((s) => s.id === 'b')).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(final.actions).toMatchObject([{ action: 'retry', stepIds: ['b'], by: 'ops' }]);
  });

  it('skip lets dependents run; abort cancels; no decision before the timeout fails the run', async () => {
    const skipped = new Simulation(plan('chain'), failOnce('b')).whenIdle((d) => d.skip({ stepId: 'b', by: 'ops' }));
    const s1 = await skipped.run();
    expect(s1.steps.find((s) => s.id === 'b')).toMatchObject({ status: 'skipped', skipReason: 'operator' });
    expect(s1.steps.find((s) => s.id === 'c')!.status).toBe('succeeded');

    const aborted = new Simulation(plan('chain'), failOnce('b')).whenIdle((d) => d.abort({ by: 'ops' }));
    expect((await aborted.run()).status).toBe('cancelled');

    const ignored = new Simulation(plan('chain'), failOnce('b'));
    const t0 = ignored.t;
    const s3 = await ignored.run();
    expect(s3.status).toBe('failed');
    expect(ignored.t - t0).toBeGreaterThanOrEqual(2 * 3600_000);
  });

  it('validators refuse bad operator requests', async () => {
    const sim = new Simulation(plan('chain'), failOnce('b'));
    sim.whenIdle((d) => {
      expect(() => d.validateRetry({ stepId: 'a' })).toThrow(/only a failed step/);
      expect(() => d.validateRetry({ stepId: 'nope' })).toThrow(/unknown step/);
      expect(() => d.validateApproval({ by: 'x' })).toThrow(/no step waits for approval/);
      d.refused('skip', { stepId: 'a' }, 'not failed');
      d.abort({ by: 'ops' });
    });
    const final = await sim.run();
    expect(final.actions.map((a) => a.action)).toEqual(['skip', 'abort']);
  });

  it('approval: waits, requires an approver name, continues on approve, fails on reject or timeout', async () => {
    const gated = fixturePlan('gated');
    const approved = new Simulation(gated);
    approved.whenIdle((d) => {
      expect(d.status()).toMatchObject({ status: 'waiting_approval', waiting: { kind: 'approval', steps: ['approve'] } });
      expect(() => d.validateApproval({ by: '  ' })).toThrow(/approver name required/);
      d.decideApproval({ by: 'risk', comment: 'ok' }, true);
    });
    const a = await approved.run();
    expect(a.status).toBe('succeeded');
    expect(a.steps.find((s) => s.id === 'approve')!.outputs).toMatchObject({ approved: true, by: 'risk', comment: 'ok' });

    const rejected = new Simulation(gated).whenIdle((d) => d.decideApproval({ stepId: 'approve', by: 'risk', comment: 'PBO too high' }, false));
    const r = await rejected.run();
    expect(r.status).toBe('failed');
    expect(r.steps.find((s) => s.id === 'promote')).toMatchObject({ status: 'skipped', skipReason: 'upstream_failed' });

    const timedOut = new Simulation(gated);
    const t = await timedOut.run();
    expect(t.steps.find((s) => s.id === 'approve')!.error).toMatchObject({ type: 'ApprovalTimeout' });
    expect(timedOut.starts.map((s) => s.stepId)).toEqual(['gate']);
  });
});
