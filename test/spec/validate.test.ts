import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { kinds as builtinKinds } from '../../kinds/builtin/index.ts';
import { STEP_KINDS } from '../../kinds/registry.ts';
import { formatDiagnostic } from '../../spec/source.ts';
import { validateSpecText } from '../../spec/validate.ts';

/**
 * The validation corpus (issue 2): every file under test/fixtures/specs/bad/ starts with
 *   # expect: LINE:COL <substring of the message>     (one per diagnostic, in order)
 *   # hint: <substring of the hint>                   (optional, for the expectation above it)
 * and must produce exactly those diagnostics; every file under good/ must produce none.
 * Fixtures use only the built-in step kinds, so the checks run against those alone.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = (kind: 'bad' | 'good') => path.join(root, 'test/fixtures/specs', kind);
const files = (kind: 'bad' | 'good') => readdirSync(dir(kind)).filter((f) => f.endsWith('.yaml')).sort();
const KINDS = new Map(builtinKinds.map((k) => [k.uses, k]));

interface Expectation {
  line: number;
  col: number;
  message: string;
  hint?: string;
}

function expectations(text: string): Expectation[] {
  const out: Expectation[] = [];
  for (const l of text.split('\n')) {
    const e = /^# expect: (\d+):(\d+) (.+)$/.exec(l);
    if (e) out.push({ line: Number(e[1]), col: Number(e[2]), message: e[3]! });
    const h = /^# hint: (.+)$/.exec(l);
    if (h) {
      if (!out.length) throw new Error('a "# hint:" line must follow an "# expect:" line');
      out[out.length - 1]!.hint = h[1]!;
    }
  }
  return out;
}

describe('validation corpus: bad specs', () => {
  const bad = files('bad');

  it('has at least 80 fixtures (issue 16), each with expectations', () => {
    expect(bad.length).toBeGreaterThanOrEqual(80);
    for (const f of bad) expect(expectations(readFileSync(path.join(dir('bad'), f), 'utf8')).length, f).toBeGreaterThan(0);
  });

  it.each(bad)('%s', (f) => {
    const text = readFileSync(path.join(dir('bad'), f), 'utf8');
    const want = expectations(text);
    let result: ReturnType<typeof validateSpecText> | undefined;
    expect(() => (result = validateSpecText(text, f, KINDS))).not.toThrow();
    const got = result!.diagnostics;
    const shown = got.map(formatDiagnostic).join('\n');
    expect(got.length, `diagnostics of ${f}:\n${shown}`).toBe(want.length);
    want.forEach((w, i) => {
      const d = got[i]!;
      expect(`${d.line}:${d.col}`, `position of diagnostic ${i + 1} in ${f}:\n${shown}`).toBe(`${w.line}:${w.col}`);
      expect(d.message, `message of diagnostic ${i + 1} in ${f}`).toContain(w.message);
      expect(d.file).toBe(f);
      expect(d.hint, `hint of diagnostic ${i + 1} in ${f}`).toBeTruthy();
      if (w.hint) expect(d.hint).toContain(w.hint);
      // a diagnostic points at the offending node, never at 1:1 (the files start with comments)
      expect(d.line, `diagnostic ${i + 1} in ${f} points at the comment header`).toBeGreaterThan(want.length);
    });
    expect(result!.spec).toBeUndefined();
  });
});

describe('validation corpus: good specs', () => {
  const good = files('good');

  it('has a few fixtures', () => expect(good.length).toBeGreaterThanOrEqual(3));

  it.each([...good.map((f) => path.join('test/fixtures/specs/good', f)), 'pipelines.yaml'])('%s is valid', (f) => {
    // the project's own pipelines.yaml uses every registered kind; the fixtures only the built-ins
    const r = validateSpecText(readFileSync(path.join(root, f), 'utf8'), f, f === 'pipelines.yaml' ? STEP_KINDS : KINDS);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(r.spec?.version).toBe(1);
  });

  it('the full fixture exercises schedule, params, retry, approval and always-steps', () => {
    const r = validateSpecText(readFileSync(path.join(dir('good'), 'full.yaml'), 'utf8'), 'full.yaml', KINDS);
    const p = r.spec!.pipelines.nightly!;
    expect(p.schedule).toMatchObject({ cron: '0 2 * * 1-5', timezone: 'America/New_York', overlap: 'buffer_one' });
    expect(Object.keys(p.params ?? {})).toContain('n_trials');
    expect(Object.values(p.steps).map((s) => s.uses)).toEqual(expect.arrayContaining(['approval', 'fail', 'sleep', 'shell', 'noop']));
    expect(Object.values(p.steps).some((s) => s.when === 'always')).toBe(true);
    expect(Object.values(p.steps).some((s) => s.retry !== undefined)).toBe(true);
  });
});

describe('noise', () => {
  it('an unknown param in a `with` field is reported once, not again by the kind schema', () => {
    const text = ['version: 1', 'pipelines:', '  demo:', '    steps:', '      wait:', '        uses: sleep', '        with: { duration: "${{ params.pause }}" }', ''].join('\n');
    const d = validateSpecText(text, 'x.yaml', KINDS).diagnostics;
    expect(d.map((x) => x.message)).toEqual(['unknown param "pause"']);
  });

  it('a step with one bad key is still checked on its other keys', () => {
    const text = ['version: 1', 'pipelines:', '  demo:', '    steps:', '      a:', '        uses: noop', '        timeout: forever', '        needs: [zzz]', ''].join('\n');
    const d = validateSpecText(text, 'x.yaml', KINDS).diagnostics;
    expect(d.map((x) => `${x.line}:${x.col}`)).toEqual(['7:18', '8:17']);
    expect(d[1]!.message).toContain('unknown step "zzz"');
  });
});

describe('trademl validate (CLI)', () => {
  const run = promisify(execFile);
  const cli = async (file: string) => {
    try {
      const r = await run(process.execPath, ['bin/trademl.mjs', 'validate', file], { cwd: root, timeout: 60_000 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code?: number; stdout: string; stderr: string };
      return { code: err.code ?? -1, stdout: err.stdout, stderr: err.stderr };
    }
  };

  it.concurrent.each(['multi-file.yaml', 'cycle-3.yaml'])('reports %s as file:line:col lines and exits 2 (bad input)', async (f) => {
    const rel = `test/fixtures/specs/bad/${f}`;
    const want = expectations(readFileSync(path.join(root, rel), 'utf8'));
    const r = await cli(rel);
    expect(r.code, r.stderr).toBe(2);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith(`${rel}:`));
    expect(lines.length, r.stdout).toBe(want.length);
    want.forEach((w, i) => {
      expect(lines[i]!.startsWith(`${rel}:${w.line}:${w.col}: `), lines[i]).toBe(true);
      expect(lines[i]).toContain(w.message);
      expect(lines[i]).toContain(' — ');
    });
    expect(r.stdout).toContain(`${want.length} problem(s)`);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
    expect(r.stderr).not.toMatch(/Error:/);
  });

  it.concurrent('exits 0 on a valid file', async () => {
    const rel = 'test/fixtures/specs/good/full.yaml';
    const r = await cli(rel);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`${rel}: valid`);
  });
});
