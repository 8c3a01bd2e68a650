/**
 * Training configs (configs/training/*.yml): the target, the CPCV layout (embargo in bars), sampling,
 * one section per engine under `engines:` (rounds, early stopping, params, grid, search), trial
 * selection and the leakage check. Loaded through lib/config.ts (errors at file:line:col); a step's
 * `with:` overrides are applied afterwards and re-validated.
 */
import { z } from 'zod';
import { ConfigError } from '../../lib/errors.ts';
import { loadConfig } from '../../lib/config.ts';
import type { LearnerParams } from '../../models/learner.ts';
import { expandGrid, gridSize, sampleGrid } from '../../cv/search.ts';
import type { Engine } from './engines.ts';

const paramValue = z.union([z.string(), z.number(), z.boolean()]);

const searchSchema = z
  .discriminatedUnion('method', [
    z.strictObject({ method: z.literal('grid').describe('every point of the grid (cartesian product)') }),
    z.strictObject({
      method: z.literal('sample').describe("n_trials points drawn from the grid's product, or from the engine's own search space when the grid is empty"),
      n_trials: z.number().int().min(1).describe('number of sampled trials'),
      seed: z.number().int().describe('seed of the sampler'),
    }),
  ])
  .describe('how the trials are chosen');

/** One engine's section under `engines:`. */
export const engineSectionSchema = z.strictObject({
  num_boost_round: z.number().int().min(1).max(10_000).describe('maximum boosting rounds / iterations of one fit'),
  early_stopping_rounds: z.number().int().min(1).nullable().default(null).describe('stop after this many rounds without improvement on the validation tail; null = never'),
  params: z.record(z.string(), paramValue).describe("the learner's parameters, by its own names"),
  grid: z.record(z.string(), z.array(paramValue).min(1)).default({}).describe('HPO grid: parameter → values; each point is a full CPCV trial'),
  search: searchSchema.default({ method: 'grid' }),
});

export type EngineSection = z.output<typeof engineSectionSchema>;

const baseSchema = z.strictObject({
  model: z.string().min(1).describe('model name: prefix of the model artifacts'),
  task: z.enum(['regression', 'classification']).describe('must match the labels input'),
  classes: z.array(z.number()).min(2).optional().describe('label values in class-index order (K-class classifiers)'),
  target: z.strictObject({ transform: z.enum(['none', 'demean', 'rank']).default('rank').describe('per-date cross-sectional transform of a regression label') }).default({ transform: 'rank' }),
  cv: z
    .strictObject({
      n_groups: z.number().int().min(3).max(30).default(8).describe('N contiguous date groups'),
      n_test_groups: z.number().int().min(1).default(2).describe('k test groups per split'),
      embargo_bars: z.number().int().min(0).default(10).describe('bars dropped from training after each test group'),
      validation_fraction: z.number().min(0).max(0.5).default(0.1).describe('time-ordered early-stopping tail of each training set'),
    })
    .default({ n_groups: 8, n_test_groups: 2, embargo_bars: 10, validation_fraction: 0.1 }),
  sampling: z
    .strictObject({
      date_stride: z.number().int().min(1).default(1).describe('train on every n-th bar'),
      half_life_bars: z.number().positive().nullable().default(null).describe('time-decay weights 0.5^(age/half-life), age in bars; null disables'),
    })
    .default({ date_stride: 1, half_life_bars: null }),
  engines: z.record(z.string(), engineSectionSchema).describe('one section per engine (xgboost, lightgbm, …)'),
  selection: z.enum(['rank_ic', 'ic', 'icir', 'sharpe']).default('rank_ic').describe('metric choosing the selected trial'),
  leakage: z
    .strictObject({
      max_abs_mean_rank_ic: z.number().positive().default(0.1).describe('flag |mean OOF rank IC| above this'),
      max_abs_feature_rank_ic: z.number().positive().default(0.2).describe("flag a feature whose |rank IC| with the label is above this"),
      action: z.enum(['fail', 'warn']).default('fail').describe('fail the step or only warn'),
    })
    .default({ max_abs_mean_rank_ic: 0.1, max_abs_feature_rank_ic: 0.2, action: 'fail' }),
});

