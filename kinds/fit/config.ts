import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UserError } from '../../lib/errors.ts';

const paramValue = z.union([z.string(), z.number(), z.boolean()]);

/** Schema of `configs/training/*.yml` (see configs/training/equities_xs.yml for every field). */
export const trainingConfigSchema = z
  .object({
    model: z.string().min(1),
    task: z.enum(['regression', 'classification']),
    /** Label values in class-index order (classification with multi:softprob). */
    classes: z.array(z.number()).min(2).optional(),
    target: z.object({ transform: z.enum(['none', 'demean', 'rank']).default('rank') }).strict().default({ transform: 'rank' }),
    cv: z
      .object({
        n_groups: z.number().int().min(3).max(30).default(8),
        n_test_groups: z.number().int().min(1).default(2),
        embargo_days: z.number().int().min(0).default(10),
        validation_fraction: z.number().min(0).max(0.5).default(0.1),
      })
      .strict()
      .default({ n_groups: 8, n_test_groups: 2, embargo_days: 10, validation_fraction: 0.1 }),
    sampling: z
      .object({
        date_stride: z.number().int().min(1).default(1),
        half_life_days: z.number().positive().nullable().default(null),
      })
      .strict()
      .default({ date_stride: 1, half_life_days: null }),
    xgboost: z
      .object({
        num_boost_round: z.number().int().min(1).max(10_000),
        early_stopping_rounds: z.number().int().min(1).nullable().default(null),
        params: z.record(z.string(), paramValue),
      })
      .strict(),
    grid: z.record(z.string(), z.array(paramValue).min(1)).default({}),
    selection: z.enum(['rank_ic', 'ic', 'icir', 'sharpe']).default('rank_ic'),
    leakage: z
      .object({
        max_abs_mean_rank_ic: z.number().positive().default(0.1),
        max_abs_feature_rank_ic: z.number().positive().default(0.2),
        action: z.enum(['fail', 'warn']).default('fail'),
      })
      .strict()
      .default({ max_abs_mean_rank_ic: 0.1, max_abs_feature_rank_ic: 0.2, action: 'fail' }),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.cv.n_test_groups >= c.cv.n_groups) ctx.addIssue({ code: 'custom', path: ['cv', 'n_test_groups'], message: `must be < cv.n_groups (${c.cv.n_groups})` });
    const obj = String(c.xgboost.params.objective ?? '');
    if (!obj) ctx.addIssue({ code: 'custom', path: ['xgboost', 'params', 'objective'], message: 'objective is required (e.g. reg:squarederror, binary:logistic, multi:softprob)' });
    const isClf = obj.startsWith('binary:') || obj.startsWith('multi:');
    if (c.task === 'classification' && !isClf) ctx.addIssue({ code: 'custom', path: ['xgboost', 'params', 'objective'], message: `task classification needs binary:logistic or multi:softprob, got ${obj}` });
    if (c.task === 'regression' && isClf) ctx.addIssue({ code: 'custom', path: ['task'], message: `objective ${obj} is a classifier: set task: classification` });
    if (obj === 'multi:softmax') ctx.addIssue({ code: 'custom', path: ['xgboost', 'params', 'objective'], message: 'use multi:softprob (probabilities are needed for the score P(+1) − P(−1))' });
    if (obj === 'multi:softprob') {
      if (!c.classes) ctx.addIssue({ code: 'custom', path: ['classes'], message: 'multi:softprob needs classes: [label values in class order], e.g. [-1, 0, 1]' });
      else if (Number(c.xgboost.params.num_class) !== c.classes.length)
        ctx.addIssue({ code: 'custom', path: ['xgboost', 'params', 'num_class'], message: `must equal the number of classes (${c.classes.length})` });
    }
    for (const k of Object.keys(c.grid)) if (k === 'objective' || k === 'num_class') ctx.addIssue({ code: 'custom', path: ['grid', k], message: 'the grid may not vary the objective/num_class' });
  });

export type TrainingConfig = z.output<typeof trainingConfigSchema>;

/** Per-step overrides accepted from fit.cpcv's `with:` block. */
export interface ConfigOverrides {
  n_groups?: number;
  n_test_groups?: number;
  embargo_days?: number;
  params?: Record<string, string | number | boolean>;
  grid?: Record<string, (string | number | boolean)[]>;
  num_boost_round?: number;
  date_stride?: number;
  leakage_action?: 'fail' | 'warn';
}

/**
 * Reads and validates a training config (YAML) relative to `projectRoot`, applies a step's
 * overrides, and re-validates. Throws UserError naming the file and the offending field.
 */
export function loadTrainingConfig(projectRoot: string, file: string, over: ConfigOverrides = {}): TrainingConfig {
  const abs = path.resolve(projectRoot, file);
  if (!existsSync(abs)) throw new UserError(`training config ${file} not found (resolved to ${abs}); see configs/training/equities_xs.yml for the format`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(abs, 'utf8'));
  } catch (e) {
    throw new UserError(`training config ${file}: YAML error: ${(e as Error).message}`);
  }
  const first = trainingConfigSchema.safeParse(raw);
  if (!first.success) throw new UserError(formatIssues(file, first.error));
  const c = structuredClone(first.data) as TrainingConfig;
  if (over.n_groups !== undefined) c.cv.n_groups = over.n_groups;
  if (over.n_test_groups !== undefined) c.cv.n_test_groups = over.n_test_groups;
  if (over.embargo_days !== undefined) c.cv.embargo_days = over.embargo_days;
  if (over.date_stride !== undefined) c.sampling.date_stride = over.date_stride;
  if (over.num_boost_round !== undefined) c.xgboost.num_boost_round = over.num_boost_round;
  if (over.params) Object.assign(c.xgboost.params, over.params);
  if (over.grid) c.grid = over.grid;
  if (over.leakage_action) c.leakage.action = over.leakage_action;
  const second = trainingConfigSchema.safeParse(c);
  if (!second.success) throw new UserError(formatIssues(`${file} (with the step's with: overrides)`, second.error));
  return second.data;
}

function formatIssues(file: string, err: z.ZodError): string {
  return `invalid training config ${file}:\n` + err.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
}

/** The HPO trials: base params overridden by each point of the grid's cartesian product (keys sorted). */
export function expandGrid(base: Record<string, string | number | boolean>, grid: Record<string, (string | number | boolean)[]>): Record<string, string | number | boolean>[] {
  let out: Record<string, string | number | boolean>[] = [{ ...base }];
  for (const key of Object.keys(grid).sort()) {
    const next: Record<string, string | number | boolean>[] = [];
    for (const p of out) for (const v of grid[key]!) next.push({ ...p, [key]: v });
    out = next;
  }
  return out;
}
