import { z } from 'zod';
import { featuresPanel, labels as labelsContract, ohlcvDaily } from '../../contracts/index.ts';
import { artifactRefSchema, defineStepKind, type AnyStepKind, type StepContext } from '../types.ts';
import { StepError } from '../../lib/errors.ts';
import { digestJson } from '../../lib/hash.ts';

/*
 * Point-in-time features and labels (issue 5). The compute modules (DuckDB) are imported inside run()
 * so that validating a pipeline does not load them.
 *
 * Files read besides the upstream artifacts: features.equities reads the YAML named by `with.config`
 * (default configs/features/equities.yml), resolved against the project root and declared through
 * `configFiles` (so its content enters the executor's cache key); its content digest is also part of
 * `registry_digest` and `config_digest`. The labels kinds read no file; they start every label at the
 * fill after the signal's data (`with.entry`, labels/entry.ts) and record the rule in the contract.
 */

export const FEATURES_EQUITIES_VERSION = '1';

const featuresWith = z.strictObject({
  config: z.string().min(1).default('configs/features/equities.yml').describe('feature-set config, relative to the project root'),
  windows: z.record(z.string(), z.number().int().min(2)).default({}).describe('window overrides by feature name as the config defines it, e.g. { mom_5: 10 } (the column becomes mom_10)'),
  normalize: z.boolean().default(true).describe("false: raw (un-normalised) features; true: each feature's cross-sectional normalisation"),
});

/** What features and labels read: the daily OHLCV (the audit's curated view when there is one). */
const ohlcvInput = { ohlcv: { contract: ohlcvDaily, description: 'daily OHLCV bars (the audited curated view when an audit is upstream)' } };

const digestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/);

const featuresOutputs = z.object({
  features: featuresPanel.schema,
  feature_names: z.array(z.string()).min(1).describe('feature columns in registry order'),
  registry: artifactRefSchema.describe('feature registry JSON'),
  registry_digest: digestSchema.describe('digest of the registry body'),
  feature_set_version: z.string().describe('<feature set>@<first 12 hex of registry_digest>: the version models store with them'),
  config_digest: digestSchema.describe('sha256 of the feature-set config file'),
  input_digest: digestSchema.describe('digest of the OHLCV input'),
  n_rows: z.number().int().nonnegative().describe('rows'),
  n_symbols: z.number().int().nonnegative().describe('symbols'),
  n_dates: z.number().int().nonnegative().describe('dates'),
  date_min: z.string().nullable().describe('first date'),
  date_max: z.string().nullable().describe('last date'),
  null_fraction: z.record(z.string(), z.number()).describe('share of NULL values per feature'),
});