export type TrainingConfig = z.output<typeof baseSchema>;

/** The training-config schema for `engine`: the base schema plus its section's rules. */
export function trainingConfigSchema(engine: Engine) {
  return baseSchema.superRefine((c, ctx) => {
    const at = ['engines', engine.name];
    if (c.cv.n_test_groups >= c.cv.n_groups) ctx.addIssue({ code: 'custom', path: ['cv', 'n_test_groups'], message: `must be < cv.n_groups (${c.cv.n_groups})` });
    const s = c.engines[engine.name];
    if (!s) {
      ctx.addIssue({ code: 'custom', path: ['engines'], message: `no section for engine ${engine.name} (has ${Object.keys(c.engines).join(', ') || 'none'})` });
      return;
    }
    const issue = (path: (string | number)[], message: string): void => ctx.addIssue({ code: 'custom', path: [...at, ...path], message });
    const cls = engine.classifier(s.params);
    if (c.task === 'classification' && !cls) issue(['params'], `task classification needs a classifier objective of ${engine.name}`);
    if (c.task === 'regression' && cls) ctx.addIssue({ code: 'custom', path: ['task'], message: `the ${engine.name} params make a ${cls} classifier: set task: classification` });
    engine.check?.(s, c.classes, issue);
    if (s.search.method === 'sample' && Object.keys(s.grid).length === 0 && !engine.sample) issue(['search'], `engine ${engine.name} has no search space of its own: give a grid to sample from`);
    if (s.search.method === 'sample' && Object.keys(s.grid).length > 0 && s.search.n_trials > gridSize(s.grid)) issue(['search', 'n_trials'], `the grid has only ${gridSize(s.grid)} points`);
  });
}

/** Per-step overrides accepted from a fit kind's `with:` block. */
export interface ConfigOverrides {
  n_groups?: number;
  n_test_groups?: number;
  embargo_bars?: number;
  params?: LearnerParams;
  grid?: Record<string, (string | number | boolean)[]>;
  num_boost_round?: number;
  date_stride?: number;
  leakage_action?: 'fail' | 'warn';
}

/**
 * Loads `file` (relative to `projectRoot`) for `engine`, applies the step's overrides to the CV
 * layout and the engine's section, and re-validates. Throws ConfigError (file:line:col for the
 * file's own problems; the field path for problems the overrides make).
 */
export function loadTrainingConfig(projectRoot: string, file: string, engine: Engine, over: ConfigOverrides = {}): TrainingConfig {
  const schema = trainingConfigSchema(engine);
  const c = structuredClone(loadConfig(projectRoot, file, schema));
  const s = c.engines[engine.name]!;
  if (over.n_groups !== undefined) c.cv.n_groups = over.n_groups;
  if (over.n_test_groups !== undefined) c.cv.n_test_groups = over.n_test_groups;
  if (over.embargo_bars !== undefined) c.cv.embargo_bars = over.embargo_bars;
  if (over.date_stride !== undefined) c.sampling.date_stride = over.date_stride;
  if (over.num_boost_round !== undefined) s.num_boost_round = over.num_boost_round;
  if (over.params) Object.assign(s.params, over.params);
  if (over.grid) s.grid = over.grid;
  if (over.leakage_action) c.leakage.action = over.leakage_action;
  const r = schema.safeParse(c);
  if (!r.success) {
    throw new ConfigError({
      message: `invalid training config ${file} with the step's with: overrides:\n` + r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n'),
      details: { file, issues: r.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) },
    });
  }
  return r.data;
}

/** The trials of the engine's section: the grid's points, or a seeded sample (of the grid, else of the engine's space). */
export async function trialsOf(section: EngineSection, engine: Engine): Promise<LearnerParams[]> {
  const { search, grid, params } = section;
  if (search.method === 'grid') return expandGrid(params, grid);
  if (Object.keys(grid).length > 0) return sampleGrid(params, grid, search.n_trials, search.seed);
  return engine.sample!(search.n_trials, search.seed, params);
}
