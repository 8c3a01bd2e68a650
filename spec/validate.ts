import { Cron } from 'croner';
import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';
import { STEP_KINDS } from '../kinds/registry.ts';
import type { AnyStepKind } from '../kinds/types.ts';
import { bindInputs } from './bindings.ts';
import { findCycle, ancestorsOf } from '../engine/graph.ts';
import { DURATION_RE } from '../lib/duration.ts';
import { findExpressions, interpolate, isWholeExpression, parseCondition, parseRef, walkStrings, type Ref } from './expressions.ts';
import { defaultsSchema, paramSchema, pipelineSchema, scheduleSchema, specSchema, stepSchema, type Spec, type SpecParam } from './schema.ts';
import { YamlSource, type Diagnostic } from './source.ts';
import { acceptedForms, allowedKeys, schemaAt, typeName } from './zod-walk.ts';

type Path = (string | number)[];
type IssueCheck = (schema: z.ZodType, value: unknown, base: Path, skip?: (issue: z.core.$ZodIssue) => boolean) => boolean;

export interface ValidationResult {
  diagnostics: Diagnostic[];
  /** The parsed spec (defaults applied) when there are no diagnostics. */
  spec?: Spec;
  source: YamlSource;
}

/** "did you mean" hint for `word` among `candidates`, or a list of the allowed ones. */
export function suggest(word: string, candidates: readonly string[], what = 'allowed'): string {
  if (candidates.length === 0) return `no ${what} values here`;
  const best = closest(word, candidates as string[]);
  if (best && distance(word, best) <= Math.max(2, Math.floor(word.length / 3))) return `did you mean "${best}"?`;
  return `${what}: ${candidates.join(', ')}`;
}

/** Param default value (typed) of a param declaration. */
export function paramDefault(p: SpecParam): string | number | boolean | undefined {
  return typeof p === 'object' ? p.default : p;
}

/** Declared type of a param. */
export function paramType(p: SpecParam): 'string' | 'number' | 'integer' | 'boolean' {
  if (typeof p === 'object') return p.type;
  return typeof p === 'number' ? (Number.isInteger(p) ? 'number' : 'number') : typeof p === 'boolean' ? 'boolean' : 'string';
}

/**
 * Validates pipelines.yaml text against the spec schema, the registered step kinds and the DAG
 * rules, collecting ALL problems (never throws for user errors). See docs/pipelines-reference.md.
 */
export function validateSpecText(text: string, file = 'pipelines.yaml', kinds: ReadonlyMap<string, AnyStepKind> = STEP_KINDS): ValidationResult {
  const src = new YamlSource(file, text);
  const diags: Diagnostic[] = src.syntaxDiagnostics();
  if (diags.length) return { diagnostics: diags, source: src };
  const root = src.toJS() as Record<string, unknown> | null;
  if (!root || typeof root !== 'object' || Array.isArray(root)) {
    return { diagnostics: [src.at([], 'the file must be a mapping with keys version, defaults, pipelines', 'start from the example in README.md')], source: src };
  }
  const zodIssues: IssueCheck = (schema, value, base, skip) => {
    const r = schema.safeParse(value);
    if (r.success) return true;
    for (const issue of r.error.issues) if (!skip?.(issue)) diags.push(...issueToDiagnostics(src, schema, issue, base, value));
    return false;
  };

  // top level (keys, version, defaults)
  for (const k of Object.keys(root)) {
    if (!['version', 'defaults', 'pipelines'].includes(k)) diags.push(src.at([k], `unknown top-level key "${k}"`, suggest(k, ['version', 'defaults', 'pipelines']), true));
  }
  if (root.version === undefined) diags.push(src.at([], 'missing "version"', 'add `version: 1` at the top'));
  else if (root.version !== 1) diags.push(src.at(['version'], `unsupported version ${JSON.stringify(root.version)}`, 'this TradeML reads version: 1'));
  if (root.defaults !== undefined) zodIssues(defaultsSchema, root.defaults, ['defaults']);
  const pipelines = root.pipelines;
  if (pipelines === undefined || pipelines === null) {
    diags.push(src.at([], 'missing "pipelines"', 'declare at least one pipeline under `pipelines:`'));
  } else if (typeof pipelines !== 'object' || Array.isArray(pipelines)) {
    diags.push(src.at(['pipelines'], '"pipelines" must be a mapping of pipeline names to pipelines', 'e.g. pipelines: { nightly: { steps: { ... } } }'));
  } else {
    for (const [name, p] of Object.entries(pipelines as Record<string, unknown>)) validatePipeline(src, diags, name, p, kinds, zodIssues);
  }
  diags.sort((a, b) => a.line - b.line || a.col - b.col);
  if (diags.length) return { diagnostics: diags, source: src };
  const parsed = specSchema.safeParse(root);
  if (!parsed.success) {
    // every schema rule is checked above; this is a safety net so nothing slips through silently
    for (const issue of parsed.error.issues) diags.push(...issueToDiagnostics(src, specSchema, issue, [], root));
    return { diagnostics: diags, source: src };
  }
  return { diagnostics: [], spec: parsed.data, source: src };
}

