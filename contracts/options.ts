/**
 * Options-volatility contracts (issue 19): what the `options.*` step kinds (kinds/options/) hand to
 * each other — the chain audit, implied vols and greeks per contract, the SVI/SSVI surface, the
 * per-date options features, delta-hedged straddle targets, the options backtest, the strategy
 * router table and the deep-hedging study. Every time-indexed value is on calendar `nse`.
 * Units: prices and strikes INR per unit of the index (index points), OI in index units
 * (contracts × lot), vols as decimals unless a column says vol points.
 */
import { z } from 'zod';
import { artifactRefSchema, calendarField, defineContract, type ColumnSpec } from './define.ts';

const counts = z.record(z.string(), z.number().int()).describe('count per key');
const num = (d: string) => z.number().nullable().describe(d);
const col = (name: string, type: string, unit: string, description: string): ColumnSpec => ({ name, type, unit, description });
const dateCol = col('date', 'DATE', 'NSE trading date', 'trade date (information ≤ the close of this date)');

/** Per-date chain audit: GREEN/AMBER/RED with reasons, and the lot size inferred per expiry. */
export const optionsAudit = defineContract({
  name: 'options.audit',
  version: 1,
  description: 'Option-chain audit per date (zero/crossed prices, stale settles, parity breaches, strike grid, expiry consistency, OI units) and the lot size inferred per (date, expiry)',
  schema: z
    .object({
      dataset: z.string().describe('dataset name of the audited chain'),
      calendar: calendarField,
      status: z.enum(['GREEN', 'AMBER', 'RED']).describe('worst date status'),
      dates: artifactRefSchema.describe('per-date Parquet (date, status, spot, reasons)'),
      lots: artifactRefSchema.describe('lot-size Parquet (date, expiry, lot, lot_from_oi, rows, spread, strike_step)'),
      report: artifactRefSchema.describe('audit report JSON: thresholds and every finding of every date'),
    })
    .describe('Chain audit'),
  tables: [
    {
      at: 'dates',
      columns: [dateCol, col('status', 'VARCHAR', 'GREEN | AMBER | RED', 'worst rule level of the date'), col('spot', 'DOUBLE', 'index points (NULL without Underlying Value)', 'NIFTY spot the audit used'), col('reasons', 'VARCHAR', "'; '-joined `rule: detail`", 'non-GREEN findings, worst first')],
      order: ['date'],
      unique: ['date'],
    },
    {
      at: 'lots',
      columns: [
        dateCol,
        col('expiry', 'DATE', 'date', 'expiry of the series'),
        col('lot', 'DOUBLE', 'index units per contract (NULL without a traded row)', 'lot from the turnover identity (turnover − premium turnover)/(contracts × strike)'),
        col('lot_from_oi', 'DOUBLE', 'index units per contract', 'modal OI ÷ contracts over traded rows (secondary estimate)'),
        col('rows', 'INTEGER', 'rows', 'traded rows behind the estimate'),
        col('spread', 'DOUBLE', 'fraction of rows', 'rows whose own lot differs from `lot` by more than 1 %'),
        col('strike_step', 'DOUBLE', 'index points', 'strike-grid step near the money'),
      ],
      order: ['date', 'expiry'],
      unique: ['date', 'expiry'],
    },
  ],
});

const contractCols: ColumnSpec[] = [
  dateCol,
  col('expiry', 'DATE', 'date', 'expiry'),
  col('option_type', 'VARCHAR', "'C' | 'P'", 'call or put'),
  col('strike', 'DOUBLE', 'index points', 'strike'),
  col('price', 'DOUBLE', 'INR per unit of the index (NULL without one)', 'Settle, else Close; exercise value on the expiry date'),
  col('price_source', 'VARCHAR', 'settle | close | expiry_intrinsic', 'where the price comes from'),
  col('quote', 'VARCHAR', 'clean | settle_ne_close | untraded', 'quote quality: traded with Settle = Close (smiles use these only), theoretical Settle of a traded contract, no trade'),
  col('k', 'DOUBLE', 'log-moneyness ln(K/F)', 'against the parity forward'),
  col('iv', 'DOUBLE', 'annualised decimal (NULL with a reason)', 'Black-76 implied vol'),
  col('reason', 'VARCHAR', 'NULL when solved', 'why no IV (no_price, no_forward, zero_time, below_intrinsic, above_upper_bound, above_vol_cap, no_convergence)'),
  col('delta', 'DOUBLE', 'dimensionless', '∂V/∂F (Black-76 forward delta, discounted)'),
  col('gamma', 'DOUBLE', 'per index point', '∂²V/∂F²'),
  col('vega', 'DOUBLE', 'INR per 1.00 of vol', '∂V/∂σ'),
  col('theta', 'DOUBLE', 'INR per year', '∂V/∂t at fixed F and σ'),
  col('oi', 'DOUBLE', 'index units', 'open interest'),
  col('contracts', 'DOUBLE', 'contracts', 'contracts traded'),
];

