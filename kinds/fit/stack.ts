import { z } from 'zod';
import { artifactRefSchema, defineStepKind } from '../types.ts';

/** `with:` of stack.oof. */
export const stackWithSchema = z
  .object({
    /** Ridge penalty λ (features are per-date z-scores, target per-date demeaned ret). */
    lambda: z.number().min(0).default(1),
    /** Sleeves needed to fit the blender; with fewer, the fallback weights are used. */
    min_sleeves: z.number().int().min(1).default(2),
    /** Fallback blend weights by sleeve name (missing sleeves are dropped, the rest renormalised); default equal. */
    fallback_weights: z.record(z.string(), z.number()).optional(),
    /** CPCV layout; defaults to the sleeves' own (read from their training_config). */
    n_groups: z.number().int().min(3).max(30).optional(),
    n_test_groups: z.number().int().min(1).optional(),
    embargo_days: z.number().int().min(0).optional(),
  })
  .strict();

export type StackWith = z.output<typeof stackWithSchema>;

export const stackOutputsSchema = z.object({
  oof: artifactRefSchema,
  oof_walk_forward: artifactRefSchema,
  stacker: artifactRefSchema,
  metrics: artifactRefSchema,
  sleeves: z.array(z.string()),
  n_sleeves: z.number().int(),
  fallback: z.boolean(),
  n_paths: z.number().int(),
  n_splits: z.number().int(),
  mean_ic: z.number().nullable(),
  mean_rank_ic: z.number().nullable(),
  icir: z.number().nullable(),
  walk_forward_rank_ic: z.number().nullable(),
});

export type StackOutputs = z.input<typeof stackOutputsSchema>;

/**
 * stack.oof — ridge meta-blender over the OOF predictions of the upstream fit.cpcv sleeves, fitted
 * under the same CPCV splits (so the stacked OOF is itself out-of-fold), with a walk-forward
 * reference and a configured fallback blend when sleeves are missing. Use `when: always` in the
 * pipeline if the stack should still run (on the fallback) when a sleeve failed.
 */
export const stackOof = defineStepKind({
  uses: 'stack.oof',
  version: '1',
  description: 'Ridge stacker over fit.cpcv sleeves under the same CPCV splits (OOF scores per path, stacker.json)',
  with: stackWithSchema,
  outputs: stackOutputsSchema,
  defaultQueue: 'cpu',
  async run(ctx, w) {
    const { runStack } = await import('./stack_run.ts');
    return runStack(ctx, w);
  },
});
