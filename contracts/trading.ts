/**
 * Trading and governance contracts: target weights, backtest path returns, the gate verdict and
 * the offline-RL sizing artifacts (portfolio/, backtest/, governance/, rl/).
 */
import { z } from 'zod';
import { artifactRefSchema, calendarField, defineContract, type ColumnSpec } from './define.ts';

const sourceSchema = z
  .object({ step: z.string().describe('step id of the signal'), sleeve: z.string().describe('sleeve of the signal') })
  .describe('the signal a book was built from');

/** Target weights per CPCV path and date. */
export const portfolioWeights = defineContract({
  name: 'portfolio.weights',
  version: 1,
  description: 'Target weights per path and date (fraction of capital, + long / − short), decided with information ≤ date',
  schema: artifactRefSchema
    .extend({
      calendar: calendarField,
      paths: z.array(z.number().int()).describe('paths present (0 = walk-forward)'),
      source: sourceSchema,
    })
    .describe('Weights Parquet'),
  tables: [
    {
      at: '.',
      columns: [
        { name: 'path', type: 'INTEGER', unit: '0..φ', description: 'backtest path' },
        { name: 'date', type: 'DATE', unit: 'trading date', description: 'decision date' },
        { name: 'symbol', type: 'VARCHAR', unit: 'ticker', description: 'instrument' },
        { name: 'weight', type: 'DOUBLE', unit: 'fraction of capital', description: 'target weight (non-zero rows only)' },
      ],
      order: ['path', 'date', 'symbol'],
      unique: ['path', 'date', 'symbol'],
    },
  ],
});

const returnColumns: ColumnSpec[] = [
  { name: 'path', type: 'INTEGER', unit: '0..φ', description: 'backtest path (0 = walk-forward)' },
  { name: 'date', type: 'DATE', unit: 'trading date', description: 'P&L date' },
  { name: 'gross', type: 'DOUBLE', unit: 'fraction of capital per bar', description: 'gross return' },
  { name: 'fee', type: 'DOUBLE', unit: 'fraction of capital per bar', description: 'fees' },
  { name: 'spread', type: 'DOUBLE', unit: 'fraction of capital per bar', description: 'half-spread cost' },
  { name: 'impact', type: 'DOUBLE', unit: 'fraction of capital per bar', description: 'square-root impact' },
  { name: 'borrow', type: 'DOUBLE', unit: 'fraction of capital per bar', description: 'borrow fee' },
  { name: 'net', type: 'DOUBLE', unit: 'fraction of capital per bar', description: 'gross − costs' },
  { name: 'turnover', type: 'DOUBLE', unit: 'Σ|Δw| per bar', description: 'one-way turnover' },
  { name: 'gross_exposure', type: 'DOUBLE', unit: 'Σ|w|', description: 'gross exposure' },
  { name: 'net_exposure', type: 'DOUBLE', unit: 'Σw', description: 'net exposure' },
];

/** Daily path returns of a backtest, by cost component, with the same for each sleeve. */
export const backtestReturns = defineContract({
  name: 'backtest.returns',
  version: 1,
  description: 'Backtest path returns (per CPCV path and walk-forward) by cost component, metrics, and the sleeves through the same portfolio and costs',
  schema: z
    .object({
      calendar: calendarField,
      execution: z.enum(['close', 'next_open']).describe('fill timing of the weights of date t'),
      source: sourceSchema,
      returns: artifactRefSchema.describe('path returns Parquet'),
      metrics: artifactRefSchema.describe('metrics JSON per path, aggregate, walk-forward, sleeves (`sleeve_list`: the sleeve backtests in order)'),
      sleeve_returns: artifactRefSchema.nullable().describe('the same returns for each sleeve (leading column sleeve), or null'),
    })
    .describe('Backtest returns'),
  tables: [
    { at: 'returns', columns: returnColumns, order: ['path', 'date'], unique: ['path', 'date'] },
    {
      at: 'sleeve_returns',
      columns: [{ name: 'sleeve', type: 'VARCHAR', unit: 'sleeve name', description: 'sleeve' }, ...returnColumns],
      order: ['sleeve', 'path', 'date'],
      unique: ['sleeve', 'path', 'date'],
    },
  ],
});

const barSchema = z
  .object({
    id: z.string().describe('bar id, e.g. dsr'),
    description: z.string().describe('what the bar checks'),
    value: z.number().nullable().describe('measured value'),
    op: z.enum(['>=', '<=', '>', '<', 'info']).describe('comparison'),
    threshold: z.number().nullable().describe('threshold'),
    pass: z.boolean().nullable().describe('null = not applicable'),
    blocking: z.boolean().describe('a failing blocking bar rejects the candidate'),
    note: z.string().optional().describe('why, when not applicable or informative'),
  })
  .describe('one promotion bar');