/** Per-contract implied vols and greeks, and the per-expiry forward, rate and time. */
export const optionsIv = defineContract({
  name: 'options.iv',
  version: 1,
  description: 'Black-76 implied vol and greeks of every contract on the parity forward of its expiry, with the per-(date, expiry) forward, repo rate, discount factor and ACT/365 time',
  schema: z
    .object({
      dataset: z.string().describe('dataset of the chain'),
      calendar: calendarField,
      contracts: artifactRefSchema.describe('per-contract Parquet'),
      slices: artifactRefSchema.describe('per-(date, expiry) Parquet: t, rate, df, forward and its diagnostics, spot'),
      n_contracts: z.number().int().describe('contracts'),
      n_solved: z.number().int().describe('contracts with an IV'),
      reasons: counts.describe('contracts without an IV, per reason'),
      max_reprice_error: z.number().describe('max |Black-76(IV) − price| over solved contracts, INR'),
    })
    .describe('Implied vols and greeks'),
  tables: [
    { at: 'contracts', columns: contractCols, order: ['date', 'expiry', 'option_type', 'strike'], unique: ['date', 'expiry', 'option_type', 'strike'] },
    {
      at: 'slices',
      columns: [
        dateCol,
        col('expiry', 'DATE', 'date', 'expiry'),
        col('t', 'DOUBLE', 'years (ACT/365)', 'time to expiry'),
        col('rate', 'DOUBLE', 'annual decimal, continuous', 'RBI repo rate in force'),
        col('df', 'DOUBLE', 'discount factor', 'e^{−rT}'),
        col('forward', 'DOUBLE', 'index points (NULL without parity pairs)', 'put–call-parity forward'),
        col('forward_dispersion', 'DOUBLE', 'fraction', '(max − min)/median of the per-strike forwards used'),
        col('forward_pairs', 'INTEGER', 'pairs', 'priced (call, put) pairs'),
        col('forward_strikes', 'VARCHAR', "','-joined strikes", 'strikes of the median'),
        col('reg_df', 'DOUBLE', 'discount factor', 'diagnostic parity regression: −slope'),
        col('reg_forward', 'DOUBLE', 'index points', 'diagnostic parity regression forward'),
        col('implied_rate', 'DOUBLE', 'annual decimal', 'rate implied by the regression'),
        col('reg_n', 'INTEGER', 'pairs', 'pairs in the regression'),
        col('spot', 'DOUBLE', 'index points', 'NIFTY 50 spot of the date'),
        col('spot_source', 'VARCHAR', 'underlying_value | index_close', 'where the spot comes from'),
      ],
      order: ['date', 'expiry'],
      unique: ['date', 'expiry'],
    },
  ],
});

