/**
 * Execution and market-making contracts: what the order-book studies provide (kinds/execution/):
 * the replay check of the LOB simulator, impact calibration, implementation-shortfall tables,
 * the order-type bandit, the adaptive cost model, Avellaneda–Stoikov calibration, the A-S vs RL
 * market-making table and the optimal-stopping exit study. Small tables travel inline in the JSON
 * (a few dozen rows); the full study (curves, histograms, every intermediate) is a JSON artifact.
 * Every figure is in the unit its field names (bps = 1e-4 of the arrival mid or notional).
 */
import { z } from 'zod';
import { artifactRefSchema, calendarField, defineContract } from './define.ts';

const num = (what: string) => z.number().nullable().describe(`${what} (null when not computable)`);

/** An estimate with its 95% interval (execution/impact/stats.ts Estimate). */
export const estimateSchema = z
  .object({
    value: num('point estimate'),
    se: num('standard error'),
    lo: num('lower end of the 95% interval'),
    hi: num('upper end of the 95% interval'),
    method: z.string().describe('interval method: ols-hc1, block-bootstrap, bootstrap or wilson'),
    n: z.number().int().describe('observations (or bootstrap blocks) behind it'),
  })
  .describe('an estimate with its 95% confidence interval');

const session = {
  symbol: z.string().describe('instrument of the LOB session, e.g. GOOG'),
  date: z.string().describe('session date (YYYY-MM-DD)'),
};

/** The LOB simulator's reproduction of the recorded book snapshots. */
export const lobReplayCheck = defineContract({
  name: 'lob.replay_check',
  version: 1,
  description: 'Book reconstruction from LOBSTER messages compared cell by cell with every recorded snapshot row',
  schema: z
    .object({
      dataset: z.string().describe('LOB dataset name'),
      passed: z.boolean().describe('every row of every session reproduced exactly'),
      sessions: z
        .array(
          z.object({
            ...session,
            levels: z.number().int().describe('visible levels per side'),
            rows: z.number().int().describe('snapshot rows compared'),
            events: z.number().int().describe('messages applied after the seed row'),
            mismatched_rows: z.number().int().describe('rows with any differing cell'),
            mismatched_cells: z.number().int().describe('differing price/size cells'),
            first_mismatch: z.number().int().nullable().describe('1-based row of the first mismatch, or null'),
            edge_refills: z.number().int().describe('levels read from a snapshot when they entered the visible window from beyond it'),
          }),
        )
        .describe('one entry per (symbol, date)'),
    })
    .describe('LOB replay check'),
});

const acSchema = z
  .object({
    sigma_usd_per_sqrt_s: z.number().describe('σ: mid volatility, USD per √second'),
    gamma_usd_per_share2: z.number().describe('γ: permanent impact, USD of price move per share traded'),
    eta_usd_s_per_share2: z.number().describe('η: temporary impact, USD·s per share² (η̂·τ)'),
    epsilon_usd: z.number().describe('ε: fixed cost per share, USD (≈ half-spread)'),
    tau_seconds: z.number().describe('interval length τ the η mapping assumes, seconds'),
    sources: z.record(z.string(), z.string()).describe('where each parameter came from'),
  })
  .describe('Almgren–Chriss parameters calibrated from the book');

