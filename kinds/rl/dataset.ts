import { z } from 'zod';
import { backtestReturns, ohlcvDaily, portfolioWeights, rlDataset as rlDatasetContract, signalsOof } from '../../contracts/index.ts';
import type { ArtifactRef } from '../../artifacts/store.ts';
import type { RlConfig } from '../../rl/config.ts';
import { defineStepKind, type StepContext } from '../types.ts';

/** `with:` fields every RL kind shares. */
export const rlConfigWith = {
  config: z.string().default('configs/rl.yml').describe('RL config file, relative to the project root'),
  overrides: z.record(z.string(), z.unknown()).optional().describe('deep-merged over the file (same structure as configs/rl.yml), e.g. { dataset: { horizon: 10 } }'),
};

const consumes = {
  weights: { contract: portfolioWeights, description: 'the baseline book: target weights per CPCV path the behaviour policy scales' },
  ohlcv: { contract: ohlcvDaily, description: 'daily prices: next-day returns, factor exposures and the decision calendar' },
  signal: { contract: signalsOof, optional: true, description: 'the OOF signal the book was built from (its cross-sectional score dispersion is a state feature; 0 without it)' },
  returns: { contract: backtestReturns, optional: true, description: "the book's backtest: calibrates the environment's cost rates per path (configs/rl.yml otherwise)" },
};

export const datasetOutputs = z.object({
  dataset: rlDatasetContract.schema,
  n_train: z.number().int().describe('training transitions'),
  n_eval: z.number().int().describe('evaluation (OPE) transitions'),
  n_episodes: z.number().int().describe('OPE episodes'),
  n_paths: z.number().int().describe('CPCV paths logged'),
  horizon: z.number().int().describe('OPE episode length in bars'),
  train_end: z.string().describe('last training date'),
  eval_start: z.string().describe('first evaluation date (after the embargo)'),
  eval_end: z.string().describe('last evaluation date'),
  cost_source: z.enum(['backtest', 'config']).describe("where the environment's cost rates came from"),
  cost_calibration_end: z.string().nullable().describe('last date whose realised backtest costs calibrated the rates (= train_end), null with config rates'),
  behaviour_mean_reward_eval: z.number().describe('mean logged reward per decision of the behaviour policy in the evaluation period, fraction of capital per bar'),
});
export type DatasetOutputs = z.output<typeof datasetOutputs>;

/** The upstream artifacts the baseline books were built from (so OPE can replay them). */
export interface BookSourceRefs {
  weights: ArtifactRef;
  ohlcv: ArtifactRef;
  oof: ArtifactRef | null;
  returns: ArtifactRef | null;
}

/** Metadata stored next to the dataset Parquet (the rl.dataset contract's `meta` JSON). */
export interface DatasetMeta {
  actions: number[];
  baseline_action: number;
  baseline_action_index: number;
  behaviour: { kind: 'softmax_around_baseline'; temperature: number };
  behaviour_probs: number[];
  feature_names: string[];
  horizon: number;
  split: { train_end: string; eval_start: string; eval_end: string };
  env: RlConfig['env'];
  dataset: RlConfig['dataset'];
  diagnostics: unknown;
  counts: { n_train: number; n_eval: number; n_episodes: number };
  /** Calendar of the bars (calendar/calendar.ts). */
  calendar: string;
  sources: BookSourceRefs;
}

/**
 * Builds the behaviour dataset: loads the OOF-based CPCV baseline books from the bound inputs
 * (rl/book.ts), logs the behaviour policy with MarketEnv (rl/dataset.ts), stores the Parquet, its
 * metadata and the books themselves (rl/book_io.ts: OPE replays policies on them). Throws
 * InputError (shared calendar) or StepError('RlDataError') from the domain modules.
 */
