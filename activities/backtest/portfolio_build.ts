import { z } from 'zod';
import { defineStepKind, artifactRefSchema } from '../types.ts';
import { UserError } from '../../lib/errors.ts';
import { digestJson } from '../../lib/hash.ts';

/**
 * `portfolio.build`: stacked OOF scores (or a single sleeve's `pred`) → target weights per
 * (path, date, symbol) following configs/portfolio.yml. Output: Portfolio contract Parquet.
 */
export const portfolioBuild = defineStepKind({
  uses: 'portfolio.build',
  version: '1',
  description: 'OOF scores → rank z-score book with per-name/gross/net caps, fractional Kelly and vol targeting (configs/portfolio.yml)',
  with: z
    .object({
      /** Portfolio config file, relative to the project root. */
      portfolio: z.string().default('configs/portfolio.yml'),
    })
    .strict(),
  outputs: z.object({
    weights: artifactRefSchema,
    n_paths: z.number().int(),
    n_rows: z.number().int(),
    paths: z.array(z.number().int()),
    source: z.object({ uses: z.string(), step_id: z.string() }),
    config_digest: z.string(),
    mean_leverage: z.record(z.string(), z.number()),
    dropped_rows: z.number().int(),
  }),
  configFiles: (w) => [w.portfolio],
  async run(ctx, w) {
    const { withDuckDB } = await import('../../lib/duckdb.ts');
    const { loadYamlConfig, portfolioConfigSchema } = await import('../../portfolio/config.ts');
    const { riskInputs } = await import('../../execution/cost_models.ts');
    const { loadPanel, writeWeightsParquet } = await import('../../backtest/io.ts');
    const { curatedRef } = await import('./common.ts');
    const { pickSource, loadSignal, weightsFromScores } = await import('./run_paths.ts');
    const cfg = loadYamlConfig(ctx.projectRoot, w.portfolio, portfolioConfigSchema);
    const src = pickSource(ctx);
    if (src.uses === 'portfolio.build') throw new UserError('portfolio.build cannot take another portfolio.build as its source');
    const curated = curatedRef(ctx);
    return withDuckDB(async (con) => {
      ctx.progress({ fraction: 0.05, message: 'loading prices' });
      const panel = await loadPanel(con, ctx.artifacts.path(curated));
      const risk = riskInputs(panel);
      ctx.progress({ fraction: 0.3, message: `loading ${src.uses} scores` });
      const { paths, dropped } = await loadSignal(con, ctx, src, panel);
      if (paths.size === 0) throw new UserError(`${src.uses} step ${src.id} has no OOF rows on the price calendar`);
      ctx.progress({ fraction: 0.5, message: `building ${paths.size} path portfolios` });
      const { weights, meanLeverage } = weightsFromScores(paths, panel, risk, cfg);
      const tmp = ctx.artifacts.tempPath('weights.parquet');
      const n = await writeWeightsParquet(con, tmp, weights, panel);
      const ref = await ctx.artifacts.putFile(tmp, { name: 'weights.parquet' });
      ctx.progress({ fraction: 1, message: `${n} weights` });
      return {
        weights: ref,
        n_paths: weights.size,
        n_rows: n,
        paths: [...weights.keys()].sort((a, b) => a - b),
        source: { uses: src.uses, step_id: src.id },
        config_digest: digestJson(cfg),
        mean_leverage: meanLeverage,
        dropped_rows: dropped,
      };
    });
  },
});
