import { z } from 'zod';
import { defineStepKind, artifactRefSchema } from '../types.ts';
import { StepError, UserError, errorMessage } from '../../lib/errors.ts';
import type { StepContext } from '../types.ts';
import { digestJson } from '../../lib/hash.ts';

/**
 * `portfolio.build`: stacked OOF scores (or a single sleeve's `pred`) → target weights per
 * (path, date, symbol) following configs/portfolio.yml. Output: Portfolio contract Parquet.
 */
export const portfolioBuild = defineStepKind({
  uses: 'portfolio.build',
  version: '2',
  description: 'OOF scores → rank z-score book with per-name/gross/net caps, fractional Kelly and vol targeting (configs/portfolio.yml)',
  with: z
    .object({
      /** Portfolio config file, relative to the project root. */
      portfolio: z.string().default('configs/portfolio.yml'),
      /**
       * Optional offline-RL sizing policy to apply: the ONNX artifact (ref or `artifact://` URI) of a
       * policy that `rl.ope` accepted (its `policy_onnx` output, e.g. from an earlier run). Each
       * date's target book is scaled by the policy's gross-exposure multiplier.
       */
      rl_policy: z.union([artifactRefSchema, z.string().startsWith('artifact://')]).optional(),
      /** RL config the policy was trained with (state features, action buckets). */
      rl_config: z.string().default('configs/rl.yml'),
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
    /** Mean RL exposure multiplier per path (present when `rl_policy` was applied). */
    rl_multiplier_mean: z.record(z.string(), z.number()).optional(),
  }),
  configFiles: (w) => (w.rl_policy ? [w.portfolio, w.rl_config] : [w.portfolio]),
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
      let tmp = ctx.artifacts.tempPath('weights.parquet');
      let n = await writeWeightsParquet(con, tmp, weights, panel);
      let rlMultiplier: Record<string, number> | undefined;
      if (w.rl_policy) {
        ctx.progress({ fraction: 0.8, message: 'applying the RL sizing policy' });
        const oof = src.uses === "stack.oof" ? (ctx.ancestors[src.id]!.outputs.oof as { uri: string } | undefined) : undefined;
        rlMultiplier = await applyRlPolicy(ctx, w.rl_policy, w.rl_config, { weights: tmp, ohlcv: ctx.artifacts.path(curated), oof: oof ? ctx.artifacts.path(oof.uri) : undefined }, weights, panel.dates, panel.N);
        const scaled = ctx.artifacts.tempPath('weights.parquet');
        n = await writeWeightsParquet(con, scaled, weights, panel);
        tmp = scaled;
      }
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
        ...(rlMultiplier ? { rl_multiplier_mean: rlMultiplier } : {}),
      };
    });
  },
});

/**
 * Scales each path's target weights in place by the exposure multiplier an accepted RL policy
 * chooses on each date (rl/apply.ts: states built exactly as in rl.dataset from the base book).
 * Dates the policy does not cover keep multiplier 1. Returns the mean multiplier per path.
 * Throws a non-retryable StepError when the policy does not fit the RL config's actions/states.
 */
async function applyRlPolicy(
  ctx: StepContext,
  policy: { uri: string } | string,
  rlConfig: string,
  sources: { weights: string; ohlcv: string; oof?: string },
  weights: Map<number, Float64Array>,
  dates: string[],
  N: number,
): Promise<Record<string, number>> {
  const { loadRlConfig } = await import('../../rl/config.ts');
  const { loadBooks } = await import('../../rl/book.ts');
  const { applyPolicyOnnx } = await import('../../rl/apply.ts');
  const rl = loadRlConfig(ctx.projectRoot, rlConfig);
  const { books } = await loadBooks(sources, rl.env, { maxPaths: weights.size });
  let applied;
  try {
    applied = await applyPolicyOnnx(books, ctx.artifacts.path(typeof policy === 'string' ? policy : policy.uri), rl.env);
  } catch (e) {
    throw new StepError({ message: `rl_policy cannot be applied with ${rlConfig}: ${errorMessage(e)}`, type: 'RlPolicyMismatch', nonRetryable: true });
  }
  const index = new Map(dates.map((d, t) => [d, t]));
  const mean: Record<string, number> = {};
  for (const a of applied) {
    const W = weights.get(a.path);
    if (!W) continue;
    let sum = 0;
    a.dates.forEach((d, k) => {
      const t = index.get(d);
      if (t === undefined) return;
      const m = a.multiplier[k]!;
      sum += m;
      for (let i = 0; i < N; i++) W[t * N + i] = W[t * N + i]! * m;
    });
    mean[String(a.path)] = a.dates.length ? sum / a.dates.length : 1;
  }
  return mean;
}
