import type { z } from 'zod';
import { STEP_KINDS } from '../kinds/registry.ts';
import type { AnyStepKind } from '../kinds/types.ts';
import { bindInputs } from './bindings.ts';
import { findCycle } from '../engine/graph.ts';
import { checkCount, checkOutputRef, checkParams, checkReservedKeys, checkSchedule, checkUnterminated, commandWarnings, dict, paramDefault, paramType, type RefContext } from './checks.ts';
import { issueToDiagnostics, valueAt } from './diagnostics.ts';
import { findExpressions, interpolate, isWholeExpression, parseCondition, parseRef, walkStrings } from './expressions.ts';
import { SPEC_LIMITS, defaultsSchema, nameProblem, pipelineSchema, specSchema, stepSchema, type Spec, type SpecParam } from './schema.ts';
import { YamlSource, type Diagnostic } from './source.ts';
import { suggest } from './suggest.ts';
import { prepareWith, withIssues } from './with.ts';

type Path = (string | number)[];
type IssueCheck = (schema: z.ZodType, value: unknown, base: Path, skip?: (issue: z.core.$ZodIssue) => boolean) => boolean;

/** Largest pipelines.yaml accepted, in characters. */
export const MAX_SPEC_CHARS = 2_000_000;

export interface ValidationResult {
  diagnostics: Diagnostic[];
  /** Things that work but are risky (e.g. `${{ }}` inside a command): printed, never fatal. */
  warnings: Diagnostic[];
  /** The parsed spec (defaults applied) when there are no diagnostics. */
  spec?: Spec;
  source: YamlSource;
}

/** What checking one pipeline needs. */
interface Ctx {
  src: YamlSource;
  diags: Diagnostic[];
  warnings: Diagnostic[];
  kinds: ReadonlyMap<string, AnyStepKind>;
  zodIssues: IssueCheck;
}

/**
 * Validates pipelines.yaml text against the spec schema, the registered step kinds and the DAG
 * rules, collecting ALL problems (never throws for user errors). See docs/pipelines-reference.md.
 */
export function validateSpecText(text: string, file = 'pipelines.yaml', kinds: ReadonlyMap<string, AnyStepKind> = STEP_KINDS): ValidationResult {
  if (text.length > MAX_SPEC_CHARS) {
    const src = new YamlSource(file, '');
    return { diagnostics: [{ file, line: 1, col: 1, message: `the file has ${text.length.toLocaleString('en-US')} characters: at most ${MAX_SPEC_CHARS.toLocaleString('en-US')} are read`, hint: 'split the pipelines across files' }], warnings: [], source: src };
  }
  const src = new YamlSource(file, text);
  const diags: Diagnostic[] = src.syntaxDiagnostics();
  if (!diags.length) diags.push(...src.aliasDiagnostics());
  if (diags.length) return { diagnostics: diags, warnings: [], source: src };
  const root = src.toJS() as Record<string, unknown> | null;
  if (!root || typeof root !== 'object' || Array.isArray(root)) {
    return { diagnostics: [src.at([], 'the file must be a mapping with keys version, defaults, pipelines', 'start from the example in README.md')], warnings: [], source: src };
  }
  const zodIssues: IssueCheck = (schema, value, base, skip) => {
    const r = schema.safeParse(value);
    if (r.success) return true;
    for (const issue of r.error.issues) if (!skip?.(issue)) diags.push(...issueToDiagnostics(src, schema, issue, base, value));
    return false;
  };
  const ctx: Ctx = { src, diags, warnings: [], kinds, zodIssues };

  // top level (keys, version, defaults)
  checkReservedKeys(src, diags, root);
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
    checkCount(src, diags, ['pipelines'], 'pipelines', pipelines, SPEC_LIMITS.pipelines);
    for (const [name, p] of Object.entries(pipelines as Record<string, unknown>)) validatePipeline(ctx, name, p);
  }
  diags.sort((a, b) => a.line - b.line || a.col - b.col);
  ctx.warnings.sort((a, b) => a.line - b.line || a.col - b.col);
  if (diags.length) return { diagnostics: diags, warnings: ctx.warnings, source: src };
  const parsed = specSchema.safeParse(root);
  if (!parsed.success) {
    // every schema rule is checked above; this is a safety net so nothing slips through silently
    for (const issue of parsed.error.issues) diags.push(...issueToDiagnostics(src, specSchema, issue, [], root));
    return { diagnostics: diags, warnings: ctx.warnings, source: src };
  }
  return { diagnostics: [], warnings: ctx.warnings, spec: parsed.data, source: src };
}