/** `features.equities`: the equities feature panel (docs/contracts.md, Features). */
export const featuresEquities = defineStepKind({
  uses: 'features.equities',
  version: FEATURES_EQUITIES_VERSION,
  description:
    'Point-in-time equities features from the audited daily OHLCV: momentum, realised vol, ADV, day-of-week, close z-score, Bollinger distance, overnight gap, drawdown, beta; cross-sectionally normalised per date; writes the feature registry entry',
  with: featuresWith,
  consumes: ohlcvInput,
  outputs: featuresOutputs,
  provides: { features: featuresPanel },
  defaultQueue: 'cpu',
  /** The feature-set YAML enters the cache key: editing it re-runs this step and its dependents. */
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const { checkOhlcvParquet } = await import('../../features/input.ts');
    const { loadFeatureSet } = await import('../../features/config.ts');
    const { computeEquityFeatures } = await import('../../features/equities.ts');
    const { calendarFor } = await import('../../calendar/calendar.ts');
    const { withDuckDB } = await import('../../lib/duckdb.ts');
    const src = ctx.input('ohlcv');
    const set = loadFeatureSet(ctx.projectRoot, w.config, w.windows, calendarFor(src.value.calendar).barsPerYear);
    const input = ctx.artifacts.path(src.value);
    ctx.log.info({ input: src.value.uri, from: src.step, features: set.features.length }, 'computing features');
    ctx.progress({ fraction: 0, message: `features from ${src.step}.${src.output}` });
    const tmp = ctx.artifacts.tempPath('features.parquet');
    const stats = await withDuckDB(async (con) => {
      await checkOhlcvParquet(con, input, ctx.uses);
      return computeEquityFeatures(con, input, tmp, set.features, {
        normalize: w.normalize,
        zscoreClip: set.config.zscore_clip,
        signal: ctx.signal,
        progress: (fraction, message) => ctx.progress({ fraction, message }),
      });
    });
    const featuresRef = await ctx.artifacts.putFile(tmp, { name: 'features.parquet' });

    const body = {
      schema: 'trademl.feature_registry/v1',
      feature_set: set.config.name,
      kind: 'features.equities',
      kind_version: FEATURES_EQUITIES_VERSION,
      config_path: set.config_path,
      config_digest: set.config_digest,
      window_overrides: set.overrides,
      normalized: w.normalize,
      bars_per_year: set.bars_per_year,
      calendar: src.value.calendar,
      zscore_clip: set.config.zscore_clip,
      trading_day: 'one row of the symbol (per-symbol row order)',
      key: ['date', 'symbol'],
      features: set.features.map((f, index) => ({
        index,
        name: f.name,
        kind: f.kind,
        window: f.window,
        normalize: w.normalize ? f.normalize : 'none',
        warmup_rows: f.warmup_rows,
        definition: f.definition,
        sql: f.sql,
        ts: f.ts,
        dtype: 'DOUBLE',
      })),
    };
    const registryDigest = digestJson(body);
    const version = `${set.config.name}@${registryDigest.slice(7, 19)}`;
    const registry = await ctx.artifacts.putJson({ ...body, digest: registryDigest, version }, 'feature_registry.json');
    ctx.progress({ fraction: 1, message: `${stats.n_rows} rows × ${set.features.length} features` });
    const featureNames = set.features.map((f) => f.name);
    return {
      features: { ...featuresRef, feature_names: featureNames, feature_set_version: version, registry, registry_digest: registryDigest, calendar: src.value.calendar },
      feature_names: featureNames,
      registry,
      registry_digest: registryDigest,
      feature_set_version: version,
      config_digest: set.config_digest,
      input_digest: src.value.digest,
      ...stats,
    };
  },
});

/** Longest label horizon accepted, in bars. */
const MAX_HORIZON_BARS = 500;

/** The fill rule of both labels kinds (labels/entry.ts). */
const entryField = z
  .enum(['next_open', 'close'])
  .default('next_open')
  .describe("where the label starts (the fill after the signal's data ≤ close_t): next_open = the next session's open, close = the next session's close (never the signal's own close)");

const horizonWith = z.strictObject({
  horizon: z.number().int().min(1).max(MAX_HORIZON_BARS).default(5).describe('k, the forward horizon in bars (rows of the symbol) from the fill to the exit'),
  entry: entryField,
  demean: z.boolean().default(false).describe("subtract the date's cross-sectional mean forward return from the label"),
});

const labelsCommon = {
  labels: labelsContract.schema,
  kind: z.enum(['regression', 'classification']).describe('task the labels are for'),
  input_digest: digestSchema.describe('digest of the OHLCV input'),
  n_rows: z.number().int().nonnegative().describe('labelled rows'),
  n_symbols: z.number().int().nonnegative().describe('symbols'),
  n_dates: z.number().int().nonnegative().describe('dates'),
  max_horizon_days: z.number().int().positive().describe('longest label interval in bars, date to t1 (the fill bar included): the fit refuses an embargo shorter than this'),
  entry: z.enum(['next_open', 'close']).describe('fill rule the labels start at'),
};

/** `labels.horizon`: k-bar forward log return from the fill (docs/contracts.md, Labels; labels/horizon.ts). */
export const labelsHorizon = defineStepKind({
  uses: 'labels.horizon',
  version: '2',
  description: "k-bar forward log-return label from the fill (default the next session's open, exit k bars later at the same price type; optionally cross-sectionally demeaned) with t1 = the exit date",
  with: horizonWith,
  consumes: ohlcvInput,
  outputs: z.object({
    ...labelsCommon,
    ret_mean: z.number().nullable().describe('mean forward log return'),
    ret_std: z.number().nullable().describe('std of the forward log return'),
    label_mean: z.number().nullable().describe('mean label'),
    label_std: z.number().nullable().describe('std of the label'),
  }),
  provides: { labels: labelsContract },
  defaultQueue: 'cpu',
  async run(ctx, w) {
    const { computeHorizonLabels, horizonLabelBars } = await import('../../labels/horizon.ts');
    const meta = { labels_kind: 'horizon', task: 'regression', max_horizon_bars: horizonLabelBars(w.horizon), entry: w.entry } as const;
    return runLabels(ctx, 'labels.parquet', (con, input, out) => computeHorizonLabels(con, input, out, w), meta);
  },
});

