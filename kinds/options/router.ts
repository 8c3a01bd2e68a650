/**
 * `options.router`: the strategy router as meta-labeling (AFML ch. 3.6) over four rule strategies —
 * gamma scalping, OI build-up, volatility expansion, expiry pin (options/router/strategies.ts) — with
 * a walk-forward logistic secondary model purged by event end t1 (options/router/router.ts) and a
 * market-breadth filter (advance/decline ratio, TRIN; options/router/breadth.ts) from an optional
 * equities panel. Reports every strategy's OOS P&L, the priority baseline and the router's.
 */
import { z } from 'zod';
import { ohlcvDaily } from '../../contracts/index.ts';
import { optionsAudit, optionsFeatures, optionsIv, optionsRouter } from '../../contracts/options.ts';
import { defineStepKind } from '../types.ts';

/** Inputs of options.router. */
export const routerConsumes = {
  iv: { contract: optionsIv, description: 'solved chains (strategies, fills, marks)' },
  audit: { contract: optionsAudit, description: 'lot sizes per (date, expiry)' },
  features: { contract: optionsFeatures, description: 'options features the strategies and the secondary model read' },
  index: { contract: ohlcvDaily, description: 'daily closes of the underlying (long history for the Bollinger squeeze)' },
  breadth: { contract: ohlcvDaily, optional: true, description: 'an equities panel for market breadth (A/D, TRIN); the filter is inactive on dates it does not cover' },
};

/** Outputs of options.router. */
export const routerOutputs = z.object({
  router: optionsRouter.schema,
  best: z.string().describe('row with the largest OOS P&L'),
  router_pnl: z.number().describe('router OOS P&L, INR'),
  breadth_coverage: z.string().describe('OOS dates with breadth, in words'),
});

export const optionsRouterKind = defineStepKind({
  uses: 'options.router',
  version: '1',
  description: 'Meta-labeling router over gamma scalping, OI build-up, vol expansion and expiry pin with a breadth filter: each strategy’s and the router’s OOS P&L',
  with: z.strictObject({
    config: z.string().default('configs/options/router.yml').describe('router config, relative to the project root'),
    nifty_symbol: z.string().default('NIFTY 50').describe('symbol of the underlying in the index input (Bollinger squeeze)'),
  }),
  consumes: routerConsumes,
  provides: { router: optionsRouter },
  outputs: routerOutputs,
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const { runRouter } = await import('./router_run.ts');
    return runRouter(ctx, w);
  },
});