function validatePipeline(
  src: YamlSource,
  diags: Diagnostic[],
  name: string,
  raw: unknown,
  kinds: ReadonlyMap<string, AnyStepKind>,
  zodIssues: IssueCheck,
): void {
  const base: Path = ['pipelines', name];
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) diags.push(src.at(base, `bad pipeline name "${name}"`, 'use letters, digits, _ and -', true));
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    diags.push(src.at(base, `pipeline "${name}" must be a mapping`, 'give it `steps:` (and optionally description, params, schedule)'));
    return;
  }
  const p = raw as Record<string, unknown>;
  const { steps: rawSteps, ...rest } = p;
  zodIssues(pipelineSchema.omit({ steps: true }), rest, base);
  if (rawSteps === undefined || rawSteps === null || typeof rawSteps !== 'object' || Array.isArray(rawSteps) || Object.keys(rawSteps).length === 0) {
    diags.push(src.at(rawSteps === undefined ? base : [...base, 'steps'], `pipeline "${name}" has no steps`, 'add a `steps:` mapping of step ids to steps', rawSteps === undefined));
    return;
  }

  // params
  const params: Record<string, SpecParam> = {};
  if (p.params && typeof p.params === 'object' && !Array.isArray(p.params)) {
    for (const [pn, pv] of Object.entries(p.params as Record<string, unknown>)) {
      const r = paramSchema.safeParse(pv);
      if (!r.success) continue; // reported by the pipeline schema
      params[pn] = r.data;
      if (typeof r.data === 'object') {
        const d = r.data.default;
        const t = r.data.type;
        const ok = d === undefined || (t === 'boolean' ? typeof d === 'boolean' : t === 'string' ? typeof d === 'string' : typeof d === 'number' && (t === 'number' || Number.isInteger(d)));
        if (!ok) diags.push(src.at([...base, 'params', pn, 'default'], `param "${pn}" default ${JSON.stringify(d)} is not of type ${t}`, `give ${t === 'integer' ? 'an' : 'a'} ${t} default or change the type`));
        if (r.data.enum && d !== undefined && !r.data.enum.includes(d as string | number)) {
          diags.push(src.at([...base, 'params', pn, 'default'], `param "${pn}" default ${JSON.stringify(d)} is not one of its enum values`, `use one of ${r.data.enum.join(', ')}`));
        }
      }
    }
  }

  // schedule: cron + timezone
  if (p.schedule && typeof p.schedule === 'object') {
    const s = scheduleSchema.safeParse(p.schedule);
    if (s.success) {
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
  }

  // steps: shape, kinds, needs
  const steps = rawSteps as Record<string, unknown>;
  const stepIds = Object.keys(steps);
  const needs: Record<string, string[]> = {};
  const parsedSteps: Record<string, z.output<typeof stepSchema>> = {};
  for (const [id, sv] of Object.entries(steps)) {
    const sp: Path = [...base, 'steps', id];
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(id)) diags.push(src.at(sp, `bad step id "${id}"`, 'use letters, digits, _ and -', true));
    if (!sv || typeof sv !== 'object' || Array.isArray(sv)) {
      diags.push(src.at(sp, `step "${id}" must be a mapping`, 'give it at least `uses: <step kind>`'));
      continue;
    }
    const hasUses = 'uses' in sv;
    if (!hasUses) {
      diags.push(src.at(sp, `step "${id}" has no "uses"`, 'add `uses: <step kind>`, e.g. uses: noop', true));
    }
    // a step with problems in some keys is still checked on the others (needs, kind, with)
    const ok = zodIssues(stepSchema, sv, sp, (issue) => !hasUses && issue.path.length === 1 && issue.path[0] === 'uses');
    const st = ok ? stepSchema.parse(sv) : salvageStep(sv as Record<string, unknown>);
    needs[id] = st.needs === undefined ? [] : Array.isArray(st.needs) ? st.needs : [st.needs];
    needs[id].forEach((n, i) => {
      const at: Path = Array.isArray(st.needs) ? [...sp, 'needs', i] : [...sp, 'needs'];
      if (!stepIds.includes(n)) {
        diags.push(src.at(at, `step "${id}" needs unknown step "${n}"`, suggest(n, stepIds.filter((x) => x !== id), 'steps of this pipeline')));
      } else if (n === id) {
        diags.push(src.at(at, `step "${id}" needs itself`, 'remove it from its own needs'));
      }
    });
    if (st.uses === undefined) continue;
    if (!kinds.has(st.uses)) diags.push(src.at([...sp, 'uses'], `unknown step kind "${st.uses}"`, suggest(st.uses, [...kinds.keys()].sort(), 'known kinds')));
    if (ok || 'with' in st || !('with' in sv)) parsedSteps[id] = { ...st, uses: st.uses };
  }
  const cycle = findCycle(needs);
  if (cycle && cycle.length > 2) {
    const [from, to] = [cycle[0]!, cycle[1]!];
    const raw = (steps[from] as Record<string, unknown>).needs;
    const at: Path = Array.isArray(raw) ? [...base, 'steps', from, 'needs', raw.indexOf(to)] : [...base, 'steps', from, 'needs'];
    diags.push(src.at(at, `dependency cycle: ${cycle.join(' → ')}`, 'remove one of these needs so the steps form a DAG'));
  }

  // `with`: param/output references and the kind's schema
  for (const [id, st] of Object.entries(parsedSteps)) {
    const kind = kinds.get(st.uses);
    const wp: Path = [...base, 'steps', id, 'with'];
    const w = st.with ?? {};
    // paths whose value is only known at run time, or already reported: the kind's schema skips them
    const refPaths: Path[] = [];
    walkStrings(w, (s, path) => {
      for (const { body, ref } of findExpressions(s)) {
        const at = [...wp, ...path];
        if (!ref) {
          diags.push(src.at(at, `bad expression "\${{ ${body} }}"`, 'use ${{ params.<name> }} or ${{ steps.<id>.outputs.<name> }}'));
          refPaths.push(path);
          continue;
        }
        if (ref.kind === 'param') {
          if (!(ref.name in params)) {
            diags.push(src.at(at, `unknown param "${ref.name}"`, Object.keys(params).length ? suggest(ref.name, Object.keys(params), 'params') : `declare it under pipelines.${name}.params`));
            refPaths.push(path);
          } else if (paramDefault(params[ref.name]!) === undefined) refPaths.push(path); // given at run time
          continue;
        }
        if (isWholeExpression(s)) refPaths.push(path);
        checkOutputRef(src, diags, at, id, ref, parsedSteps, stepIds, needs, kinds, kind, path);
      }
    });
    if (typeof st.if === 'string') {
      const at: Path = [...base, 'steps', id, 'if'];
      const c = parseCondition(st.if);
      if (!c) diags.push(src.at(at, `bad condition "${st.if}"`, 'use "${{ steps.<id>.outputs.<name> }}" (or "${{ !steps.<id>.outputs.<name> }}")'));
      else checkOutputRef(src, diags, at, id, c.ref, parsedSteps, stepIds, needs, kinds, undefined, []);
    }
    if (!kind) continue;
    const resolved = interpolate(w, (ref) => (ref.kind === 'param' ? paramDefault(params[ref.name] ?? '') ?? '' : ''), 'param');
    const r = kind.with.safeParse(resolved);
    if (r.success && kind.control) {
      kind.control.plan(r.data).show.forEach((s, i) => {
        if (!stepIds.includes(s)) diags.push(src.at([...wp, 'show', i], `step "${id}" (${st.uses}) shows unknown step "${s}"`, suggest(s, stepIds, 'steps')));
      });
    }
    if (!r.success) {
      for (const issue of r.error.issues) {
        const ip = issue.path.map((x) => (typeof x === 'symbol' ? String(x) : x)) as Path;
        if (refPaths.some((rp) => rp.every((seg, i) => ip[i] === seg))) continue; // resolved at run time
        const found = issueToDiagnostics(src, kind.with, issue, wp, resolved, `step "${id}" (${st.uses}) with`);
        const orig = valueAt(w, ip);
        const viaParam = typeof orig === 'string' && isWholeExpression(orig) ? parseRef(orig.slice(3, -2).trim()) : null;
        if (viaParam?.kind === 'param' && issue.code !== 'unrecognized_keys') {
          const hint = `the value comes from \${{ params.${viaParam.name} }} (${paramType(params[viaParam.name]!)}): change that param's type or default`;
          found.forEach((d) => (d.hint = hint));
        }
        diags.push(...found);
      }
    }
  }
  // consumed contracts: every input bound before anything runs
  if (!cycle) {
    const r = bindInputs(
      Object.entries(parsedSteps).map(([id, st]) => ({ id, uses: st.uses, needs: needs[id] ?? [], inputs: st.inputs })),
      kinds,
    );
    for (const pr of r.problems) diags.push(src.at([...base, 'steps', pr.step, ...pr.path], pr.message, pr.hint));
  }
}

