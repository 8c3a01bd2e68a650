import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { RunStore } from '../../embedded/store.ts';
import { tempDir } from '../support/context.ts';

const BIN = path.join(PROJECT_ROOT, 'bin', 'trademl.mjs');
const STEPS = ['s1', 's2', 's3', 's4', 's5'];

function writeSpec(dir: string): string {
  const lines = STEPS.map((id, i) => `      ${id}: { uses: shell, needs: [${i ? STEPS[i - 1] : ''}], with: { run: "echo x >> ${dir}/${id}.count && sleep 0.4" } }`);
  const file = path.join(dir, 'pipelines.yaml');
  writeFileSync(file, `version: 1\npipelines:\n  chain:\n    steps:\n${lines.join('\n')}\n`);
  return file;
}

const count = (dir: string, id: string) => (existsSync(path.join(dir, `${id}.count`)) ? readFileSync(path.join(dir, `${id}.count`), 'utf8').trim().split('\n').length : 0);

/** Starts `trademl run chain`, SIGKILLs it once `killWhen` holds; returns the run id. */
async function runAndKill(dir: string, home: string, spec: string, killWhen: () => boolean, delayMs: number): Promise<string> {
  const child = spawn(process.execPath, [BIN, '--home', home, 'run', 'chain', '-f', spec], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code, sig) => r(sig ? -1 : code)));
  const deadline = Date.now() + 150_000; // generous: a cold CLI start on a loaded 2-core machine
  while (!killWhen()) {
    if (Date.now() > deadline) throw new Error(`kill point never reached; output:\n${out}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, delayMs));
  child.kill('SIGKILL');
  expect(await exited).toBe(-1);
  const m = /started run (\S+)/.exec(out);
  if (!m) throw new Error(`no run id in output:\n${out}`);
  return m[1]!;
}

describe('crash safety (SIGKILL, then trademl resume)', () => {
  const points: [string, (dir: string) => () => boolean, number][] = [
    ['right after the first step ran', (d) => () => count(d, 's1') === 1, 0],
    ['in the middle of the third step', (d) => () => count(d, 's3') === 1, 150],
    ['between the fourth step ending and the fifth starting', (d) => () => count(d, 's4') === 1, 420],
    ['while the last step finishes', (d) => () => count(d, 's5') === 1, 380],
  ];
  for (const [name, when, delay] of points) {
    it(`resumes ${name} without re-running completed steps`, async () => {
      const dir = tempDir();
      const home = path.join(dir, 'home');
      const spec = writeSpec(dir);
      const runId = await runAndKill(dir, home, spec, when(dir), delay);

      const store = new RunStore(home);
      const before = await store.getState(runId);
      const run = await store.getRun(runId);
      store.close();
      expect(run.status).not.toBe('succeeded');
      const done = STEPS.filter((id) => before.state.steps[id]!.status === 'succeeded');
      // every committed step really ran exactly once; nothing downstream of an unfinished step ran
      for (const id of done) expect(count(dir, id)).toBe(1);
      for (const [i, id] of STEPS.entries()) if (i > done.length) expect(count(dir, id)).toBe(0);

      const r = spawnSync(process.execPath, [BIN, '--home', home, 'resume', runId], { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stderr + r.stdout).toBe(0);
      const store2 = new RunStore(home);
      const after = await store2.getState(runId);
      const run2 = await store2.getRun(runId);
      const attempts = await store2.attempts(runId);
      store2.close();
      expect(run2.status).toBe('succeeded');
      for (const id of STEPS) expect(after.state.steps[id]!.status).toBe('succeeded');
      for (const id of done) {
        expect(count(dir, id)).toBe(1);
        expect(attempts.filter((a) => a.step_id === id).length).toBe(1);
      }
      // the step that was cut off (if any) ran again, marked as interrupted first
      for (const id of STEPS) expect(count(dir, id)).toBeLessThanOrEqual(2);
    });
  }
});
