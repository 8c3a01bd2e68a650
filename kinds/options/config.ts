/**
 * Schemas of the options sleeve's config files (configs/options/*.yml), loaded through
 * lib/config.ts `loadConfig` (problems at file:line:col). One schema per file; every field described.
 */
import { z } from 'zod';
import { loadConfig } from '../../lib/config.ts';
import { DEFAULT_THRESHOLDS, type ChainAuditThresholds } from '../../options/audit/thresholds.ts';

const frac = z.number().min(0).max(1);
const pair = z.tuple([frac, frac]).describe('[amber, red] fraction thresholds');

/** configs/options/audit.yml. */
export const auditConfigSchema = z.strictObject({
  levels: z.record(z.string(), pair).default({}).describe('per-rule [amber, red] thresholds (unlisted rules keep the defaults)'),
  stale_move: z.number().positive().default(DEFAULT_THRESHOLDS.staleMove).describe('|ΔS/S| above which an unchanged, untraded settle counts as stale'),
  stale_floor: z.number().nonnegative().default(DEFAULT_THRESHOLDS.staleFloor).describe('settles at or below this (INR) are never stale'),
  parity_tolerance: z.number().positive().default(DEFAULT_THRESHOLDS.parityTolerance).describe('parity breach above this fraction of spot'),
  band: z.number().positive().default(DEFAULT_THRESHOLDS.band).describe('moneyness band of the parity and strike-grid checks'),
  tick: z.number().positive().default(DEFAULT_THRESHOLDS.tick).describe('price tick, INR'),
});

/** The audit thresholds of a loaded audit config. */
export function auditThresholds(c: z.output<typeof auditConfigSchema>): ChainAuditThresholds {
  return { levels: { ...DEFAULT_THRESHOLDS.levels, ...c.levels }, staleMove: c.stale_move, staleFloor: c.stale_floor, parityTolerance: c.parity_tolerance, band: c.band, tick: c.tick };
}

/** configs/options/learner.yml. */
export const learnerConfigSchema = z
  .strictObject({
    cv: z.strictObject({
      n_groups: z.number().int().min(3).max(20).describe('N contiguous date groups'),
      n_test_groups: z.number().int().min(1).describe('k test groups per split'),
      embargo_bars: z.number().int().min(0).describe('sessions embargoed after each test group'),
    }).describe('CPCV layout'),
    ridge: z.strictObject({ lambda: z.array(z.number().nonnegative()).min(1).describe('ridge penalties, one trial each') }).describe('the ridge learner'),
    selection: z.enum(['ic', 'rank_ic', 'sharpe']).default('ic').describe('metric choosing the selected trial'),
    leakage: z.strictObject({
      max_abs_oof_ic: z.number().positive().describe('flag |mean OOF IC| above this'),
      max_abs_feature_ic: z.number().positive().describe('flag a feature whose |IC| with the label is above this'),
      action: z.enum(['fail', 'warn']).describe('fail the step or only warn'),
    }).describe('leakage check'),
  })
  .superRefine((c, ctx) => {
    if (c.cv.n_test_groups >= c.cv.n_groups) ctx.addIssue({ code: 'custom', path: ['cv', 'n_test_groups'], message: `must be < cv.n_groups (${c.cv.n_groups})` });
  });

const structure = z.enum(['long_straddle', 'short_straddle', 'long_strangle', 'short_strangle', 'bull_call_spread', 'bear_put_spread', 'iron_condor']);
const costs = z.strictObject({ option_bps: z.number().nonnegative().describe('bps of premium per option fill'), hedge_bps: z.number().nonnegative().describe('bps of hedge notional') }).describe('cost model');

/** configs/options/backtest.yml. */
export const backtestConfigSchema = z.strictObject({
  capital: z.number().positive().describe('capital, INR'),
  vega_cap: z.number().positive().describe('cap on |position vega|, INR per vol point'),
  risk_fraction: z.number().positive().max(1).describe('max loss per trade as a fraction of capital'),
  max_lots: z.number().int().positive().describe('lots cap per trade'),
  costs,
  long_threshold: z.number().describe('score above which the long structure is traded'),
  short_threshold: z.number().describe('score below which the short structure is traded'),
  long_structure: structure.describe('structure of a long-volatility signal'),
  short_structure: structure.describe('structure of a short-volatility signal'),
  delta_hedge: z.boolean().describe('delta-hedge daily at the close'),
});

/** configs/options/router.yml. */
export const routerConfigSchema = z.strictObject({
  oos_start: z.number().int().positive().describe('index of the first out-of-sample decision date'),
  refit_every: z.number().int().positive().describe('sessions between refits'),
  threshold: frac.describe('P(profit) a strategy must exceed'),
  min_events: z.number().int().positive().describe('training events before the router trades'),
  lambda: z.number().nonnegative().describe('L2 penalty of the logistic model'),
  capital: z.number().positive().describe('capital, INR'),
  vega_cap: z.number().positive().describe('vega cap, INR per vol point'),
  costs,
});

/** configs/options/hedging.yml. */
export const hedgingConfigSchema = z.strictObject({
  steps: z.number().int().min(2).describe('sessions to expiry of the hedged straddle'),
  train_end: z.string().regex(/^\d{4}-\d\d-\d\d$/).describe('last date the calibration may use'),
  test_start: z.string().regex(/^\d{4}-\d\d-\d\d$/).describe('first start of a real test window'),
  heston_from: z.string().regex(/^\d{4}-\d\d-\d\d$/).describe('start of the VIX² regression window'),
  n_train: z.number().int().min(64).describe('training paths per model'),
  n_sim_test: z.number().int().min(64).describe('simulated test paths per model'),
  cost_rate: z.number().nonnegative().describe('proportional cost per unit of notional traded'),
  alpha: z.number().gt(0).lt(1).describe('CVaR level'),
  seed: z.number().int().describe('seed'),
  deep: z.strictObject({
    hidden: z.array(z.number().int().positive()).min(1).describe('hidden layer widths'),
    iterations: z.number().int().positive().describe('Adam iterations'),
    batch: z.number().int().positive().describe('mini-batch size'),
    learning_rate: z.number().positive().describe('Adam learning rate'),
  }).describe('network and training'),
});

const bar = z.strictObject({
  op: z.enum(['>=', '<=', '>', '<']).describe('comparison'),
  threshold: z.number().describe('threshold'),
  blocking: z.boolean().describe('a failing blocking bar fails the gate'),
});

/** The bar ids configs/options/gate.yml may set. */
export const GATE_BARS = ['walk_forward_pnl', 'median_path_pnl', 'vega_within_cap', 'costs_modelled', 'walk_forward_trades', 'walk_forward_sharpe', 'dsr'] as const;

/** configs/options/gate.yml. */
export const gateConfigSchema = z.strictObject({
  bars: z.strictObject(Object.fromEntries(GATE_BARS.map((b) => [b, bar.describe(`bar ${b}`)])) as Record<(typeof GATE_BARS)[number], typeof bar>).describe('every bar of the sleeve'),
});

/** Loads `file` (relative to `projectRoot`) with `schema`; ConfigError at file:line:col otherwise. */
export function loadOptionsConfig<S extends z.ZodType>(projectRoot: string, file: string, schema: S): z.output<S> {
  return loadConfig(projectRoot, file, schema);
}
