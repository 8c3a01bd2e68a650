import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerCoreCommands } from '../../cli/core.ts';
import { commandFiles, registerCommandFiles } from '../../cli/load.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';

const files = readdirSync(path.join(PROJECT_ROOT, 'cli/commands')).filter((f) => f.endsWith('.ts')).sort();
const core = () => {
  const p = new Command('trademl');
  registerCoreCommands(p);
  return p;
};
const argv = (...a: string[]) => ['node', 'trademl', ...a];

describe('CLI command loading (cli/load.ts)', () => {
  it('each cli/commands/<name>.ts registers exactly the top-level command <name>', async () => {
    for (const f of files) {
      const p = core();
      const before = new Set(p.commands.map((c) => c.name()));
      await registerCommandFiles(p, argv(f.replace(/\.ts$/, ''), '--help'));
      expect(p.commands.map((c) => c.name()).filter((n) => !before.has(n)), f).toEqual([f.replace(/\.ts$/, '')]);
    }
  });

  it('a core command loads no command file, a named one only its file, help or an unknown command all', () => {
    const p = core();
    expect(commandFiles(argv('run', 'nightly', '--auto-approve'), p)).toEqual([]);
    expect(commandFiles(argv('--home', '/tmp/x', 'status', 'r1'), p)).toEqual([]);
    expect(commandFiles(argv('--home', 'temporal', 'runs'), p)).toEqual([]);
    expect(commandFiles(argv('temporal', 'status', 'w1'), p)).toEqual(['temporal.ts']);
    expect(commandFiles(argv(), p)).toEqual(files);
    expect(commandFiles(argv('--help'), p)).toEqual(files);
    expect(commandFiles(argv('help', 'models'), p)).toEqual(files);
    expect(commandFiles(argv('temporl', 'run'), p)).toEqual(files);
  });

  it('top-level help still lists every command, and a typo still gets a suggestion', async () => {
    const run = promisify(execFile);
    const help = await run(process.execPath, ['bin/trademl.mjs', '--help'], { cwd: PROJECT_ROOT, timeout: 60_000 });
    for (const f of files) expect(help.stdout).toContain(f.replace(/\.ts$/, ''));
    const typo = await run(process.execPath, ['bin/trademl.mjs', 'temporl'], { cwd: PROJECT_ROOT, timeout: 60_000 }).catch((e: { stderr: string; code: number }) => e);
    expect((typo as { code: number }).code).toBe(2);
    expect((typo as { stderr: string }).stderr).toMatch(/Did you mean temporal\?/);
  });
});