export async function buildDataset(ctx: StepContext<typeof consumes>, cfg: RlConfig): Promise<DatasetOutputs> {
  const { loadBooks } = await import('../../rl/book.ts');
  const { logBehaviour, writeDatasetParquet } = await import('../../rl/dataset.ts');
  const { writeBooksParquet } = await import('../../rl/book_io.ts');
  const { sharedCalendar } = await import('../backtest/run_paths.ts');
  const weights = ctx.input('weights');
  const ohlcv = ctx.input('ohlcv');
  const signal = ctx.maybeInput('signal');
  const returns = ctx.maybeInput('returns');
  const cal = sharedCalendar([ohlcv, weights, ...(signal ? [signal] : []), ...(returns ? [returns] : [])]);
  const refs: BookSourceRefs = { weights: weights.value, ohlcv: ohlcv.value, oof: signal?.value.oof ?? null, returns: returns?.value.returns ?? null };
  ctx.progress({ fraction: 0.05, message: 'loading baseline books' });
  // costs calibrated on the training dates only (the split logBehaviour makes below)
  const { books, diagnostics } = await loadBooks(bookPaths(ctx, refs), cfg.env, { maxPaths: cfg.dataset.max_paths, calendar: cal, dataset: cfg.dataset });
  ctx.progress({ fraction: 0.5, message: `logging behaviour policy on ${books.length} paths` });
  const { dataset: ds, split } = logBehaviour(books, cfg.env, cfg.dataset);
  let nTrain = 0;
  let nEval = 0;
  let evalReward = 0;
  for (let i = 0; i < ds.n; i++) {
    if (ds.split[i] === 0) nTrain++;
    else ((nEval += 1), (evalReward += ds.reward[i]!));
  }
  const nEpisodes = ds.n > 0 ? Math.max(-1, ...Array.from(ds.episode)) + 1 : 0;
  const file = ctx.artifacts.tempPath('rl_dataset.parquet');
  await writeDatasetParquet(ds, file, ctx.artifacts.tempPath('rl_dataset.csv'));
  const dataset = await ctx.artifacts.putFile(file, { name: 'rl_dataset.parquet' });
  const booksFile = ctx.artifacts.tempPath('rl_books.parquet');
  await writeBooksParquet(books, cfg.env.actions.length, booksFile);
  const booksRef = await ctx.artifacts.putFile(booksFile, { name: 'rl_books.parquet' });
  const meta: DatasetMeta = {
    actions: ds.actions,
    baseline_action: cfg.env.baseline_action,
    baseline_action_index: ds.baselineAction,
    behaviour: { kind: 'softmax_around_baseline', temperature: cfg.dataset.temperature },
    behaviour_probs: ds.behaviourProbs,
    feature_names: ds.featureNames,
    horizon: ds.horizon,
    split,
    env: cfg.env,
    dataset: cfg.dataset,
    diagnostics,
    counts: { n_train: nTrain, n_eval: nEval, n_episodes: nEpisodes },
    calendar: cal.name,
    sources: refs,
  };
  const metaRef = await ctx.artifacts.putJson(meta, 'rl_dataset_meta.json');
  ctx.progress({ fraction: 1, message: `${nTrain} train / ${nEval} eval transitions` });
  return {
    dataset: { dataset, meta: metaRef, books: booksRef, calendar: cal.name },
    n_train: nTrain,
    n_eval: nEval,
    n_episodes: nEpisodes,
    n_paths: books.length,
    horizon: ds.horizon,
    train_end: split.train_end,
    eval_start: split.eval_start,
    eval_end: split.eval_end,
    cost_source: diagnostics.cost_source,
    cost_calibration_end: diagnostics.cost_calibration_end,
    behaviour_mean_reward_eval: nEval > 0 ? evalReward / nEval : 0,
  };
}

/** Local paths of the book sources (rl/book.ts BookSources). */
export function bookPaths(ctx: Pick<StepContext, 'artifacts'>, refs: BookSourceRefs) {
  return {
    weights: ctx.artifacts.path(refs.weights),
    ohlcv: ctx.artifacts.path(refs.ohlcv),
    oof: refs.oof ? ctx.artifacts.path(refs.oof) : undefined,
    returns: refs.returns ? ctx.artifacts.path(refs.returns) : undefined,
  };
}

/** `rl.dataset`: the logged behaviour dataset offline RL trains on and OPE evaluates on. */
export const rlDataset = defineStepKind({
  uses: 'rl.dataset',
  version: '4',
  description:
    'Offline-RL behaviour dataset: MarketEnv over the OOF-based CPCV baseline books (target weights, daily OHLCV, OOF score dispersion, backtest costs), logged with a softmax-around-baseline exploration policy and its propensities, split by time into train / evaluation',
  with: z.object(rlConfigWith).strict(),
  consumes,
  provides: { dataset: rlDatasetContract },
  outputs: datasetOutputs,
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const { loadRlConfig } = await import('../../rl/config.ts');
    const cfg = loadRlConfig(ctx.projectRoot, w.config, w.overrides);
    return buildDataset(ctx, cfg);
  },
});