function validatePipeline(ctx: Ctx, name: string, raw: unknown): void {
  const { src, diags } = ctx;
  const base: Path = ['pipelines', name];
  const bad = nameProblem(name, 'pipeline name');
  if (bad) diags.push(src.at(base, bad.message, bad.hint, true));
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    diags.push(src.at(base, `pipeline "${name}" must be a mapping`, 'give it `steps:` (and optionally description, params, schedule)'));
    return;
  }
  const p = raw as Record<string, unknown>;
  const { steps: rawSteps, ...rest } = p;
  ctx.zodIssues(pipelineSchema.omit({ steps: true }), rest, base);
  if (rawSteps === undefined || rawSteps === null || typeof rawSteps !== 'object' || Array.isArray(rawSteps) || Object.keys(rawSteps).length === 0) {
    diags.push(src.at(rawSteps === undefined ? base : [...base, 'steps'], `pipeline "${name}" has no steps`, 'add a `steps:` mapping of step ids to steps', rawSteps === undefined));
    return;
  }
  checkCount(src, diags, [...base, 'steps'], 'steps', rawSteps, SPEC_LIMITS.steps);
  checkCount(src, diags, [...base, 'params'], 'params', p.params, SPEC_LIMITS.params);
  const params = checkParams(src, diags, base, p.params);
  checkSchedule(src, diags, base, p.schedule);
  const refs = validateSteps(ctx, base, rawSteps as Record<string, unknown>);
  for (const [id, st] of Object.entries(refs.parsedSteps)) validateStepWith(ctx, base, name, id, st, params, refs);
  // consumed contracts: every input bound before anything runs
  if (!refs.cycle) {
    const r = bindInputs(
      Object.entries(refs.parsedSteps).map(([id, st]) => ({ id, uses: st.uses, needs: refs.needs[id] ?? [], inputs: st.inputs })),
      ctx.kinds,
    );
    for (const pr of r.problems) diags.push(src.at([...base, 'steps', pr.step, ...pr.path], pr.message, pr.hint));
  }
}

/** Steps: ids, shape, kinds, needs and cycles. Returns what the `with` and reference checks need. */
function validateSteps(ctx: Ctx, base: Path, steps: Record<string, unknown>): RefContext & { cycle: boolean } {
  const { src, diags } = ctx;
  const stepIds = Object.keys(steps);
  const needs = dict<string[]>();
  const parsedSteps = dict<z.output<typeof stepSchema>>();
  for (const [id, sv] of Object.entries(steps)) {
    const sp: Path = [...base, 'steps', id];
    const bad = nameProblem(id, 'step id');
    if (bad) diags.push(src.at(sp, bad.message, bad.hint, true));
    if (!sv || typeof sv !== 'object' || Array.isArray(sv)) {
      diags.push(src.at(sp, `step "${id}" must be a mapping`, 'give it at least `uses: <step kind>`'));
      continue;
    }
    const hasUses = Object.hasOwn(sv, 'uses');
    if (!hasUses) diags.push(src.at(sp, `step "${id}" has no "uses"`, 'add `uses: <step kind>`, e.g. uses: noop', true));
    // a step with problems in some keys is still checked on the others (needs, kind, with)
    const ok = ctx.zodIssues(stepSchema, sv, sp, (issue) => !hasUses && issue.path.length === 1 && issue.path[0] === 'uses');
    const st = ok ? stepSchema.parse(sv) : salvageStep(sv as Record<string, unknown>);
    const own = st.needs === undefined ? [] : Array.isArray(st.needs) ? st.needs : [st.needs];
    needs[id] = own;
    own.forEach((n, i) => {
      const at: Path = Array.isArray(st.needs) ? [...sp, 'needs', i] : [...sp, 'needs'];
      if (!stepIds.includes(n)) diags.push(src.at(at, `step "${id}" needs unknown step "${n}"`, suggest(n, stepIds.filter((x) => x !== id), 'steps of this pipeline')));
      else if (n === id) diags.push(src.at(at, `step "${id}" needs itself`, 'remove it from its own needs'));
    });
    if (st.uses === undefined) continue;
    if (!ctx.kinds.has(st.uses)) diags.push(src.at([...sp, 'uses'], `unknown step kind "${st.uses}"`, suggest(st.uses, [...ctx.kinds.keys()].sort(), 'known kinds')));
    if (ok || 'with' in st || !('with' in sv)) parsedSteps[id] = { ...st, uses: st.uses };
  }
  const cycle = findCycle(needs);
  if (cycle && cycle.length > 2) {
    const [from, to] = [cycle[0]!, cycle[1]!];
    const raw = (steps[from] as Record<string, unknown>).needs;
    const at: Path = Array.isArray(raw) ? [...base, 'steps', from, 'needs', raw.indexOf(to)] : [...base, 'steps', from, 'needs'];
    diags.push(src.at(at, `dependency cycle: ${cycle.join(' → ')}`, 'remove one of these needs so the steps form a DAG'));
  }
  return { parsedSteps, stepIds, needs, kinds: ctx.kinds, cycle: !!cycle };
}

