/**
 * What every CPCV fit kind consumes, provides and returns (fit.cpcv and any kind built on the
 * protocol, e.g. fit.linear): features ⋈ labels in, OOF signals + trial ledger + model bundle out.
 */
import { z } from 'zod';
import { dataQuality, featuresPanel, labels, modelBundle, signalsOof, trialsLedger } from '../../contracts/index.ts';

/** Inputs of a fit kind. */
export const fitConsumes = {
  features: { contract: featuresPanel, description: 'the features panel to train on' },
  labels: { contract: labels, description: 'the labels to learn (their task must match the training config)' },
  quality: { contract: dataQuality, many: true, optional: true, description: 'data-quality audits: a RED verdict refuses to train' },
};

/** Contracts a fit kind provides. */
export const fitProvides = { oof: signalsOof, trials: trialsLedger, model: modelBundle };

/** The sleeve name of a fit (`with.sleeve`). */
export const sleeveField = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and _')
  .default('main')
  .describe('sleeve name: tells apart the signals one stack.oof blends (unique among them)');

const num = (d: string) => z.number().nullable().describe(d);

/** Outputs of a fit kind. */
export const fitOutputsSchema = z.object({
  oof: signalsOof.schema,
  trials: trialsLedger.schema,
  model: modelBundle.schema,
  sleeve: z.string().describe('sleeve name'),
  task: z.enum(['regression', 'classification']).describe('task of the model'),
  engine: z.string().describe('learner that trained it'),
  labels_kind: z.string().describe('how the labels were made (horizon, triple_barrier)'),
  n_rows: z.number().int().describe('panel rows (features ⋈ labels)'),
  n_features: z.number().int().describe('feature columns'),
  n_splits: z.number().int().describe('CPCV splits C(N, k)'),
  n_paths: z.number().int().describe('CPCV backtest paths φ'),
  n_trials: z.number().int().describe('trials in the ledger'),
  selected_trial: z.string().describe('trial id of the selected configuration'),
  mean_ic: num('selected trial: mean daily IC over the paths'),
  mean_rank_ic: num('selected trial: mean daily rank IC over the paths'),
  icir: num('selected trial: mean ICIR over the paths'),
  sharpe: num("selected trial: annualised Sharpe of its return stream (the features' calendar)"),
  walk_forward_rank_ic: num('mean daily rank IC of the walk-forward path 0'),
  insample_rank_ic: num('mean daily rank IC of the refitted model in sample'),
  onnx_parity_max_abs_diff: z.number().describe('max |ONNX − learner| on the parity rows'),
  leakage_suspect: z.boolean().describe('the leakage check flagged the fit (with leakage_action: warn)'),
});

export type FitOutputs = z.input<typeof fitOutputsSchema>;
