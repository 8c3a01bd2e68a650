import { z } from 'zod';
import { defineStepKind, artifactRefSchema } from '../types.ts';

const barSchema = z.object({
  id: z.string(),
  description: z.string(),
  value: z.number().nullable(),
  op: z.enum(['>=', '<=', '>', '<', 'info']),
  threshold: z.number().nullable(),
  pass: z.boolean().nullable(),
  blocking: z.boolean(),
  note: z.string().optional(),
});

/**
 * `gate.governance`: the promotion gate. Computes PSR/DSR (Bailey & López de Prado 2014) per CPCV path
 * with N and V[SR] from the fit trial ledgers, PBO by CSCV (Bailey et al. 2015) over the ledgers' trial
 * return streams, calibration of classification sleeves, the stack-vs-best-sleeve comparison, OPE rows
 * and an optional champion comparison; checks every bar of configs/promotion.yml. A failing blocking bar
 * throws StepError('GateFailed', non-retryable) whose message is the bar table.
 */
export const gateGovernance = defineStepKind({
  uses: 'gate.governance',
  version: '2',
  description: 'Promotion gate: Sharpe, MaxDD, PSR/DSR, PBO (CSCV), turnover, calibration, stack vs sleeves, OPE, champion',
  with: z
    .object({
      bars: z.string().default('configs/promotion.yml'),
      /** Champion's backtest `returns` Parquet (path, date, net), looked up in the registry by the caller. */
      champion: artifactRefSchema.optional(),
    })
    .strict(),
  outputs: z.object({
    passed: z.boolean(),
    bars: z.array(barSchema),
    table: z.string(),
    report: artifactRefSchema,
    sharpe: z.number().nullable(),
    max_drawdown: z.number().nullable(),
    psr: z.number().nullable(),
    dsr: z.number().nullable(),
    pbo: z.number().nullable(),
    n_trials: z.number().int(),
  }),
  configFiles: (w) => [w.bars],
  deterministicFailures: ['GateFailed'],
  async run(ctx, w) {
    const { evaluateGate } = await import('./gate_eval.ts');
    return evaluateGate(ctx, w);
  },
});