/** Impact calibration of one LOB session. */
export const executionImpact = defineContract({
  name: 'execution.impact',
  version: 1,
  description: 'Impact calibration from one LOB session: spread, depth profile, mid volatility, permanent and temporary impact, fill probability, arrival intensity, Almgren–Chriss parameters, with 95% intervals',
  schema: z
    .object({
      ...session,
      spread_ticks: estimateSchema.describe('time-weighted quoted spread, ticks'),
      spread_bps: estimateSchema.describe('time-weighted quoted spread, bps of the mid'),
      spread_median_ticks: z.number().describe('median quoted spread, ticks'),
      mid_vol_bps_per_sqrt_s: estimateSchema.describe('std of 1-s mid log returns, bps per √second'),
      depth: z
        .array(z.object({ level: z.number().int().describe('1 = best'), ask_shares: estimateSchema.describe('mean ask size, shares'), bid_shares: estimateSchema.describe('mean bid size, shares'), distance_ticks: num('mean distance from the mid, ticks') }))
        .describe('depth profile by level'),
      permanent: z
        .array(z.object({
          horizon_s: z.number().describe('bucket length, seconds'),
          buckets: z.number().int().describe('non-overlapping buckets regressed'),
          bps_per_100_shares: estimateSchema.describe('Δmid in bps per 100 shares of signed aggressor volume'),
          bps_per_touch_depth: estimateSchema.describe('Δmid in bps per unit of signed volume / touch size'),
          gamma_usd_per_share2: z.number().describe('AC γ implied at this horizon, USD per share²'),
        }))
        .describe('permanent impact per horizon (OLS, HC1 intervals)'),
      temporary_book: z
        .object({
          epsilon_usd: estimateSchema.describe('book-walk intercept ε, USD per share'),
          eta_usd_per_share: estimateSchema.describe('book-walk slope η̂, USD per share per share'),
          r2: num('R² of the fit'),
          mean_cost_bps: z.array(z.object({ shares: z.number().describe('order size, shares'), bps: num('mean walking cost, bps of the mid') })).describe('mean cost by size'),
        })
        .describe('temporary impact from walking the visible book'),
      temporary_realised: z
        .object({
          orders: z.number().int().describe('aggressor orders used'),
          epsilon_bps: estimateSchema.describe('cost intercept, bps'),
          bps_per_100_shares: estimateSchema.describe('cost slope, bps per 100 shares'),
          bps_per_touch_depth: estimateSchema.describe('cost slope, bps per touch depth consumed'),
          mid_move_bps_per_touch_depth: estimateSchema.describe('immediate mid move, bps per touch depth consumed'),
        })
        .describe('temporary impact realised by the recorded aggressor orders'),
      fill_probability: z
        .array(z.object({ distance_ticks: z.number().describe('distance of the passive order from the mid, ticks'), horizon_s: z.number().describe('horizon, seconds'), touch: estimateSchema.describe('P(touched): upper bound on the fill probability'), through: estimateSchema.describe('P(traded through): lower bound') }))
        .describe('fill probability against distance and time'),
      arrival: z
        .object({ A_per_s: estimateSchema.describe('A of λ(δ) = A·e^(−kδ), per second per side'), k_per_usd: estimateSchema.describe('k, per USD of distance'), r2: num('R² of ln λ on δ'), orders: z.number().int().describe('aggressor orders') })
        .describe('arrival intensity of aggressor orders reaching depth δ'),
      almgren_chriss: acSchema,
      report: artifactRefSchema.describe('the full calibration JSON'),
    })
    .describe('Impact calibration'),
});

const shortfallRowSchema = z
  .object({
    strategy: z.string().describe('strategy (TWAP, VWAP, AC κT=…, RL …; "passive" = child orders join the queue first)'),
    episodes: z.number().int().describe('parent orders executed'),
    mean_bps: num('mean implementation shortfall, bps of the arrival mid (positive = cost)'),
    ci_lo_bps: num('lower end of the 95% block-bootstrap interval of the mean, bps'),
    ci_hi_bps: num('upper end of the 95% interval, bps'),
    std_bps: num('standard deviation across episodes, bps'),
    forced_completions: z.number().int().describe('episodes with inventory left at the deadline (completed by force)'),
    ac_predicted_mean_bps: num('AC model expected cost for this schedule, bps').optional(),
    ac_predicted_std_bps: num('AC model cost standard deviation, bps').optional(),
    lambda_per_usd: num('AC risk aversion λ, 1/USD').optional(),
  })
  .describe('one strategy of a shortfall table');

/** An implementation-shortfall study: a table per strategy with bootstrap intervals. */
export const executionShortfall = defineContract({
  name: 'execution.shortfall',
  version: 1,
  description: 'Implementation shortfall per execution strategy in the LOB replay (mean with 95% block-bootstrap interval, std, forced completions); for RL studies also the paired RL − benchmark differences and the design criterion',
  schema: z
    .object({
      study: z.enum(['schedules', 'rl']).describe('schedules = TWAP/VWAP/AC over the whole session; rl = RL vs benchmarks on held-out later episodes'),
      ...session,
      shares: z.number().describe('parent order size, shares'),
      horizon_seconds: z.number().describe('execution horizon, seconds'),
      intervals: z.number().int().describe('child intervals (decisions) per parent'),
      episodes: z.number().int().describe('parent orders per strategy (each start as a buy and a sell)'),
      window: z.object({ from_s: z.number().describe('first start, seconds after midnight'), to_s: z.number().describe('end of the evaluation window') }).describe('where the evaluated episodes lie'),
      rows: z.array(shortfallRowSchema).describe('the shortfall table'),
      paired: z
        .array(z.object({ label: z.string().describe('RL − benchmark'), mean_bps: num('mean paired difference, bps (negative = RL cheaper)'), ci_lo_bps: num('lower 95% bound'), ci_hi_bps: num('upper 95% bound') }))
        .describe('paired differences on the same episodes (rl studies; empty otherwise)'),
      criterion: z
        .object({ rule: z.string().describe('the design criterion'), holds: z.boolean().describe('whether it holds'), rl_mean_bps: z.number().describe('RL mean shortfall, bps'), twap_mean_bps: z.number().describe('TWAP mean shortfall, bps') })
        .nullable()
        .describe('RL shortfall ≤ TWAP (rl studies; null otherwise)'),
      almgren_chriss: acSchema,
      report: artifactRefSchema.describe('the full study JSON (training summary, action usage, calibration)'),
    })
    .describe('Shortfall study'),
});