/**
 * The valid part of a step that failed its schema: keys with problems (reported already) are
 * dropped so the remaining ones (needs, uses, with) can still be checked.
 */
function salvageStep(raw: Record<string, unknown>): Partial<z.output<typeof stepSchema>> {
  const r = stepSchema.safeParse(raw);
  if (r.success) return r.data;
  const bad = new Set<string>();
  for (const issue of r.error.issues) {
    if (issue.path.length) bad.add(String(issue.path[0]));
    else if (issue.code === 'unrecognized_keys') issue.keys.forEach((k) => bad.add(k));
  }
  const rest = Object.fromEntries(Object.entries(raw).filter(([k]) => !bad.has(k)));
  const again = stepSchema.partial().safeParse(rest);
  return again.success ? again.data : {};
}

function checkOutputRef(
  src: YamlSource,
  diags: Diagnostic[],
  at: Path,
  id: string,
  ref: Extract<Ref, { kind: 'output' }>,
  parsedSteps: Record<string, z.output<typeof stepSchema>>,
  stepIds: string[],
  needs: Record<string, string[]>,
  kinds: ReadonlyMap<string, AnyStepKind>,
  kind: AnyStepKind | undefined,
  withPath: Path,
): void {
  if (!stepIds.includes(ref.step)) {
    diags.push(src.at(at, `reference to unknown step "${ref.step}"`, suggest(ref.step, stepIds, 'steps')));
    return;
  }
  if (!ancestorsOf(id, needs).has(ref.step)) {
    diags.push(src.at(at, `step "${id}" reads outputs of "${ref.step}" but does not depend on it`, `add "${ref.step}" to needs of "${id}"`));
  }
  const up = parsedSteps[ref.step];
  const upKind = up ? kinds.get(up.uses) : undefined;
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

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The value at `path` inside `value` (undefined when absent). */
function valueAt(value: unknown, path: Path): unknown {
  let v = value;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** A value as the message shows it: `"tpu"`, `-2`, `a list`, `a mapping`. */
function show(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v);
}

/** Turns one zod issue into located diagnostics (unknown keys get one each, with suggestions). */
function issueToDiagnostics(src: YamlSource, schema: z.ZodType, issue: z.core.$ZodIssue, base: Path, value: unknown, what?: string): Diagnostic[] {
  const ip = issue.path.map((x) => (typeof x === 'symbol' ? String(x) : x)) as Path;
  const full = [...base, ...ip];
  const label = what ? `${what}${ip.length ? '.' + ip.join('.') : ''}` : full.join('.');
  const input = valueAt(value, ip);
  const diag = (message: string, hint: string) => [src.at(full, `${label}: ${message}`, hint)];
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(schema, ip);
      return issue.keys.map((k) => src.at([...full, k], `unknown key "${k}" in ${label || 'the document'}`, suggest(k, allowed, 'allowed keys'), true));
    }
    case 'invalid_type':
      if (input === undefined) {
        const parent = full.slice(0, -1);
        const lbl = what ? `${what}${ip.length > 1 ? '.' + ip.slice(0, -1).join('.') : ''}` : parent.join('.') || 'the document';
        return [src.at(parent, `missing required "${String(full.at(-1))}" in ${lbl}`, `add ${String(full.at(-1))}: <${issue.expected}>`)];
      }
      return diag(
        `expected ${issue.expected}, got ${typeof input === 'object' ? show(input) : `${typeof input} ${show(input)}`}`,
        issue.expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')
          ? `put the value in quotes: "${String(input)}"`
          : issue.expected === 'number' && typeof input === 'string' && input.trim() !== '' && Number.isFinite(Number(input))
            ? `remove the quotes: ${input.trim()}`
            : `use a ${issue.expected}`,
      );
    case 'invalid_value': {
      const allowed = issue.values.map(String);
      const close = suggest(String(input), allowed);
      return diag(`invalid value ${show(input)}`, `${close.startsWith('did you mean') ? `${close} ` : ''}use one of: ${allowed.join(', ')}`);
    }
    case 'invalid_union': {
      const forms = acceptedForms(schemaAt(schema, ip));
      const hint = !forms.length ? 'see docs/pipelines-reference.md for the accepted forms' : forms.every((f) => f.startsWith('a ')) ? `use ${forms.join(' or ')}` : `use one of: ${forms.join(', ')}`;
      return diag(`invalid value ${show(input)}`, hint);
    }
    case 'invalid_format':
      if (issue.pattern === DURATION_RE.source || /duration/.test(issue.message)) {
        return diag(`bad duration ${show(input)}`, 'use a number and a unit: 500ms, 10s, 30m, 72h or 7d');
      }
      return diag(issue.message, issue.pattern ? `the value must match /${issue.pattern}/` : `use a valid ${issue.format}`);
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = small ? issue.minimum : issue.maximum;
      const op = `${small ? '>' : '<'}${issue.inclusive ? '=' : ''}`;
      if (issue.origin === 'string') return diag(small && Number(bound) <= 1 ? 'must not be empty' : issue.message, small ? `give at least ${bound} character(s)` : `use at most ${bound} characters`);
      if (issue.origin === 'array') return diag(issue.message, `give ${small ? 'at least' : 'at most'} ${bound} item(s)`);
      return diag(`must be ${op} ${bound}, got ${show(input)}`, `use a number ${op} ${bound}`);
    }
    default:
      return diag(issue.message, 'see docs/pipelines-reference.md');
  }
}

export { parseRef };
