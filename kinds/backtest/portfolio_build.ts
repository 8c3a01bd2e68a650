import { z } from 'zod';
import { ohlcvDaily, portfolioWeights, signalsOof, sizingPolicy, type ContractValue } from '../../contracts/index.ts';
import { InputError, StepError, errorMessage } from '../../lib/errors.ts';
import { digestJson } from '../../lib/hash.ts';
import type { TradingCalendar } from '../../calendar/calendar.ts';
import { defineStepKind, type Input, type StepContext } from '../types.ts';

const consumes = {
  signal: { contract: signalsOof, description: 'the OOF signal the book is built from (e.g. the stack, or a single sleeve)' },
  ohlcv: { contract: ohlcvDaily, description: 'daily prices: closes for the book, returns for Kelly and vol targeting' },
  sizing: {
    contract: sizingPolicy,
    optional: true,
    description: "a sizing policy decided by off-policy evaluation: when it kept the learned policy, each date's book is scaled by the policy's exposure multiplier",
  },
};

/**
 * `portfolio.build`: the OOF scores of one signal → target weights per (path, date, symbol) following
 * configs/portfolio.yml (portfolio/construct.ts), optionally scaled by an accepted RL sizing policy.
 * Output: the portfolio.weights contract (Parquet, calendar of the prices, source signal).
 */
export const portfolioBuild = defineStepKind({
  uses: 'portfolio.build',
  version: '4',
  description: 'OOF scores → rank z-score book with per-name/gross/net caps, fractional Kelly and vol targeting (configs/portfolio.yml), optionally scaled by an accepted sizing policy',
  with: z
    .object({
      portfolio: z.string().default('configs/portfolio.yml').describe('portfolio config file, relative to the project root'),
      costs: z.string().default('configs/costs.yml').describe('transaction-cost config: the held book is sized on its returns net of these costs'),
    })
    .strict(),
  consumes,
  provides: { weights: portfolioWeights },
  outputs: z.object({
    weights: portfolioWeights.schema,
    n_paths: z.number().int().describe('paths with weights (CPCV paths and the walk-forward path 0)'),
    n_rows: z.number().int().describe('non-zero weight rows written'),
    paths: z.array(z.number().int()).describe('path ids, ascending'),
    config_digest: z.string().describe('digest of the resolved portfolio config'),
    mean_leverage: z.record(z.string(), z.number()).describe('mean multiplier of the base book per path, over dates with a position'),
    dropped_rows: z.number().int().describe('OOF rows dropped because their date or symbol has no price'),
    sizing: z.enum(['none', 'baseline', 'learned']).describe('sizing applied: none bound, the baseline kept (weights unscaled), or the learned policy'),
    rl_multiplier_mean: z.record(z.string(), z.number()).optional().describe('mean exposure multiplier of the learned sizing policy per path (when applied)'),
  }),
  configFiles: (w) => [w.portfolio, w.costs],
  async run(ctx, w) {
    const { withDuckDB } = await import('../../lib/duckdb.ts');
    const { loadConfig } = await import('../../lib/config.ts');
    const { portfolioConfigSchema } = await import('../../portfolio/config.ts');
    const { riskInputs, costConfigSchema } = await import('../../execution/cost_models.ts');
    const { loadPanel, writeWeightsParquet } = await import('../../backtest/io.ts');
    const { sharedCalendar, loadSignal, weightsFromScores } = await import('./run_paths.ts');
    const cfg = loadConfig(ctx.projectRoot, w.portfolio, portfolioConfigSchema);
    const costs = loadConfig(ctx.projectRoot, w.costs, costConfigSchema);
    const signal = ctx.input('signal');
    const ohlcv = ctx.input('ohlcv');
    const sizing = ctx.maybeInput('sizing');
    const cal = sharedCalendar([ohlcv, signal]);
    return withDuckDB(async (con) => {
      ctx.progress({ fraction: 0.05, message: 'loading prices' });
      const panel = await loadPanel(con, ctx.artifacts.path(ohlcv.value));
      const risk = riskInputs(panel, costs.impact.sigma_window, costs.impact.adv_window);
      ctx.progress({ fraction: 0.3, message: `loading the scores of ${signal.step}` });
      const { paths, dropped } = await loadSignal(con, ctx.artifacts, signal, panel);
      if (paths.size === 0) throw new InputError({ message: `signal of step ${signal.step} (sleeve ${signal.value.sleeve}) has no OOF rows on the price calendar` });
      ctx.progress({ fraction: 0.5, message: `building ${paths.size} path portfolios` });
      const { weights, meanLeverage } = weightsFromScores(paths, panel, risk, cfg, cal, costs);
      let tmp = ctx.artifacts.tempPath('weights.parquet');
      let n = await writeWeightsParquet(con, tmp, weights, panel);
      let rlMultiplier: Record<string, number> | undefined;
      const learned = sizing && sizing.value.policy === 'learned' && sizing.value.onnx ? sizing : undefined;
      if (learned) {
        ctx.progress({ fraction: 0.8, message: `applying the sizing policy of ${learned.step}` });
        const sources = { weights: tmp, ohlcv: ctx.artifacts.path(ohlcv.value), oof: ctx.artifacts.path(signal.value.oof) };
        rlMultiplier = await applyRlPolicy(ctx, learned, sources, cal, weights, panel.dates, panel.N);
        tmp = ctx.artifacts.tempPath('weights.parquet');
        n = await writeWeightsParquet(con, tmp, weights, panel);
      }
      const ref = await ctx.artifacts.putFile(tmp, { name: 'weights.parquet' });
      const ids = [...weights.keys()].sort((a, b) => a - b);
      ctx.progress({ fraction: 1, message: `${n} weights` });
      return {
        weights: { ...ref, calendar: cal.name, paths: ids, source: { step: signal.step, sleeve: signal.value.sleeve } },
        n_paths: weights.size,
        n_rows: n,
        paths: ids,
        config_digest: digestJson(cfg),
        mean_leverage: meanLeverage,
        dropped_rows: dropped,
        sizing: learned ? ('learned' as const) : sizing ? ('baseline' as const) : ('none' as const),
        ...(rlMultiplier ? { rl_multiplier_mean: rlMultiplier } : {}),
      };
    });
  },
});

