import { z } from 'zod';
import { artifactRefSchema, defineStepKind } from '../types.ts';

const paramValue = z.union([z.string(), z.number(), z.boolean()]);

/** `with:` of fit.cpcv. Config fields (configs/training/*.yml) can be overridden per step. */
export const fitWithSchema = z
  .object({
    /** Sleeve name: distinguishes several fit.cpcv steps feeding one stack.oof (e.g. horizon, tb). */
    sleeve: z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and _').default('main'),
    /** Training config, relative to the project root. */
    config: z.string().default('configs/training/equities_xs.yml'),
    engine: z.literal('xgboost').default('xgboost'),
    /** Which label kind to train on when several label steps are upstream. */
    labels: z.enum(['labels.horizon', 'labels.triple_barrier']).optional(),
    n_groups: z.number().int().min(3).max(30).optional(),
    n_test_groups: z.number().int().min(1).optional(),
    embargo_days: z.number().int().min(0).optional(),
    /** XGBoost parameter overrides (e.g. { tree_method: gpu_hist } on a GPU worker). */
    params: z.record(z.string(), paramValue).optional(),
    /** Replaces the config's HPO grid. */
    grid: z.record(z.string(), z.array(paramValue).min(1)).optional(),
    num_boost_round: z.number().int().min(1).optional(),
    date_stride: z.number().int().min(1).optional(),
    leakage_action: z.enum(['fail', 'warn']).optional(),
  })
  .strict();

export type FitWith = z.output<typeof fitWithSchema>;

const num = z.number().nullable();

export const fitOutputsSchema = z.object({
  oof: artifactRefSchema,
  oof_walk_forward: artifactRefSchema,
  trial_ledger: artifactRefSchema,
  trial_returns: artifactRefSchema,
  model: artifactRefSchema,
  model_xgb: artifactRefSchema,
  feature_list: artifactRefSchema,
  training_config: artifactRefSchema,
  training_config_digest: z.string(),
  metrics: artifactRefSchema,
  sleeve: z.string(),
  task: z.enum(['regression', 'classification']),
  labels_kind: z.string(),
  n_rows: z.number().int(),
  n_features: z.number().int(),
  feature_names: z.array(z.string()),
  n_splits: z.number().int(),
  n_paths: z.number().int(),
  n_trials: z.number().int(),
  selected_trial: z.string(),
  mean_ic: num,
  mean_rank_ic: num,
  icir: num,
  sharpe: num,
  walk_forward_rank_ic: num,
  insample_rank_ic: num,
  onnx_parity_max_abs_diff: z.number(),
  leakage_suspect: z.boolean(),
});

export type FitOutputs = z.input<typeof fitOutputsSchema>;

/**
 * fit.cpcv — XGBoost under Combinatorial Purged Cross-Validation (AFML ch. 7, 12) with a small HPO
 * grid recorded in a trial ledger, walk-forward reference, final refit and ONNX export.
 * Inputs (by kind): features.equities, labels.horizon | labels.triple_barrier. Artifacts: docs/contracts.md.
 */
export const fitCpcv = defineStepKind({
  uses: 'fit.cpcv',
  version: '1',
  description: 'XGBoost under purged/embargoed CPCV: OOF predictions on φ paths, walk-forward reference, trial ledger, ONNX model',
  with: fitWithSchema,
  outputs: fitOutputsSchema,
  defaultQueue: 'cpu',
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const { runCpcvFit } = await import('./cpcv_run.ts');
    return runCpcvFit(ctx, w);
  },
});
