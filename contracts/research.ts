/**
 * Research contracts: the features panel, labels, out-of-fold signals, the trial ledger and the
 * model bundle (features/, labels/, cv/, models/).
 */
import { z } from 'zod';
import { artifactRefSchema, calendarField, defineContract, type ColumnSpec } from './define.ts';

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/** A point-in-time features panel, one row per (date, symbol). */
export const featuresPanel = defineContract({
  name: 'features.panel',
  version: 1,
  description: 'Point-in-time features panel: one DOUBLE column per feature, in registry order',
  schema: artifactRefSchema
    .extend({
      feature_names: z.array(z.string()).min(1).describe('feature columns in model order'),
      feature_set_version: z.string().describe('<feature set>@<12 hex of the registry digest>'),
      registry: artifactRefSchema.describe('feature registry JSON (definitions, windows, config digest)'),
      registry_digest: digest.describe('digest of the registry body'),
      calendar: calendarField,
    })
    .describe('Features Parquet with its registry'),
  tables: [
    {
      at: '.',
      columns: [
        { name: 'date', type: 'DATE', unit: 'trading date', description: 'as-of date (information ≤ date)' },
        { name: 'symbol', type: 'VARCHAR', unit: 'ticker', description: 'instrument' },
        { name: '<feature>', type: 'DOUBLE', unit: 'per the registry (normalised cross-sectionally unless none)', description: 'one column per feature; NULL in warm-up' },
      ],
      order: ['date', 'symbol'],
      unique: ['date', 'symbol'],
    },
  ],
});

/** Supervised labels with their event end times t1. */
export const labels = defineContract({
  name: 'labels.panel',
  version: 1,
  description: 'Labels per (date, symbol) with the event end time t1 (horizon or triple-barrier)',
  schema: artifactRefSchema
    .extend({
      labels_kind: z.enum(['horizon', 'triple_barrier']).describe('how the label was made'),
      task: z.enum(['regression', 'classification']).describe('regression (returns) or classification (−1/0/+1)'),
      max_horizon_bars: z.number().int().positive().describe('longest label interval in bars (t1 ≤ date + this many bars)'),
      entry: z
        .enum(['next_open', 'close'])
        .describe("fill rule the label starts at: next_open = the next session's open O_{t+1}, close = the next session's close C_{t+1}; never the signal's own close C_t (labels/entry.ts)"),
      calendar: calendarField,
    })
    .describe('Labels Parquet'),
  tables: [
    {
      at: '.',
      columns: [
        { name: 'date', type: 'DATE', unit: 'trading date', description: 'signal date (information ≤ its close); the label starts at the fill after it' },
        { name: 'symbol', type: 'VARCHAR', unit: 'ticker', description: 'instrument' },
        { name: 't1', type: 'DATE', unit: 'trading date', description: 'date the label information ends (date < t1)' },
        { name: 'label', type: 'DOUBLE', unit: 'log return (regression) or −1/0/+1 (classification)', description: 'training target' },
        { name: 'ret', type: 'DOUBLE', unit: 'log return from the fill (entry) to the exit at t1', description: 'realised forward return' },
        { name: 'barrier', type: 'VARCHAR', unit: 'tp | sl | vertical', description: 'barrier touched first (triple barrier)', optional: true },
        { name: 'sigma', type: 'DOUBLE', unit: 'daily log-return σ', description: 'barrier volatility (triple barrier)', optional: true },
        { name: 'holding_days', type: 'INTEGER', unit: 'bars', description: 'bars from date to t1 (triple barrier)', optional: true },
      ],
      order: ['date', 'symbol'],
      unique: ['date', 'symbol'],
    },
  ],
});

const oofColumns: ColumnSpec[] = [
  { name: 'date', type: 'DATE', unit: 'trading date', description: 'signal date' },
  { name: 'symbol', type: 'VARCHAR', unit: 'ticker', description: 'instrument' },
  { name: 'path', type: 'INTEGER', unit: '1..φ (0 = walk-forward)', description: 'CPCV backtest path' },
  { name: 'split', type: 'INTEGER', unit: '1..C(N,k) (walk-forward: fold)', description: 'split whose test set holds the row' },
  { name: 'test_group', type: 'INTEGER', unit: '1..N', description: 'CPCV group of the date' },
  { name: 'score', type: 'DOUBLE', unit: 'larger = more bullish', description: 'out-of-fold score' },
  { name: 'label', type: 'DOUBLE', unit: 'as in the labels', description: 'label of the row', optional: true },
  { name: 'ret', type: 'DOUBLE', unit: 'log return over (date, t1]', description: 'realised forward return' },
  { name: 't1', type: 'DATE', unit: 'trading date', description: 'label end' },
  { name: 'prob_up', type: 'DOUBLE', unit: 'probability', description: 'P(label = +1) of classification sleeves', optional: true },
];

