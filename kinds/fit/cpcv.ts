import { z } from 'zod';
import { defineStepKind } from '../types.ts';
import { fitConsumes, fitOutputsSchema, fitProvides, sleeveField } from './schema.ts';

const paramValue = z.union([z.string(), z.number(), z.boolean()]);

/** `with:` of fit.cpcv. Config fields (configs/training/*.yml) can be overridden per step. */
export const fitWithSchema = z.strictObject({
  sleeve: sleeveField,
  config: z.string().default('configs/training/equities_xs.yml').describe('training config, relative to the project root'),
  engine: z.enum(['xgboost', 'lightgbm']).default('xgboost').describe('learner: the section of the config under engines: it trains with'),
  n_groups: z.number().int().min(3).max(30).optional().describe("overrides the config's cv.n_groups (N)"),
  n_test_groups: z.number().int().min(1).optional().describe("overrides the config's cv.n_test_groups (k)"),
  embargo_bars: z.number().int().min(0).optional().describe("overrides the config's cv.embargo_bars"),
  params: z.record(z.string(), paramValue).optional().describe("overrides of the engine's params (e.g. { tree_method: gpu_hist } on a GPU worker)"),
  grid: z.record(z.string(), z.array(paramValue).min(1)).optional().describe("replaces the engine's HPO grid"),
  num_boost_round: z.number().int().min(1).optional().describe("overrides the engine's num_boost_round"),
  date_stride: z.number().int().min(1).optional().describe("overrides the config's sampling.date_stride"),
  leakage_action: z.enum(['fail', 'warn']).optional().describe("overrides the config's leakage.action"),
  allow_short_embargo: z.boolean().default(false).describe("accept an embargo shorter than the labels' longest interval in bars (refused otherwise; a warning is logged)"),
});

export type FitWith = z.output<typeof fitWithSchema>;

/**
 * fit.cpcv — a learner (XGBoost by default, LightGBM with `engine: lightgbm`) under Combinatorial
 * Purged Cross-Validation (AFML ch. 7, 12) through the protocol in cv/: every trial of the config's
 * grid (or sample) recorded in the trial ledger, OOF signals on φ paths plus the walk-forward path 0,
 * final refit, ONNX export with parity, leakage check. Artifacts: docs/contracts.md.
 */
export const fitCpcv = defineStepKind({
  uses: 'fit.cpcv',
  version: '3',
  description: 'A learner (xgboost | lightgbm) under purged/embargoed CPCV: OOF signals on φ paths, walk-forward reference, trial ledger, ONNX model bundle',
  with: fitWithSchema,
  consumes: fitConsumes,
  provides: fitProvides,
  outputs: fitOutputsSchema,
  defaultQueue: 'cpu',
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const { runFit } = await import('./run_fit.ts');
    const { CPCV_ENGINES } = await import('./engines.ts');
    const { engine, ...args } = w;
    return runFit(ctx, args, CPCV_ENGINES[engine]);
  },
});
