import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { contractId } from '../contracts/define.ts';
import { STEP_KINDS, getStepKind } from '../kinds/registry.ts';
import type { AnyStepKind } from '../kinds/types.ts';
import { bindInputs } from './bindings.ts';
import { COMPILED_SPEC_CACHE, readCachedSpec, writeCachedSpec, type SpecCacheLocation } from './cache.ts';
import { topoSort } from '../engine/graph.ts';
import { PLAN_FORMAT, type Plan, type PlanCondition, type PlanControl, type PlanStep, type RetryPolicy } from '../engine/plan.ts';
import { parseDuration } from '../lib/duration.ts';
import { UserError, errorMessage } from '../lib/errors.ts';
import { digestJson } from '../lib/hash.ts';
import { dict } from './checks.ts';
import { interpolate, parseCondition } from './expressions.ts';
import { coerceParam } from './params.ts';
import { BUILTIN_DEFAULTS, type Spec, type SpecDefaults, type SpecStep } from './schema.ts';
import { formatDiagnostic } from './source.ts';
import { paramDefault, paramType, suggest, validateSpecText } from './validate.ts';
import { prepareWith, withIssues } from './with.ts';

export interface CompileOptions {
  /** `--param k=v` overrides, parsed by each param's declared type. */
  params?: Record<string, string | number | boolean>;
  /** Overrides the total concurrency (`--concurrency N`). */
  concurrency?: number;
  /** Disables the cache for every step (`--no-cache`). */
  noCache?: boolean;
}

/**
 * Reads and validates a pipelines.yaml file. Throws a UserError whose message lists every
 * diagnostic as `file:line:col: message — hint` when the file is invalid or missing.
 */
export function loadSpec(file: string): Spec {
  if (!existsSync(file)) throw new UserError(`${file} not found — run from the checkout root or pass the file path`);
  const rel = path.relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`${rel}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}) — check the path`);
  }
  return validSpec(text, rel);
}

/**
 * The validated spec of pipelines.yaml `text` (`rel` names it in diagnostics), through the build's
 * spec cache when `cache` is given (spec/cache.ts; the compiled tree's by default, none from
 * source). Throws the UserError of {@link loadSpec} when the text is invalid (never cached).
 */
export function validSpec(text: string, rel: string, cache: SpecCacheLocation | undefined = COMPILED_SPEC_CACHE): Spec {
  const kept = cache ? readCachedSpec(cache, text) : undefined;
  if (kept) return kept;
  const r = validateSpecText(text, rel);
  if (r.diagnostics.length) {
    throw new UserError(`${r.diagnostics.length} problem(s) in ${rel}:\n${r.diagnostics.map(formatDiagnostic).join('\n')}`);
  }
  if (cache) writeCachedSpec(cache, text, r.spec!);
  return r.spec!;
}

/** Parses `k=v` CLI strings into a map (values stay strings; {@link compilePlan} types them). */
export function parseParamArgs(args: string[] = []): Record<string, string> {
  const out = dict<string>();
  for (const a of args) {
    const i = a.indexOf('=');
    if (i <= 0) throw new UserError(`bad --param "${a.slice(0, 100)}": use --param name=value`);
    const k = a.slice(0, i);
    if (Object.hasOwn(out, k)) throw new UserError(`--param ${k} is given twice — pass each param once`);
    out[k] = a.slice(i + 1);
  }
  return out;
}

/**
 * Compiles one pipeline of a validated spec into a Plan: params resolved (defaults + overrides,
 * typed), `${{ params.* }}` substituted, defaults merged into every step, steps topologically
 * ordered, durations in ms, digest = sha256 of the canonical JSON. Throws UserError on unknown
 * pipeline or bad overrides.
 */
export function compilePlan(spec: Spec, pipeline: string, opts: CompileOptions = {}): Plan {
  const p = spec.pipelines[pipeline];
  if (!p) throw new UserError(`unknown pipeline "${pipeline}" — ${suggest(pipeline, Object.keys(spec.pipelines), 'pipelines')}`);
  const d: SpecDefaults = spec.defaults ?? {};
  const declared = p.params ?? {};
  const params = dict<unknown>();
  for (const [k, decl] of Object.entries(declared)) params[k] = paramDefault(decl);
  for (const [k, raw] of Object.entries(opts.params ?? {})) {
    if (!Object.hasOwn(declared, k)) throw new UserError(`unknown param "${k.slice(0, 100)}" for pipeline ${pipeline} — ${suggest(k, Object.keys(declared), 'params')}`);
    const decl = declared[k]!;
    params[k] = coerceParam(k, raw, paramType(decl), typeof decl === 'object' ? decl.enum : undefined);
  }
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) throw new UserError(`param "${k}" of pipeline ${pipeline} has no default — pass --param ${k}=<value>`);
  }

  const needs: Record<string, string[]> = {};
  for (const [id, s] of Object.entries(p.steps)) needs[id] = normNeeds(s);
  const order = topoSort(Object.keys(p.steps), needs);
  const conc = { ...BUILTIN_DEFAULTS.concurrency, ...d.concurrency, ...p.concurrency };
  if (opts.concurrency) conc.total = opts.concurrency;

  const bound = bindInputs(order.map((id) => ({ id, uses: p.steps[id]!.uses, needs: needs[id]!, inputs: p.steps[id]!.inputs })), STEP_KINDS);
  if (bound.problems.length) {
    throw new UserError(`pipeline ${pipeline} has unbound inputs:\n${bound.problems.map((x) => `  steps.${x.step}: ${x.message} — ${x.hint}`).join('\n')}`);
  }
  const steps: PlanStep[] = order.map((id) => compileStep(id, p.steps[id]!, d, params, needs[id]!, bound.bindings[id] ?? {}, opts));
  checkStepsWith(pipeline, steps, opts.params ?? {});
  const body: Omit<Plan, 'digest'> = {
    format: PLAN_FORMAT,
    pipeline,
    description: p.description ?? '',
    params: { ...params },
    schedule: p.schedule
      ? { cron: p.schedule.cron, timezone: p.schedule.timezone, overlap: p.schedule.overlap, catchup_window_ms: parseDuration(p.schedule.catchup_window), paused: p.schedule.paused }
      : undefined,
    concurrency: conc,
    steps,
  };
  return { ...body, digest: digestJson(body) };
}

