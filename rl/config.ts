import { z } from 'zod';
import { loadConfig } from '../lib/config.ts';
import { ConfigError } from '../lib/errors.ts';

const costsSchema = z.strictObject({
  source: z.enum(['auto', 'config']).default('auto'),
  linear_bps: z.number().nonnegative().default(2.5),
  impact_coef: z.number().nonnegative().default(0.001),
  borrow_bps_per_year: z.number().nonnegative().default(50),
});

const envSchema = z.strictObject({
  actions: z.array(z.number().nonnegative().max(5)).min(2).default([0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5]),
  baseline_action: z.number().default(1.0),
  drawdown_penalty: z.number().nonnegative().default(0.1),
  turnover_penalty: z.number().nonnegative().default(0),
  /** trailing window (bars) of the realised-vol / return state features. */
  vol_window: z.number().int().min(2).max(5000).default(20),
  costs: costsSchema.default(costsSchema.parse({})),
});

const datasetSchema = z.strictObject({
  temperature: z.number().positive().default(0.5),
  eval_fraction: z.number().gt(0).lt(1).default(0.3),
  embargo_days: z.number().int().nonnegative().default(5),
  warmup_days: z.number().int().nonnegative().default(21),
  horizon: z.number().int().min(1).max(64).default(3),
  max_paths: z.number().int().min(1).default(8),
  seed: z.number().int().default(7),
});

const trainSchema = z.strictObject({
  algo: z.enum(['cql', 'iql', 'bc']).default('iql'),
  /** 'kernel': the fused typed-array/wasm networks (rl/kernels); 'tfjs': the tfjs-wasm reference networks. */
  backend: z.enum(['kernel', 'tfjs']).default('kernel'),
  gamma: z.number().min(0).lt(1).default(0.9),
  hidden: z.array(z.number().int().min(1).max(1024)).min(1).max(4).default([64, 64]),
  batch_size: z.number().int().min(1).default(256),
  steps: z.number().int().min(1).default(1500),
  learning_rate: z.number().positive().default(3e-4),
  target_update_every: z.number().int().min(1).default(100),
  reward_scale: z.number().positive().default(100),
  log_every: z.number().int().min(1).default(50),
  seed: z.number().int().default(11),
  cql: z.strictObject({ alpha: z.number().nonnegative().default(1.0) }).default({ alpha: 1.0 }),
  iql: z
    .strictObject({
      expectile: z.number().gt(0).lt(1).default(0.7),
      beta: z.number().positive().default(3.0),
      max_weight: z.number().positive().default(100),
    })
    .default({ expectile: 0.7, beta: 3.0, max_weight: 100 }),
});

const opeSchema = z.strictObject({
  gamma: z.number().min(0).lt(1).default(0.9),
  bootstrap: z.number().int().min(10).default(200),
  ci_level: z.number().gt(0).lt(1).default(0.9),
  ridge: z.number().nonnegative().default(0.1),
  fqe_features: z.enum(['sizing', 'per_action']).default('sizing'),
  /** Mean block length (trading days) of the date-block bootstrap (Politis & Romano 1994 stationary bootstrap). */
  block_days: z.number().positive().default(20),
  /** Economic margin (per-bar return) the lower bound of DR(π) − V(baseline) must clear; > 0. */
  margin: z.number().positive().default(0.00005),
  seed: z.number().int().default(13),
});

/** Schema of `configs/rl.yml` (every field has a default; unknown keys are errors). */
export const rlConfigSchema = z.strictObject({
  env: envSchema.default(envSchema.parse({})),
  dataset: datasetSchema.default(datasetSchema.parse({})),
  train: trainSchema.default(trainSchema.parse({})),
  ope: opeSchema.default(opeSchema.parse({})),
});

export type RlConfig = z.output<typeof rlConfigSchema>;
export type EnvConfig = RlConfig['env'];
export type DatasetConfig = RlConfig['dataset'];
export type TrainConfig = RlConfig['train'];
export type OpeConfig = RlConfig['ope'];

/** Deep merge of plain objects (arrays and scalars in `over` replace those in `base`). */
function merge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = merge(out[k], v);
    return out;
  }
  return over;
}

/**
 * Loads and validates the RL config: `file` (relative to `projectRoot`) through lib/config.ts
 * `loadConfig` (problems at file:line:col), then deep-merged with `overrides` (a step's
 * `with.overrides`, same structure) and validated again. Merging over the defaulted file is the same
 * as merging over the raw file, since every default of a section equals its fields' defaults.
 * Throws ConfigError naming the file and the offending field (`configs/rl.yml: train.algo: ...
 * (with.overrides)`) on a missing file, bad YAML, a schema violation or a baseline action that is
 * not one of the actions.
 */
export function loadRlConfig(projectRoot: string, file = 'configs/rl.yml', overrides: unknown = undefined): RlConfig {
  let cfg = loadConfig(projectRoot, file, rlConfigSchema);
  if (overrides !== undefined) {
    const res = rlConfigSchema.safeParse(merge(cfg, overrides));
    if (!res.success) {
      const msgs = res.error.issues.map((i) => `${file}: ${i.path.join('.') || '(root)'}: ${i.message} (with.overrides)`);
      throw new ConfigError({ message: msgs.join('\n'), details: { file, issues: res.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) } });
    }
    cfg = res.data;
  }
  if (!cfg.env.actions.includes(cfg.env.baseline_action)) {
    throw new ConfigError({ message: `${file}: env.baseline_action: ${cfg.env.baseline_action} is not one of env.actions [${cfg.env.actions.join(', ')}]` });
  }
  return cfg;
}