/** SVI per slice, SSVI per date, residual points. */
export const optionsSurface = defineContract({
  name: 'options.surface',
  version: 1,
  description: 'Raw SVI per (date, expiry) and an SSVI surface per date, with butterfly/calendar checks, residuals in vol points and QC flags',
  schema: z
    .object({
      calendar: calendarField,
      slices: artifactRefSchema.describe('SVI Parquet per (date, expiry): a, b, rho, m, sigma, t, points, residuals, min_g, flags'),
      ssvi: artifactRefSchema.describe('SSVI Parquet per date: rho, eta, gamma, median residual, arbitrage flags, date flags'),
      points: artifactRefSchema.describe('fit points Parquet: date, expiry, strike, k, iv, fit, residual_vol_pts, weight'),
      slices_fitted: z.number().int().describe('slices with an SVI fit'),
      median_abs_residual_vol_pts: num('median |SVI − market| over every fitted point, vol points'),
      p90_abs_residual_vol_pts: num('90th percentile of |SVI − market|, vol points'),
      ssvi_median_abs_residual_vol_pts: num('median over dates of the SSVI median |residual|, vol points'),
      flag_counts: counts.describe('QC flags (expiry prefix removed) over all dates'),
    })
    .describe('Volatility surface'),
  tables: [
    {
      at: 'slices',
      columns: [
        dateCol, col('expiry', 'DATE', 'date', 'expiry'), col('t', 'DOUBLE', 'years', 'time to expiry'),
        ...['a', 'b', 'rho', 'm', 'sigma'].map((p) => col(p, 'DOUBLE', 'raw SVI parameter (NULL without a fit)', `SVI ${p}`)),
        col('n_points', 'INTEGER', 'points', 'smile points fitted'), col('median_abs_residual_vol_pts', 'DOUBLE', 'vol points', 'median |residual|'),
        col('rmse_vol_pts', 'DOUBLE', 'vol points', 'vega-weighted RMS residual'), col('min_g', 'DOUBLE', 'Durrleman g', 'minimum of g(k) (butterfly-free iff ≥ 0)'),
        col('flags', 'VARCHAR', "','-joined", 'slice QC flags'),
      ],
      order: ['date', 'expiry'],
      unique: ['date', 'expiry'],
    },
    {
      at: 'ssvi',
      columns: [
        dateCol, ...['rho', 'eta', 'gamma'].map((p) => col(p, 'DOUBLE', 'SSVI parameter (NULL when not fitted)', `SSVI ${p}`)),
        col('median_abs_residual_vol_pts', 'DOUBLE', 'vol points', 'SSVI median |residual|'), col('butterfly_free', 'BOOLEAN', 'bool', 'Theorem 4.2 and g ≥ 0'),
        col('calendar_free', 'BOOLEAN', 'bool', 'Theorem 4.1 and w non-decreasing in t'), col('svi_median_abs_residual_vol_pts', 'DOUBLE', 'vol points', 'date median of SVI |residual|'),
        col('flags', 'VARCHAR', "','-joined", 'date QC flags'),
      ],
      order: ['date'],
      unique: ['date'],
    },
    {
      at: 'points',
      columns: [dateCol, col('expiry', 'DATE', 'date', 'expiry'), col('strike', 'DOUBLE', 'index points', 'strike'), col('k', 'DOUBLE', 'ln(K/F)', 'log-moneyness'), col('iv', 'DOUBLE', 'decimal', 'market IV'), col('fit', 'DOUBLE', 'decimal', 'SVI IV'), col('residual_vol_pts', 'DOUBLE', 'vol points', '100·(fit − iv)'), col('weight', 'DOUBLE', '0..1', 'vega weight')],
      order: ['date', 'expiry', 'k'],
      unique: ['date', 'expiry', 'strike'],
    },
  ],
});

/** The 16 per-date options features. */
export const optionsFeatures = defineContract({
  name: 'options.features',
  version: 1,
  description: 'The 16 point-in-time options features per date (ATM IV, skew, PCRs, term slope, VRP, dealer gamma, theta, z-scores, walls, max pain, contango) in their own units, with NaN reasons',
  schema: z
    .object({
      calendar: calendarField,
      table: artifactRefSchema.describe('features Parquet: date, the 16 features, rv20, spot, reasons'),
      feature_names: z.array(z.string()).describe('feature columns in order'),
      definitions: z.record(z.string(), z.string()).describe('formula and unit per feature'),
      dates: z.number().int().describe('dates'),
    })
    .describe('Options features'),
  tables: [
    {
      at: 'table',
      columns: [dateCol, col('<feature>', 'DOUBLE', 'per `definitions`', 'one column per feature; NULL with a reason'), col('rv20', 'DOUBLE', 'vol points', '20-day realised vol of NIFTY'), col('spot', 'DOUBLE', 'index points', 'NIFTY spot'), col('reasons', 'VARCHAR', 'JSON object', 'why a feature is NULL')],
      order: ['date'],
      unique: ['date'],
    },
  ],
});

