import { z } from 'zod';

/**
 * Portfolio construction config (configs/portfolio.yml). Weights are fractions of capital.
 * - `per_name_cap`: max |w| per name, applied to the base book and again to the final (levered) weights.
 * - `gross`: Σ|w| of the base book; `net_target`: Σw of the base book (long/short only).
 * - `vol_target.annual`: annualised volatility target of the book actually held (e.g. 0.10 = 10%/yr),
 *   estimated from the held book's own realised net returns (portfolio/sizing.ts).
 * - `kelly` (off by default): fractional Kelly f·μ̃/σ² of the held book's net returns, μ̃ shrunk
 *   toward 0 (posterior mean under a N(0, prior_sharpe²) prior on the annual Sharpe).
 * - `min_leverage` > 0 / `max_leverage`: floor and ceiling of the multiplier applied to the base book
 *   (the floor keeps a negative edge estimate from switching the book off).
 * - `execution`: trade the targets decided at the close of t at the `next_open` (default: the next
 *   session's open, after the data the signal used) or at that same `close` (not tradable: the
 *   signal's own print; reported for comparison only).
 * - `max_forward_ic`: look-ahead ceiling for the engine timing check (mean daily IC of targets vs next-day return).
 */
export const portfolioConfigSchema = z
  .object({
    mode: z.enum(['long_short', 'long_only']).default('long_short'),
    per_name_cap: z.number().positive().max(1).default(0.05),
    gross: z.number().positive().max(10).default(1.0),
    net_target: z.number().min(-1).max(1).default(0),
    min_names: z.number().int().min(2).default(10),
    kelly: z
      .object({
        enabled: z.boolean().default(false),
        fraction: z.number().min(0.1).max(1).default(0.5),
        window: z.number().int().min(5).default(126),
        min_obs: z.number().int().min(2).default(60),
        /** Prior standard deviation of the book's annual Sharpe ratio (shrinks the mean toward 0). */
        prior_sharpe: z.number().positive().default(1),
      })
      .strict()
      .default({ enabled: false, fraction: 0.5, window: 126, min_obs: 60, prior_sharpe: 1 }),
    vol_target: z
      .object({
        enabled: z.boolean().default(true),
        annual: z.number().positive().default(0.1),
        window: z.number().int().min(5).default(63),
        min_obs: z.number().int().min(2).default(20),
      })
      .strict()
      .default({ enabled: true, annual: 0.1, window: 63, min_obs: 20 }),
    min_leverage: z.number().positive().default(0.25),
    max_leverage: z.number().positive().default(4),
    /**
     * Fraction of the gap to the target book traded each day (Gârleanu & Pedersen 2013: trade
     * partially toward the aim portfolio). 1 = full daily rebalance; ≈ 1/horizon for a signal
     * that forecasts `horizon` days ahead. Names without a price on a date are closed at once.
     */
    trade_rate: z.number().gt(0).max(1).default(1),
    execution: z.enum(['close', 'next_open']).default('next_open'),
    max_forward_ic: z.number().positive().max(1).default(0.1),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.mode === 'long_short' && Math.abs(c.net_target) > c.gross) ctx.addIssue({ code: 'custom', path: ['net_target'], message: `|net_target| must be ≤ gross (${c.gross})` });
    if (c.min_leverage > c.max_leverage) ctx.addIssue({ code: 'custom', path: ['min_leverage'], message: `min_leverage must be ≤ max_leverage (${c.max_leverage})` });
  });
export type PortfolioConfig = z.output<typeof portfolioConfigSchema>;
