import { z } from 'zod';
import { artifactRefSchema, defineStepKind, type StepContext, type StepKind } from '../types.ts';
import { StepError } from '../../lib/errors.ts';
import { digestJson } from '../../lib/hash.ts';

/*
 * Point-in-time features and labels (issue 5). The compute modules (DuckDB) are imported inside run()
 * so that validating a pipeline does not load them.
 *
 * Files read besides the upstream artifacts: features.equities reads the YAML named by `with.config`
 * (default configs/features/equities.yml), resolved against the project root and declared through
 * `configFiles` (so its content enters the executor's cache key); its content digest is also part of
 * `registry_digest` and `config_digest`. The labels kinds read no file.
 */

export const FEATURES_EQUITIES_VERSION = '1';

const featuresWith = z.strictObject({
  /** Feature-set config, relative to the project root. */
  config: z.string().min(1).default('configs/features/equities.yml'),
  /** Window overrides by feature name as the config defines it, e.g. `{ mom_5: 10 }` (the column becomes mom_10). */
  windows: z.record(z.string(), z.number().int().min(2)).default({}),
  /** false: write raw (un-normalised) features; true: each feature's cross-sectional normalisation. */
  normalize: z.boolean().default(true),
});

const digestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/);

const featuresOutputs = z.object({
  features: artifactRefSchema,
  feature_names: z.array(z.string()).min(1),
  registry: artifactRefSchema,
  registry_digest: digestSchema,
  /** `<feature set>@<first 12 hex of registry_digest>`: the version models store with them. */
  feature_set_version: z.string(),
  config_digest: digestSchema,
  input_digest: digestSchema,
  n_rows: z.number().int().nonnegative(),
  n_symbols: z.number().int().nonnegative(),
  n_dates: z.number().int().nonnegative(),
  date_min: z.string().nullable(),
  date_max: z.string().nullable(),
  null_fraction: z.record(z.string(), z.number()),
});

/** `features.equities`: the equities feature panel (docs/contracts.md, Features). */
export const featuresEquities = defineStepKind({
  uses: 'features.equities',
  version: FEATURES_EQUITIES_VERSION,
  description:
    'Point-in-time equities features from the audited daily OHLCV: momentum, realised vol, ADV, day-of-week, close z-score, Bollinger distance, overnight gap, drawdown, beta; cross-sectionally normalised per date; writes the feature registry entry',
  with: featuresWith,
  outputs: featuresOutputs,
  defaultQueue: 'cpu',
  /** The feature-set YAML enters the cache key: editing it re-runs this step and its dependents. */
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const { resolveOhlcvInput, checkOhlcvParquet } = await import('../../features/input.ts');
    const { loadFeatureSet } = await import('../../features/config.ts');
    const { computeEquityFeatures } = await import('../../features/equities.ts');
    const { withDuckDB } = await import('../../lib/duckdb.ts');
    const set = loadFeatureSet(ctx.projectRoot, w.config, w.windows);
    const src = resolveOhlcvInput(ctx);
    const input = ctx.artifacts.path(src.ref);
    ctx.log.info({ input: src.ref.uri, from: src.step, features: set.features.length }, 'computing features');
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
    const features = await ctx.artifacts.putFile(tmp, { name: 'features.parquet' });

    const body = {
      schema: 'trademl.feature_registry/v1',
      feature_set: set.config.name,
      kind: 'features.equities',
      kind_version: FEATURES_EQUITIES_VERSION,
      config_path: set.config_path,
      config_digest: set.config_digest,
      window_overrides: set.overrides,
      normalized: w.normalize,
      annualisation_days: set.config.annualisation_days,
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
    return {
      features,
      feature_names: set.features.map((f) => f.name),
      registry,
      registry_digest: registryDigest,
      feature_set_version: version,
      config_digest: set.config_digest,
      input_digest: src.ref.digest,
      ...stats,
    };
  },
});

const horizonWith = z.strictObject({
  /** k, the forward horizon in trading days (rows of the symbol). */
  horizon: z.number().int().min(1).max(252).default(5),
  /** Subtract the date's cross-sectional mean forward return from the label. */
  demean: z.boolean().default(false),
});

const labelsCommon = {
  labels: artifactRefSchema,
  kind: z.enum(['regression', 'classification']),
  input_digest: digestSchema,
  n_rows: z.number().int().nonnegative(),
  n_symbols: z.number().int().nonnegative(),
  n_dates: z.number().int().nonnegative(),
  /** Longest look-ahead of a label in trading days (rows): purging/embargo use it. */
  max_horizon_days: z.number().int().positive(),
};

