/**
 * `if:` conditions: a false condition skips the step and its dependents as an outcome (the run
 * succeeds), `when: always` steps still run, and a bad condition is a validate error at file:line:col.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { formatDiagnostic } from '../../spec/source.ts';
import { validateSpecText } from '../../spec/validate.ts';
import { tempDir } from '../support/context.ts';
import { planFromYaml } from '../support/specs.ts';
import { Simulation } from '../temporal/simulate.ts';

const spec = (passed: boolean) => `version: 1
pipelines:
  p:
    steps:
      gate: { uses: noop, with: { outputs: { verdict: { passed: ${passed} } } } }
      approve: { uses: approval, needs: [gate], if: "\${{ steps.gate.outputs.verdict.passed }}" }
      promote: { uses: noop, needs: [approve] }
      note: { uses: noop, needs: [gate], if: "\${{ !steps.gate.outputs.verdict.passed }}", with: { outputs: { promoted: false } } }
      report: { uses: noop, needs: [promote, note], when: always }
`;

describe('if: conditions', () => {
  it('a false condition skips the step and what depends on it; the run succeeds; negation and when: always work', async () => {
    const out = await new EmbeddedRuntime({ home: path.join(tempDir(), 'home') }).start(planFromYaml(spec(false), 'p'));
    expect(out.status).toBe('succeeded');
    expect(out.state.steps.approve).toMatchObject({ status: 'skipped', skipReason: 'condition' });
    expect(out.state.steps.promote).toMatchObject({ status: 'skipped', skipReason: 'condition' });
    expect(out.state.steps.note).toMatchObject({ status: 'succeeded', outputs: { promoted: false } });
    expect(out.state.steps.report!.status).toBe('succeeded');
  });

  it('a true condition lets the step run (here: park for approval), on the Temporal loop too', async () => {
    const sim = new Simulation(planFromYaml(spec(true), 'p'), (s) => ({ ok: s.id === 'gate' ? { verdict: { passed: true } } : {} })).whenIdle((l) => l.decideApproval({ by: 'risk' }, true));
    const r = await sim.run();
    expect(r.status).toBe('succeeded');
    expect(r.steps.find((s) => s.id === 'promote')!.status).toBe('succeeded');
    expect(r.steps.find((s) => s.id === 'note')).toMatchObject({ status: 'skipped', skipReason: 'condition' });
  });

  it('validate rejects a malformed condition and one on a step that is not upstream, at file:line:col', () => {
    const bad = spec(true).replace('if: "${{ steps.gate.outputs.verdict.passed }}"', 'if: "gate passed"').replace('needs: [gate], if: "${{ !steps', 'needs: [], if: "${{ !steps');
    const lines = validateSpecText(bad, 'c.yaml').diagnostics.map(formatDiagnostic);
    expect(lines).toEqual([
      expect.stringMatching(/^c\.yaml:6:\d+: bad condition "gate passed"/),
      expect.stringMatching(/^c\.yaml:8:\d+: step "note" reads outputs of "gate" but does not depend on it/),
    ]);
  });
});
