import { z } from 'zod';
import { executionCostModel, executionOrderPolicy } from '../../contracts/execution.ts';
import { defineStepKind } from '../types.ts';
import { lobInputs, readLobSession, symbolField } from './common.ts';
import { runJob } from './run_job.ts';

const positive = z.number().positive();

/**
 * `execution.order_type`: order-type choice as a contextual bandit on the LOB replay
 * (execution/bandit/): rounds are child orders through the session; context = [1, spread/s̄,
 * side·imbalance, σ/σ̄, shares/opposite touch, side]; arms = limit, market, POV, pegged; reward =
 * −slippage (bps). LinUCB (Li et al. 2010) for each α and Thompson sampling with a
 * Normal-Inverse-Gamma posterior for each seed learn online; regret against the best fixed order
 * type in hindsight Σ_t R[t][a*] − Σ_t R[t][a_t]. Seeded; deterministic.
 */
export const executionOrderTypeKind = defineStepKind({
  uses: 'execution.order_type',
  version: '1',
  description: 'Contextual bandits (LinUCB, NIG Thompson sampling) choosing limit / market / POV / pegged child orders from the book state, learning from realised slippage; regret against the best fixed order type',
  with: z
    .object({
      symbol: symbolField,
      every_seconds: positive.default(2).describe('seconds between child orders (bandit rounds)'),
      window_seconds: positive.default(30).describe('window each child is worked over, seconds (the rest goes at market at its end)'),
      sizes: z.array(z.number().int().positive()).min(1).default([100, 200, 300]).describe('child sizes drawn per round, shares'),
      pov_rate: z.number().gt(0).max(1).default(0.2).describe('participation rate of the POV arm'),
      alphas: z.array(positive).min(1).default([0.1, 0.3, 1, 2]).describe('LinUCB exploration parameters (one pass each; all reported)'),
      ridge: positive.default(1).describe('ridge prior precision of both bandits'),
      thompson_seeds: z.array(z.number().int()).min(1).default([1, 2, 3, 4, 5]).describe('seeds of the Thompson-sampling passes'),
      seed: z.number().int().default(5).describe('seed of the child sides and sizes'),
    })
    .strict(),
  consumes: lobInputs,
  outputs: z.object({
    policy: executionOrderPolicy.schema,
    best_fixed: z.string().describe('best fixed order type in hindsight'),
    lowest_regret_per_round_bps: z.number().describe('lowest regret per round of any bandit pass, bps'),
  }),
  provides: { policy: executionOrderPolicy },
  async run(ctx, w) {
    const session = await readLobSession(ctx.artifacts, ctx.input('messages').value, ctx.input('book').value, w.symbol, ctx.uses);
    const cfg = { everySeconds: w.every_seconds, windowSeconds: w.window_seconds, sizes: w.sizes, povRate: w.pov_rate, alphas: w.alphas, ridge: w.ridge, thompsonSeeds: w.thompson_seeds, seed: w.seed };
    const { curves, timing, ...r } = await runJob(ctx, 'order_type', { session, cfg }, { to: 0.95 });
    ctx.log.info(timing, 'order-type bandits run');
    const body = { symbol: session.symbol, date: session.date, ...r };
    const report = await ctx.artifacts.putJson({ ...body, settings: w, regret_curves: curves }, 'order_type_bandit.json');
    return { policy: { ...body, report }, best_fixed: r.best_fixed, lowest_regret_per_round_bps: Math.min(...r.runs.map((x) => x.regret_per_round_bps)) };
  },
});

/**
 * `execution.cost_model`: the adaptive execution cost model (execution/adaptive/): Almgren–Chriss
 * base spread/2 + c·σ_h·ρ (c calibrated from the book on the first part of the session) plus a
 * residual learned online by recursive least squares on [1, time of day, spread, σ_h, ρ, side,
 * ρ·σ_h]; evaluated prequentially (predict, then learn) on TWAP child orders through the rest of
 * the session: predicted vs realised cost, base alone vs base + residual, calibration by quintile.
 * The model JSON it stores is what a daily backtest needs to price trades with it
 * (execution/adaptive/cost_model.ts adaptiveImpactCost).
 */
export const executionCostModelKind = defineStepKind({
  uses: 'execution.cost_model',
  version: '1',
  description: 'Adaptive execution cost model (Almgren–Chriss base + online RLS residual on time of day, spread, volatility, size, side) evaluated predict-then-learn on LOB child orders: predicted vs realised cost, and the model JSON',
  with: z
    .object({
      symbol: symbolField,
      calibration_fraction: z.number().gt(0).lt(1).default(0.2).describe('share of the session (by time) that calibrates c; the rest is predicted then learned'),
      every_seconds: positive.default(5).describe('seconds between child orders'),
      horizon_seconds: positive.default(30).describe('horizon of each child, seconds'),
      clips: z.number().int().min(1).default(3).describe('equal market clips per child'),
      sizes: z.array(z.number().int().positive()).min(1).default([50, 100, 200, 300, 500]).describe('child sizes drawn per child, shares'),
      ridge: positive.default(1000).describe('ridge prior precision of the residual (chosen on the same day: optimistic)'),
      forgetting: z.number().gt(0).max(1).default(1).describe('RLS forgetting factor (1 = ridge on all data seen)'),
      seed: z.number().int().default(8).describe('seed of the child sides and sizes'),
    })
    .strict(),
  consumes: lobInputs,
  outputs: z.object({
    cost_model: executionCostModel.schema,
    base_mae_bps: z.number().describe('MAE of the AC base alone, bps'),
    adaptive_mae_bps: z.number().describe('MAE of base + residual, bps'),
  }),
  provides: { cost_model: executionCostModel },
  async run(ctx, w) {
    const session = await readLobSession(ctx.artifacts, ctx.input('messages').value, ctx.input('book').value, w.symbol, ctx.uses);
    const cfg = { calibrationFraction: w.calibration_fraction, everySeconds: w.every_seconds, horizonSeconds: w.horizon_seconds, clips: w.clips, sizes: w.sizes, ridge: w.ridge, forgetting: w.forgetting, seed: w.seed };
    const { model, timing, ...r } = await runJob(ctx, 'cost_model', { session, cfg }, { to: 0.95 });
    ctx.log.info(timing, 'adaptive cost model evaluated');
    const modelRef = await ctx.artifacts.putJson({ ...model, trained_on: { symbol: session.symbol, date: session.date } }, 'adaptive_cost_model.json');
    const body = { symbol: session.symbol, date: session.date, ...r, model: modelRef };
    const report = await ctx.artifacts.putJson({ ...body, settings: w }, 'adaptive_cost.json');
    return { cost_model: { ...body, report }, base_mae_bps: r.base.mae, adaptive_mae_bps: r.adaptive.mae };
  },
});
