/**
 * Issue 16, item 13 (terminal escapes): an approver name or comment holding control sequences is
 * shown as text by `trademl status`, never sent raw to the terminal; the CLI refuses such a name.
 * On the old main `status` printed ESC, CSI and CR as they were.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sanitizeForTerminal, terminalJson } from '../../cli/core.ts';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { tempDir } from '../support/context.ts';
import { planFromYaml } from '../support/specs.ts';

const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const COMMENT = 'fine\u001b]0;owned\u0007\u001b[2J\r\u009b31mred\u202eevil';
const NAME = 'mallory\u001b[8m';

const cli = (home: string, args: string[]) => spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'trademl.mjs'), '--home', home, ...args], { encoding: 'utf8' });

describe('terminal escapes in recorded text', () => {
  it('status prints a hostile rejection comment and approver name as visible escapes', async () => {
    const home = path.join(tempDir(), 'home');
    const text = 'version: 1\npipelines:\n  p:\n    steps:\n      a: { uses: noop }\n      ok: { uses: approval, needs: [a] }\n';
    const parked = await new EmbeddedRuntime({ home, waitForApproval: false }).start(planFromYaml(text, 'p'));
    // recorded through the runtime (as another client could), not through the CLI's name check
    await new EmbeddedRuntime({ home }).decide(parked.runId, 'ok', 'reject', NAME, COMMENT);

    const human = cli(home, ['status', parked.runId]);
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toContain('rejected by mallory\\x1b[8m: fine\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x9b31mred\\u202eevil');
    expect(human.stdout).not.toMatch(RAW);

    const json = cli(home, ['status', parked.runId, '--json']);
    expect(json.stdout).not.toMatch(RAW);
    const parsed = JSON.parse(json.stdout) as { steps: { id: string; error?: { message: string } }[] };
    expect(parsed.steps.find((s) => s.id === 'ok')!.error!.message).toBe(`rejected by ${NAME}: ${COMMENT}`); // the data itself is unchanged
  });

  it('approve refuses an approver name with control characters (exit 2)', async () => {
    const home = path.join(tempDir(), 'home');
    const text = 'version: 1\npipelines:\n  p:\n    steps:\n      ok: { uses: approval }\n';
    const parked = await new EmbeddedRuntime({ home, waitForApproval: false }).start(planFromYaml(text, 'p'));
    const r = cli(home, ['approve', parked.runId, 'ok', '--by', NAME]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--by must be a plain name');
    expect(r.stderr).not.toMatch(RAW);
  });

  it('sanitising keeps newlines, tabs and printable text; JSON stays parseable', () => {
    expect(sanitizeForTerminal('a\tb\nc — é ✔')).toBe('a\tb\nc — é ✔');
    expect(sanitizeForTerminal('\u0000\u007f\u0085')).toBe('\\x00\\x7f\\x85');
    expect(JSON.parse(terminalJson({ v: COMMENT }))).toEqual({ v: COMMENT });
  });
});
