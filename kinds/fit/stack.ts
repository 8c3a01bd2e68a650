import { z } from 'zod';
import { signalsOof } from '../../contracts/index.ts';
import { artifactRefSchema, defineStepKind } from '../types.ts';

/** `with:` of stack.oof. */
export const stackWithSchema = z.strictObject({
  sleeve: z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and _').default('stack').describe('name of the stacked signal'),
  lambda: z.number().min(0).default(1).describe('ridge penalty λ (features: per-date z-scores of the sleeves, target: per-date demeaned ret)'),
  min_sleeves: z.number().int().min(1).default(2).describe('sleeves needed to fit the blender; with fewer, the fallback weights blend what exists'),
  fallback_weights: z.record(z.string(), z.number()).optional().describe('fallback blend weights by sleeve name (missing sleeves dropped, the rest renormalised); default equal'),
  n_groups: z.number().int().min(3).max(30).optional().describe("CPCV groups N; default: the target sleeve's (its largest test_group)"),
  n_test_groups: z.number().int().min(1).optional().describe("CPCV test groups k; default: the target sleeve's (from its splits and paths)"),
  embargo_bars: z.number().int().min(0).default(10).describe('embargo in bars after each test group (signals.oof does not carry the sleeves\' embargo; 10 = the training configs\')'),
  allow_short_embargo: z.boolean().default(false).describe("accept an embargo shorter than the target sleeve's longest label interval in bars (refused otherwise; a warning is logged)"),
});

export type StackWith = z.output<typeof stackWithSchema>;

/** Inputs of stack.oof: every upstream OOF signal. */
export const stackConsumes = { signals: { contract: signalsOof, many: true, description: 'the sleeves to blend (sleeve names unique)' } };

const num = (d: string) => z.number().nullable().describe(d);

/** Outputs of stack.oof: the stacked signal, the blender and its metrics. */
export const stackOutputsSchema = z.object({
  oof: signalsOof.schema,
  stacker: artifactRefSchema.describe('stacker JSON: production blend weights by sleeve, intercept, fallback, CV layout'),
  metrics: artifactRefSchema.describe('stack metrics JSON: per path, per split, walk-forward, per sleeve'),
  sleeves: z.array(z.string()).describe('sleeves blended, in blend order (step-id order)'),
  n_sleeves: z.number().int().describe('number of sleeves blended'),
  fallback: z.boolean().describe('the fallback weights were used (fewer than min_sleeves sleeves)'),
  n_paths: z.number().int().describe('CPCV paths φ'),
  n_splits: z.number().int().describe('CPCV splits'),
  mean_ic: num('mean daily IC (vs ret) over the paths'),
  sleeve_mean_rank_ic: z.record(z.string(), z.number().nullable()).describe('per sleeve: mean over paths of its per-path daily rank IC vs ret (the same footing as mean_rank_ic)'),
  mean_rank_ic: num('mean daily rank IC (vs ret) over the paths'),
  icir: num('mean ICIR over the paths'),
  walk_forward_rank_ic: num('mean daily rank IC of the walk-forward path 0'),
});

export type StackOutputs = z.input<typeof stackOutputsSchema>;

/**
 * stack.oof — ridge meta-blender over every upstream signals.oof (the sleeves), fitted under the
 * same CPCV splits, path by path (the stack's path p blends path p of every sleeve, so the stacked
 * paths stay CPCV paths and compare with the sleeves' paths like for like; cv/stack.ts), so the
 * stacked OOF is itself out-of-fold, with a walk-forward reference and a
 * configured fallback blend when sleeves are missing (use `when: always` to stack what succeeded).
 * Provides signals.oof (components = the sleeves); no model bundle: the blend works on per-date
 * z-scores of the sleeves' scores, not on feature rows, so it has no ONNX form — scoring blends the
 * sleeves' models with the weights of `stacker`.
 */
export const stackOof = defineStepKind({
  uses: 'stack.oof',
  version: '3',
  description: 'Ridge stacker over OOF signals under the same CPCV splits (stacked OOF signal per path, stacker.json)',
  with: stackWithSchema,
  consumes: stackConsumes,
  provides: { oof: signalsOof },
  outputs: stackOutputsSchema,
  defaultQueue: 'cpu',
  async run(ctx, w) {
    const { runStack } = await import('./stack_run.ts');
    return runStack(ctx, w);
  },
});
