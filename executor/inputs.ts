/**
 * The one API through which a step reads its consumed inputs: the plan's bindings
 * (spec/bindings.ts) resolved against the upstream outputs and validated by each contract's schema.
 */
import { contractId } from '../contracts/define.ts';
import type { PlanStep } from '../engine/plan.ts';
import type { UpstreamView } from '../engine/upstream.ts';
import { InputError } from '../lib/errors.ts';
import type { Consumes, Input, StepContext } from '../kinds/types.ts';

type InputApi = Pick<StepContext, 'input' | 'maybeInput' | 'inputs'>;

/**
 * The input accessors of a step context. A bound upstream step that did not succeed (seen by
 * `when: always` steps) contributes nothing. Throws InputError (non-retryable) when a bound value
 * breaks its contract, or when `input(name)` finds nothing (a missing required input).
 */
export function inputApi(step: Pick<PlanStep, 'id' | 'uses' | 'inputs'>, consumes: Consumes, upstream: Record<string, UpstreamView>): InputApi {
  const memo = new Map<string, Input[]>();
  const resolve = (name: string): Input[] => {
    const hit = memo.get(name);
    if (hit) return hit;
    const spec = consumes[name];
    if (!spec) {
      throw new InputError(`step "${step.id}" (${step.uses}) read input "${name}", which its kind does not declare in consumes (declared: ${Object.keys(consumes).join(', ') || 'none'})`);
    }
    const out: Input[] = [];
    for (const b of step.inputs[name] ?? []) {
      const up = upstream[b.step];
      if (!up || up.status !== 'succeeded') continue;
      const r = spec.contract.schema.safeParse(up.outputs[b.output]);
      if (!r.success) {
        const issue = r.error.issues[0];
        throw new InputError({
          message: `step "${step.id}" (${step.uses}): input "${name}" from ${b.step}.${b.output} (${up.uses}) breaks contract ${contractId(spec.contract)}: ${issue ? `${issue.path.join('.') || '(value)'}: ${issue.message}` : 'invalid'} — see docs/contracts.md`,
          details: { input: name, step: b.step, output: b.output, contract: contractId(spec.contract) },
        });
      }
      out.push({ step: b.step, output: b.output, uses: up.uses, value: r.data });
    }
    memo.set(name, out);
    return out;
  };
  return {
    input(name: string) {
      const all = resolve(name);
      if (all.length !== 1) {
        const spec = consumes[name]!;
        throw new InputError(
          all.length === 0
            ? `step "${step.id}" (${step.uses}) has no ${contractId(spec.contract)} for its input "${name}" (the bound step did not succeed, or none is bound)`
            : `step "${step.id}" (${step.uses}): input "${name}" is bound to ${all.length} outputs (${all.map((a) => `${a.step}.${a.output}`).join(', ')}); it takes one`,
        );
      }
      return all[0]!;
    },
    maybeInput(name: string) {
      const all = resolve(name);
      return all.length === 1 ? all[0] : undefined;
    },
    inputs(name: string) {
      return resolve(name);
    },
  } as InputApi;
}
