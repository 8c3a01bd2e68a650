import { z } from 'zod';
import { DURATION_RE } from '../lib/duration.ts';

/**
 * The schema of pipelines.yaml (format version 1). Every object is strict: unknown keys are errors
 * (the validator suggests the closest known key). `docs/pipelines-reference.md` is generated from it
 * (`trademl schema --markdown`).
 */

const duration = (what: string) =>
  z.string().regex(DURATION_RE, { message: `${what} must be a duration such as 500ms, 10s, 30m, 72h, 7d` });

export const queueSchema = z.enum(['cpu', 'gpu']).describe('Task queue: `cpu` or `gpu` (Temporal queues `<prefix>-cpu` / `<prefix>-gpu`).');

export const retrySchema = z
  .object({
    maximum_attempts: z.number().int().min(1).describe('Attempts in all, first included (1 = no retry).'),
    initial_interval: duration('retry.initial_interval').describe('Delay before the 2nd attempt.'),
    backoff_coefficient: z.number().min(1).describe('Each further delay is multiplied by this.'),
    maximum_interval: duration('retry.maximum_interval').describe('Cap on the delay between attempts.'),
    non_retryable: z.array(z.string()).describe('Error type names that fail the step at once (e.g. DataQualityError).'),
  })
  .partial()
  .strict();

export const cacheSchema = z.union([z.boolean(), z.enum(['on', 'off'])]).describe('Content-addressed step cache: on (default) or off.');

export const concurrencySchema = z
  .object({
    total: z.number().int().min(1).describe('Steps running at once in a run (local runtime).'),
    cpu: z.number().int().min(1).describe('cpu-queue steps at once.'),
    gpu: z.number().int().min(1).describe('gpu-queue steps at once (default 1).'),
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
    on_failure_timeout: duration('on_failure_timeout').describe('How long a failed run waits for an operator decision.'),
  })
  .partial()
  .strict();

export const paramTypeSchema = z.enum(['string', 'number', 'integer', 'boolean']);

export const paramSchema = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z
    .object({
      type: paramTypeSchema,
      default: z.union([z.string(), z.number(), z.boolean()]).optional(),
      description: z.string().optional(),
      enum: z.array(z.union([z.string(), z.number()])).optional(),
    })
    .strict(),
]).describe('A param: a scalar default (type inferred) or `{ type, default, description, enum }`.');

export const scheduleSchema = z
  .object({
    cron: z.string().describe('Five-field cron expression, e.g. "0 2 * * 1-5".'),
    timezone: z.string().default('UTC').describe('IANA time zone, e.g. America/New_York.'),
    overlap: z.enum(['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all']).default('skip').describe('Temporal Schedule overlap policy.'),
    catchup_window: duration('schedule.catchup_window').default('1h').describe('How late a missed action may still run.'),
    paused: z.boolean().default(false),
  })
  .strict();

export const stepSchema = z
  .object({
    uses: z.string().min(1).describe('Step kind (see the step kinds reference).'),
    description: z.string().optional(),
    needs: z.union([z.string(), z.array(z.string())]).optional().describe('Step ids that must finish first.'),
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
    description: z.string().optional(),
    schedule: scheduleSchema.optional(),
    params: z.record(z.string(), paramSchema).optional(),
    concurrency: concurrencySchema.optional(),
    steps: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, { message: 'step ids use letters, digits, _ and -' }), stepSchema),
  })
  .strict();

export const specSchema = z
  .object({
    version: z.literal(1, { message: 'version must be 1' }),
    defaults: defaultsSchema.optional(),
    pipelines: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, { message: 'pipeline names use letters, digits, _ and -' }), pipelineSchema),
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
