import { z } from 'zod';
import { defineStepKind } from '../types.ts';
import { fitConsumes, fitOutputsSchema, fitProvides, sleeveField } from './schema.ts';

/**
 * fit.linear — closed-form ridge regression on the features (models/ridge.ts RidgeLearner) under
 * the same CPCV protocol as fit.cpcv (cv/protocol.ts): a linear baseline sleeve with OOF signals,
 * trial ledger (one trial per λ of the config's grid) and an ONNX model bundle.
 */
export const fitLinear = defineStepKind({
  uses: 'fit.linear',
  version: '2',
  description: 'Ridge regression on the features under purged/embargoed CPCV: OOF signals, trial ledger, ONNX model bundle',
  with: z.strictObject({
    sleeve: sleeveField,
    config: z.string().default('configs/training/equities_linear.yml').describe('training config with an engines.ridge section, relative to the project root'),
    allow_short_embargo: z.boolean().default(false).describe("accept an embargo shorter than the labels' longest interval in bars (refused otherwise; a warning is logged)"),
  }),
  consumes: fitConsumes,
  provides: fitProvides,
  outputs: fitOutputsSchema,
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const { runFit } = await import('./run_fit.ts');
    const { RidgeLearner } = await import('../../models/ridge.ts');
    return runFit(ctx, w, {
      name: 'ridge',
      load: async () => new RidgeLearner(),
      classifier: () => null,
      ranking: () => false,
      native: { ext: 'ridge.json', mediaType: 'application/json' },
    });
  },
});