/** The order-type contextual bandit. */
export const executionOrderPolicy = defineContract({
  name: 'execution.order_policy',
  version: 1,
  description: 'Contextual bandits (LinUCB, NIG Thompson sampling) choosing limit / market / POV / pegged child orders from the book state, with regret against the best fixed order type in hindsight',
  schema: z
    .object({
      ...session,
      rounds: z.number().int().describe('child orders (bandit rounds)'),
      arms: z.array(z.string()).describe('order types, in arm order'),
      best_fixed: z.string().describe('best fixed order type in hindsight'),
      mean_reward_bps: z.record(z.string(), z.number()).describe('mean reward (−slippage, bps) of every fixed order type'),
      oracle_mean_reward_bps: z.number().describe('mean reward of the per-round best order type (unreachable bound), bps'),
      runs: z
        .array(z.object({ policy: z.string().describe('bandit and its parameter'), mean_reward_bps: z.number().describe('mean reward, bps'), regret_bps: z.number().describe('regret vs the best fixed type, bps summed over rounds'), regret_per_round_bps: z.number().describe('regret per round, bps'), choices: z.record(z.string(), z.number().int()).describe('rounds per order type') }))
        .describe('one row per bandit pass'),
      report: artifactRefSchema.describe('full study JSON (regret curves)'),
    })
    .describe('Order-type policy study'),
});

const predictionStats = z
  .object({ mae: z.number().describe('mean absolute error, bps'), rmse: z.number().describe('root mean squared error, bps'), bias: z.number().describe('mean predicted − mean realised, bps'), r2: z.number().describe('1 − SSE/SST'), corr: z.number().describe('correlation of predicted and realised') })
  .describe('prediction error statistics');

/** The adaptive (AC base + online residual) execution cost model. */
export const executionCostModel = defineContract({
  name: 'execution.cost_model',
  version: 1,
  description: 'Adaptive execution cost model (Almgren–Chriss base + online ridge residual), evaluated prequentially on LOB child orders; the model JSON can price the daily backtest (execution/adaptive/cost_model.ts adaptiveImpactCost)',
  schema: z
    .object({
      ...session,
      c: z.number().describe('calibrated AC slope of the base (dimensionless)'),
      children: z.number().int().describe('child orders predicted, then learned from'),
      base: predictionStats.describe('AC base alone'),
      adaptive: predictionStats.describe('base + learned residual'),
      calibration: z
        .array(z.object({ quintile: z.number().int().describe('1..5 of the adaptive prediction'), predicted_bps: z.number().describe('mean predicted cost, bps'), realised_bps: z.number().describe('mean realised cost, bps'), n: z.number().int().describe('children') }))
        .describe('predicted vs realised by quintile'),
      residual_weights: z.record(z.string(), z.number()).describe('residual weights by feature'),
      model: artifactRefSchema.describe('model JSON: c, ridge, forgetting, feature names, RLS weights w and matrix P, observed feature range lo/hi'),
      report: artifactRefSchema.describe('full study JSON'),
    })
    .describe('Adaptive cost model'),
});

const mmRow = z
  .object({
    policy: z.string().describe('A-S, or RL with its training seed'),
    evaluation: z.string().describe('where it was evaluated (arrival model, replay, bars)'),
    episodes: z.number().int().describe('evaluation episodes'),
    pnl_mean: z.number().describe('mean episode PnL, currency'),
    pnl_std: z.number().describe('std of episode PnL, currency'),
    sharpe: z.number().describe('annualised Sharpe of bar PnL on the calendar'),
    calendar: calendarField,
    inventory_mean_abs: z.number().describe('mean |inventory|, lots'),
    inventory_std: z.number().describe('inventory standard deviation, lots'),
    inventory_max_abs: z.number().describe('max |inventory|, lots'),
    inventory_histogram: z.record(z.string(), z.number().int()).describe('decision steps per rounded inventory (lots)'),
    terminal_mean_abs_inventory: z.number().describe('mean |inventory| at the episode end, lots'),
    fill_rate: z.number().describe('filled lots per side per decision step'),
    fills_per_episode: z.number().describe('fills per episode'),
    spread_captured_bps: z.number().describe('mean distance of our fill price from the mid, bps (positive = earned)'),
  })
  .describe('one (policy, evaluation) row');

const mmSource = {
  source: z.enum(['lob', 'bars']).describe('lob = LOBSTER session; bars = hourly klines'),
  venue: z.string().describe('what was made a market in, e.g. "GOOG LOB", "BTCUSDT hourly bars"'),
  symbol: z.string().describe('instrument'),
  gamma: z.number().describe('A-S risk aversion chosen on the training part'),
};

