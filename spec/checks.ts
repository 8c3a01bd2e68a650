/**
 * Checks of pipelines.yaml beyond the zod schemas: params, schedules, output references, reserved
 * keys, limits on counts, unterminated expressions and `${{ }}` inside command strings. Each
 * pushes located diagnostics; none throws for user errors.
 */
import { Cron } from 'croner';
import type { z } from 'zod';
import { ancestorsOf } from '../engine/graph.ts';
import type { AnyStepKind } from '../kinds/types.ts';
import { commandFields } from '../kinds/builtin/command.ts';
import { findExpressions, unterminatedExpression, walkStrings, type Ref } from './expressions.ts';
import { SPEC_LIMITS, paramSchema, scheduleSchema, type SpecParam, type stepSchema } from './schema.ts';
import type { Diagnostic, YamlSource } from './source.ts';
import { suggest } from './suggest.ts';
import { allowedKeys, schemaAt, typeName } from './zod-walk.ts';

type Path = (string | number)[];

/** A record with no prototype: step ids and param names such as `constructor` stay plain keys. */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Param default value (typed) of a param declaration. */
export function paramDefault(p: SpecParam): string | number | boolean | undefined {
  return typeof p === 'object' ? p.default : p;
}

/** Declared type of a param. */
export function paramType(p: SpecParam): 'string' | 'number' | 'integer' | 'boolean' {
  if (typeof p === 'object') return p.type;
  return typeof p === 'number' ? 'number' : typeof p === 'boolean' ? 'boolean' : 'string';
}

/** The well-formed params of a pipeline (by name, no prototype); defaults of the wrong type or outside the enum are reported. */
export function checkParams(src: YamlSource, diags: Diagnostic[], base: Path, raw: unknown): Record<string, SpecParam> {
  const params = dict<SpecParam>();
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return params;
  for (const [pn, pv] of Object.entries(raw as Record<string, unknown>)) {
    const r = paramSchema.safeParse(pv);
    if (!r.success) continue; // reported by the pipeline schema
    params[pn] = r.data;
    if (typeof r.data !== 'object') continue;
    const d = r.data.default;
    const t = r.data.type;
    const ok = d === undefined || (t === 'boolean' ? typeof d === 'boolean' : t === 'string' ? typeof d === 'string' : typeof d === 'number' && (t === 'number' || Number.isInteger(d)));
    if (!ok) diags.push(src.at([...base, 'params', pn, 'default'], `param "${pn}" default ${JSON.stringify(d)} is not of type ${t}`, `give ${t === 'integer' ? 'an' : 'a'} ${t} default or change the type`));
    if (r.data.enum && d !== undefined && !r.data.enum.includes(d as string | number)) {
      diags.push(src.at([...base, 'params', pn, 'default'], `param "${pn}" default ${JSON.stringify(d)} is not one of its enum values`, `use one of ${r.data.enum.join(', ')}`));
    }
  }
  return params;
}

/** The cron expression and time zone of a schedule (its shape is checked by the pipeline schema). */
export function checkSchedule(src: YamlSource, diags: Diagnostic[], base: Path, raw: unknown): void {
  if (!raw || typeof raw !== 'object') return;
  const s = scheduleSchema.safeParse(raw);
  if (!s.success) return;
  const tzOk = isValidTimeZone(s.data.timezone);
  if (!tzOk) diags.push(src.at([...base, 'schedule', 'timezone'], `unknown time zone "${s.data.timezone}"`, 'use an IANA name such as America/New_York or UTC'));
  const fields = s.data.cron.trim().split(/\s+/).length;
  try {
    if (fields !== 5) throw new Error(`expected 5 fields (minute hour day-of-month month day-of-week), got ${fields}`);
    new Cron(s.data.cron, { paused: true, timezone: tzOk ? s.data.timezone : 'UTC' });
  } catch (e) {
    diags.push(src.at([...base, 'schedule', 'cron'], `bad cron "${s.data.cron}": ${(e as Error).message}`, 'use 5 fields, e.g. "0 2 * * 1-5" (02:00 on weekdays)'));
  }
}

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** What {@link checkOutputRef} needs to know about the pipeline. */
export interface RefContext {
  parsedSteps: Record<string, z.output<typeof stepSchema>>;
  stepIds: string[];
  needs: Record<string, string[]>;
  kinds: ReadonlyMap<string, AnyStepKind>;
}

/**
 * A `${{ steps.<id>.outputs.<name> }}` reference of step `id`: the step exists and is upstream, the
 * output exists, and — when `kind` is given (a whole-value expression) — its type fits the field.
 */
