import { z } from 'zod';

const bar = <T extends z.ZodRawShape>(shape: T, blocking: boolean) => z.object({ ...shape, blocking: z.boolean().default(blocking) }).strict();

/**
 * Promotion bars (configs/promotion.yml). Sharpe is annualised (√ bars per year of the returns'
 * calendar) on per-bar NET returns; drawdown is a positive fraction; turnover is annualised one-way
 * (Σ|Δw| per bar × bars per year); DSR/PSR are probabilities.
 * Path metrics are aggregated over the CPCV paths with `path_aggregate` (median by default).
 * - `pbo`: rejects when PBO > `max` AND P(OOS loss) > `max_prob_oos_loss` (governance/pbo.ts
 *   `pboDecision`), over the family's trials covering ≥ `min_coverage` of the candidate's dates.
 * - `trials`: the effective number of trials (governance/effective_trials.ts): ONC clustering,
 *   one cluster when every pairwise correlation is ≥ `merge_correlation`, correlations on fewer than
 *   `min_overlap` common dates count as 0.
 * - `oof_leakage`: |mean daily rank IC| of the candidate's OOF score with its realised label return
 *   above `max_abs_rank_ic` is look-ahead, not skill (the training configs' leakage ceiling).
 */
export const promotionConfigSchema = z
  .object({
    path_aggregate: z.enum(['median', 'min', 'mean']).default('median'),
    sharpe: bar({ min: z.number().default(1.0) }, true).default({ min: 1.0, blocking: true }),
    max_drawdown: bar({ max: z.number().positive().default(0.2) }, true).default({ max: 0.2, blocking: true }),
    dsr: bar({ min: z.number().min(0).max(1).default(0.95) }, true).default({ min: 0.95, blocking: true }),
    psr: bar({ min: z.number().min(0).max(1).default(0.95) }, false).default({ min: 0.95, blocking: false }),
    pbo: bar(
      {
        max: z.number().min(0).max(1).default(0.05),
        max_prob_oos_loss: z.number().min(0).max(1).default(0.1),
        blocks: z.number().int().min(2).max(24).default(16),
        min_coverage: z.number().gt(0).max(1).default(0.9),
      },
      true,
    ).default({ max: 0.05, max_prob_oos_loss: 0.1, blocks: 16, min_coverage: 0.9, blocking: true }),
    trials: z
      .object({
        merge_correlation: z.number().min(0).max(1).default(0.9),
        min_overlap: z.number().int().min(3).default(60),
        max_clusters: z.number().int().min(2).default(40),
        n_init: z.number().int().min(1).default(5),
        seed: z.number().int().default(7),
      })
      .strict()
      .default({ merge_correlation: 0.9, min_overlap: 60, max_clusters: 40, n_init: 5, seed: 7 }),
    oof_leakage: bar({ max_abs_rank_ic: z.number().positive().max(1).default(0.1) }, true).default({ max_abs_rank_ic: 0.1, blocking: true }),
    turnover: bar({ annual_max: z.number().positive().default(50) }, true).default({ annual_max: 50, blocking: true }),
    stack_vs_sleeves: bar({ pbo_tolerance: z.number().min(0).default(0) }, true).default({ pbo_tolerance: 0, blocking: true }),
    calibration: bar({ brier_max: z.number().positive().default(0.25), ece_max: z.number().positive().default(0.05), bins: z.number().int().min(2).default(10) }, true).default({
      brier_max: 0.25,
      ece_max: 0.05,
      bins: 10,
      blocking: true,
    }),
    ope: bar({}, false).default({ blocking: false }),
    champion: bar({}, true).default({ blocking: true }),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.pbo.blocks % 2 !== 0) ctx.addIssue({ code: 'custom', path: ['pbo', 'blocks'], message: 'must be even (CSCV splits the blocks in halves)' });
  });
export type PromotionConfig = z.output<typeof promotionConfigSchema>;
