import { z } from 'zod';
import { DURATION_LIMITS, DURATION_RE, durationBoundProblem, formatBound, type DurationBounds } from '../lib/duration.ts';

/**
 * The schema of pipelines.yaml (format version 1). Every object is strict: unknown keys are errors
 * (the validator suggests the closest known key). `docs/pipelines-reference.md` is generated from it
 * (`trademl schema --markdown`).
 */

/**
 * Upper bounds of every count and size in pipelines.yaml (the validator checks them): names fit in
 * file and run-id paths, counts stay far below what a run can schedule, texts stay readable.
 */
export const SPEC_LIMITS = {
  /** Pipeline names, step ids, param names (they become folder names and run ids). */
  name: 64,
  /** `uses`, queue-like identifiers, error type names. */
  identifier: 128,
  /** Descriptions, param string values, cron and time zone strings. */
  text: 10_000,
  pipelines: 500,
  steps: 5_000,
  params: 200,
  needs: 1_000,
  maximumAttempts: 100,
  backoffCoefficient: 100,
  concurrency: 1_024,
  listItems: 1_000,
} as const;

/**
 * A duration string bounded to `bounds` (default: a timer, 0 < d ≤ 7d, below setTimeout's 2^31 ms).
 * A bound violation is a custom issue whose `params.hint` says what to write instead.
 */
export function boundedDuration(what: string, bounds: DurationBounds = { min: 0, minExclusive: true, max: DURATION_LIMITS.timer }) {
  return z
    .string()
    .regex(DURATION_RE, { message: `${what} must be a duration such as 500ms, 10s, 30m, 72h, 7d` })
    .superRefine((text, ctx) => {
      const problem = durationBoundProblem(text, bounds);
      if (problem) {
        const range = `${bounds.minExclusive ? 'more than' : 'from'} ${formatBound(bounds.min ?? 0)} ${bounds.minExclusive ? 'and at most' : 'to'} ${formatBound(bounds.max)}`;
        ctx.addIssue({ code: 'custom', message: `${what} ${problem}`, params: { hint: `use a duration ${range}` } });
      }
    });
}

const duration = boundedDuration;
const interval = (what: string) => boundedDuration(what, { min: 0, max: DURATION_LIMITS.timer });

export const queueSchema = z.enum(['cpu', 'gpu']).describe('Task queue: `cpu` or `gpu` (Temporal queues `<prefix>-cpu` / `<prefix>-gpu`).');

export const retrySchema = z
  .object({
    maximum_attempts: z.number().int().min(1).max(SPEC_LIMITS.maximumAttempts).describe('Attempts in all, first included (1 = no retry).'),
    initial_interval: interval('retry.initial_interval').describe('Delay before the 2nd attempt.'),
    backoff_coefficient: z.number().min(1).max(SPEC_LIMITS.backoffCoefficient).describe('Each further delay is multiplied by this.'),
    maximum_interval: interval('retry.maximum_interval').describe('Cap on the delay between attempts.'),
    non_retryable: z.array(z.string().min(1).max(SPEC_LIMITS.identifier)).max(SPEC_LIMITS.listItems).describe('Error type names that fail the step at once (e.g. DataQualityError).'),
  })
  .partial()
  .strict();

export const cacheSchema = z.union([z.boolean(), z.enum(['on', 'off'])]).describe('Content-addressed step cache: on (default) or off.');

export const concurrencySchema = z
  .object({
    total: z.number().int().min(1).max(SPEC_LIMITS.concurrency).describe('Steps running at once in a run (local runtime).'),
    cpu: z.number().int().min(1).max(SPEC_LIMITS.concurrency).describe('cpu-queue steps at once.'),
    gpu: z.number().int().min(1).max(SPEC_LIMITS.concurrency).describe('gpu-queue steps at once (default 1).'),
  })
  .partial()
  .strict();

export const onFailureSchema = z
  .enum(['wait', 'fail'])
  .describe('Temporal host, after a step exhausted its retries: `wait` for an operator retry/skip/abort, or `fail` the run.');

export const defaultsSchema = z
  .object({
    queue: queueSchema,
    retry: retrySchema,
    timeout: duration('timeout').describe('Per-attempt timeout (start-to-close).'),
    heartbeat_timeout: duration('heartbeat_timeout').describe('Distributed workers: a silent activity is failed after this.'),
    cache: cacheSchema,
    concurrency: concurrencySchema,
    on_failure: onFailureSchema,
    on_failure_timeout: duration('on_failure_timeout', { min: 0, minExclusive: true, max: DURATION_LIMITS.human }).describe('How long a failed run waits for an operator decision.'),
  })
  .partial()
  .strict();

