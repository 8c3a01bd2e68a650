/**
 * Issue 16, item 2 (stuck run): free text in the run state — a NUL byte, quotes, SQL — is stored
 * as data. On the old main a NUL byte in a failing step's error broke the hand-built SQL: the run
 * stayed `running` and every resume crashed the same way.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { RunStore } from '../../embedded/store.ts';
import { tempDir } from '../support/context.ts';
import { planFromYaml } from '../support/specs.ts';

const HOSTILE = "bad\u0000byte'); DROP TABLE runs; -- \\' \"quoted\" \u001b[2J";

const spec = (message: string) => `version: 1
pipelines:
  p:
    steps:
      boom: { uses: fail, retry: { maximum_attempts: 1 }, with: { message: ${JSON.stringify(message)}, type: ${JSON.stringify('Type\u0000X')} } }
      after: { uses: noop, needs: [boom] }
`;

describe('run store: every value is bound, none is SQL text', () => {
  it('a failing step whose error holds a NUL byte and SQL ends the run as failed, with the text intact', async () => {
    const home = path.join(tempDir(), 'home');
    const out = await new EmbeddedRuntime({ home }).start(planFromYaml(spec(HOSTILE), 'p'));
    expect(out.status).toBe('failed');
    expect(out.failed).toEqual(['boom']);

    const store = new RunStore(home);
    const run = await store.getRun(out.runId);
    const { state } = await store.getState(out.runId);
    const attempts = await store.attempts(out.runId);
    const runs = await store.listRuns();
    store.close();
    expect(run.status).toBe('failed');
    expect(run.ended_at).not.toBeNull();
    expect(runs.map((r) => r.run_id)).toEqual([out.runId]); // the runs table is still there
    expect(state.steps.boom!.error!.message).toBe(`${HOSTILE} (attempt 1)`);
    expect(state.steps.boom!.error!.type).toBe('Type\u0000X');
    expect(attempts.find((a) => a.step_id === 'boom')!.error).toContain('bad\u0000byte');
    expect(state.steps.after!.status).toBe('skipped');
  });

  it('retry of such a run works (no parser error on the next write)', async () => {
    const home = path.join(tempDir(), 'home');
    const first = await new EmbeddedRuntime({ home }).start(planFromYaml(spec(HOSTILE), 'p'));
    const again = await new EmbeddedRuntime({ home }).retry(first.runId);
    expect(again.status).toBe('failed');
    const store = new RunStore(home);
    const attempts = await store.attempts(first.runId);
    store.close();
    expect(attempts.filter((a) => a.step_id === 'boom').map((a) => a.attempt)).toEqual([1, 2]);
  });

  it('approver names and comments with NUL bytes and quotes are stored as given', async () => {
    const home = path.join(tempDir(), 'home');
    const text = 'version: 1\npipelines:\n  p:\n    steps:\n      a: { uses: noop }\n      ok: { uses: approval, needs: [a] }\n';
    const rt = new EmbeddedRuntime({ home, waitForApproval: false });
    const parked = await rt.start(planFromYaml(text, 'p'));
    expect(parked.status).toBe('waiting_approval');
    const done = await new EmbeddedRuntime({ home }).decide(parked.runId, 'ok', 'approve', "o'brien\u0000", HOSTILE);
    expect(done!.status).toBe('succeeded');
    expect(done!.state.steps.ok!.outputs).toMatchObject({ approved: true, by: "o'brien\u0000", comment: HOSTILE });
  });
});