export function checkOutputRef(src: YamlSource, diags: Diagnostic[], at: Path, id: string, ref: Extract<Ref, { kind: 'output' }>, c: RefContext, kind: AnyStepKind | undefined, withPath: Path): void {
  if (!c.stepIds.includes(ref.step)) {
    diags.push(src.at(at, `reference to unknown step "${ref.step}"`, suggest(ref.step, c.stepIds, 'steps')));
    return;
  }
  if (!ancestorsOf(id, c.needs).has(ref.step)) {
    diags.push(src.at(at, `step "${id}" reads outputs of "${ref.step}" but does not depend on it`, `add "${ref.step}" to needs of "${id}"`));
  }
  const up = c.parsedSteps[ref.step];
  const upKind = up ? c.kinds.get(up.uses) : undefined;
  if (!upKind) return;
  const outKeys = allowedKeys(upKind.outputs);
  if (outKeys.length === 0) return; // open output schema (e.g. noop)
  if (!outKeys.includes(ref.output)) {
    diags.push(src.at(at, `step "${ref.step}" (${up!.uses}) has no output "${ref.output}"`, suggest(ref.output, outKeys, 'its outputs')));
    return;
  }
  if (!kind || ref.path.length) return;
  const outType = typeName(schemaAt(upKind.outputs, [ref.output]));
  const wantType = typeName(schemaAt(kind.with, withPath));
  if (outType !== 'unknown' && wantType !== 'unknown' && outType !== 'literal' && wantType !== 'literal' && outType !== wantType) {
    diags.push(src.at(at, `type mismatch: steps.${ref.step}.outputs.${ref.output} is ${outType} but ${withPath.join('.')} expects ${wantType}`, `reference an output of type ${wantType}`));
  }
}

/** True for the paths where a key is a name checked on its own (pipeline names, step ids, param names). */
function isNamePath(path: Path): boolean {
  return (path.length === 2 && path[0] === 'pipelines') || (path.length === 4 && path[0] === 'pipelines' && (path[2] === 'steps' || path[2] === 'params'));
}

/**
 * Every `__proto__` key in the document: JavaScript objects cannot hold it as data (schemas drop
 * it silently), so it is refused wherever it appears. Names are reported by their own check.
 */
export function checkReservedKeys(src: YamlSource, diags: Diagnostic[], value: unknown, path: Path = []): void {
  if (Array.isArray(value)) value.forEach((v, i) => checkReservedKeys(src, diags, v, [...path, i]));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const p = [...path, k];
      if (k === '__proto__' && !isNamePath(p)) diags.push(src.at(p, 'key "__proto__" is reserved', 'rename the key: it cannot be stored as data', true));
      checkReservedKeys(src, diags, v, p);
    }
  }
}

/** A count above its limit (pipelines, steps, params), reported at the mapping. */
export function checkCount(src: YamlSource, diags: Diagnostic[], path: Path, what: string, value: unknown, limit: number): void {
  if (!value || typeof value !== 'object') return;
  const n = Object.keys(value).length;
  if (n > limit) diags.push(src.at(path, `${n} ${what}: at most ${limit.toLocaleString('en-US')} are allowed`, `split them across ${what === 'pipelines' ? 'files' : 'pipelines'}`));
}

/** `${{` without a closing `}}` on the same line, in every string of `value`. */
export function checkUnterminated(src: YamlSource, diags: Diagnostic[], base: Path, value: unknown): void {
  walkStrings(value, (s, path) => {
    const at = unterminatedExpression(s);
    if (at >= 0) {
      const snippet = s.slice(at, at + 40).split('\n')[0];
      diags.push(src.at([...base, ...path], `unterminated expression "${snippet}"`, 'close it with }} on the same line, or write $${{ for a literal ${{'));
    }
  });
}

/** Warnings for `${{ }}` inside a kind's command fields: the value is passed as a variable, the safe pattern is explicit `env`. */
export function commandWarnings(src: YamlSource, base: Path, kind: AnyStepKind | undefined, w: Record<string, unknown>): Diagnostic[] {
  if (!kind) return [];
  return commandFields(kind).flatMap((f) => {
    const v = w[f];
    if (typeof v !== 'string') return [];
    const exprs = findExpressions(v).filter((e) => e.ref);
    if (!exprs.length) return [];
    const name = exprs[0]!.ref!.kind === 'param' ? (exprs[0]!.ref as { name: string }).name.toUpperCase() : 'VALUE';
    return [
      src.at(
        [...base, f],
        `${f} interpolates ${exprs.map((e) => `\${{ ${e.body} }}`).join(', ')} into a command: it is passed as an environment variable (TRADEML_VALUE_<n>), never as command text`,
        `write it explicitly: env: { ${name}: "\${{ ${exprs[0]!.body} }}" } and use "$${name}" in ${f}`,
      ),
    ];
  });
}

export { SPEC_LIMITS };
