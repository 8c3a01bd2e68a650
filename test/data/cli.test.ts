import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { register } from '../../cli/commands/data.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { tempDir } from './helpers.ts';

/** Runs `trademl data …` through the command module (no process spawn); returns what it printed. */
async function run(args: string[]): Promise<string> {
  const program = new Command().exitOverride().option('--home <dir>');
  register(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  try {
    await program.parseAsync(['--home', tempDir('trademl-home-'), 'data', ...args], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe.skipIf(!hasSharedData())('trademl data init | check', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('init --print drafts the India index contract', async () => {
    const out = await run(['init', 'india_indices', '--print']);
    expect(out).toMatch(/^# Draft dataset contract written by `trademl data init india_indices`/);
    expect(out).toMatch(/calendar: nse/);
  });

  it('init refuses a bad --name with the rule, and an unknown folder naming it', async () => {
    await expect(run(['init', 'india_indices', '--name', 'Bad-Name'])).rejects.toThrow(/--name "Bad-Name": use lower-case letters, digits and _ only/);
    await expect(run(['init', 'no_such_folder', '--print'])).rejects.toThrow(/data init: folder .*no_such_folder does not exist/);
  });

  it('check ingests, audits and prints the first problems', async () => {
    const out = await run(['check', 'sp500_subset', '--limit', '3']);
    expect(out).toMatch(/^dataset sp500_subset: (GREEN|AMBER) — 75536 rows, 60 symbols, 1259 dates \(2013-02-08\.\.2018-02-07\)/);
    expect(out).toMatch(/corporate-action candidate|no problems found|missing_day/);
    await expect(run(['check', 'sp500_subset', '--limit', 'x'])).rejects.toThrow(/--limit: expected an integer 1\.\.1000, got "x"/);
  });
});