/** Avellaneda–Stoikov calibration and the A-S baseline of one venue. */
export const mmCalibration = defineContract({
  name: 'mm.calibration',
  version: 1,
  description: 'Avellaneda–Stoikov inputs σ, A, k (λ(δ) = A·e^(−kδ)) calibrated on the training part of a LOB session or of hourly bars, the risk aversion chosen on training episodes, and the A-S baseline on the held-out evaluations',
  schema: z
    .object({
      ...mmSource,
      units: z.object({ price: z.string().describe('A-S price unit'), time: z.string().describe('A-S time unit') }).describe('units of σ, A, k'),
      sigma: estimateSchema.describe('σ, price units per √time unit'),
      A: estimateSchema.describe('A, arrivals per time unit per side'),
      k: estimateSchema.describe('k, per price unit'),
      points: z.array(z.object({ delta: z.number().describe('distance from the mid, price units'), lambda: z.number().describe('arrival rate per time unit') })).describe('empirical points of the fit'),
      approximations: z.array(z.string()).describe('the approximations the calibration makes'),
      gamma_selection: z.array(z.object({ gamma: z.number().describe('risk aversion tried'), train_sharpe: z.number().describe('A-S annualised Sharpe on training episodes') })).describe('the γ grid'),
      settings: z.record(z.string(), z.unknown()).describe('venue settings the study used (mm.rl reuses them)'),
      rows: z.array(mmRow).describe('A-S on every held-out evaluation'),
    })
    .describe('A-S calibration'),
});

/** A-S vs RL market making side by side. */
export const mmStudy = defineContract({
  name: 'mm.study',
  version: 1,
  description: 'Avellaneda–Stoikov vs an RL market maker warm-started from A-S, side by side on held-out evaluations: PnL, Sharpe, inventory distribution, fill rate, spread captured; and the design criterion (RL Sharpe ≥ A-S)',
  schema: z
    .object({
      ...mmSource,
      rows: z.array(mmRow).describe('A-S rows first, then RL rows per training seed'),
      summary: z
        .array(z.object({ evaluation: z.string().describe('held-out evaluation'), as_sharpe: z.number().describe('A-S annualised Sharpe'), rl_mean_sharpe: z.number().describe('mean RL annualised Sharpe over the seeds'), rl_sharpes: z.array(z.number()).describe('RL Sharpe per seed') }))
        .describe('Sharpe per evaluation'),
      criterion: z.object({ rule: z.string().describe('the design criterion'), holds: z.boolean().describe('whether it holds'), detail: z.string().describe('the figures behind it') }).describe('RL Sharpe ≥ A-S'),
      training: z
        .array(z.object({ seed: z.number().int().describe('training seed'), episodes: z.number().int().describe('DQN episodes'), env_steps: z.number().int().describe('environment steps'), updates: z.number().int().describe('gradient updates'), warm_states: z.number().int().describe('A-S states the warm start regressed on') }))
        .describe('RL training per seed'),
      report: artifactRefSchema.describe('full study JSON'),
    })
    .describe('Market-making study'),
});

/** Optimal stopping for position exits vs the fixed-horizon exit. */
export const exitsStudy = defineContract({
  name: 'exits.study',
  version: 1,
  description: 'Finite-horizon exit MDP (signal intensity × strength × days held; hold/exit) solved by value iteration on early trades, compared on later trades with fixed-horizon exits',
  schema: z
    .object({
      dataset: z.string().describe('daily OHLCV dataset'),
      calendar: calendarField,
      signal: z.string().describe('the trading signal of the positions'),
      split_date: z.string().describe('first date of the test trades'),
      train_trades: z.number().int().describe('trades the MDP was estimated on'),
      states: z.array(z.string()).describe('state labels'),
      policy_by_days_held: z.array(z.string()).describe('per days held: one character per state, H = hold, X = exit'),
      hold_reward_bps: z.array(z.number()).describe('estimated next-day reward of holding, bps, per state'),
      hold_counts: z.array(z.number().int()).describe('training decision days observed per state (an unseen state has reward 0)'),
      results: z
        .array(z.object({ rule: z.string().describe('exit rule'), trades: z.number().int().describe('test trades'), mean_net_bps: z.number().describe('mean net return per trade, bps'), mean_hold_days: z.number().describe('mean days held'), net_bps_per_position_day: z.number().describe('net bps per position-day'), hit_rate: z.number().describe('share of trades with positive net return'), sharpe: z.number().describe('annualised Sharpe of the daily book') }))
        .describe('test results per exit rule'),
      cost_bps: z.number().describe('round-trip cost charged once per trade, bps'),
      report: artifactRefSchema.describe('full study JSON (values, transition counts)'),
    })
    .describe('Exit study'),
});