/**
 * Scales each path's target weights in place by the exposure multiplier the learned sizing policy
 * chooses on each date (rl/apply.ts: states built exactly as in rl.dataset from the base book, with
 * the environment the policy was trained in, read from the OPE report of the sizing input).
 * Dates the policy does not cover keep multiplier 1. Returns the mean multiplier per path.
 * Throws InputError when the sizing input does not record its environment, a non-retryable
 * StepError('RlPolicyMismatch') when the policy does not fit that environment's actions/states.
 */
async function applyRlPolicy(
  ctx: StepContext,
  sizing: Input<ContractValue<typeof sizingPolicy>>,
  sources: { weights: string; ohlcv: string; oof: string },
  cal: TradingCalendar,
  weights: Map<number, Float64Array>,
  dates: string[],
  N: number,
): Promise<Record<string, number>> {
  const { rlConfigSchema } = await import('../../rl/config.ts');
  const { loadBooks } = await import('../../rl/book.ts');
  const { applyPolicyOnnx } = await import('../../rl/apply.ts');
  const report = ctx.artifacts.readJson<{ env?: unknown }>(sizing.value.report);
  const env = rlConfigSchema.shape.env.safeParse(report.env);
  if (report.env === undefined || !env.success) {
    throw new InputError({ message: `sizing policy of step ${sizing.step} (${sizing.uses}) does not record the RL environment it was trained in (report.env); it cannot be applied` });
  }
  const { books } = await loadBooks(sources, env.data, { maxPaths: weights.size, calendar: cal });
  let applied;
  try {
    applied = await applyPolicyOnnx(books, ctx.artifacts.path(sizing.value.onnx!), env.data);
  } catch (e) {
    throw new StepError({ message: `sizing policy of step ${sizing.step} cannot be applied in its recorded environment: ${errorMessage(e)}`, type: 'RlPolicyMismatch', nonRetryable: true, cause: e });
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
