import { z } from 'zod';
import { exitsStudy } from '../../contracts/execution.ts';
import { dataQuality, ohlcvDaily } from '../../contracts/market.ts';
import { loadConfig } from '../../lib/config.ts';
import { InputError } from '../../lib/errors.ts';
import { defineStepKind } from '../types.ts';
import { runJob } from './run_job.ts';

const COSTS = 'configs/costs.yml';

/**
 * `exits.optimal_stopping`: optimal stopping of position exits as a finite-horizon MDP
 * (decisions/exit.ts, decisions/mdp.ts): positions are the top and bottom deciles of the
 * short-term reversal signal −ln(C_t/C_{t−k}) (Jegadeesh 1990) on the equities panel; state =
 * signal-intensity bin × signal-strength bin (position-aligned z) × days held; actions hold/exit;
 * rewards and Laplace-smoothed transitions estimated on the early trades; solved by backward
 * induction (value iteration over the stages). Compared on the later trades with the fixed
 * `fixed_hold_days` exit (the nightly's horizon) and the fixed maximum. The round-trip cost is
 * 2 × (half-spread + fee) of configs/costs.yml unless `cost_bps` is given.
 */
export const exitsOptimalStoppingKind = defineStepKind({
  uses: 'exits.optimal_stopping',
  version: '1',
  description: 'Optimal-stopping exits: a finite-horizon MDP (signal intensity × strength × days held; hold/exit) solved by value iteration on early equities trades, compared on later trades with the fixed-horizon exit',
  with: z
    .object({
      lookback: z.number().int().min(1).default(5).describe('reversal signal lookback, trading days'),
      entry_quantile: z.number().gt(0).max(0.5).default(0.1).describe('share of names entered long (top) and short (bottom) each date'),
      intensity_bins: z.number().int().min(1).default(3).describe('quantile bins of |z| (signal intensity)'),
      strength_cut: z.number().min(0).default(0.5).describe('|position-aligned z| beyond which the signal is confirming / reversed'),
      max_hold_days: z.number().int().min(2).default(10).describe('forced exit after this many days (MDP horizon)'),
      fixed_hold_days: z.number().int().min(1).default(5).describe('the fixed-horizon exit compared with (the nightly\'s label horizon)'),
      train_fraction: z.number().gt(0).lt(1).default(0.6).describe('share of dates whose trades estimate the MDP'),
      cost_bps: z.number().min(0).optional().describe('round-trip cost per trade, bps (default: 2 × (half_spread_bps + fee_bps) of configs/costs.yml)'),
    })
    .strict(),
  consumes: {
    prices: { contract: ohlcvDaily, description: 'the daily OHLCV panel the positions are taken on (audited curated view)' },
    quality: { contract: dataQuality, many: true, optional: true, description: 'audits: refuse RED data' },
  },
  outputs: z.object({
    exits: exitsStudy.schema,
    mdp_mean_net_bps: z.number().describe('MDP exit: mean net bps per test trade'),
    fixed_mean_net_bps: z.number().describe('fixed-horizon exit: mean net bps per test trade'),
  }),
  provides: { exits: exitsStudy },
  configFiles: (w) => (w.cost_bps === undefined ? [COSTS] : []),
  async run(ctx, w) {
    const { assertNotRed } = await import('../../data/guard.ts');
    assertNotRed(ctx.inputs('quality'));
    const prices = ctx.input('prices').value;
    const { calendarFor, NYSE_DAILY } = await import('../../calendar/calendar.ts');
    if (calendarFor(prices.calendar).barsPerYear !== NYSE_DAILY.barsPerYear) {
      throw new InputError({ message: `exits.optimal_stopping: the exit study holds positions in daily equity sessions and annualises on the NYSE calendar; ${prices.dataset} is on calendar ${prices.calendar}` });
    }
    const { costConfigSchema } = await import('../../execution/cost_models.ts');
    const costs = w.cost_bps === undefined ? loadConfig(ctx.projectRoot, COSTS, costConfigSchema) : undefined;
    const costBps = w.cost_bps ?? 2 * (costs!.half_spread_bps + costs!.fee_bps);
    ctx.progress({ fraction: 0.05, message: `reading ${prices.dataset}` });
    const { readReversalPanel } = await import('./common.ts');
    const panel = await readReversalPanel(ctx.artifacts.path(prices), w.lookback);
    const cfg = { entryQuantile: w.entry_quantile, intensityBins: w.intensity_bins, strengthCut: w.strength_cut, maxHoldDays: w.max_hold_days, fixedHoldDays: w.fixed_hold_days, costBps, trainFraction: w.train_fraction };
    const { report: r, timing } = await runJob(ctx, 'exits', { panel, cfg }, { from: 0.2, to: 0.95 });
    ctx.log.info(timing, 'exit MDP solved and compared');
    const results = r.results.map((x) => ({ rule: x.rule, trades: x.trades, mean_net_bps: x.meanNetBps, mean_hold_days: x.meanHoldDays, net_bps_per_position_day: x.netBpsPerPositionDay, hit_rate: x.hitRate, sharpe: x.sharpe }));
    const body = {
      dataset: prices.dataset, calendar: prices.calendar, signal: `short-term reversal −ln(C_t/C_(t−${w.lookback}))`, split_date: r.splitDate, train_trades: r.trainTrades,
      states: r.states.labels, policy_by_days_held: r.policy.map((p) => p.map((a) => (a === 1 ? 'X' : 'H')).join('')), hold_reward_bps: r.holdRewardBps, hold_counts: r.holdCounts, results, cost_bps: costBps,
    };
    const report = await ctx.artifacts.putJson({ ...body, settings: { ...w, cost_bps: costBps }, intensity_edges: r.states.intensityEdges, value_bps: r.valueBps }, 'exit_mdp.json');
    const mdp = results.find((x) => x.rule.startsWith('MDP'))!;
    return { exits: { ...body, report }, mdp_mean_net_bps: mdp.mean_net_bps, fixed_mean_net_bps: results[0]!.mean_net_bps };
  },
});
