/**
 * Views by contract: what the steps of a run provide, found by the contracts their outputs carry
 * (`provides`: output key → contract id), never by the kind that produced them. The report, the
 * headline figures, the tracker and the model registration all read a run through this module.
 */
import { artifactRefSchema, contractId, type ArtifactRefJson, type Contract, type ContractValue } from '../contracts/define.ts';

/** A step as views over a run see it (a StepRecord, an upstream view, or a plan step with its state). */
export interface ViewStep {
  stepId: string;
  uses: string;
  status: string;
  outputs: Record<string, unknown>;
  /** Output key → contract id (`name@version`) of what the step provides. */
  provides?: Record<string, string>;
  /** Upstream step ids, when known. */
  needs?: string[];
  /** Set (truthy) for control steps such as approvals: the host decided them, nothing was executed. */
  control?: unknown;
  error?: { message: string; type: string; details?: unknown };
}

/** One value of a contract that a step provided, and where it came from. */
export interface Provided<V> {
  /** Step id of the provider. */
  step: string;
  /** Output key the value sits under. */
  output: string;
  /** Kind of the provider (for messages and lineage; views never branch on it). */
  uses: string;
  /** Contract id as the step declared it. */
  contract: string;
  /** The value, parsed by the contract's schema. */
  value: V;
  /** All raw outputs of the provider (for the few fields a contract does not carry yet). */
  outputs: Record<string, unknown>;
}

const nameOf = (id: string): string => id.replace(/@\d+$/, '');

/** Output keys of `step` that carry contract `c` (matched by contract name). */
export function outputsProviding(step: ViewStep, c: Contract): string[] {
  return Object.entries(step.provides ?? {})
    .filter(([, id]) => nameOf(id) === c.name)
    .map(([k]) => k);
}

/** Steps that declare contract `c` among what they provide, whatever their status (a failed gate is one). */
export function providers(steps: readonly ViewStep[], c: Contract): ViewStep[] {
  return steps.filter((s) => outputsProviding(s, c).length > 0);
}

/**
 * The values of contract `c` provided by the succeeded steps among `steps`, in their order. A value
 * that breaks the contract (or declares another version) is left out and described in `problems`.
 */
export function provided<C extends Contract>(steps: readonly ViewStep[], c: C, problems?: string[]): Array<Provided<ContractValue<C>>> {
  const out: Array<Provided<ContractValue<C>>> = [];
  for (const s of steps) {
    if (s.status !== 'succeeded') continue;
    for (const output of outputsProviding(s, c)) {
      const declared = s.provides![output]!;
      if (declared !== contractId(c)) {
        problems?.push(`${s.stepId}.${output} provides ${declared}; this view reads ${contractId(c)}`);
        continue;
      }
      const r = c.schema.safeParse(s.outputs[output]);
      if (!r.success) {
        const issue = r.error.issues[0];
        problems?.push(`${s.stepId}.${output} breaks ${declared}${issue ? ` (${issue.path.join('.') || 'value'}: ${issue.message})` : ''}`);
        continue;
      }
      out.push({ step: s.stepId, output, uses: s.uses, contract: declared, value: r.data as ContractValue<C>, outputs: s.outputs });
    }
  }
  return out;
}

/**
 * Every artifact reference inside a contract value, as `[dotted key, ref]` (key `''` when the value
 * itself is a reference, e.g. an `ohlcv.daily` table). Depth-first, in key order of the value.
 */
export function artifactRefs(value: unknown, prefix = '', out: Array<[string, ArtifactRefJson]> = []): Array<[string, ArtifactRefJson]> {
  const ref = artifactRefSchema.safeParse(value);
  if (ref.success) out.push([prefix, ref.data]);
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) if (v && typeof v === 'object') artifactRefs(v, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

/** Every transitive upstream step id of `id`, following `needs`. */
export function upstreamIds(steps: ReadonlyArray<{ stepId: string; needs?: string[] }>, id: string): Set<string> {
  const needs = new Map(steps.map((s) => [s.stepId, s.needs ?? []]));
  const seen = new Set<string>();
  const stack = [...(needs.get(id) ?? [])];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...(needs.get(n) ?? []));
  }
  return seen;
}

/** View steps of a step's ancestors (`ctx.ancestors`), sorted by step id. */
export function ancestorSteps(ancestors: Record<string, { uses: string; status: string; outputs: Record<string, unknown>; provides?: Record<string, string>; control?: unknown; error?: ViewStep['error'] }>): ViewStep[] {
  return Object.entries(ancestors)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([stepId, s]) => ({ stepId, uses: s.uses, status: s.status, outputs: s.outputs, provides: s.provides, control: s.control, error: s.error }));
}

/** Control steps (approvals) among `steps`. */
export function controlSteps(steps: readonly ViewStep[]): ViewStep[] {
  return steps.filter((s) => Boolean(s.control));
}