const tripleWith = z.strictObject({
  vol_window: z.number().int().min(2).max(MAX_HORIZON_BARS).default(20).describe('bars of log returns in σ (the barrier unit)'),
  tp_sigma: z.number().nonnegative().default(2).describe('upper (profit-taking) barrier in σ; 0 disables it'),
  sl_sigma: z.number().nonnegative().default(1).describe('lower (stop-loss) barrier in σ; 0 disables it'),
  max_h: z.number().int().min(1).max(63).default(10).describe('vertical barrier: bars (rows of the symbol) held from the fill'),
  tie: z.enum(['sl', 'tp']).default('sl').describe('which barrier wins when one bar touches both (the order inside the bar is unknown)'),
  vertical_label: z.enum(['zero', 'sign']).default('zero').describe('label of a vertical-barrier exit: 0, or the sign of the return at the vertical barrier'),
  entry: entryField,
});

/** `labels.triple_barrier`: López de Prado's triple-barrier label entered at the fill (docs/contracts.md, Labels; labels/triple_barrier.ts). */
export const labelsTripleBarrier = defineStepKind({
  uses: 'labels.triple_barrier',
  version: '2',
  description: "Triple-barrier labels (López de Prado ch. 3) entered at the fill (default the next session's open): ±σ-scaled profit-taking/stop-loss barriers on daily open/high/low from the fill bar on, vertical barrier max_h bars after the fill; label ∈ {−1, 0, +1}",
  with: tripleWith,
  consumes: ohlcvInput,
  outputs: z.object({
    ...labelsCommon,
    label_counts: z.record(z.string(), z.number().int()).describe('rows per label value'),
    label_fractions: z.record(z.string(), z.number()).describe('share of rows per label value'),
    barrier_counts: z.record(z.string(), z.number().int()).describe('rows per barrier touched first (tp, sl, vertical)'),
    mean_holding_days: z.number().nullable().describe('mean bars from date to t1'),
    ret_mean: z.number().nullable().describe('mean realised log return to t1'),
  }),
  provides: { labels: labelsContract },
  defaultQueue: 'cpu',
  async run(ctx, w) {
    const { computeTripleBarrierLabels, tripleBarrierLabelBars } = await import('../../labels/triple_barrier.ts');
    const meta = { labels_kind: 'triple_barrier', task: 'classification', max_horizon_bars: tripleBarrierLabelBars(w.max_h, w.entry), entry: w.entry } as const;
    return runLabels(ctx, 'labels.parquet', (con, input, out) => computeTripleBarrierLabels(con, input, out, w), meta);
  },
});

/** Computes a labels Parquet from the bound OHLCV input and returns the step's outputs. */
async function runLabels<S extends object>(
  ctx: StepContext<typeof ohlcvInput>,
  name: string,
  compute: (con: import('@duckdb/node-api').DuckDBConnection, input: string, output: string) => Promise<S>,
  meta: { labels_kind: 'horizon' | 'triple_barrier'; task: 'regression' | 'classification'; max_horizon_bars: number; entry: 'next_open' | 'close' },
) {
  const { checkOhlcvParquet } = await import('../../features/input.ts');
  const { withDuckDB } = await import('../../lib/duckdb.ts');
  const src = ctx.input('ohlcv');
  const input = ctx.artifacts.path(src.value);
  ctx.progress({ fraction: 0, message: `labels from ${src.step}.${src.output}` });
  const tmp = ctx.artifacts.tempPath(name);
  const stats = await withDuckDB(async (con) => {
    await checkOhlcvParquet(con, input, ctx.uses);
    if (ctx.signal.aborted) throw new StepError({ message: `${ctx.uses} cancelled`, type: 'Cancelled', nonRetryable: true });
    return compute(con, input, tmp);
  });
  const ref = await ctx.artifacts.putFile(tmp, { name });
  ctx.progress({ fraction: 1, message: `${(stats as { n_rows?: number }).n_rows ?? 0} labels` });
  return { ...stats, kind: meta.task, max_horizon_days: meta.max_horizon_bars, entry: meta.entry, labels: { ...ref, ...meta, calendar: src.value.calendar }, input_digest: src.value.digest };
}

/** Step kinds of this concern, registered in kinds/registry.ts. */
export const kinds: AnyStepKind[] = [featuresEquities, labelsHorizon, labelsTripleBarrier];
