/**
 * The shape of the tree (issue 13's acceptance): views follow contracts (no kind-name tests outside
 * the spec compiler), time comes from the calendar (no 252 outside calendar/), small modules.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.ts';

/** Product sources: tracked and untracked-but-not-ignored .ts files outside tests and benchmarks. */
function sources(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  return out
    .split('\n')
    .filter((f) => f && !f.startsWith('test/') && !f.startsWith('bench/'))
    .filter((f) => {
      try {
        readFileSync(path.join(PROJECT_ROOT, f));
        return true;
      } catch {
        return false; // deleted in the work tree
      }
    });
}

const read = (f: string) => readFileSync(path.join(PROJECT_ROOT, f), 'utf8');

/** Numeric kernels may be longer than 400 lines (none is today). */
const NUMERIC_KERNELS = new Set<string>([]);

describe('layout rules', () => {
  it('no code compares `uses` with a kind name outside spec/', () => {
    const hits = sources()
      .filter((f) => !f.startsWith('spec/'))
      .flatMap((f) => read(f).split('\n').map((l, i) => [f, i + 1, l] as const))
      .filter(([, , l]) => /\buses\s*[!=]==/.test(l) || /[!=]==\s*['"][a-z]+\.[a-z_]+['"]/.test(l) && /\.uses\b/.test(l))
      .map(([f, n, l]) => `${f}:${n}: ${l.trim()}`);
    expect(hits).toEqual([]);
  });

  it('no 252 outside calendar/ (annualise through the calendar)', () => {
    const hits = sources()
      .filter((f) => !f.startsWith('calendar/'))
      .flatMap((f) => read(f).split('\n').map((l, i) => [f, i + 1, l] as const))
      .filter(([, , l]) => /(?<![\d.])252(?![\d.])/.test(l))
      .map(([f, n, l]) => `${f}:${n}: ${l.trim()}`);
    expect(hits).toEqual([]);
  });

  it('no source file over 400 lines outside numeric kernels', () => {
    const long = sources()
      .map((f) => [f, read(f).split('\n').length] as const)
      .filter(([f, n]) => n > 400 && !NUMERIC_KERNELS.has(f))
      .map(([f, n]) => `${f}: ${n} lines`);
    expect(long).toEqual([]);
  });

  it('configs do not hard-code 252 either', () => {
    const out = execFileSync('git', ['ls-files', 'configs'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).split('\n').filter((f) => f.endsWith('.yml'));
    // comments aside; a rolling window is a count of rows (dd_252 looks back 252 rows), not an annualisation constant
    const setting = (l: string): string => l.replace(/#.*$/, '').replace(/window:\s*252\b/g, '');
    const hits = out.filter((f) => read(f).split('\n').some((l) => /(?<![\d.])252(?![\d.])/.test(setting(l))));
    expect(hits).toEqual([]);
  });
});
