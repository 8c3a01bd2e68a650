/**
 * `options.gate`: the gate bars of the options sleeve (configs/options/gate.yml): positive
 * delta-hedged P&L out of sample after costs (walk-forward path 0 and the median CPCV path), vega
 * exposure within the cap on every path and day, costs modelled (bps of premium charged and paid on
 * every trade), enough walk-forward trades; walk-forward Sharpe and the deflated Sharpe ratio
 * (Bailey & López de Prado 2014; N and V[SR] from the trial ledgers) as information. Provides
 * `gate.verdict`: passed false with every failing bar is an outcome returned, never thrown (as
 * gate.governance does), so `if: ${{ steps.<gate>.outputs.verdict.passed }}` can skip what follows.
 */
import { z } from 'zod';
import { gateVerdict, trialsLedger } from '../../contracts/index.ts';
import { optionsBacktest } from '../../contracts/options.ts';
import { defineStepKind } from '../types.ts';

/** Inputs of options.gate. */
export const optionsGateConsumes = {
  backtest: { contract: optionsBacktest, description: 'the options backtest of the sleeve’s OOF signal' },
  trials: { contract: trialsLedger, many: true, optional: true, description: 'trial ledgers upstream (the DSR’s number of trials and V[SR])' },
};

/** Outputs of options.gate: the verdict contract and its fields flat (the approval prompt shows `bars`). */
export const optionsGateOutputs = z.object({ verdict: gateVerdict.schema, ...gateVerdict.schema.shape });

export const optionsGate = defineStepKind({
  uses: 'options.gate',
  version: '1',
  description: 'Gate of the options sleeve: positive delta-hedged OOS P&L after costs, vega within the cap, costs modelled, enough trades; Sharpe and DSR as information',
  with: z.strictObject({
    bars: z.string().default('configs/options/gate.yml').describe('bars config, relative to the project root'),
  }),
  consumes: optionsGateConsumes,
  provides: { verdict: gateVerdict },
  outputs: optionsGateOutputs,
  configFiles: (w) => [w.bars],
  async run(ctx, w) {
    const { evaluateOptionsGate } = await import('./gate_eval.ts');
    return evaluateOptionsGate(ctx, w.bars);
  },
});
