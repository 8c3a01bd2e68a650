/**
 * Issue 16, items 8, 9 (spec part), 11 and 13 (spec part), one case each through the validator; the
 * full bad-spec corpus (test/fixtures/specs/bad, run by test/spec/validate.test.ts) holds these and
 * more with their exact positions. Each of these specs validated (or crashed the validator) on
 * the old main.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kinds as builtinKinds } from '../../kinds/builtin/index.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { specSchema } from '../../spec/schema.ts';
import { formatDiagnostic } from '../../spec/source.ts';
import { validateSpecText } from '../../spec/validate.ts';

const KINDS = new Map(builtinKinds.map((k) => [k.uses, k]));
const fixture = (kind: 'bad' | 'good', f: string) => readFileSync(path.join(PROJECT_ROOT, 'test/fixtures/specs', kind, f), 'utf8');

function problems(text: string): string[] {
  let out: string[] = [];
  expect(() => (out = validateSpecText(text, 'p.yaml', KINDS).diagnostics.map(formatDiagnostic))).not.toThrow();
  return out;
}

const one = (step: string) => `version: 1\npipelines:\n  p:\n    steps:\n      ${step}\n`;

describe('validate bounds every duration, count and size', () => {
  const cases: [string, string, RegExp][] = [
    ['item 8: timeout 25d (overflowed setTimeout: the step was killed after 1 ms)', one('a: { uses: noop, timeout: 25d }'), /timeout must be at most 7d, got 25d/],
    ['item 8: timeout 0s', one('a: { uses: noop, timeout: 0s }'), /timeout must be more than 0s/],
    ['item 8: unbounded maximum_attempts', one('a: { uses: noop, retry: { maximum_attempts: 1000000000 } }'), /maximum_attempts: must be <= 100/],
    ['item 8: a sleep of billions of years', one('a: { uses: sleep, with: { duration: 999999999999d } }'), /duration must be at most 7d/],
    ['item 8: approval waiting a year', one('a: { uses: approval, with: { timeout: 365d } }'), /timeout must be at most 30d/],
    ['item 13: a 300-character pipeline name', `version: 1\npipelines:\n  ${'n'.repeat(300)}:\n    steps:\n      a: { uses: noop }\n`, /pipeline name "n+…" is 300 characters long/],
    ['item 13: an unterminated ${{', one('a: { uses: fail, with: { message: "x ${{ params.y" } }'), /unterminated expression "\$\{\{ params\.y"/],
    ['item 9: a step id __proto__ (failed later as a "cycle")', `version: 1\npipelines:\n  p:\n    steps:\n      a: { uses: noop }\n      __proto__: { uses: noop, needs: [a] }\n`, /step id "__proto__" is reserved/],
    ['item 9: ${{ params.constructor }} without such a param', one('a: { uses: fail, with: { message: "${{ params.constructor }}" } }'), /unknown param "constructor"/],
  ];
  it.each(cases)('%s', (_name, text, msg) => {
    const d = problems(text);
    expect(d.length, d.join('\n')).toBe(1);
    expect(d[0]).toMatch(msg);
    expect(d[0]).toMatch(/^p\.yaml:\d+:\d+: /);
  });

  it('the schema itself carries the bounds (a spec built in code cannot skip them)', () => {
    const r = specSchema.safeParse({ version: 1, pipelines: { p: { steps: { a: { uses: 'noop', timeout: '25d' } } } } });
    expect(r.success).toBe(false);
  });
});

describe('item 11: YAML aliases — generous limits, errors at file:line:col', () => {
  it('a legitimate spec with 120 aliases validates', () => {
    const text = fixture('good', 'aliases-120.yaml');
    expect((text.match(/\*\w+/g) ?? []).length).toBe(120);
    expect(problems(text)).toEqual([]);
  });

  it('an alias bomb is refused at the alias, before it is expanded', () => {
    const d = problems(fixture('bad', 'alias-bomb.yaml'));
    expect(d).toHaveLength(1);
    expect(d[0]).toMatch(/^p\.yaml:9:10: YAML aliases expand the document past 200,000 nodes/);
  });

  it('an alias without anchor is located (it crashed the validator with a raw ReferenceError)', () => {
    expect(problems('version: 1\npipelines:\n  p:\n    steps:\n      a: { uses: noop, retry: *nope }\n')).toEqual([
      'p.yaml:5:31: alias *nope has no anchor &nope before it — define the anchor first (&nope on an earlier node) or fix the alias name',
    ]);
  });
});
