/**
 * Input binding: which upstream outputs feed each consumed input of each step, decided from the
 * DAG and the kinds' declared contracts before anything runs.
 *
 * The one rule:
 * - an input bound explicitly in pipelines.yaml (`inputs: { name: "${{ steps.x.outputs.y }}" }`,
 *   or a bare step id `x`, or a list of them for a many input) takes exactly that;
 * - otherwise a single input takes the nearest upstream provider of its contract: walking up from
 *   the step through `needs`, a step providing the contract is a candidate and hides what lies
 *   above it. Zero candidates: missing (unless optional); two or more: ambiguous — bind one;
 * - a many input takes every upstream provider of its contract, in plan order.
 * Problems come back with a path into the spec so the validator reports them at file:line:col.
 */
import { contractId, type Contract } from '../contracts/define.ts';
import type { InputBinding } from '../engine/plan.ts';
import { ancestorsOf } from '../engine/graph.ts';
import type { AnyStepKind, Consumes } from '../kinds/types.ts';
import { parseRef } from './expressions.ts';

/** A step as the binder sees it. */
export interface BindingStep {
  id: string;
  uses: string;
  needs: string[];
  /** The raw `inputs:` block of the step, if any. */
  inputs?: Record<string, unknown>;
}

/** A binding problem, located by a path relative to the step (e.g. `['inputs', 'ohlcv']` or `['uses']`). */
export interface BindingProblem {
  step: string;
  path: (string | number)[];
  message: string;
  hint: string;
}

export interface BindingResult {
  /** step id → input name → bound outputs. */
  bindings: Record<string, Record<string, InputBinding[]>>;
  problems: BindingProblem[];
}

/** Output keys of `kind` that provide a contract with the same name as `c`. */
function providingOutputs(kind: AnyStepKind | undefined, c: Contract): string[] {
  return Object.entries(kind?.provides ?? {})
    .filter(([, p]) => p.name === c.name)
    .map(([k]) => k);
}

/** Binds every consumed input of every step; never throws for spec problems (they are returned). */
export function bindInputs(steps: BindingStep[], kinds: ReadonlyMap<string, AnyStepKind>): BindingResult {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const needs = Object.fromEntries(steps.map((s) => [s.id, s.needs.filter((n) => byId.has(n))]));
  const order = new Map(steps.map((s, i) => [s.id, i]));
  const bindings: BindingResult['bindings'] = {};
  const problems: BindingProblem[] = [];
  for (const step of steps) {
    const kind = kinds.get(step.uses);
    if (!kind) continue;
    const consumes: Consumes = kind.consumes ?? {};
    const out: Record<string, InputBinding[]> = {};
    const explicit = step.inputs ?? {};
    for (const name of Object.keys(explicit)) {
      if (!(name in consumes)) {
        const known = Object.keys(consumes);
        problems.push({ step: step.id, path: ['inputs', name], message: `step "${step.id}" (${step.uses}) consumes no input "${name}"`, hint: known.length ? `its inputs: ${known.join(', ')}` : `${step.uses} consumes no inputs` });
      }
    }
    const ancestors = ancestorsOf(step.id, needs);
    for (const [name, spec] of Object.entries(consumes)) {
      const cid = contractId(spec.contract);
      if (name in explicit) {
        out[name] = bindExplicit(step, name, spec.contract, spec.many === true, explicit[name], ancestors, byId, kinds, problems);
        continue;
      }
      const candidates = spec.many ? allProviders(ancestors, spec.contract, byId, kinds) : nearestProviders(step.id, spec.contract, needs, byId, kinds);
      const sorted = candidates.sort((a, b) => order.get(a.step)! - order.get(b.step)! || (a.output < b.output ? -1 : 1));
      if (sorted.length === 0 && !spec.optional) {
        problems.push({
          step: step.id,
          path: ['uses'],
          message: `step "${step.id}" (${step.uses}) needs ${cid} for its input "${name}" (${spec.description}), but no upstream step provides it`,
          hint: `add a step that provides ${spec.contract.name} to its needs (e.g. ${suggestProviders(spec.contract, kinds)})`,
        });
      }
      if (!spec.many && sorted.length > 1) {
        problems.push({
          step: step.id,
          path: ['needs'],
          message: `step "${step.id}" (${step.uses}): input "${name}" (${cid}) is ambiguous: ${sorted.map((b) => `${b.step}.${b.output}`).join(' and ')} both provide it`,
          hint: `bind one explicitly: inputs: { ${name}: "\${{ steps.${sorted[0]!.step}.outputs.${sorted[0]!.output} }}" }`,
        });
      }
      out[name] = sorted;
    }
    bindings[step.id] = out;
  }
  return { bindings, problems };
}

