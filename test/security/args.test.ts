/**
 * Issue 16, item 9 (and the CLI part of the bad-input corpus): `-p` overrides are parsed strictly
 * and checked against the step kinds' schemas when the plan is compiled — exit 2, no run created.
 * On the old main `0x10` was read as 16, `constructor` and `__proto__` were accepted, and
 * `horizon_days=-5` ran upstream work before failing with exit 1.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { compilePlan, loadSpec, parseParamArgs } from '../../spec/compile.ts';
import { tempDir } from '../support/context.ts';
import { planFromYaml } from '../support/specs.ts';

const SPEC = `version: 1
pipelines:
  p:
    params:
      n: { type: integer, default: 2 }
      x: { type: number, default: 0.5 }
      flag: false
      dur: 1s
      kind: { type: string, default: a, enum: [a, b] }
      text: hello
    steps:
      s: { uses: fail, with: { times: "\${{ params.n }}", message: "x=\${{ params.x }} \${{ params.text }}" } }
      nap: { uses: sleep, needs: [s], with: { duration: "\${{ params.dur }}" } }
      c: { uses: noop, needs: [nap], with: { outputs: { flag: "\${{ params.flag }}", kind: "\${{ params.kind }}" } } }
`;

/** Bad `-p` arguments and the message each must produce (a UserError: exit 2). */
const BAD: [string[], RegExp][] = [
  [['n=0x10'], /param "n" must be an integer, got "0x10"/],
  [['n=0b11'], /param "n" must be an integer/],
  [['n=1e3'], /param "n" must be an integer/],
  [['n= 5'], /param "n" must be an integer/],
  [['n=5 '], /param "n" must be an integer/],
  [['n=1_000'], /param "n" must be an integer/],
  [['n=9007199254740993'], /param "n" must be an integer between/],
  [['n=-5'], /steps\.s\.with\.times \(fail\): .*>0.*got -5.*no run was created/s],
  [['n=1000'], /steps\.s\.with\.times \(fail\): .*<=100/s],
  [['x=0x10'], /param "x" must be a number, got "0x10"/],
  [['x=Infinity'], /param "x" must be a number/],
  [['x=NaN'], /param "x" must be a number/],
  [['x=1e999'], /param "x" must be a finite number/],
  [['x=.'], /param "x" must be a number/],
  [['flag=1'], /param "flag" must be true or false/],
  [['flag=TRUE'], /param "flag" must be true or false/],
  [['dur=25d'], /steps\.nap\.with\.duration \(sleep\): duration must be at most 7d, got 25d/],
  [['dur=0x10s'], /steps\.nap\.with\.duration \(sleep\): duration must be a duration/],
  [['dur=-1s'], /steps\.nap\.with\.duration/],
  [['kind=c'], /param "kind" must be one of a, b/],
  [['constructor=1'], /unknown param "constructor"/],
  [['__proto__=1'], /unknown param "__proto__"/],
  [['toString=x'], /unknown param "toString"/],
  [['hasOwnProperty=x'], /unknown param "hasOwnProperty"/],
  [['nn=3'], /unknown param "nn".*did you mean "n"/],
  [['n'], /bad --param "n": use --param name=value/],
  [['=5'], /bad --param "=5"/],
  [['n=1', 'n=2'], /--param n is given twice/],
  [[`text=${'a'.repeat(20_001)}`], /param "text" is 20001 characters long/],
];

/** Compiles SPEC with `-p` arguments, as `trademl plan/run` do. */
function compileWith(args: string[]) {
  return planFromYaml(SPEC, 'p', { params: parseParamArgs(args) });
}

describe('-p overrides: strict parsing, checked against the kinds before a run exists', () => {
  it.each(BAD.map(([a, m]) => [a.join(' ').slice(0, 60), a, m] as const))('%s is refused', (_label, args, msg) => {
    let err: unknown;
    try {
      compileWith([...args]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(msg);
  });

  it('good overrides still compile, and a value that looks like an expression stays data', () => {
    const plan = compileWith(['n=007', 'x=-2.5e-1', 'flag=true', 'dur=250ms', 'kind=b', 'text=${{ steps.s.outputs.attempts }}']);
    expect(plan.params).toMatchObject({ n: 7, x: -0.25, flag: true, dur: '250ms', kind: 'b' });
    expect(plan.steps.find((s) => s.id === 's')!.with.message).toBe('x=-0.25 $${{ steps.s.outputs.attempts }}');
  });

  it('the nightly pipeline refuses horizon_days=-5 at plan time, naming the step and field', () => {
    const spec = loadSpec(path.join(PROJECT_ROOT, 'pipelines.yaml'));
    expect(() => compilePlan(spec, 'nightly', { params: { horizon_days: '-5' } })).toThrow(/steps\.labels\.with\.horizon \(labels\.horizon\).*got -5/s);
    expect(() => compilePlan(spec, 'nightly', { params: { horizon_days: '0x10' } })).toThrow(/must be an integer, got "0x10"/);
  });

  it('a step id or param named like an Object property never reaches the compiler', () => {
    expect(() => planFromYaml('version: 1\npipelines:\n  p:\n    steps:\n      __proto__: { uses: noop }\n', 'p')).toThrow(/step id "__proto__" is reserved/);
    expect(() => planFromYaml('version: 1\npipelines:\n  p:\n    params: { constructor: 1 }\n    steps:\n      a: { uses: noop }\n', 'p')).toThrow(/param name "constructor" is reserved/);
  });
});

describe('trademl run/runs with bad arguments (CLI)', () => {
  const cli = (home: string, cwd: string, args: string[]) => spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'trademl.mjs'), '--home', home, ...args], { cwd, encoding: 'utf8' });

  it('run -p with a value a step refuses exits 2 and creates no run; bad counts are usage errors', () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    writeFileSync(path.join(dir, 'p.yaml'), SPEC);
    const r = cli(home, dir, ['run', 'p', '-f', 'p.yaml', '-p', 'n=-5', '--concurrency', '2']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/steps\.s\.with\.times.*no run was created/s);
    expect(existsSync(path.join(home, 'state.duckdb'))).toBe(false);
    const c = cli(home, dir, ['run', 'p', '-f', 'p.yaml', '--concurrency', '0x10']);
    expect(c.status, c.stderr).toBe(2);
    expect(c.stderr).toContain('--concurrency must be a whole number');
    expect(existsSync(path.join(home, 'state.duckdb'))).toBe(false);
  });
});