/** The promotion gate's verdict: every bar with value and threshold. */
export const gateVerdict = defineContract({
  name: 'gate.verdict',
  version: 1,
  description: 'Promotion gate verdict: pass/fail, every bar with its value and threshold, the headline governance figures',
  schema: z
    .object({
      passed: z.boolean().describe('all blocking bars pass'),
      bars: z.array(barSchema).describe('every bar'),
      failing: z.array(z.string()).describe('ids of failing blocking bars'),
      table: z.string().describe('the bar table as text'),
      report: artifactRefSchema.describe('gate report JSON (per path, ledgers, PBO, calibration, sleeves, OPE, champion)'),
      sharpe: z.number().nullable().describe('aggregated net Sharpe (annualised)'),
      max_drawdown: z.number().nullable().describe('aggregated max drawdown (positive fraction)'),
      psr: z.number().nullable().describe('probabilistic Sharpe ratio'),
      dsr: z.number().nullable().describe('deflated Sharpe ratio'),
      pbo: z.number().nullable().describe('probability of backtest overfitting (CSCV)'),
      n_trials: z.number().int().describe("trials in the family's persistent ledger (every configuration ever evaluated)"),
      n_trials_effective: z.number().int().optional().describe('effective number of trials (ONC clusters of the trial streams): the N of the DSR bar'),
      pbo_prob_oos_loss: z.number().nullable().optional().describe('P(OOS loss) of the IS-selected trial under CSCV'),
      pbo_degradation_slope: z.number().nullable().optional().describe('slope of OOS on IS Sharpe of the IS-selected trial (CSCV)'),
    })
    .describe('Gate verdict'),
});

/** The offline-RL behaviour dataset logged on the baseline book. */
export const rlDataset = defineContract({
  name: 'rl.dataset',
  version: 2,
  description: 'Offline-RL transitions logged by the behaviour policy on the baseline book, split by time into train and OPE episodes',
  schema: z
    .object({
      dataset: artifactRefSchema.describe('transitions Parquet'),
      meta: artifactRefSchema.describe('dataset meta JSON (actions, behaviour, split, env)'),
      books: artifactRefSchema.describe('the baseline books the transitions were logged on, one Parquet row per (path, decision date): what an exact replay of any sizing policy needs (rl/book_io.ts)'),
      calendar: calendarField,
    })
    .describe('RL dataset'),
  tables: [
    {
      at: 'books',
      columns: [
        { name: 'path', type: 'INTEGER', unit: '1..φ', description: 'CPCV path of the baseline book' },
        { name: 't', type: 'INTEGER', unit: 'bars', description: 'decision-date index within the path (0, 1, …)' },
        { name: 'date', type: 'VARCHAR', unit: 'ISO date', description: 'decision date (it has a next trading date)' },
        { name: 'gross_next', type: 'DOUBLE', unit: 'fraction of capital', description: 'gross return of the multiplier-1 book from this close to the next' },
        { name: 'short_exp', type: 'DOUBLE', unit: 'fraction of capital', description: 'short exposure Σ max(−w, 0) of the target weights' },
        { name: 'cost_linear', type: 'DOUBLE', unit: 'per unit traded', description: "fee + half-spread rate of the path's environment" },
        { name: 'cost_impact', type: 'DOUBLE', unit: 'per unit traded^1.5', description: "impact coefficient of the path's environment" },
        { name: 'cost_borrow', type: 'DOUBLE', unit: 'per bar per unit short', description: "borrow rate of the path's environment" },
        { name: 'cost_source', type: 'VARCHAR', unit: 'backtest | config', description: 'where the cost rates came from' },
        { name: 'exo_<feature>', type: 'DOUBLE', unit: 'feature units', description: 'one column per exogenous state feature, rl/env.ts EXO_FEATURES in order' },
        { name: 'turn_<j>_<k>', type: 'DOUBLE', unit: 'fraction of capital', description: 'traded notional Σ_i |m_k w_t,i − m_j w_t−1,i| from action j yesterday to action k today' },
      ],
      order: ['path', 't'],
      unique: ['path', 't'],
    },
  ],
});

/** A trained (not yet evaluated) RL sizing policy. */
export const rlPolicy = defineContract({
  name: 'rl.policy',
  version: 1,
  description: 'A trained offline-RL sizing policy (network JSON and ONNX), before off-policy evaluation',
  schema: z
    .object({
      algo: z.string().describe('cql | iql | bc'),
      policy: artifactRefSchema.describe('policy JSON'),
      onnx: artifactRefSchema.describe('policy ONNX (state → scores)'),
      curves: artifactRefSchema.describe('training curves JSON'),
    })
    .describe('RL policy'),
});

/** The sizing decision after OPE: the learned policy when accepted, else the baseline. */
export const sizingPolicy = defineContract({
  name: 'sizing.policy',
  version: 1,
  description: 'Sizing policy decided by off-policy evaluation: the learned policy (ONNX) when accepted, else the baseline multiplier',
  schema: z
    .object({
      accepted: z.boolean().describe('the learned policy beat the baseline by the margin'),
      policy: z.enum(['learned', 'baseline']).describe('the policy the pipeline keeps'),
      onnx: artifactRefSchema.nullable().describe('the accepted policy ONNX, null when the baseline is kept'),
      decision: z.string().describe('the decision in words'),
      estimator: z.string().describe('the OPE estimator the decision used (e.g. doubly_robust)'),
      estimate: z
        .object({ estimate: z.number().describe('point estimate'), lcb: z.number().describe('lower confidence bound'), ucb: z.number().describe('upper confidence bound') })
        .nullable()
        .describe('the learned policy value, per bar (fraction of capital), with its interval'),
      baseline_value: z.number().nullable().describe('the baseline policy value, per bar'),
      margin: z.number().describe('economic margin the learned policy must clear, per bar'),
      env: artifactRefSchema.describe('the rl.dataset meta (actions, environment) needed to apply the policy'),
      report: artifactRefSchema.describe('OPE report JSON'),
    })
    .describe('Sizing policy'),
});
