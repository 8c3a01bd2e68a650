import { z } from 'zod';
import { backtestReturns, ohlcvDaily, portfolioWeights, signalsOof } from '../../contracts/index.ts';
import { executionCostModel } from '../../contracts/execution.ts';
import { defineStepKind } from '../types.ts';

const stat = (what: string) => z.number().describe(what);
const distributionSchema = z
  .object({
    min: stat('minimum'),
    p25: stat('25th percentile'),
    median: stat('median'),
    mean: stat('mean'),
    p75: stat('75th percentile'),
    max: stat('maximum'),
    std: stat('standard deviation'),
  })
  .describe('distribution across the CPCV paths');

export const backtestConsumes = {
  weights: { contract: portfolioWeights, description: 'the target weights to backtest (every CPCV path and the walk-forward path 0)' },
  ohlcv: { contract: ohlcvDaily, description: 'daily prices: execution prices, returns, σ and ADV for the costs' },
  sleeves: {
    contract: signalsOof,
    many: true,
    optional: true,
    description: 'the other upstream signals (all but the one the weights were built from), backtested through the same portfolio and costs for the stack-vs-best-sleeve bar',
  },
  impact_model: {
    contract: executionCostModel,
    optional: true,
    description: "an adaptive execution cost model (execution.cost_model): when bound, it prices every path's market impact instead of the square-root law of the costs config",
  },
};

const fillFigures = (timing: string) =>
  z
    .object({ sharpe: stat('annualised net Sharpe'), sharpe_gross: stat('annualised gross Sharpe (before costs)') })
    .describe(timing === 'close' ? "filled at the decision day's own close (the signal's print: not tradable, shown for comparison)" : "filled at the next session's open (after the data the signal used)");
const fillsSchema = z
  .object({
    execution: z.enum(['close', 'next_open']).describe('the fill timing of the returns and of every other figure'),
    per_path: z
      .array(z.object({ path: z.number().int().describe('path id'), next_open: fillFigures('next_open'), close: fillFigures('close') }))
      .describe('per path, ascending'),
    median: z.object({ next_open: fillFigures('next_open'), close: fillFigures('close') }).describe('medians over the CPCV paths'),
  })
  .describe('gross and net Sharpe of the same weights filled at the next open and at the same close, side by side');

/** Outputs of backtest.cpcv_paths. */
export const backtestOutputs = z.object({
  returns: backtestReturns.schema,
  n_paths: z.number().int().describe('paths backtested'),
  paths: z.array(z.number().int()).describe('path ids, ascending (0 = walk-forward)'),
  execution: z.enum(['close', 'next_open']).describe('fill timing used'),
  sharpe_median: z.number().describe('median annualised net Sharpe over the CPCV paths'),
  sharpe_distribution: distributionSchema,
  max_drawdown_median: z.number().describe('median max drawdown (positive fraction)'),
  turnover_annual_median: z.number().describe('median annualised one-way turnover'),
  cost_drag_bps_median: z.number().describe('median annualised total cost drag, bps of capital'),
  walk_forward_sharpe: z.number().nullable().describe('annualised net Sharpe of the walk-forward path 0, when present'),
  forward_ic_max: z.number().describe('largest mean forward IC of any path (the look-ahead guard statistic)'),
  fills: fillsSchema,
  realised_vol: z
    .object({
      target: z.number().nullable().describe("the portfolio config's annual vol target (null when vol targeting is off)"),
      median: z.number().describe('median annualised vol of net returns over the CPCV paths'),
      ratio_median: z.number().nullable().describe('median / target (1 = on target)'),
    })
    .describe('realised volatility of the book held against its target'),
  sleeves: z
    .array(
      z.object({
        sleeve: z.string().describe('sleeve name'),
        step: z.string().describe('step that provided the sleeve signal'),
        task: z.string().describe('regression | classification'),
        sharpe_median: z.number().describe('median annualised net Sharpe of the sleeve'),
        max_drawdown_median: z.number().describe('median max drawdown of the sleeve'),
      }),
    )
    .describe('each sleeve backtested through the same portfolio and costs'),
});

/**
 * `backtest.cpcv_paths`: runs the deterministic daily engine on every path of the bound target
 * weights (the CPCV paths and the walk-forward path 0 for reference), net of fees, half-spread,
 * square-root impact and borrow. Also backtests every other upstream signal (each sleeve) through
 * the same portfolio and costs, for the gate's "stack beats the best sleeve" bar.
 * With an `impact_model` input (an `execution.cost_model` output, bound by the spec's binding rule:
 * `inputs: { impact_model: "${{ steps.<id>.outputs.cost_model }}" }` or the nearest upstream
 * provider) every path's impact — main, same-close/next-open comparison and sleeves — is priced by
 * that adaptive model (execution/adaptive/cost_model.ts adaptiveImpactCost) instead of the
 * square-root law; fees, half-spread and borrow are unchanged. The sizing of the sleeve books
 * (portfolio/construct.ts, net of costs) still uses the costs config's square-root law, as
 * portfolio.build did for the bound weights. Without it the outputs are exactly those of the
 * square-root law.
 */
export const backtestCpcvPaths = defineStepKind({
  uses: 'backtest.cpcv_paths',
  version: '4',
  description: 'Daily backtest of every CPCV path + walk-forward (fills at the next open by default), costs by component, metrics per path and aggregated, next-open vs same-close fills side by side',
  with: z
    .object({
      portfolio: z.string().default('configs/portfolio.yml').describe('portfolio config (execution timing, look-ahead ceiling, sleeve books)'),
      costs: z.string().default('configs/costs.yml').describe('transaction-cost config'),
      execution: z.enum(['close', 'next_open']).optional().describe("overrides the portfolio config's execution timing (default next_open; close fills are not tradable)"),
      sleeves: z.boolean().default(true).describe('also backtest each sleeve signal (needed by the gate\'s stack-vs-sleeve bar)'),
    })
    .strict(),
  consumes: backtestConsumes,
  provides: { returns: backtestReturns },
  outputs: backtestOutputs,
  configFiles: (w) => [w.portfolio, w.costs],
  async run(ctx, w) {
    const { runBacktest } = await import('./backtest_run.ts');
    return runBacktest(ctx, w);
  },
});
