import { z } from 'zod';
import { ohlcvDaily, portfolioWeights, signalsOof, sizingPolicy, type ContractValue } from '../../contracts/index.ts';
import { InputError, StepError, errorMessage } from '../../lib/errors.ts';
import { digestJson } from '../../lib/hash.ts';
import type { TradingCalendar } from '../../calendar/calendar.ts';
import type { PortfolioConfig } from '../../portfolio/config.ts';
import type { CostRates } from '../../rl/env.ts';
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
    at_max_leverage: z.record(z.string(), z.number()).describe('share of those dates at max_leverage per path: the vol target was out of reach there'),
    dropped_rows: z.number().int().describe('OOF rows dropped because their date or symbol has no price'),
    sizing: z.enum(['none', 'baseline', 'learned']).describe('sizing applied: none bound, the baseline kept (weights unscaled), or the learned policy'),
    rl_multiplier_mean: z.record(z.string(), z.number()).optional().describe('mean exposure multiplier of the learned sizing policy per path over the dates after its training window (when applied)'),
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
      const { weights, meanLeverage, atMaxLeverage } = weightsFromScores(paths, panel, risk, cfg, cal, costs);
      let tmp = ctx.artifacts.tempPath('weights.parquet');
      let n = await writeWeightsParquet(con, tmp, weights, panel);
      let rlMultiplier: Record<string, number> | undefined;
      const learned = sizing && sizing.value.policy === 'learned' && sizing.value.onnx ? sizing : undefined;
      if (learned) {
        ctx.progress({ fraction: 0.8, message: `applying the sizing policy of ${learned.step}` });
        const sources = { weights: tmp, ohlcv: ctx.artifacts.path(ohlcv.value), oof: ctx.artifacts.path(signal.value.oof) };
        rlMultiplier = await applyRlPolicy(ctx, learned, sources, { cal, cfg, weights, dates: panel.dates, N: panel.N });
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
        at_max_leverage: atMaxLeverage,
        dropped_rows: dropped,
        sizing: learned ? ('learned' as const) : sizing ? ('baseline' as const) : ('none' as const),
        ...(rlMultiplier ? { rl_multiplier_mean: rlMultiplier } : {}),
      };
    });
  },
});

/**
 * Scales each path's target weights in place by the exposure multiplier the learned sizing policy
 * chooses on each date after its training window (rl/apply.ts; the dataset's `split.train_end`:
 * dates up to it keep the baseline book, multiplier 1), with states built exactly as in rl.dataset
 * from the base book, the environment and the cost rates the policy was trained with (the dataset
 * meta the sizing input records). After scaling the caps hold again: |w| ≤ per_name_cap and
 * Σ|w| ≤ max_leverage·gross (the row scaled down). Returns the mean multiplier per path over the dates
 * the policy acted on. Throws InputError when the sizing input's dataset meta lacks the environment,
 * a non-retryable StepError('RlPolicyMismatch') when the policy does not fit its actions/states.
 */
async function applyRlPolicy(
  ctx: StepContext,
  sizing: Input<ContractValue<typeof sizingPolicy>>,
  sources: { weights: string; ohlcv: string; oof: string },
  o: { cal: TradingCalendar; cfg: PortfolioConfig; weights: Map<number, Float64Array>; dates: string[]; N: number },
): Promise<Record<string, number>> {
  const { rlConfigSchema } = await import('../../rl/config.ts');
  const { loadBooks } = await import('../../rl/book.ts');
  const { applyPolicyOnnx } = await import('../../rl/apply.ts');
  const meta = ctx.artifacts.readJson<{ env?: unknown; split?: { train_end?: string }; diagnostics?: { costs?: Record<string, CostRates> } }>(sizing.value.env);
  const env = rlConfigSchema.shape.env.safeParse(meta.env);
  const trainEnd = meta.split?.train_end;
  if (meta.env === undefined || !env.success || !trainEnd) {
    throw new InputError({ message: `sizing policy of step ${sizing.step} (${sizing.uses}): its dataset meta does not record the RL environment and training window it was trained in; it cannot be applied` });
  }
  const { books } = await loadBooks(sources, env.data, { maxPaths: o.weights.size, calendar: o.cal, costs: meta.diagnostics?.costs });
  let applied;
  try {
    applied = await applyPolicyOnnx(books, ctx.artifacts.path(sizing.value.onnx!), env.data, { after: trainEnd });
  } catch (e) {
    throw new StepError({ message: `sizing policy of step ${sizing.step} cannot be applied in its recorded environment: ${errorMessage(e)}`, type: 'RlPolicyMismatch', nonRetryable: true, cause: e });
  }
  const index = new Map(o.dates.map((d, t) => [d, t]));
  const mean: Record<string, number> = {};
  for (const a of applied) {
    const W = o.weights.get(a.path);
    if (!W) continue;
    let sum = 0;
    let n = 0;
    a.dates.forEach((d, k) => {
      const t = index.get(d);
      if (t === undefined || d <= trainEnd) return;
      sum += a.multiplier[k]!;
      n++;
      scaleRow(W.subarray(t * o.N, (t + 1) * o.N), a.multiplier[k]!, o.cfg);
    });
    mean[String(a.path)] = n ? sum / n : 1;
  }
  return mean;
}

/** Multiplies one date's weights by m, then re-applies the caps: |w| ≤ per_name_cap, Σ|w| ≤ max_leverage·gross. */
export function scaleRow(row: Float64Array, m: number, cfg: PortfolioConfig): void {
  const cap = cfg.per_name_cap;
  let gross = 0;
  for (let i = 0; i < row.length; i++) {
    const w = Math.max(-cap, Math.min(cap, row[i]! * m));
    row[i] = w;
    gross += Math.abs(w);
  }
  const limit = cfg.max_leverage * cfg.gross;
  if (gross > limit) for (let i = 0; i < row.length; i++) row[i] = (row[i]! * limit) / gross;
}
