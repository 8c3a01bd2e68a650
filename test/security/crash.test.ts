/**
 * Issue 16, item 5 and two of item 13: kill -9 during a `shell` step. The step's process group is
 * recorded in the state home; `trademl runs` and `status --json` show the dead run as interrupted
 * (with its unfinished attempt); `resume` stops the leftover group before running the step again,
 * so the command's side effect after its sleep never happens twice. On the old main the orphan
 * kept running and finished its side effect next to the re-run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStore } from '../../embedded/store.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { tempDir } from '../support/context.ts';

const BIN = path.join(PROJECT_ROOT, 'bin', 'trademl.mjs');

/** The first attempt writes "start", marks itself and sleeps long; any later attempt finishes at once. */
function writeSpec(dir: string): string {
  const run = 'echo start >> log; if [ -f first ]; then echo end >> log; else touch first; sleep 120; echo end >> log; fi';
  const file = path.join(dir, 'pipelines.yaml');
  writeFileSync(file, `version: 1\npipelines:\n  side:\n    steps:\n      a: { uses: shell, with: { cwd: ${JSON.stringify(dir)}, run: ${JSON.stringify(run)} } }\n`);
  return file;
}

const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : []);

function cli(home: string, dir: string, args: string[]) {
  return spawnSync(process.execPath, [BIN, '--home', home, ...args], { cwd: dir, encoding: 'utf8' });
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('kill -9 during a shell step', () => {
  it('shows the run interrupted, and resume stops the orphaned process group before re-running', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const spec = writeSpec(dir);
    const child = spawn(process.execPath, [BIN, '--home', home, 'run', 'side', '-f', spec], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    const deadline = Date.now() + 150_000; // a cold CLI start on a loaded 2-core machine
    while (!existsSync(path.join(dir, 'first'))) {
      if (Date.now() > deadline) throw new Error(`the step never started; output:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await exited;
    const runId = /started run (\S+)/.exec(out)![1]!;

    // the process group is on record and still alive: the orphan sleeps
    const recDir = path.join(home, 'processes', runId);
    const rec = JSON.parse(readFileSync(path.join(recDir, 'a.json'), 'utf8')) as { pgid: number; attempt: number };
    expect(rec.attempt).toBe(1);
    expect(groupAlive(rec.pgid)).toBe(true);

    // runs / status --json: a dead run is interrupted, its unfinished attempt too
    const runs = JSON.parse(cli(home, dir, ['runs', '--json']).stdout) as { run_id: string; status: string }[];
    expect(runs.find((r) => r.run_id === runId)!.status).toBe('interrupted');
    const status = JSON.parse(cli(home, dir, ['status', runId, '--json']).stdout) as { run: { status: string }; attempts: { step_id: string; attempt: number; status: string }[] };
    expect(status.run.status).toBe('interrupted');
    expect(status.attempts).toEqual([expect.objectContaining({ step_id: 'a', attempt: 1, status: 'interrupted' })]);

    const r = cli(home, dir, ['resume', runId]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(groupAlive(rec.pgid)).toBe(false);
    // the first attempt was stopped in its sleep: its "end" never comes; the re-run's does
    expect(lines(path.join(dir, 'log'))).toEqual(['start', 'start', 'end']);
    expect(readdirSync(recDir)).toEqual([]);

    const store = new RunStore(home);
    const events = await store.events(runId);
    const attempts = await store.attempts(runId);
    store.close();
    expect(events.filter((e) => e.type === 'process_group_killed')).toEqual([expect.objectContaining({ step_id: 'a', data: { pgid: rec.pgid, attempt: 1 } })]);
    expect(attempts.map((a) => `${a.attempt}:${a.status}`)).toEqual(['1:interrupted', '2:succeeded']);
  });
});