/** Names that are properties of every JS object: refused as pipeline names, step ids and param names. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** Why `name` cannot name a pipeline, step or param (`what`: "step id"), or undefined when it can. */
export function nameProblem(name: string, what: string): { message: string; hint: string } | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) return { message: `bad ${what} "${name.slice(0, 80)}${name.length > 80 ? '…' : ''}"`, hint: 'use letters, digits, _ and -, starting with a letter or _' };
  if (name.length > SPEC_LIMITS.name) return { message: `${what} "${name.slice(0, 40)}…" is ${name.length} characters long`, hint: `use at most ${SPEC_LIMITS.name} characters (it becomes part of run ids and folder names)` };
  if (RESERVED_NAMES.has(name)) return { message: `${what} "${name}" is reserved`, hint: 'it is a property of every JavaScript object: choose another name' };
  return undefined;
}

function nameSchema(what: 'pipeline name' | 'step id' | 'param name') {
  return z.string().superRefine((name, ctx) => {
    const p = nameProblem(name, what);
    if (p) ctx.addIssue({ code: 'custom', message: p.message, params: { hint: p.hint } });
  });
}

export const paramTypeSchema = z.enum(['string', 'number', 'integer', 'boolean']);

const paramText = z.string().max(SPEC_LIMITS.text);

export const paramSchema = z.union([
  paramText,
  z.number(),
  z.boolean(),
  z
    .object({
      type: paramTypeSchema,
      default: z.union([paramText, z.number(), z.boolean()]).optional(),
      description: paramText.optional(),
      enum: z.array(z.union([paramText, z.number()])).max(SPEC_LIMITS.listItems).optional(),
    })
    .strict(),
]).describe('A param: a scalar default (type inferred) or `{ type, default, description, enum }`.');

export const scheduleSchema = z
  .object({
    cron: z.string().max(200).describe('Five-field cron expression, e.g. "0 2 * * 1-5".'),
    timezone: z.string().max(SPEC_LIMITS.identifier).default('UTC').describe('IANA time zone, e.g. America/New_York.'),
    overlap: z.enum(['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all']).default('skip').describe('Temporal Schedule overlap policy.'),
    catchup_window: duration('schedule.catchup_window', { min: 0, minExclusive: true, max: DURATION_LIMITS.catchup }).default('1h').describe('How late a missed action may still run.'),
    paused: z.boolean().default(false),
  })
  .strict();

export const stepSchema = z
  .object({
    uses: z.string().min(1).max(SPEC_LIMITS.identifier).describe('Step kind (see the step kinds reference).'),
    description: z.string().max(SPEC_LIMITS.text).optional(),
    needs: z.union([z.string(), z.array(z.string()).max(SPEC_LIMITS.needs)]).optional().describe('Step ids that must finish first.'),
    with: z.record(z.string(), z.unknown()).optional().describe("The kind's settings; `${{ params.x }}` and `${{ steps.<id>.outputs.<name> }}` interpolate."),
    inputs: z
      .record(z.string(), z.union([z.string(), z.array(z.string()).min(1)]))
      .optional()
      .describe('Explicit bindings of consumed inputs: `name: "${{ steps.<id>.outputs.<key> }}"` (or a step id, or a list for a many input). Unbound inputs take the nearest upstream provider of their contract.'),
    queue: queueSchema.optional(),
    retry: retrySchema.optional(),
    timeout: duration('timeout').optional(),
    heartbeat_timeout: duration('heartbeat_timeout').optional(),
    cache: cacheSchema.optional(),
    when: z.enum(['on_success', 'always']).optional().describe('`always`: run once all needs ended, even failed (reports).'),
    if: z
      .string()
      .optional()
      .describe('Run only when `${{ steps.<id>.outputs.<path> }}` is true (`${{ !steps… }}`: false); otherwise the step and its dependents are skipped — an outcome, not a failure (e.g. no approval when the gate rejects).'),
    on_failure: onFailureSchema.optional(),
  })
  .strict();

export const pipelineSchema = z
  .object({
    description: z.string().max(SPEC_LIMITS.text).optional(),
    schedule: scheduleSchema.optional(),
    params: z.record(nameSchema('param name'), paramSchema).optional(),
    concurrency: concurrencySchema.optional(),
    steps: z.record(nameSchema('step id'), stepSchema),
  })
  .strict();

export const specSchema = z
  .object({
    version: z.literal(1, { message: 'version must be 1' }),
    defaults: defaultsSchema.optional(),
    pipelines: z.record(nameSchema('pipeline name'), pipelineSchema),
  })
  .strict();

export type Spec = z.output<typeof specSchema>;
export type SpecPipeline = z.output<typeof pipelineSchema>;
export type SpecStep = z.output<typeof stepSchema>;
export type SpecDefaults = z.output<typeof defaultsSchema>;
export type SpecParam = z.output<typeof paramSchema>;

/** Built-in defaults applied under `defaults:`. */
export const BUILTIN_DEFAULTS = {
  queue: 'cpu' as const,
  retry: { maximum_attempts: 3, initial_interval: '10s', backoff_coefficient: 2, maximum_interval: '5m', non_retryable: [] as string[] },
  timeout: '30m',
  heartbeat_timeout: '2m',
  cache: true,
  concurrency: { total: 2, cpu: 2, gpu: 1 },
  on_failure: 'wait' as const,
  on_failure_timeout: '24h',
};
