import { describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import { compilePlan, parseParamArgs } from '../../spec/compile.ts';
import { formatDiagnostic } from '../../spec/source.ts';
import { validateSpecText } from '../../spec/validate.ts';
import type { Spec } from '../../spec/schema.ts';

function spec(text: string): Spec {
  const r = validateSpecText(text, 'test.yaml');
  if (r.diagnostics.length) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.spec!;
}

const A = `
version: 1
defaults:
  queue: cpu
  timeout: 20m
  retry: { maximum_attempts: 4, initial_interval: 2s }
pipelines:
  demo:
    description: digest test
    params:
      n: { type: integer, default: 3 }
      name: world
    steps:
      fetch: { uses: shell, with: { run: "echo \${{ params.name }}", env: { A: "1", B: "2" } } }
      train:
        uses: fail
        needs: [fetch]
        with: { times: "\${{ params.n }}", message: hi }
        retry: { maximum_attempts: 2 }
`;

// same content, every mapping's keys in another order (step declaration order kept)
const B = `
pipelines:
  demo:
    steps:
      fetch: { with: { env: { B: "2", A: "1" }, run: "echo \${{ params.name }}" }, uses: shell }
      train:
        retry: { maximum_attempts: 2 }
        with: { message: hi, times: "\${{ params.n }}" }
        needs: [fetch]
        uses: fail
    params:
      name: world
      n: { default: 3, type: integer }
    description: digest test
defaults:
  retry: { initial_interval: 2s, maximum_attempts: 4 }
  timeout: 20m
  queue: cpu
version: 1
`;

describe('compilePlan', () => {
  it('gives the same digest for the same content in another key order', () => {
    const a = compilePlan(spec(A), 'demo');
    const b = compilePlan(spec(B), 'demo');
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b.digest).toBe(a.digest);
    expect(JSON.parse(JSON.stringify(b))).toEqual(JSON.parse(JSON.stringify(a)));
  });

  it('changes the digest when the content changes', () => {
    const a = compilePlan(spec(A), 'demo');
    expect(compilePlan(spec(A.replace('message: hi', 'message: ho')), 'demo').digest).not.toBe(a.digest);
    expect(compilePlan(spec(A), 'demo', { params: { n: '4' } }).digest).not.toBe(a.digest);
  });

  it('types param overrides by the declared type', () => {
    const text = `
version: 1
pipelines:
  p:
    params:
      n: { type: integer, default: 1 }
      x: 0.5
      flag: false
      label: a
      universe: { type: string, default: sp500, enum: [sp500, nasdaq100] }
    steps:
      s: { uses: fail, with: { times: "\${{ params.n }}", message: "n=\${{ params.n }} \${{ params.label }}" } }
`;
    const plan = compilePlan(spec(text), 'p', { params: parseParamArgs(['n=5', 'x=2.25', 'flag=true', 'label=7', 'universe=nasdaq100']) });
    expect(plan.params).toEqual({ n: 5, x: 2.25, flag: true, label: '7', universe: 'nasdaq100' });
    expect(plan.steps[0]!.with.times).toBe(5);
    expect(plan.steps[0]!.with.message).toBe('n=5 7');
    expect(compilePlan(spec(text), 'p').params).toEqual({ n: 1, x: 0.5, flag: false, label: 'a', universe: 'sp500' });

    const bad: [string, RegExp][] = [
      ['n=abc', /param "n" must be an integer, got "abc"/],
      ['n=1.5', /param "n" must be an integer/],
      ['n=', /param "n"/],
      ['x=fast', /param "x" must be a number/],
      ['flag=yes', /param "flag" must be true or false/],
      ['universe=sp600', /param "universe" must be one of sp500, nasdaq100/],
      ['nn=3', /unknown param "nn".*did you mean "n"/],
    ];
    for (const [arg, msg] of bad) {
      let err: unknown;
      try {
        compilePlan(spec(text), 'p', { params: parseParamArgs([arg]) });
      } catch (e) {
        err = e;
      }
      expect(err, arg).toBeInstanceOf(UserError);
      expect((err as Error).message, arg).toMatch(msg);
    }
    expect(() => parseParamArgs(['n'])).toThrow(UserError);
  });

  it('requires a value for a param without default', () => {
    const text = `
version: 1
pipelines:
  p:
    params: { day: { type: string } }
    steps: { s: { uses: shell, with: { run: "echo \${{ params.day }}" } } }
`;
    expect(() => compilePlan(spec(text), 'p')).toThrow(/param "day".*--param day=/);
    // a value reaches a shell command only as an environment variable, never as command text
    expect(compilePlan(spec(text), 'p', { params: { day: 'mon' } }).steps[0]!.with).toEqual({ run: 'echo "${TRADEML_VALUE_1}"', env: { TRADEML_VALUE_1: 'mon' } });
  });

  it('merges defaults into steps (step settings win, key by key)', () => {
    const plan = compilePlan(spec(A), 'demo');
    const [fetch, train] = plan.steps;
    expect(fetch!.queue).toBe('cpu');
    expect(fetch!.timeout_ms).toBe(20 * 60_000);
    expect(fetch!.retry).toMatchObject({ maximum_attempts: 4, initial_interval_ms: 2000, backoff_coefficient: 2, maximum_interval_ms: 5 * 60_000 });
    expect(train!.retry).toMatchObject({ maximum_attempts: 2, initial_interval_ms: 2000 });
    expect(train!.timeout_ms).toBe(20 * 60_000);
    expect(fetch!.cache).toBe(true);
    expect(fetch!.when).toBe('on_success');

    const text = `
version: 1
defaults: { queue: gpu, cache: off, timeout: 5m }
pipelines:
  p:
    steps:
      a: { uses: noop }
      b: { uses: noop, queue: cpu, cache: on, timeout: 30s, when: always, needs: a }
`;
    const [a, b] = compilePlan(spec(text), 'p').steps;
    expect([a!.queue, a!.cache, a!.timeout_ms]).toEqual(['gpu', false, 300_000]);
    expect([b!.queue, b!.cache, b!.timeout_ms, b!.when]).toEqual(['cpu', true, 30_000, 'always']);
    expect(compilePlan(spec(text), 'p', { noCache: true }).steps.every((s) => !s.cache)).toBe(true);
  });

  it('orders steps topologically, declaration order among independent steps, stably', () => {
    const text = `
version: 1
pipelines:
  p:
    steps:
      report: { uses: noop, needs: [train, audit] }
      train: { uses: noop, needs: [features] }
      audit: { uses: noop, needs: fetch }
      features: { uses: noop, needs: [fetch] }
      fetch: { uses: noop }
      lint: { uses: noop }
`;
    const order = compilePlan(spec(text), 'p').steps.map((s) => s.id);
    expect(order).toEqual(['fetch', 'audit', 'features', 'train', 'report', 'lint']);
    for (let i = 0; i < 5; i++) expect(compilePlan(spec(text), 'p').steps.map((s) => s.id)).toEqual(order);
    const plan = compilePlan(spec(text), 'p');
    const pos = new Map(plan.steps.map((s, i) => [s.id, i]));
    for (const s of plan.steps) for (const n of s.needs) expect(pos.get(n)!).toBeLessThan(pos.get(s.id)!);
  });

  it('rejects an unknown pipeline with a suggestion', () => {
    expect(() => compilePlan(spec(A), 'dmeo')).toThrow(/unknown pipeline "dmeo".*did you mean "demo"/);
  });
});