/** Delta-hedged ATM straddle targets. */
export const optionsTargets = defineContract({
  name: 'options.targets',
  version: 1,
  description: 'Delta-hedged P&L of a long ATM straddle held h sessions (re-hedged daily at the close on the real NIFTY path), per entry date, and its label 1{P&L > 0}',
  schema: z
    .object({
      calendar: calendarField,
      horizon_bars: z.number().int().positive().describe('holding horizon h, sessions'),
      table: artifactRefSchema.describe('targets Parquet'),
      n: z.number().int().describe('dates with a target'),
      p_positive: num('P(P&L > 0) over dates with a target'),
      mean_pnl_over_premium: num('mean P&L ÷ entry premium'),
    })
    .describe('Straddle targets'),
  tables: [
    {
      at: 'table',
      columns: [
        dateCol, col('t1', 'DATE', 'NSE trading date', 'exit date t+h (event end)'), col('expiry', 'DATE', 'date', 'straddle expiry'), col('strike', 'DOUBLE', 'index points', 'ATM strike'),
        col('entry', 'DOUBLE', 'INR per unit', 'C + P at entry'), col('exit', 'DOUBLE', 'INR per unit', 'C + P at exit'), col('hedge_pnl', 'DOUBLE', 'INR per unit', '−Σ Δ·ΔS'),
        col('carry', 'DOUBLE', 'INR per unit', 'financing at the repo rate'), col('pnl', 'DOUBLE', 'INR per unit of the index', 'delta-hedged P&L'), col('pnl_over_premium', 'DOUBLE', 'fraction of entry premium', 'P&L ÷ entry'),
        col('label', 'INTEGER', '0 | 1', '1{P&L > 0}'), col('reason', 'VARCHAR', 'NULL when computed', 'why no target'),
      ],
      order: ['date'],
      unique: ['date'],
    },
  ],
});

/** Options backtest per signal path. */
export const optionsBacktest = defineContract({
  name: 'options.backtest',
  version: 1,
  description: 'Options backtest of a signal on every path (0 = walk-forward, 1..φ = CPCV): daily P&L, equity, drawdown and greeks exposure, the trades, costs in bps of premium, fills at the next session',
  schema: z
    .object({
      calendar: calendarField,
      source: z.object({ step: z.string().describe('step id of the signal'), sleeve: z.string().describe('sleeve of the signal') }).describe('the signal traded'),
      days: artifactRefSchema.describe('daily Parquet per path'),
      trades: artifactRefSchema.describe('trades Parquet per path'),
      summary: artifactRefSchema.describe('summary JSON per path (P&L, return, Sharpe, max DD, trades, hit rate, costs, max |vega|)'),
      capital: z.number().describe('capital, INR'),
      vega_cap: z.number().describe('cap on |position vega|, INR per vol point'),
      costs: z.object({ option_bps: z.number().describe('bps of premium per option fill'), hedge_bps: z.number().describe('bps of hedge notional') }).describe('cost model'),
      paths: z.array(z.number().int()).describe('paths present'),
    })
    .describe('Options backtest'),
  tables: [
    {
      at: 'days',
      columns: [
        col('path', 'INTEGER', '0..φ', 'signal path'), dateCol, col('pnl', 'DOUBLE', 'INR', 'P&L of the session'), col('equity', 'DOUBLE', 'INR', 'capital + cumulative P&L'),
        col('drawdown', 'DOUBLE', 'fraction (≤ 0)', 'from the equity peak'), col('delta', 'DOUBLE', 'index units', 'net delta (options + hedge)'), col('gamma', 'DOUBLE', 'index units per point', 'gamma'),
        col('vega', 'DOUBLE', 'INR per vol point', 'vega'), col('theta', 'DOUBLE', 'INR per calendar day', 'theta'), col('open', 'VARCHAR', 'trade tag (NULL flat)', 'open position'),
      ],
      order: ['path', 'date'],
      unique: ['path', 'date'],
    },
    {
      at: 'trades',
      columns: [
        col('path', 'INTEGER', '0..φ', 'signal path'), col('n', 'INTEGER', '1..', 'trade number'), col('structure', 'VARCHAR', 'structure', 'straddle, strangle, vertical, condor'),
        col('decision_date', 'DATE', 'date', 'signal close'), col('fill_date', 'DATE', 'date', 'next-session fill'), col('exit_date', 'DATE', 'date (NULL open)', 'exit'),
        col('lots', 'INTEGER', 'lots', 'size'), col('entry_value', 'DOUBLE', 'INR', 'paid (+) / received (−) at the fill'), col('exit_value', 'DOUBLE', 'INR', 'value at exit'),
        col('costs', 'DOUBLE', 'INR', 'option + hedge costs'), col('hedge_pnl', 'DOUBLE', 'INR', 'delta-hedge P&L'), col('pnl', 'DOUBLE', 'INR', 'trade P&L after costs'), col('legs', 'VARCHAR', 'JSON', 'legs (expiry, type, strike, qty in index units)'),
      ],
      order: ['path', 'n'],
      unique: ['path', 'n'],
    },
  ],
});

