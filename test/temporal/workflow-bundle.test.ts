/**
 * Offline checks of the Temporal workflow: the bundle builds with bundleWorkflowCode, contains the
 * engine module the local runtime uses and no Node built-in; the recorded histories replay with
 * Worker.runReplayHistory; a changed workflow fails replay with a determinism error.
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH, buildWorkflowBundle } from '../../temporal/workflow/build.ts';
import { FIXTURES } from './make-histories.ts';
import { scheduledActivities } from './history.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const HISTORY_FILES = ['plain-dag.json', 'failure-retry-signal.json', 'approval-update.json'];
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  /* already installed in this process */
}

let code = '';
beforeAll(async () => {
  code = (await buildWorkflowBundle()).code;
});

function loadHistory(file: string): { workflowId: string; events: Parameters<typeof scheduledActivities>[0]['events'] } {
  return JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8'));
}

describe('workflow bundle', () => {
  it('bundles the workflows with the same engine module the local runtime imports, and no Node built-in', () => {
    const modules = [...code.matchAll(/^\/\*\*\*\/ "([^"]+)"/gm)].map((m) => m[1]!);
    expect(modules).toContain('./engine/scheduler.ts');
    expect(modules).toContain('./temporal/workflow/pipeline.ts');
    // the local runtime imports exactly this file
    const runtimeSrc = readFileSync(path.join(ROOT, 'embedded/runtime.ts'), 'utf8');
    const imported = /from '(\.\.\/engine\/scheduler\.ts)'/.exec(runtimeSrc)?.[1];
    expect(imported).toBeDefined();
    expect(path.resolve(ROOT, 'embedded', imported!)).toBe(path.resolve(ROOT, modules.find((m) => m.endsWith('engine/scheduler.ts'))!));
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    expect(modules.filter((m) => builtins.has(m) || m.startsWith('node:'))).toEqual([]);
    // nothing from the Node-side activity code or the artifact store got in
    expect(modules.filter((m) => /executor\/|temporal\/activities|artifacts\/|lib\/hash/.test(m))).toEqual([]);
    expect(path.resolve(WORKFLOWS_PATH)).toBe(path.join(ROOT, 'temporal/workflow/index.ts'));
  });
});

describe('replay of recorded histories', () => {
  for (const file of HISTORY_FILES) {
    it(`replays ${file} deterministically`, async () => {
      const h = loadHistory(file);
      await Worker.runReplayHistory({ workflowBundle: { code } }, { events: h.events }, h.workflowId);
    });
  }

  it('the histories cover a DAG run, an operator retry after a failure, and an approval Update', () => {
    const types = (f: string) => loadHistory(f).events.map((e) => e.eventType);
    expect(scheduledActivities(loadHistory('plain-dag.json')).map((a) => a.step ?? a.type)).toEqual(['observeRun', 'ingest', 'features', 'labels', 'fit', 'observeRun']);
    expect(types('failure-retry-signal.json')).toContain('EVENT_TYPE_ACTIVITY_TASK_FAILED');
    expect(types('failure-retry-signal.json')).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED');
    expect(scheduledActivities(loadHistory('failure-retry-signal.json')).map((a) => a.activityId)).toEqual(['ingest-1', 'fit-1', 'fit-2', 'report-1']);
    expect(types('approval-update.json')).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED');
  });

  it('a history whose activities were scheduled in another order fails replay', async () => {
    const h = loadHistory('plain-dag.json');
    const sched = h.events.filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED');
    const a = sched[2]!.activityTaskScheduledEventAttributes;
    sched[2]!.activityTaskScheduledEventAttributes = sched[3]!.activityTaskScheduledEventAttributes;
    sched[3]!.activityTaskScheduledEventAttributes = a;
    await expect(Worker.runReplayHistory({ workflowBundle: { code } }, { events: h.events }, h.workflowId)).rejects.toMatchObject({ name: 'DeterminismViolationError' });
  });

  it('a deliberately changed workflow fails replay with a determinism error', async () => {
    const changed = await bundleWorkflowCode({ workflowsPath: path.join(ROOT, 'test/temporal/changed-workflow/index.ts'), logger: quiet });
    const h = loadHistory('plain-dag.json');
    const err = await Worker.runReplayHistory({ workflowBundle: changed }, { events: h.events }, h.workflowId).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error | undefined)?.name).toBe('DeterminismViolationError');
    expect(String((err as Error).message)).toMatch(/nondeterminism/i);
  });
});
