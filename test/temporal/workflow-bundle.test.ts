/**
 * Offline checks of the Temporal workflow (no server needed): the bundle builds with
 * bundleWorkflowCode, contains the engine module the local runtime uses and no Node built-in;
 * the histories recorded from the real server replay deterministically — those recorded by the
 * workflow code before the issue-17 changes (`legacy/`: runs a deploy finds parked) and by the
 * current code; an unpatched change of the workflow code fails replay, the same change behind
 * `patched()` passes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH, buildWorkflowBundle } from '../../temporal/workflow/build.ts';
import { FIXTURES, eventTypes, loadHistory, scheduledActivities } from './history.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const CURRENT = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort();
const LEGACY = readdirSync(path.join(FIXTURES, 'legacy')).filter((f) => f.endsWith('.json')).map((f) => `legacy/${f}`).sort();
const ALL = [...LEGACY, ...CURRENT];

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  /* already installed in this process */
}

let code = '';
beforeAll(async () => {
  code = (await buildWorkflowBundle()).code;
}, 120_000);

const replay = (bundle: { code: string }, file: string) => {
  const h = loadHistory(file);
  return Worker.runReplayHistory({ workflowBundle: bundle }, { events: h.events }, h.workflowId);
};

describe('workflow bundle', () => {
  it('bundles the workflows with the same engine module the local runtime imports, and no Node built-in', () => {
    const modules = [...code.matchAll(/^\/\*\*\*\/ "([^"]+)"/gm)].map((m) => m[1]!);
    expect(modules).toContain('./engine/loop.ts');
    expect(modules).toContain('./temporal/workflow/pipeline.ts');
    const runtimeSrc = readFileSync(path.join(ROOT, 'embedded/host.ts'), 'utf8');
    expect(runtimeSrc).toMatch(/from '\.\.\/engine\/loop\.ts'/);
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    expect(modules.filter((m) => builtins.has(m) || m.startsWith('node:'))).toEqual([]);
    // nothing from the Node-side activity code, the client side or the artifact store got in
    expect(modules.filter((m) => /executor\/|temporal\/(activities|worker|client|rerun|reaper|schedules|search-attributes|gpu)|artifacts\/|lib\/hash/.test(m))).toEqual([]);
    expect(path.resolve(WORKFLOWS_PATH)).toBe(path.join(ROOT, 'temporal/workflow/index.ts'));
  });
});

describe('replay of histories recorded from the real server', () => {
  it('has the recorded scenarios, old and current: plain DAG, operator retry, approval (Update), cancel, hand-off', () => {
    expect(LEGACY).toEqual(['legacy/approval.json', 'legacy/cancel.json', 'legacy/plain.json', 'legacy/retry.json']);
    expect(CURRENT).toEqual(['approval.json', 'cancel.json', 'handoff.json', 'plain.json', 'retry.json']);
    for (const f of ALL) expect(loadHistory(f).recorded.sdk).toMatch(/^1\.\d+\.\d+$/);
    expect(scheduledActivities(loadHistory('plain.json')).filter((a) => a.step).map((a) => `${a.step}@${a.taskQueue.replace(/^.*-/, '')}`)).toEqual(['ingest@cpu', 'features@cpu', 'labels@cpu', 'fit@gpu']);
    expect(eventTypes(loadHistory('retry.json'))).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED');
    expect(eventTypes(loadHistory('approval.json'))).toContain('EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES');
    expect(eventTypes(loadHistory('handoff.json'))).toContain('EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED');
    // the legacy cancel closed while its step still ran; the current one waits for the step to be cancelled
    const legacyCancel = eventTypes(loadHistory('legacy/cancel.json'));
    expect(legacyCancel).not.toContain('EVENT_TYPE_ACTIVITY_TASK_CANCELED');
    const cancel = eventTypes(loadHistory('cancel.json'));
    expect(cancel.indexOf('EVENT_TYPE_ACTIVITY_TASK_CANCELED')).toBeGreaterThan(cancel.indexOf('EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED'));
    expect(cancel.at(-1)).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED');
  });

  for (const file of ALL) {
    it(`replays ${file} with the current workflow code`, async () => {
      await replay({ code }, file);
    });
  }

  it('a history whose activities were scheduled in another order fails replay', async () => {
    const h = loadHistory('plain.json');
    const sched = h.events.filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED');
    const a = sched[2]!.activityTaskScheduledEventAttributes;
    sched[2]!.activityTaskScheduledEventAttributes = sched[3]!.activityTaskScheduledEventAttributes;
    sched[3]!.activityTaskScheduledEventAttributes = a;
    await expect(Worker.runReplayHistory({ workflowBundle: { code } }, { events: h.events }, h.workflowId)).rejects.toMatchObject({ name: 'DeterminismViolationError' });
  });

  it('an unpatched change of the workflow code fails replay; the same change behind patched() replays every history', async () => {
    const unpatched = await bundleWorkflowCode({ workflowsPath: path.join(ROOT, 'test/temporal/changed-workflow/unpatched.ts'), logger: quiet });
    const patchedBundle = await bundleWorkflowCode({ workflowsPath: path.join(ROOT, 'test/temporal/changed-workflow/patched.ts'), logger: quiet });
    for (const file of ['legacy/approval.json', 'approval.json']) {
      const err = await replay(unpatched, file).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as Error | undefined)?.name, file).toBe('DeterminismViolationError');
    }
    for (const file of ALL) await replay(patchedBundle, file);
  }, 120_000);
});