const routerRow = z
  .object({
    name: z.string().describe('strategy, priority baseline or router'),
    trades: z.number().int().describe('OOS trades'),
    pnl: z.number().describe('OOS P&L after costs, INR'),
    total_return: z.number().describe('P&L ÷ capital'),
    sharpe: num('annualised Sharpe of the daily P&L (calendar nse)'),
    max_drawdown: z.number().describe('max drawdown, fraction (≤ 0)'),
    hit_rate: num('share of profitable closed trades'),
    costs: z.number().describe('costs, INR'),
  })
  .describe('one row of the router table');

/** The strategy-router table (meta-labeling over four rule strategies). */
export const optionsRouter = defineContract({
  name: 'options.router',
  version: 1,
  description: 'Strategy router as meta-labeling over gamma scalping, OI build-up, vol expansion and expiry pin: each strategy’s and the router’s OOS P&L, with the breadth filter’s coverage',
  schema: z
    .object({
      calendar: calendarField,
      oos_start: z.string().describe('first out-of-sample decision date'),
      table: z.array(routerRow).describe('OOS rows: the four strategies, priority_no_meta, router'),
      events: z.number().int().describe('meta-labeling events'),
      brier: num('Brier score of the walk-forward OOS predictions'),
      base_rate: num('share of profitable OOS events'),
      breadth: z.object({ oos_dates: z.number().int().describe('OOS dates'), with_breadth: z.number().int().describe('OOS dates with breadth'), risk_off_dates: z.number().int().describe('risk-off OOS dates') }).describe('breadth filter coverage'),
      chosen: counts.describe('router picks per strategy'),
      report: artifactRefSchema.describe('router report JSON (fits with their latest t1, OOS predictions)'),
    })
    .describe('Router table'),
});

const hedgeRow = z
  .object({
    paths: z.enum(['real', 'sim_gbm', 'sim_heston']).describe('evaluation paths'),
    hedger: z.enum(['bs_delta', 'deep_gbm', 'deep_heston', 'unhedged']).describe('hedging rule'),
    n: z.number().int().describe('paths'),
    mean_bps: num('mean hedged P&L, bps of notional'),
    std_bps: num('std of hedged P&L, bps'),
    variance_bps2: num('variance, bps²'),
    cvar95_bps: num('CVaR 95 % of the P&L (loss positive), bps'),
  })
  .describe('one row of the hedging comparison');

/** Deep hedging vs Black–Scholes delta hedging. */
export const hedgingStudy = defineContract({
  name: 'hedging.study',
  version: 1,
  description: 'Deep hedging (Buehler et al. 2019, CVaR objective) of a short ATM straddle trained on GBM and Heston paths calibrated to NIFTY, vs Black–Scholes delta, out of sample on real NIFTY paths',
  schema: z
    .object({
      calendar: calendarField,
      table: z.array(hedgeRow).describe('mean, variance and CVaR per (paths, hedger)'),
      sigma_gbm: z.number().describe('GBM vol (mean ATM IV up to train_end), decimal'),
      heston: z
        .object({ kappa: z.number().describe('mean reversion, 1/yr'), theta: z.number().describe('long-run variance'), xi: z.number().describe('vol of variance'), rho: z.number().describe('spot–variance correlation'), v0: z.number().describe('initial variance'), n: z.number().int().describe('dates fitted'), from: z.string().describe('first date'), to: z.string().describe('last date'), feller: z.number().describe('2κθ/ξ²') })
        .describe('Heston fitted by regression on India VIX²'),
      train_end: z.string().describe('last date calibration may use'),
      test_start: z.string().describe('first real test window start'),
      real_paths: z.number().int().describe('real NIFTY test windows'),
      training: z.record(z.string(), z.object({ seconds: z.number().describe('training wall seconds'), first_loss: z.number().describe('CVaR objective at the first iteration'), final_loss: z.number().describe('mean of the last 20') }).describe('training of one network')).describe('per network'),
    })
    .describe('Hedging study'),
});