/** `labels.horizon`: k-day forward log return (docs/contracts.md, Labels). */
export const labelsHorizon = defineStepKind({
  uses: 'labels.horizon',
  version: '1',
  description: 'k-day forward log-return label (optionally cross-sectionally demeaned) with t1 = end of the label window',
  with: horizonWith,
  outputs: z.object({
    ...labelsCommon,
    ret_mean: z.number().nullable(),
    ret_std: z.number().nullable(),
    label_mean: z.number().nullable(),
    label_std: z.number().nullable(),
  }),
  defaultQueue: 'cpu',
  async run(ctx, w) {
    const { computeHorizonLabels } = await import('../../labels/horizon.ts');
    return runLabels(ctx, 'labels.parquet', (con, input, out) => computeHorizonLabels(con, input, out, w), {
      kind: 'regression' as const,
      max_horizon_days: w.horizon,
    });
  },
});

const tripleWith = z
  .strictObject({
    /** Rows of daily log returns in σ (the barrier unit). */
    vol_window: z.number().int().min(2).max(252).default(20),
    /** Upper barrier in σ; 0 disables it. */
    tp_sigma: z.number().nonnegative().default(2),
    /** Lower barrier in σ; 0 disables it. */
    sl_sigma: z.number().nonnegative().default(1),
    /** Vertical barrier in trading days (rows of the symbol). */
    max_h: z.number().int().min(1).max(63).default(10),
    /** Which barrier wins when one daily bar touches both (the order inside the day is unknown). */
    tie: z.enum(['sl', 'tp']).default('sl'),
    /** Label of a vertical-barrier exit: 0, or the sign of the return at the vertical barrier. */
    vertical_label: z.enum(['zero', 'sign']).default('zero'),
  });

/** `labels.triple_barrier`: López de Prado's triple-barrier label (docs/contracts.md, Labels). */
export const labelsTripleBarrier = defineStepKind({
  uses: 'labels.triple_barrier',
  version: '1',
  description: 'Triple-barrier labels (López de Prado ch. 3): ±σ-scaled profit-taking/stop-loss barriers on daily high/low, vertical barrier max_h; label ∈ {−1, 0, +1}',
  with: tripleWith,
  outputs: z.object({
    ...labelsCommon,
    label_counts: z.record(z.string(), z.number().int()),
    label_fractions: z.record(z.string(), z.number()),
    barrier_counts: z.record(z.string(), z.number().int()),
    mean_holding_days: z.number().nullable(),
    ret_mean: z.number().nullable(),
  }),
  defaultQueue: 'cpu',
  async run(ctx, w) {
    const { computeTripleBarrierLabels } = await import('../../labels/triple_barrier.ts');
    return runLabels(ctx, 'labels.parquet', (con, input, out) => computeTripleBarrierLabels(con, input, out, w), {
      kind: 'classification' as const,
      max_horizon_days: w.max_h,
    });
  },
});

async function runLabels<S extends object, E extends object>(
  ctx: StepContext,
  name: string,
  compute: (con: import('@duckdb/node-api').DuckDBConnection, input: string, output: string) => Promise<S>,
  extra: E,
): Promise<S & E & { labels: import('../../artifacts/store.ts').ArtifactRef; input_digest: string }> {
  const { resolveOhlcvInput, checkOhlcvParquet } = await import('../../features/input.ts');
  const { withDuckDB } = await import('../../lib/duckdb.ts');
  const src = resolveOhlcvInput(ctx);
  const input = ctx.artifacts.path(src.ref);
  ctx.progress({ fraction: 0, message: `labels from ${src.step}.${src.output}` });
  const tmp = ctx.artifacts.tempPath(name);
  const stats = await withDuckDB(async (con) => {
    await checkOhlcvParquet(con, input, ctx.uses);
    if (ctx.signal.aborted) throw new StepError({ message: `${ctx.uses} cancelled`, type: 'Cancelled', nonRetryable: true });
    return compute(con, input, tmp);
  });
  const labels = await ctx.artifacts.putFile(tmp, { name });
  ctx.progress({ fraction: 1, message: `${(stats as { n_rows?: number }).n_rows ?? 0} labels` });
  return { ...stats, ...extra, labels, input_digest: src.ref.digest };
}

/** Step kinds of this concern, registered in kinds/registry.ts. */
export const kinds: StepKind[] = [featuresEquities, labelsHorizon, labelsTripleBarrier] as unknown as StepKind[];
