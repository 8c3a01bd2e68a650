/**
 * `options.features`: the 16 point-in-time options features per date (options/features/: chain
 * snapshot of each date + trailing series of NIFTY closes and earlier snapshots), as `options.features`
 * in their own units, and as a one-symbol `features.panel` (symbol = the underlying, calendar nse)
 * of expanding z-scores (options/features/standardise.ts) that a learner can train on.
 */
import { z } from 'zod';
import { featuresPanel, ohlcvDaily } from '../../contracts/index.ts';
import { optionsFeatures, optionsIv } from '../../contracts/options.ts';
import { artifactRefSchema, defineStepKind } from '../types.ts';

export const optionsFeaturesKind = defineStepKind({
  uses: 'options.features',
  version: '1',
  description: 'The 16 point-in-time options features per date (ATM IV, 25Δ skew, PCRs, term slope, VRP, dealer gamma, theta, z-scores, walls, max pain, contango) and their expanding z-scores as a features panel',
  with: z.strictObject({
    nifty_symbol: z.string().default('NIFTY 50').describe('symbol of the underlying in the ohlcv.daily input (realised vol, VRP)'),
    panel_symbol: z.string().default('NIFTY').describe('symbol column of the features panel'),
    min_obs: z.number().int().min(2).default(20).describe('dates before an expanding z-score of the panel is defined'),
  }),
  consumes: {
    iv: { contract: optionsIv, description: 'implied vols and greeks per contract' },
    index: { contract: ohlcvDaily, description: 'daily closes of the underlying (20-day realised vol)' },
  },
  provides: { features: optionsFeatures, panel: featuresPanel },
  outputs: z.object({
    features: optionsFeatures.schema,
    panel: featuresPanel.schema,
    dates: z.number().int().describe('feature dates'),
    nan_counts: z.record(z.string(), z.number().int()).describe('dates on which each feature is NaN'),
    registry: artifactRefSchema.describe('feature registry JSON of the panel'),
  }),
  async run(ctx, w) {
    const { computeOptionsFeatures } = await import('../../options/features/compute.ts');
    const { chainSnapshot } = await import('../../options/features/snapshot.ts');
    const { FEATURE_DEFINITIONS, OPTIONS_FEATURES } = await import('../../options/features/definitions.ts');
    const { standardiseFeatures } = await import('../../options/features/standardise.ts');
    const { digestJson } = await import('../../lib/hash.ts');
    const { readCloses, readIvHistory, writeFeatureTable } = await import('./io.ts');
    const { writeParquet } = await import('./tables.ts');
    const index = ctx.input('index');
    const history = await readIvHistory(ctx.artifacts, ctx.input('iv').value);
    const nifty = (await readCloses(ctx.artifacts.path(index.value), [w.nifty_symbol], index.step))[w.nifty_symbol]!;
    ctx.progress({ fraction: 0.3, message: `features of ${history.length} dates` });
    const rows = computeOptionsFeatures(history.map(chainSnapshot), nifty);
    const spot = new Map(history.map((h) => [h.date, h.spot]));
    const table = await writeFeatureTable(ctx.artifacts, rows, spot);
    const z = standardiseFeatures(rows, w.min_obs);
    const names = [...OPTIONS_FEATURES];
    const panelRef = await writeParquet(ctx.artifacts, 'options_features_panel.parquet', [
      { name: 'date', type: 'DATE', values: z.map((r) => r.date) },
      { name: 'symbol', type: 'VARCHAR', values: z.map(() => w.panel_symbol) },
      ...names.map((f) => ({ name: f, type: 'DOUBLE' as const, values: z.map((r) => r.z[f]) })),
    ], ['date', 'symbol']);
    const body = {
      feature_set: 'options_vol', symbol: w.panel_symbol, calendar: 'nse', key: ['date', 'symbol'],
      transform: `expanding z-score over dates ≤ t (options/features/standardise.ts), defined from ${w.min_obs} finite values`,
      features: names.map((name, i) => ({ index: i, name, definition: FEATURE_DEFINITIONS[name], normalize: 'expanding_z', dtype: 'DOUBLE' })),
    };
    const digest = digestJson(body);
    const version = `options_vol@${digest.slice(7, 19)}`;
    const registry = await ctx.artifacts.putJson({ ...body, digest, version }, 'options_feature_registry.json');
    const nan: Record<string, number> = {};
    for (const f of names) nan[f] = rows.filter((r) => !Number.isFinite(r.values[f])).length;
    return {
      features: { calendar: 'nse', table, feature_names: names, definitions: { ...FEATURE_DEFINITIONS }, dates: rows.length },
      panel: { ...panelRef, feature_names: names, feature_set_version: version, registry, registry_digest: digest, calendar: 'nse' },
      dates: rows.length, nan_counts: nan, registry,
    };
  },
});