function compileStep(id: string, s: SpecStep, d: SpecDefaults, params: Record<string, unknown>, needs: string[], inputs: PlanStep['inputs'], opts: CompileOptions): PlanStep {
  const kind = getStepKind(s.uses);
  const r = { ...BUILTIN_DEFAULTS.retry, ...d.retry, ...s.retry };
  const retry: RetryPolicy = {
    maximum_attempts: r.maximum_attempts,
    initial_interval_ms: parseDuration(r.initial_interval),
    backoff_coefficient: r.backoff_coefficient,
    maximum_interval_ms: parseDuration(r.maximum_interval),
    non_retryable: [...new Set(['DataQualityError', 'GateFailed', 'ApprovalRejected', ...r.non_retryable])],
  };
  const cache = !opts.noCache && toBool(s.cache ?? d.cache ?? BUILTIN_DEFAULTS.cache);
  const withResolved = interpolate(prepareWith(kind, s.with ?? {}), (ref) => (ref.kind === 'param' && Object.hasOwn(params, ref.name) ? params[ref.name] : undefined), 'param') as Record<string, unknown>;
  return {
    id,
    uses: s.uses,
    kind_version: kind.version,
    description: s.description,
    needs,
    with: withResolved,
    inputs,
    provides: Object.fromEntries(Object.entries(kind.provides ?? {}).map(([k, c]) => [k, contractId(c)])),
    ...(kind.control ? { control: compileControl(id, kind, withResolved) } : {}),
    ...(s.if !== undefined ? { if: compileCondition(id, s.if) } : {}),
    queue: s.queue ?? kind.defaultQueue ?? d.queue ?? BUILTIN_DEFAULTS.queue,
    retry,
    timeout_ms: parseDuration(s.timeout ?? d.timeout ?? BUILTIN_DEFAULTS.timeout),
    heartbeat_timeout_ms: parseDuration(s.heartbeat_timeout ?? d.heartbeat_timeout ?? BUILTIN_DEFAULTS.heartbeat_timeout),
    cache,
    when: s.when ?? 'on_success',
    on_failure: s.on_failure ?? d.on_failure ?? BUILTIN_DEFAULTS.on_failure,
    on_failure_timeout_ms: parseDuration(d.on_failure_timeout ?? BUILTIN_DEFAULTS.on_failure_timeout),
  };
}

/** A step's `if:` as the scheduler evaluates it (validated before: malformed is a UserError here). */
function compileCondition(id: string, text: string): PlanCondition {
  const c = parseCondition(text);
  if (!c) throw new UserError(`step "${id}": bad condition "${text}" — use "\${{ steps.<id>.outputs.<name> }}"`);
  return { expr: text, step: c.ref.step, output: c.ref.output, path: c.ref.path, negate: c.negate };
}

/** A control step's settings from its `with`, parsed once through the kind's schema. */
function compileControl(id: string, kind: AnyStepKind, w: Record<string, unknown>): PlanControl {
  const r = kind.with.safeParse(w);
  if (!r.success) throw new UserError(`step "${id}" (${kind.uses}): invalid with: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { type: kind.control!.type, ...kind.control!.plan(r.data) };
}

function normNeeds(s: SpecStep): string[] {
  return s.needs === undefined ? [] : Array.isArray(s.needs) ? s.needs : [s.needs];
}

function toBool(v: boolean | 'on' | 'off'): boolean {
  return v === true || v === 'on';
}

/**
 * Every step's `with` (params and overrides substituted) against its kind's schema, as
 * `trademl validate` checks it; values known only when the step runs are skipped. Throws one
 * UserError naming every problem, before any run is created.
 */
function checkStepsWith(pipeline: string, steps: PlanStep[], overrides: Record<string, unknown>): void {
  const problems: string[] = [];
  for (const s of steps) {
    const kind = getStepKind(s.uses);
    for (const issue of withIssues(kind, s.with).issues) {
      const at = issue.path.map((x) => String(x)).join('.');
      problems.push(`  steps.${s.id}.with${at ? '.' + at : ''} (${s.uses}): ${issue.message}${issue.code === 'invalid_type' || issue.code === 'too_small' || issue.code === 'too_big' ? ` (got ${JSON.stringify(valueAtPath(s.with, issue.path))})` : ''}`);
    }
  }
  if (!problems.length) return;
  const given = Object.keys(overrides);
  throw new UserError(
    `pipeline ${pipeline}: ${problems.length} invalid step setting(s)${given.length ? ` with --param ${given.map((k) => `${k}=${String(overrides[k]).slice(0, 60)}`).join(' ')}` : ''}:\n${problems.join('\n')}\nno run was created — pass values the steps accept (see trademl schema)`,
  );
}

function valueAtPath(v: unknown, path: readonly PropertyKey[]): unknown {
  let cur = v;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}
