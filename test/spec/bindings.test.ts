/**
 * Input binding by contract (issue 13): the one rule, checked before anything runs, located at
 * file:line:col and naming the contract.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { artifactRefSchema, defineContract, ohlcvDaily, signalsOof } from '../../contracts/index.ts';
import { STEP_KINDS } from '../../kinds/registry.ts';
import { defineStepKind, type AnyStepKind } from '../../kinds/types.ts';
import { bindInputs } from '../../spec/bindings.ts';
import { compilePlan } from '../../spec/compile.ts';
import { formatDiagnostic } from '../../spec/source.ts';
import { validateSpecText } from '../../spec/validate.ts';

const thing = defineContract({ name: 'test.thing', version: 1, description: 'a test artifact', schema: artifactRefSchema });
const thingV2 = defineContract({ name: 'test.thing', version: 2, description: 'a test artifact, v2', schema: artifactRefSchema });

const kind = (uses: string, o: Partial<Pick<AnyStepKind, 'consumes' | 'provides'>>): AnyStepKind =>
  defineStepKind({
    uses,
    version: '1',
    description: uses,
    with: z.object({}),
    outputs: z.object(Object.fromEntries(Object.keys(o.provides ?? {}).map((k) => [k, artifactRefSchema]))),
    ...o,
    run: async () => ({}),
  }) as AnyStepKind;

const KINDS = new Map<string, AnyStepKind>([
  ['make', kind('make', { provides: { out: thing } })],
  ['refine', kind('refine', { consumes: { src: { contract: thing, description: 'input' } }, provides: { out: thing } })],
  ['use_one', kind('use_one', { consumes: { x: { contract: thing, description: 'the thing' } } })],
  ['use_many', kind('use_many', { consumes: { xs: { contract: thing, many: true, description: 'all things' } } })],
  ['use_opt', kind('use_opt', { consumes: { x: { contract: thing, optional: true, description: 'maybe' } } })],
  ['use_v2', kind('use_v2', { consumes: { x: { contract: thingV2, description: 'v2 thing' } } })],
]);

const bind = (steps: { id: string; uses: string; needs?: string[]; inputs?: Record<string, unknown> }[]) =>
  bindInputs(steps.map((s) => ({ needs: [], ...s })), KINDS);

describe('the binding rule', () => {
  it('a single input takes the nearest provider: one above hides those above it', () => {
    const r = bind([
      { id: 'a', uses: 'make' },
      { id: 'b', uses: 'refine', needs: ['a'] },
      { id: 'c', uses: 'use_one', needs: ['b'] },
    ]);
    expect(r.problems).toEqual([]);
    expect(r.bindings.c!.x).toEqual([{ step: 'b', output: 'out' }]);
    expect(r.bindings.b!.src).toEqual([{ step: 'a', output: 'out' }]);
  });

  it('a provider reached along two paths is one candidate', () => {
    const r = bind([
      { id: 'a', uses: 'make' },
      { id: 'p', uses: 'use_opt', needs: ['a'] },
      { id: 'q', uses: 'use_opt', needs: ['a'] },
      { id: 'c', uses: 'use_one', needs: ['p', 'q'] },
    ]);
    expect(r.problems).toEqual([]);
    expect(r.bindings.c!.x).toEqual([{ step: 'a', output: 'out' }]);
  });

  it('two nearest providers of a single input are ambiguous; an explicit binding resolves it', () => {
    const steps = [
      { id: 'a', uses: 'make' },
      { id: 'b', uses: 'make' },
      { id: 'c', uses: 'use_one', needs: ['a', 'b'] },
    ];
    const r = bind(steps);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]!.message).toMatch(/input "x" \(test\.thing@1\) is ambiguous: a\.out and b\.out/);
    expect(r.problems[0]!.hint).toMatch(/inputs: \{ x: "\$\{\{ steps\.a\.outputs\.out \}\}" \}/);
    const ok = bind([...steps.slice(0, 2), { ...steps[2]!, inputs: { x: '${{ steps.b.outputs.out }}' } }]);
    expect(ok.problems).toEqual([]);
    expect(ok.bindings.c!.x).toEqual([{ step: 'b', output: 'out' }]);
    const byId = bind([...steps.slice(0, 2), { ...steps[2]!, inputs: { x: 'a' } }]);
    expect(byId.bindings.c!.x).toEqual([{ step: 'a', output: 'out' }]);
  });

  it('a many input takes every upstream provider in plan order, past nearer ones', () => {
    const r = bind([
      { id: 'a', uses: 'make' },
      { id: 'b', uses: 'refine', needs: ['a'] },
      { id: 'z', uses: 'make' },
      { id: 'c', uses: 'use_many', needs: ['b', 'z'] },
    ]);
    expect(r.problems).toEqual([]);
    expect(r.bindings.c!.xs).toEqual([{ step: 'a', output: 'out' }, { step: 'b', output: 'out' }, { step: 'z', output: 'out' }]);
  });

  it('a missing required input is a problem; a missing optional one is not', () => {
    const r = bind([{ id: 'c', uses: 'use_one' }, { id: 'd', uses: 'use_opt' }]);
    expect(r.problems.map((p) => p.step)).toEqual(['c']);
    expect(r.problems[0]!.message).toMatch(/needs test\.thing@1 for its input "x".*no upstream step provides it/);
    expect(r.bindings.d!.x).toEqual([]);
  });

  it('explicit bindings are checked: unknown input, step not upstream, wrong contract, wrong version, a list for a single input', () => {
    const base = [{ id: 'a', uses: 'make' }, { id: 'b', uses: 'make' }];
    const probs = (c: { id: string; uses: string; needs?: string[]; inputs?: Record<string, unknown> }) => bind([...base, c]).problems.map((p) => p.message);
    expect(probs({ id: 'c', uses: 'use_one', needs: ['a'], inputs: { y: 'a' } })[0]).toMatch(/consumes no input "y"/);
    expect(probs({ id: 'c', uses: 'use_one', needs: ['a'], inputs: { x: 'b' } })[0]).toMatch(/binds step "b", which is not upstream of "c"/);
    expect(probs({ id: 'c', uses: 'use_v2', needs: ['a'], inputs: { x: 'a' } })[0]).toMatch(/needs test\.thing@2, but step "a" provides test\.thing@1/);
    expect(probs({ id: 'c', uses: 'use_one', needs: ['a', 'b'], inputs: { x: ['a', 'b'] } })[0]).toMatch(/takes one test\.thing@1, got 2/);
  });
});

describe('validate and compile with the registered kinds', () => {
  const spec = (steps: string) => `version: 1
pipelines:
  p:
    steps:
${steps}`;

  it('reports an ambiguous OHLCV input at the step, naming the contract, and compiles once bound', () => {
    const text = spec(`      ingest: { uses: ingest.ohlcv, with: { dataset: sp500_subset } }
      audit: { uses: qc.audit, needs: [ingest] }
      features: { uses: features.equities, needs: [audit, ingest] }
`);
    const r = validateSpecText(text, 'amb.yaml', STEP_KINDS);
    const lines = r.diagnostics.map(formatDiagnostic);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^amb\.yaml:7:\d+: step "features" \(features\.equities\): input "ohlcv" \(ohlcv\.daily@1\) is ambiguous: ingest\.table and audit\.curated/);
    const bound = text.replace('needs: [audit, ingest] }', 'needs: [audit, ingest], inputs: { ohlcv: "${{ steps.audit.outputs.curated }}" } }');
    const ok = validateSpecText(bound, 'ok.yaml', STEP_KINDS);
    expect(ok.diagnostics).toEqual([]);
    const plan = compilePlan(ok.spec!, 'p');
    expect(plan.steps.find((s) => s.id === 'features')!.inputs).toEqual({ ohlcv: [{ step: 'audit', output: 'curated' }] });
    expect(plan.steps.find((s) => s.id === 'audit')!.provides).toEqual({ curated: 'ohlcv.daily@1', quality: 'data.quality@1' });
  });

  it('reports a missing input at the step\'s uses, naming the contract and a kind that provides it', () => {
    const r = validateSpecText(spec(`      features: { uses: features.equities }\n`), 'miss.yaml', STEP_KINDS);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      expect.stringMatching(/^miss\.yaml:5:\d+: step "features" \(features\.equities\) needs ohlcv\.daily@1 for its input "ohlcv".* — add a step that provides ohlcv\.daily to its needs \(e\.g\. ingest\.ohlcv, ingest\.index, qc\.audit\)/),
    ]);
  });

  it('fit.cpcv without features upstream fails validation, naming features.panel', () => {
    const r = validateSpecText(
      spec(`      ingest: { uses: ingest.ohlcv, with: { dataset: sp500_subset } }
      audit: { uses: qc.audit, needs: [ingest] }
      labels: { uses: labels.horizon, needs: [audit] }
      fit: { uses: fit.cpcv, needs: [labels] }
`),
      'nofeat.yaml',
      STEP_KINDS,
    );
    expect(r.diagnostics.map(formatDiagnostic).join('\n')).toMatch(/^nofeat\.yaml:8:\d+: step "fit" \(fit\.cpcv\) needs features\.panel@1 for its input "features"/m);
  });

  it('two unbound producers of the signal a portfolio takes fail validation', () => {
    expect(signalsOof.name).toBe('signals.oof');
    expect(ohlcvDaily.name).toBe('ohlcv.daily');
    const r = validateSpecText(
      spec(`      ingest: { uses: ingest.ohlcv, with: { dataset: sp500_subset } }
      audit: { uses: qc.audit, needs: [ingest] }
      features: { uses: features.equities, needs: [audit] }
      labels: { uses: labels.horizon, needs: [audit] }
      fit_a: { uses: fit.cpcv, needs: [features, labels], with: { sleeve: a } }
      fit_b: { uses: fit.cpcv, needs: [features, labels], with: { sleeve: b } }
      portfolio: { uses: portfolio.build, needs: [fit_a, fit_b] }
`),
      'two.yaml',
      STEP_KINDS,
    );
    expect(r.diagnostics.map(formatDiagnostic).join('\n')).toMatch(/two\.yaml:11:\d+: step "portfolio" \(portfolio\.build\): input "signal" \(signals\.oof@1\) is ambiguous: fit_a\.oof and fit_b\.oof/);
  });
});