/** One step's `with` and `if`: references, expressions, command warnings and the kind's schema. */
function validateStepWith(ctx: Ctx, base: Path, pipeline: string, id: string, st: z.output<typeof stepSchema>, params: Record<string, SpecParam>, refs: RefContext): void {
  const { src, diags } = ctx;
  const kind = ctx.kinds.get(st.uses);
  const wp: Path = [...base, 'steps', id, 'with'];
  const w = st.with ?? {};
  // paths whose value is only known at run time, or already reported: the kind's schema skips them
  const refPaths: Path[] = [];
  checkUnterminated(src, diags, wp, w);
  walkStrings(w, (s, path) => {
    for (const { body, ref } of findExpressions(s)) {
      const at = [...wp, ...path];
      if (!ref) {
        diags.push(src.at(at, `bad expression "\${{ ${body} }}"`, 'use ${{ params.<name> }} or ${{ steps.<id>.outputs.<name> }}'));
        refPaths.push(path);
      } else if (ref.kind === 'param') {
        if (!Object.hasOwn(params, ref.name)) {
          diags.push(src.at(at, `unknown param "${ref.name}"`, Object.keys(params).length ? suggest(ref.name, Object.keys(params), 'params') : `declare it under pipelines.${pipeline}.params`));
          refPaths.push(path);
        } else if (paramDefault(params[ref.name]!) === undefined) refPaths.push(path); // given at run time
      } else {
        if (isWholeExpression(s)) refPaths.push(path);
        checkOutputRef(src, diags, at, id, ref, refs, isWholeExpression(s) ? kind : undefined, path);
      }
    }
  });
  if (typeof st.if === 'string') {
    const at: Path = [...base, 'steps', id, 'if'];
    const c = parseCondition(st.if);
    if (!c) diags.push(src.at(at, `bad condition "${st.if}"`, 'use "${{ steps.<id>.outputs.<name> }}" (or "${{ !steps.<id>.outputs.<name> }}")'));
    else checkOutputRef(src, diags, at, id, c.ref, refs, undefined, []);
  }
  if (!kind) return;
  ctx.warnings.push(...commandWarnings(src, wp, kind, w));
  const resolved = interpolate(prepareWith(kind, w), (ref) => (ref.kind === 'param' ? (Object.hasOwn(params, ref.name) ? paramDefault(params[ref.name]!) : undefined) ?? '' : ''), 'param');
  const r = withIssues(kind, resolved, refPaths);
  if (r.data !== undefined && kind.control) {
    kind.control.plan(r.data).show.forEach((s, i) => {
      if (!refs.stepIds.includes(s)) diags.push(src.at([...wp, 'show', i], `step "${id}" (${st.uses}) shows unknown step "${s}"`, suggest(s, refs.stepIds, 'steps')));
    });
  }
  for (const issue of r.issues) {
    const ip = issue.path.map((x) => (typeof x === 'symbol' ? String(x) : x)) as Path;
    const found = issueToDiagnostics(src, kind.with, issue, wp, resolved, `step "${id}" (${st.uses}) with`);
    const orig = valueAt(w, ip);
    const viaParam = typeof orig === 'string' && isWholeExpression(orig) ? parseRef(orig.slice(3, -2).trim()) : null;
    if (viaParam?.kind === 'param' && issue.code !== 'unrecognized_keys' && Object.hasOwn(params, viaParam.name)) {
      const hint = `the value comes from \${{ params.${viaParam.name} }} (${paramType(params[viaParam.name]!)}): change that param's type or default`;
      found.forEach((d) => (d.hint = hint));
    }
    diags.push(...found);
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

export { paramDefault, paramType, parseRef, suggest };
