import { z } from 'zod';
import { artifactRefSchema, defineStepKind, type StepContext } from '../types.ts';
import { bookSources } from './upstream.ts';
import type { RlConfig } from '../../rl/config.ts';

export const rlConfigWith = {
  /** RL config file, relative to the project root. */
  config: z.string().default('configs/rl.yml'),
  /** Deep-merged over the file (same structure as configs/rl.yml), e.g. { dataset: { horizon: 10 } }. */
  overrides: z.record(z.string(), z.unknown()).optional(),
};

export const datasetOutputs = z.object({
  dataset: artifactRefSchema,
  dataset_meta: artifactRefSchema,
  n_train: z.number().int(),
  n_eval: z.number().int(),
  n_episodes: z.number().int(),
  n_paths: z.number().int(),
  horizon: z.number().int(),
  train_end: z.string(),
  eval_start: z.string(),
  eval_end: z.string(),
  cost_source: z.enum(['backtest', 'config']),
  /** mean logged reward per decision (behaviour policy), evaluation period, fraction of capital per day. */
  behaviour_mean_reward_eval: z.number(),
});
export type DatasetOutputs = z.output<typeof datasetOutputs>;

/** Metadata stored next to the dataset Parquet (the JSON artifact `dataset_meta`). */
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
}

/**
 * Builds the behaviour dataset (shared by rl.dataset and rl.train when no rl.dataset ancestor exists):
 * loads the OOF-based CPCV baseline books, logs the behaviour policy with MarketEnv, stores the
 * Parquet and its metadata. Heavy modules are imported here, lazily.
 */
export async function buildDataset(ctx: StepContext, cfg: RlConfig, step: string): Promise<DatasetOutputs> {
  const { loadBooks } = await import('../../rl/book.ts');
  const { logBehaviour, writeDatasetParquet } = await import('../../rl/dataset.ts');
  const src = bookSources(ctx, step);
  ctx.progress({ fraction: 0.05, message: 'loading baseline books' });
  const { books, diagnostics } = await loadBooks(src, cfg.env, { maxPaths: cfg.dataset.max_paths });
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
  };
  const dataset_meta = await ctx.artifacts.putJson(meta, 'rl_dataset_meta.json');
  ctx.progress({ fraction: 1, message: `${nTrain} train / ${nEval} eval transitions` });
  return {
    dataset,
    dataset_meta,
    n_train: nTrain,
    n_eval: nEval,
    n_episodes: nEpisodes,
    n_paths: books.length,
    horizon: ds.horizon,
    train_end: split.train_end,
    eval_start: split.eval_start,
    eval_end: split.eval_end,
    cost_source: diagnostics.cost_source,
    behaviour_mean_reward_eval: nEval > 0 ? evalReward / nEval : 0,
  };
}

export const rlDataset = defineStepKind({
  uses: 'rl.dataset',
  version: '1',
  description:
    'Offline-RL behaviour dataset: MarketEnv over the OOF-based CPCV baseline books (portfolio.build weights, qc.audit OHLCV, stack.oof scores, backtest costs), logged with a softmax-around-baseline exploration policy and its propensities, split by time into train / evaluation',
  with: z.object(rlConfigWith),
  outputs: datasetOutputs,
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const { loadRlConfig } = await import('../../rl/config.ts');
    const cfg = loadRlConfig(ctx.projectRoot, w.config, w.overrides);
    return buildDataset(ctx, cfg, 'rl.dataset');
  },
});