function suggestProviders(c: Contract, kinds: ReadonlyMap<string, AnyStepKind>): string {
  const names = [...kinds.values()].filter((k) => providingOutputs(k, c).length > 0).map((k) => k.uses);
  return names.length ? names.join(', ') : 'no registered kind provides it';
}

/** Every (step, output) among `ancestors` providing `c`. */
function allProviders(ancestors: Set<string>, c: Contract, byId: Map<string, BindingStep>, kinds: ReadonlyMap<string, AnyStepKind>): InputBinding[] {
  const out: InputBinding[] = [];
  for (const id of ancestors) for (const output of providingOutputs(kinds.get(byId.get(id)!.uses), c)) out.push({ step: id, output });
  return out;
}

/** Providers of `c` reachable from `from` through `needs` without passing another provider. */
function nearestProviders(from: string, c: Contract, needs: Record<string, string[]>, byId: Map<string, BindingStep>, kinds: ReadonlyMap<string, AnyStepKind>): InputBinding[] {
  const seen = new Set<string>();
  const found: InputBinding[] = [];
  const stack = [...(needs[from] ?? [])];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const outs = providingOutputs(kinds.get(byId.get(id)!.uses), c);
    if (outs.length) {
      for (const output of outs) found.push({ step: id, output });
      continue;
    }
    stack.push(...(needs[id] ?? []));
  }
  return found;
}

function bindExplicit(
  step: BindingStep,
  name: string,
  c: Contract,
  many: boolean,
  raw: unknown,
  ancestors: Set<string>,
  byId: Map<string, BindingStep>,
  kinds: ReadonlyMap<string, AnyStepKind>,
  problems: BindingProblem[],
): InputBinding[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (!many && list.length !== 1) {
    problems.push({ step: step.id, path: ['inputs', name], message: `input "${name}" of step "${step.id}" takes one ${contractId(c)}, got ${list.length}`, hint: 'bind a single `${{ steps.<id>.outputs.<key> }}`' });
    return [];
  }
  const out: InputBinding[] = [];
  list.forEach((item, i) => {
    const at = Array.isArray(raw) ? ['inputs', name, i] : ['inputs', name];
    const b = parseBinding(item);
    if (!b) {
      problems.push({ step: step.id, path: at, message: `input "${name}": cannot read ${JSON.stringify(item)} as a binding`, hint: 'use "${{ steps.<id>.outputs.<key> }}" or a step id' });
      return;
    }
    const up = byId.get(b.step);
    if (!up) {
      problems.push({ step: step.id, path: at, message: `input "${name}" binds unknown step "${b.step}"`, hint: `steps: ${[...byId.keys()].join(', ')}` });
      return;
    }
    if (!ancestors.has(b.step)) {
      problems.push({ step: step.id, path: at, message: `input "${name}" binds step "${b.step}", which is not upstream of "${step.id}"`, hint: `add "${b.step}" to the needs of "${step.id}"` });
      return;
    }
    const upKind = kinds.get(up.uses);
    if (!upKind) return; // unknown kind: reported elsewhere
    const outs = providingOutputs(upKind, c);
    const output = b.output ?? (outs.length === 1 ? outs[0] : undefined);
    if (output === undefined) {
      problems.push({
        step: step.id,
        path: at,
        message: `input "${name}": step "${b.step}" (${up.uses}) provides ${outs.length ? `${c.name} at ${outs.join(' and ')}` : `no ${contractId(c)}`}`,
        hint: outs.length ? `name the output: "\${{ steps.${b.step}.outputs.${outs[0]} }}"` : `bind a step that provides ${c.name}`,
      });
      return;
    }
    const provided = upKind.provides?.[output];
    if (!provided || provided.name !== c.name) {
      problems.push({ step: step.id, path: at, message: `input "${name}" needs ${contractId(c)}, but output "${output}" of step "${b.step}" (${up.uses}) ${provided ? `is ${contractId(provided)}` : 'provides no contract'}`, hint: outs.length ? `use output ${outs.join(' or ')}` : `bind a step that provides ${c.name}` });
      return;
    }
    if (provided.version !== c.version) {
      problems.push({ step: step.id, path: at, message: `input "${name}" needs ${contractId(c)}, but step "${b.step}" provides ${contractId(provided)}`, hint: 'upgrade one of the two kinds so they agree on the contract version' });
      return;
    }
    out.push({ step: b.step, output });
  });
  return out;
}

/** `${{ steps.x.outputs.y }}` → {x, y}; a bare step id `x` → {x}; else null. */
function parseBinding(item: unknown): { step: string; output?: string } | null {
  if (typeof item !== 'string') return null;
  const t = item.trim();
  const m = /^\$\{\{\s*(.+?)\s*\}\}$/.exec(t);
  if (m) {
    const ref = parseRef(m[1]!);
    if (!ref || ref.kind !== 'output' || ref.path.length) return null;
    return { step: ref.step, output: ref.output };
  }
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(t) ? { step: t } : null;
}
