/**
 * `options.backtest`: trades the learner's OOF signal on the real chains with the options engine
 * (options/backtest/engine.ts) on every path — 0 = walk-forward (each score from a model trained on
 * earlier dates only), 1..φ = the CPCV paths. The score of date t is the predicted P&L ÷ premium of
 * a delta-hedged long ATM straddle; above `long_threshold` the long structure, below
 * `short_threshold` the short one (configs/options/backtest.yml), decided at the close of t and
 * filled at the settle of the next session, lots capped by the vega cap and the max-loss budget,
 * lot sizes from the chain audit, costs in bps of premium (the data have no bid/ask).
 */
import { z } from 'zod';
import { signalsOof } from '../../contracts/index.ts';
import { optionsAudit, optionsBacktest, optionsIv } from '../../contracts/options.ts';
import { defineStepKind } from '../types.ts';

const num = (d: string) => z.number().nullable().describe(d);

/** Headline figures of one path. */
export const pathSummarySchema = z.object({
  path: z.number().int().describe('0 = walk-forward, 1..φ = CPCV'),
  pnl: z.number().describe('total P&L after costs, INR'),
  total_return: z.number().describe('P&L ÷ capital'),
  sharpe: num('annualised Sharpe of the daily P&L ÷ capital (calendar nse)'),
  max_drawdown: z.number().describe('max drawdown, fraction (≤ 0)'),
  trades: z.number().int().describe('trades'),
  hit_rate: num('share of profitable closed trades'),
  costs: z.number().describe('costs paid, INR'),
  max_abs_vega: z.number().describe('max |vega| over the days, INR per vol point'),
  skipped: z.number().int().describe('signals that could not be built or sized'),
  long_trades: z.number().int().describe('trades of the long structure'),
  short_trades: z.number().int().describe('trades of the short structure'),
}).describe('one path of the backtest');

/** Inputs of options.backtest. */
export const backtestConsumes = {
  signal: { contract: signalsOof, description: 'the OOF signal to trade (walk-forward path 0 and the CPCV paths)' },
  iv: { contract: optionsIv, description: 'solved chains: prices, IVs and greeks for fills, marks and sizing' },
  audit: { contract: optionsAudit, description: 'lot sizes inferred per (date, expiry)' },
};

/** Outputs of options.backtest. */
export const backtestOutputs = z.object({
  backtest: optionsBacktest.schema,
  paths: z.array(pathSummarySchema).describe('every path'),
  walk_forward: pathSummarySchema.nullable().describe('path 0, when present'),
  median_path_pnl: num('median total P&L over the CPCV paths, INR'),
  costs_modelled: z.boolean().describe('option costs are charged (bps > 0) and every trade paid some'),
});

export const optionsBacktestKind = defineStepKind({
  uses: 'options.backtest',
  version: '1',
  description: 'Options backtest of an OOF volatility signal on every path: straddles/strangles/verticals with vega caps, lot sizes, bps-of-premium costs, next-session fills; equity, drawdown, greeks',
  with: z.strictObject({
    config: z.string().default('configs/options/backtest.yml').describe('backtest config, relative to the project root'),
    hold_days: z.number().int().min(1).max(60).default(5).describe('sessions a position is held after its fill (the label horizon)'),
  }),
  consumes: backtestConsumes,
  provides: { backtest: optionsBacktest },
  outputs: backtestOutputs,
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const { runOptionsSignalBacktest } = await import('./backtest_run.ts');
    return runOptionsSignalBacktest(ctx, w);
  },
});
