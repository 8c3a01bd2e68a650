import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedRuntime, type RuntimeEvent } from '../../embedded/runtime.ts';
import { tempDir } from '../support/context.ts';
import { planFromYaml } from '../support/specs.ts';

/** A shell step that records each execution in <dir>/<id>.count and optionally sleeps. */
const counted = (dir: string, id: string, needs: string[] = [], extra = '') =>
  `      ${id}: { uses: shell, needs: [${needs.join(', ')}], with: { run: "echo x >> ${dir}/${id}.count ${extra}" } }`;
const count = (dir: string, id: string) => (existsSync(path.join(dir, `${id}.count`)) ? readFileSync(path.join(dir, `${id}.count`), 'utf8').trim().split('\n').length : 0);
const header = `version: 1
defaults: { retry: { maximum_attempts: 3, initial_interval: 100ms, backoff_coefficient: 2, maximum_interval: 1s } }
pipelines:
  p:
    steps:
`;

function runtime(home: string, events: RuntimeEvent[] = [], extra: Partial<ConstructorParameters<typeof EmbeddedRuntime>[0]> = {}) {
  return new EmbeddedRuntime({ home, onEvent: (e) => events.push(e), ...extra });
}

describe('local runtime', () => {
  it('runs a diamond with bounded concurrency and correct order', async () => {
    const dir = tempDir();
    const plan = planFromYaml(header + [
      '      a: { uses: noop }',
      ...['b', 'c', 'd'].map((id) => `      ${id}: { uses: sleep, needs: [a], with: { duration: 200ms } }`),
      '      e: { uses: noop, needs: [b, c, d] }',
    ].join('\n') + '\n', 'p', { concurrency: 2 });
    const events: RuntimeEvent[] = [];
    const out = await runtime(path.join(dir, 'home'), events).start(plan);
    expect(out.status).toBe('succeeded');
    let running = 0;
    let max = 0;
    const seq: string[] = [];
    for (const e of events) {
      if (e.type === 'step_started') { running++; seq.push(`+${e.stepId}`); }
      if (e.type === 'step_finished') { running--; seq.push(`-${e.stepId}`); }
      max = Math.max(max, running);
    }
    expect(max).toBe(2);
    expect(seq.indexOf('+e')).toBeGreaterThan(Math.max(seq.indexOf('-b'), seq.indexOf('-c'), seq.indexOf('-d')));
    expect(seq.indexOf('+b')).toBeGreaterThan(seq.indexOf('-a'));
  });

  it('retries with backoff: fails twice then succeeds on attempt 3; non-retryable fails at once', async () => {
    const dir = tempDir();
    const plan = planFromYaml(header + [
      '      flaky: { uses: fail, with: { times: 2 } }',
      '      fatal: { uses: fail, with: { type: Fatal, non_retryable: true } }',
      '      after: { uses: noop, needs: [fatal] }',
    ].join('\n') + '\n', 'p');
    const rt = runtime(path.join(dir, 'home'));
    const t0 = Date.now();
    const out = await rt.start(plan);
    expect(out.state.steps.flaky).toMatchObject({ status: 'succeeded', attempt: 3, outputs: { attempts: 3 } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300); // 100ms + 200ms backoff
    expect(out.state.steps.fatal).toMatchObject({ status: 'failed', attempt: 1 });
    expect(out.state.steps.after).toMatchObject({ status: 'skipped', skipReason: 'upstream_failed' });
    expect(out.status).toBe('failed');
    expect(out.failed).toEqual(['fatal']);
    const attempts = await rt.store.attempts(out.runId);
    expect(attempts.filter((a) => a.step_id === 'flaky').map((a) => a.status)).toEqual(['failed', 'failed', 'succeeded']);
  });

  it('cache: an identical re-run executes nothing; a changed `with` re-runs exactly that step and its descendants', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const yaml = (n: number) => header + [
      counted(dir, 'a'),
      counted(dir, 'b', ['a'], `&& echo ${n}`),
      counted(dir, 'c', ['b']),
      counted(dir, 'd', ['a']),
    ].join('\n') + '\n';
    expect((await runtime(home).start(planFromYaml(yaml(1), 'p'))).status).toBe('succeeded');
    const second = await runtime(home).start(planFromYaml(yaml(1), 'p'));
    expect(Object.values(second.state.steps).every((s) => s.cacheHit)).toBe(true);
    expect(['a', 'b', 'c', 'd'].map((id) => count(dir, id))).toEqual([1, 1, 1, 1]);
    const third = await runtime(home).start(planFromYaml(yaml(2), 'p'));
    expect(Object.fromEntries(Object.entries(third.state.steps).map(([k, s]) => [k, s.cacheHit]))).toEqual({ a: true, b: false, c: false, d: true });
    expect(['a', 'b', 'c', 'd'].map((id) => count(dir, id))).toEqual([1, 2, 2, 1]);
    const nocache = await new EmbeddedRuntime({ home, noCache: true }).start(planFromYaml(yaml(2), 'p'));
    expect(Object.values(nocache.state.steps).some((s) => s.cacheHit)).toBe(false);
  });

  it('deterministic failures (verdicts) are cached: an unchanged re-run replays them without executing', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const yaml = header + [counted(dir, 'a'), '      verdict: { uses: fail, needs: [a], with: { type: DeterministicFailure, non_retryable: true, message: "bars failed" } }', '      report: { uses: noop, needs: [verdict], when: always }'].join('\n') + '\n';
    const first = await runtime(home).start(planFromYaml(yaml, 'p'));
    expect(first.state.steps.verdict).toMatchObject({ status: 'failed', cacheHit: false, error: { type: 'DeterministicFailure' } });
    const second = await runtime(home).start(planFromYaml(yaml, 'p'));
    expect(second.state.steps.verdict).toMatchObject({ status: 'failed', cacheHit: true, error: { type: 'DeterministicFailure', message: 'bars failed (attempt 1)' } });
    expect(second.state.steps.report).toMatchObject({ status: 'succeeded', cacheHit: true });
    expect(count(dir, 'a')).toBe(1);
    // an ordinary (non-verdict) failure is never cached
    const flaky = header + '      f: { uses: fail, retry: { maximum_attempts: 1 } }\n';
    await runtime(home).start(planFromYaml(flaky, 'p'));
    expect((await runtime(home).start(planFromYaml(flaky, 'p'))).state.steps.f).toMatchObject({ status: 'failed', cacheHit: false });
  });

  it('retry --from re-runs exactly the step and its dependents, reusing upstream outputs', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const plan = planFromYaml(header + [counted(dir, 'a'), counted(dir, 'b', ['a']), counted(dir, 'c', ['b']), counted(dir, 'd', ['a']), counted(dir, 'e', ['d'])].join('\n') + '\n', 'p');
    const first = await runtime(home).start(plan);
    const again = await runtime(home).retry(first.runId, 'b');
    expect(again.status).toBe('succeeded');
    expect(['a', 'b', 'c', 'd', 'e'].map((id) => count(dir, id))).toEqual([1, 2, 2, 1, 1]);
  });

  it('retry without --from re-runs the failed step after the cause is fixed', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const plan = planFromYaml(header + [
      counted(dir, 'a'),
      `      gate: { uses: shell, needs: [a], retry: { maximum_attempts: 1 }, with: { run: "test -f ${dir}/fixed" } }`,
      counted(dir, 'b', ['gate']),
      counted(dir, 'side', ['a']),
    ].join('\n') + '\n', 'p');
    const first = await runtime(home).start(plan);
    expect(first.status).toBe('failed');
    expect(first.state.steps.b!.status).toBe('skipped');
    expect(count(dir, 'side')).toBe(1);
    readFileSync; // fix the cause
    await import('node:fs').then((fs) => fs.writeFileSync(path.join(dir, 'fixed'), ''));
    const second = await runtime(home).retry(first.runId);
    expect(second.status).toBe('succeeded');
    expect(['a', 'b', 'side'].map((id) => count(dir, id))).toEqual([1, 1, 1]);
  });

  it('approval: blocks, survives a restart, continues on approve; reject fails cleanly', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const plan = planFromYaml(header + [counted(dir, 'a'), '      ok: { uses: approval, needs: [a], with: { show: [a] } }', counted(dir, 'b', ['ok'])].join('\n') + '\n', 'p');
    const events: RuntimeEvent[] = [];
    const parked = await runtime(home, events, { waitForApproval: false }).start(plan);
    expect(parked.status).toBe('waiting_approval');
    expect(events.find((e) => e.type === 'approval_waiting')).toMatchObject({ stepId: 'ok', show: { a: { exit_code: 0 } } });
    // a fresh runtime (as after a process restart) records the decision and continues the run
    const done = await runtime(home).decide(parked.runId, 'ok', 'approve', 'alice', 'looks good');
    expect(done!.status).toBe('succeeded');
    expect(done!.state.steps.ok!.outputs).toMatchObject({ approved: true, by: 'alice', comment: 'looks good' });
    expect(count(dir, 'b')).toBe(1);

    const parked2 = await runtime(home, [], { waitForApproval: false }).start(plan);
    const rejected = await runtime(home).decide(parked2.runId, 'ok', 'reject', 'bob', 'PBO too high');
    expect(rejected!.status).toBe('failed');
    expect(rejected!.state.steps.ok).toMatchObject({ status: 'failed', error: { type: 'ApprovalRejected', message: 'rejected by bob: PBO too high' } });
    expect(rejected!.state.steps.b!.status).toBe('skipped');
    expect(count(dir, 'b')).toBe(1);
    await expect(runtime(home).decide(parked2.runId, 'ok', 'approve', 'x')).rejects.toThrow(/not waiting/);
    await expect(runtime(home).decide(parked2.runId, 'a', 'approve', 'x')).rejects.toThrow(/not an approval/);
  });

  it('a live run picks up an approval written by another process', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const plan = planFromYaml(header + ['      ok: { uses: approval }', counted(dir, 'b', ['ok'])].join('\n') + '\n', 'p');
    const events: RuntimeEvent[] = [];
    const rt = runtime(home, events, { approvalPollMs: 50 });
    const running = rt.start(plan);
    while (!events.some((e) => e.type === 'approval_waiting')) await new Promise((r) => setTimeout(r, 20));
    const runId = (events[0] as { runId: string }).runId;
    // simulate `trademl approve` from another process: write the decision directly
    const other = runtime(home);
    await other.store.addDecision({ run_id: runId, step_id: 'ok', action: 'approve', by: 'carol', comment: '', at: Date.now() });
    other.store.close();
    const out = await running;
    expect(out.status).toBe('succeeded');
    expect(out.state.steps.ok!.outputs).toMatchObject({ by: 'carol' });
  });
});
