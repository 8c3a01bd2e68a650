/**
 * `options.fit`: the learner of the options sleeve — ridge regression (models/ridge.ts) of the
 * delta-hedged straddle P&L ÷ premium on the options features panel, under the project's CPCV
 * protocol pieces (cv/cpcv.ts layout with purging and embargo, cv/fold.ts, cv/trials.ts trial loop,
 * cv/walk_forward.ts, cv/refit.ts ONNX export with parity, cv/oof.ts and cv/ledger.ts writers), scored
 * with time-series metrics (options/learn/ts-metrics.ts) because the panel has one instrument per
 * date and the cross-sectional IC of kinds/fit's shared body is undefined there. Provides the same
 * contracts as fit.cpcv (signals.oof, trials.ledger, model.bundle), so stack and gates can read it.
 */
import { z } from 'zod';
import { fitConsumes, fitProvides } from '../fit/schema.ts';
import { modelBundle, signalsOof, trialsLedger } from '../../contracts/index.ts';
import { defineStepKind } from '../types.ts';

const num = (d: string) => z.number().nullable().describe(d);

/** Outputs of options.fit. */
export const optionsFitOutputs = z.object({
  oof: signalsOof.schema,
  trials: trialsLedger.schema,
  model: modelBundle.schema,
  sleeve: z.string().describe('sleeve name'),
  engine: z.string().describe('learner (ridge)'),
  n_rows: z.number().int().describe('panel rows (features ⋈ labels; one per date)'),
  n_features: z.number().int().describe('feature columns'),
  n_groups: z.number().int().describe('N, CPCV groups'),
  n_test_groups: z.number().int().describe('k, test groups per split'),
  embargo_bars: z.number().int().describe('embargo after each test group, sessions'),
  n_splits: z.number().int().describe('CPCV splits C(N, k)'),
  n_paths: z.number().int().describe('CPCV paths φ'),
  n_trials: z.number().int().describe('trials in the ledger'),
  selected_trial: z.string().describe('trial id of the selected configuration'),
  selected_params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).describe('its parameters'),
  oof_ic: num('selected trial: mean over the paths of the time-series IC of the OOF score with the label'),
  oof_rank_ic: num('selected trial: mean over the paths of the time-series rank IC'),
  oof_hit_rate: num('selected trial: mean share of dates where sign(score) = sign(label)'),
  stream_sharpe: num('selected trial: annualised Sharpe of its sign stream (calendar of the panel)'),
  walk_forward_ic: num('time-series IC of the walk-forward path 0'),
  walk_forward_rank_ic: num('time-series rank IC of the walk-forward path 0'),
  insample_ic: num('time-series IC of the refitted model in sample'),
  onnx_parity_max_abs_diff: z.number().describe('max |ONNX − learner| on the parity rows'),
  leakage_suspect: z.boolean().describe('the leakage check flagged the fit (with action warn)'),
});

export const optionsFit = defineStepKind({
  uses: 'options.fit',
  version: '1',
  description: 'Ridge learner of the options sleeve under purged/embargoed CPCV with time-series metrics: OOF signals on every path and walk-forward, trial ledger, ONNX model bundle',
  with: z.strictObject({
    sleeve: z.string().regex(/^[a-z][a-z0-9_]*$/).default('options_vol').describe('sleeve name of the signal'),
    config: z.string().default('configs/options/learner.yml').describe('learner config (CPCV layout, ridge grid, leakage), relative to the project root'),
  }),
  consumes: fitConsumes,
  provides: fitProvides,
  outputs: optionsFitOutputs,
  configFiles: (w) => [w.config],
  deterministicFailures: ['LeakageSuspected'],
  async run(ctx, w) {
    const { runOptionsFit } = await import('./fit_run.ts');
    return runOptionsFit(ctx, w);
  },
});