/** Out-of-fold signals on every CPCV path, plus the walk-forward reference. */
export const signalsOof = defineContract({
  name: 'signals.oof',
  version: 1,
  description: 'Out-of-fold scores of a sleeve (or stack) on every CPCV backtest path, and the walk-forward reference path 0',
  schema: z
    .object({
      sleeve: z.string().describe('sleeve name (unique among the signals a stack blends)'),
      task: z.enum(['regression', 'classification']).describe('task of the model behind the score'),
      calendar: calendarField,
      n_paths: z.number().int().positive().describe('φ = C(N−1, k−1) CPCV paths'),
      components: z.array(z.string()).describe('sleeves blended into this signal (empty for a base learner)'),
      stacker: artifactRefSchema
        .nullable()
        .optional()
        .describe('blend weights JSON {weights: {sleeve: w}, intercept, sleeves} when components is non-empty; absent or null for a base learner'),
      cv: z
        .object({
          n_groups: z.number().int().positive().describe('N, CPCV groups'),
          n_test_groups: z.number().int().positive().describe('k, test groups per split'),
          embargo_bars: z.number().int().nonnegative().describe('embargo after each test group, bars'),
        })
        .optional()
        .describe('the CPCV layout the paths come from (a stack reuses its sleeves\' embargo)'),
      oof: artifactRefSchema.describe('OOF rows on paths 1..φ'),
      walk_forward: artifactRefSchema.describe('OOF rows of the walk-forward path 0'),
    })
    .describe('OOF signal'),
  tables: [
    { at: 'oof', columns: oofColumns, order: ['path', 'date', 'symbol'], unique: ['date', 'symbol', 'path'] },
    { at: 'walk_forward', columns: oofColumns, order: ['path', 'date', 'symbol'], unique: ['date', 'symbol', 'path'] },
  ],
});

/** Every trial a fit tried, with its OOF scores per path (the gate's tradable trial streams: DSR's N and V[SR], PBO's matrix). */
export const trialsLedger = defineContract({
  name: 'trials.ledger',
  version: 1,
  description: 'Trial ledger of a fit or search: every configuration tried, its metrics and daily return stream',
  schema: z
    .object({
      sleeve: z.string().describe('sleeve the trials belong to'),
      n_trials: z.number().int().nonnegative().describe('trials in this ledger'),
      ledger: artifactRefSchema.describe('ledger JSON {sleeve, n_trials, selection, selected_trial, stream, scores, trials: [{trial_id, params, metrics}]}'),
      returns: artifactRefSchema.describe('trial return streams Parquet (label units: a research diagnostic, not a tradable return)'),
      scores: artifactRefSchema
        .optional()
        .describe("every trial's OOF scores on every CPCV path (Parquet); absent: the ledger JSON's `scores`. The gate trades them through the candidate's portfolio and costs"),
      context_digest: z
        .string()
        .optional()
        .describe('digest of what defines the trials besides their params, data excluded (training config, labels, features, CV layout); absent: the trials are keyed by their scores digest'),
    })
    .describe('Trial ledger'),
  tables: [
    {
      at: 'returns',
      columns: [
        { name: 'trial_id', type: 'VARCHAR', unit: '<sleeve>:t<i>', description: 'trial' },
        { name: 'date', type: 'DATE', unit: 'trading date', description: 'return date' },
        { name: 'ret', type: 'DOUBLE', unit: 'label return per bar (not tradable)', description: 'the trial long/short return on realised labels ÷ label length' },
      ],
      order: ['trial_id', 'date'],
      unique: ['trial_id', 'date'],
    },
    {
      at: 'scores',
      columns: [
        { name: 'trial_id', type: 'VARCHAR', unit: '<sleeve>:t<i>', description: 'trial' },
        { name: 'path', type: 'INTEGER', unit: '1..φ', description: 'CPCV backtest path' },
        { name: 'date', type: 'DATE', unit: 'trading date', description: 'signal date' },
        { name: 'symbol', type: 'VARCHAR', unit: 'ticker', description: 'instrument' },
        { name: 'score', type: 'FLOAT', unit: 'larger = more bullish', description: 'out-of-fold score of the trial' },
      ],
      order: ['trial_id', 'path', 'date', 'symbol'],
      unique: ['trial_id', 'path', 'date', 'symbol'],
    },
  ],
});

/** A trained model ready to register and score: ONNX + native model + its feature list and config. */
export const modelBundle = defineContract({
  name: 'model.bundle',
  version: 1,
  description: 'A trained model: ONNX (input X float[N,F], outputs Y and score), native model, feature list, training config, metrics',
  schema: z
    .object({
      sleeve: z.string().describe('sleeve name'),
      task: z.enum(['regression', 'classification']).describe('model task'),
      engine: z.string().describe('learner, e.g. xgboost, lightgbm, ridge'),
      feature_names: z.array(z.string()).describe('input columns in order'),
      onnx: artifactRefSchema.describe('ONNX model'),
      native: artifactRefSchema.describe("the learner's own serialised model"),
      feature_list: artifactRefSchema.describe('feature list JSON (names, registry digest)'),
      training_config: artifactRefSchema.describe('resolved training config JSON'),
      training_config_digest: z.string().describe('digest of the training config'),
      metrics: artifactRefSchema.describe('fit metrics JSON'),
    })
    .describe('Model bundle'),
});
