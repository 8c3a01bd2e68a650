import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { GuardedTracker } from '../../tracking/guarded.ts';
import { LocalTracker } from '../../tracking/local.ts';
import type { RunRecord, StepRecord } from '../../tracking/observer.ts';
import { TrackingObserver } from '../../tracking/trackingObserver.ts';
import { TrackerError, type Tracker } from '../../tracking/types.ts';
import { tempDir } from '../support/context.ts';
import { capturingLogger } from './support/unreachable.ts';

/** `inner`, failing every call with `fault()` while `down()` holds; counts the calls that reached it. */
function switchable(inner: Tracker, down: () => boolean, fault: () => Error): { tracker: Tracker; calls: string[] } {
  const calls: string[] = [];
  const tracker = new Proxy(inner, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function' || prop === 'close') return v;
      return async (...args: unknown[]) => {
        calls.push(String(prop));
        if (down()) throw fault();
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { tracker, calls };
}

const run: RunRecord = { runId: 'r-breaker', pipeline: 'demo', planDigest: 'sha256:' + '1'.repeat(64), params: { greeting: 'hi' }, status: 'running', startedAt: '2024-03-01T00:00:00.000Z' };
const step = (stepId: string): StepRecord => ({ runId: run.runId, pipeline: 'demo', stepId, uses: 'noop', status: 'succeeded', cacheHit: false, attempts: 1, startedAt: '2024-03-01T00:00:01.000Z', endedAt: '2024-03-01T00:00:02.000Z', with: { n: stepId.length }, outputs: { n: 1 } });

describe('tracking observer behind the breaker', () => {
  it('turns tracking off with one line, skips calls while off, writes the report, and turns it back on after the cooldown', async () => {
    const home = tempDir('trademl-obs-breaker-');
    const store = new ArtifactStore(path.join(home, 'artifacts'));
    const local = new LocalTracker(path.join(home, 'tracking.duckdb'), store);
    let down = true;
    let t = 0;
    const { tracker, calls } = switchable(local, () => down, () => new TrackerError('MLflow GET version failed: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED'));
    const { log, lines } = capturingLogger();
    const observer = new TrackingObserver({ tracker: new GuardedTracker(tracker, { cooldownMs: 60_000, now: () => t }), store, home, log });

    await observer.runStarted(run);
    await observer.stepFinished(step('a'));
    await observer.approvalDecided({ runId: run.runId, stepId: 'approve', approved: true, by: 'x', at: '2024-03-01T00:00:03.000Z', comment: '' });
    await observer.stepFinished(step('b'));
    expect(calls).toHaveLength(1);
    const warns = () => lines.filter((l) => l.level >= 40).map((l) => l.msg);
    expect(warns()).toEqual([expect.stringMatching(/^tracking is off: MLflow GET version failed: ECONNREFUSED .* next try in 60 s$/)]);

    // Back up, but the cooldown has not passed: still nothing is sent.
    down = false;
    await observer.stepFinished(step('c'));
    expect(calls).toHaveLength(1);
    // After the cooldown the next call probes, finds the tracker and tracking resumes.
    t += 60_000;
    await observer.stepFinished(step('d'));
    expect(warns()).toEqual([expect.stringMatching(/^tracking is off/), expect.stringMatching(/^tracking is back on: /)]);
    await observer.runFinished({ ...run, status: 'succeeded', endedAt: '2024-03-01T00:00:09.000Z' }, [step('a'), step('b'), step('c'), step('d')]);
    const exp = await local.getOrCreateExperiment('trademl/demo');
    const [tr] = await local.searchRuns(exp, { 'trademl.run_id': run.runId });
    const data = await local.getRun(tr!.runId);
    expect(data.info.status).toBe('FINISHED');
    expect(data.params).toContainEqual({ key: 'd.n', value: '1' });
    expect(data.tags).toContainEqual({ key: 'step.d.status', value: 'succeeded' });
    // Steps finished while tracking was off are not on the tracker run (the report has them).
    expect(data.tags.some((x) => x.key.startsWith('step.b.'))).toBe(false);
    expect(existsSync(path.join(home, 'reports', run.runId, 'report.html'))).toBe(true);
    expect(warns()).toHaveLength(2);
    await local.close();
  });

  it('writes the report and tracker.json while tracking is off, and logs a repeated non-outage failure once', async () => {
    const home = tempDir('trademl-obs-breaker-');
    const store = new ArtifactStore(path.join(home, 'artifacts'));
    const local = new LocalTracker(path.join(home, 'tracking.duckdb'), store);
    const { tracker } = switchable(local, () => true, () => new TrackerError('experiment 7 must be in the active state', 'EXPERIMENT_DELETED', 400));
    const { log, lines } = capturingLogger();
    const observer = new TrackingObserver({ tracker, store, home, log });
    await observer.runStarted(run);
    for (const id of ['a', 'b', 'c']) await observer.stepFinished(step(id));
    await observer.runFinished({ ...run, status: 'succeeded', endedAt: '2024-03-01T00:00:09.000Z' }, [step('a'), step('b'), step('c')]);
    const warns = lines.filter((l) => l.level >= 40);
    expect(warns.map((l) => [l.msg, l.err])).toEqual([['tracking failed (the run continues)', 'experiment 7 must be in the active state']]);
    const dir = path.join(home, 'reports', run.runId);
    expect(JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')).steps).toHaveLength(3);
    expect(JSON.parse(readFileSync(path.join(dir, 'tracker.json'), 'utf8'))).toMatchObject({ tracker: 'local', run_id: null });
    await local.close();
  });
});

/** An observer on a LocalTracker that `fault` fails while `down` holds, behind a breaker (30 s cooldown) on the fake clock `clock.t`. */
function outageRig(fault: () => Error, down: { now: boolean }) {
  const home = tempDir('trademl-obs-breaker-');
  const store = new ArtifactStore(path.join(home, 'artifacts'));
  const local = new LocalTracker(path.join(home, 'tracking.duckdb'), store);
  const clock = { t: 0 };
  const { tracker } = switchable(local, () => down.now, fault);
  const { log, lines } = capturingLogger();
  const observer = new TrackingObserver({ tracker: new GuardedTracker(tracker, { cooldownMs: 30_000, now: () => clock.t }), store, home, log });
  const trackerJson = () => JSON.parse(readFileSync(path.join(home, 'reports', run.runId, 'tracker.json'), 'utf8')) as { run_id: string | null; tracking_off?: string };
  return { local, clock, lines, observer, trackerJson };
}

describe('a run end that an outage kept from the tracker', () => {
  it('is kept, refused while tracking stays off, and written (run ended, report attached, tracker.json) once it is back', async () => {
    const down = { now: false };
    const { local, clock, lines, observer, trackerJson } = outageRig(() => new TrackerError('MLflow POST runs/update failed: ETIMEDOUT', 'ETIMEDOUT'), down);
    await observer.runStarted(run);
    await observer.stepFinished(step('a'));
    const exp = await local.getOrCreateExperiment('trademl/demo');
    const [tr] = await local.searchRuns(exp, { 'trademl.run_id': run.runId });

    down.now = true; // the server stops answering just as the run ends
    await observer.runFinished({ ...run, status: 'cancelled', endedAt: '2024-03-01T00:00:09.000Z' }, [step('a')]);
    expect((await local.getRun(tr!.runId)).info.status).toBe('RUNNING');
    expect(trackerJson().run_id).toBe(tr!.runId); // the run it is on (known before the outage)
    expect(lines.map((l) => l.msg)).toContain('run end not tracked while tracking is off; written when it is back (while this process runs)');

    // the cooldown passes but the server is still down: the probe fails and the end stays pending
    clock.t += 30_000;
    expect(await observer.flushPendingEnds()).toBe(1);
    // still within the doubled cooldown: refused without I/O
    down.now = false;
    clock.t += 30_000;
    expect(await observer.flushPendingEnds()).toBe(1);
    expect((await local.getRun(tr!.runId)).info.status).toBe('RUNNING');
    clock.t += 30_000;
    expect(await observer.flushPendingEnds()).toBe(0);
    const ended = await local.getRun(tr!.runId);
    expect(ended.info.status).toBe('KILLED');
    expect(ended.info.endTime).toBe(Date.parse('2024-03-01T00:00:09.000Z'));
    expect((await local.listArtifacts(tr!.runId, 'report')).map((a) => a.path).sort()).toEqual(['report/report.html', 'report/report.json']);
    expect(lines.map((l) => l.msg)).toContain('run end tracked now that tracking is back');
    await local.close();
  });
});

describe('a run whose tracking was off from its start', () => {
  it('gets its parent run created and ended once tracking is back, and tracker.json names it', async () => {
    const down = { now: true };
    const { local, clock, observer, trackerJson } = outageRig(() => new TrackerError('MLflow GET version failed: ECONNREFUSED', 'ECONNREFUSED'), down);
    await observer.runStarted(run);
    await observer.runFinished({ ...run, status: 'succeeded', endedAt: '2024-03-01T00:00:09.000Z' }, [step('a')]);
    expect(trackerJson()).toMatchObject({ run_id: null, tracking_off: expect.stringContaining('ECONNREFUSED') });
    down.now = false;
    clock.t += 30_000;
    expect(await observer.flushPendingEnds()).toBe(0);
    const exp = await local.getOrCreateExperiment('trademl/demo');
    const [tr] = await local.searchRuns(exp, { 'trademl.run_id': run.runId });
    expect((await local.getRun(tr!.runId)).info.status).toBe('FINISHED');
    expect(trackerJson().run_id).toBe(tr!.runId);
    expect(trackerJson().tracking_off).toBeUndefined();
    await local.close();
  });
});
