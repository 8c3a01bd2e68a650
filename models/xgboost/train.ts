import { StepError } from '../../lib/errors.ts';
import { SYNC_ROUND_BUDGET_MS } from '../openmp.ts';
import { Booster, type BoosterParams, type DMatrix } from './binding.ts';

export interface TrainOptions {
  /** XGBoost learning parameters (objective, eta, max_depth, tree_method, seed, nthread, eval_metric ...). */
  params: BoosterParams;
  dtrain: DMatrix;
  /** Time-ordered validation tail for early stopping (optional). */
  dvalid?: DMatrix;
  /** Maximum number of boosting rounds. */
  numRounds: number;
  /** Stop when the validation metric has not improved for this many rounds (needs dvalid). */
  earlyStoppingRounds?: number;
  signal?: AbortSignal;
  /**
   * Rounds run synchronously with a yield to the event loop after each, while a round takes less
   * than this many ms (default SYNC_ROUND_BUDGET_MS, models/openmp.ts); once one takes longer, the remaining rounds run on koffi's
   * async worker thread. 0 = always async. (Async dispatch costs ~4 ms per round here, which
   * made small rounds ~50% slower than python's xgboost; yielding costs microseconds.)
   */
  syncRoundBudgetMs?: number;
  /** Called after each round (for progress); `score` = validation metric when evaluated. */
  onRound?(iter: number, score: number | undefined): void;
}

export interface TrainResult {
  booster: Booster;
  /** 0-based round with the best validation metric (last round without early stopping). */
  bestIteration: number;
  bestScore: number | null;
  /** Rounds actually boosted. */
  rounds: number;
  /** Name of the validation metric used for early stopping (e.g. `valid-rmse`). */
  metric: string | null;
}

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Evaluation metrics where larger is better (XGBoost's own early-stopping rule, callback.py). */
const HIGHER_IS_BETTER = /-(auc|aucpr|map|ndcg|pre)(@|$)/;

/**
 * Boosts up to `numRounds` rounds with optional early stopping on `dvalid`'s first eval metric
 * (lower is better for rmse, logloss, mlogloss, ...; higher for auc, aucpr, map, ndcg, pre), like xgboost.train(early_stopping_rounds=…).
 * Deterministic for a given `seed` (seed_per_iteration is set, see below).
 * The event loop is never blocked for longer than one round: fast rounds run synchronously followed
 * by a yield (setImmediate), slow rounds (> syncRoundBudgetMs) on koffi's async worker. Round 0 always
 * runs synchronously so configuration errors carry libxgboost's own message.
 * The caller owns (and must free) the returned booster; on error it is freed here.
 * Throws StepError('Cancelled') when `signal` aborts.
 */
export async function trainBooster(o: TrainOptions): Promise<TrainResult> {
  const cache = o.dvalid ? [o.dtrain, o.dvalid] : [o.dtrain];
  // Rounds after the first run on koffi's worker threads; XGBoost's random engine (row/column
  // subsampling) is thread-local, so it is re-seeded from `seed` and the round number on whichever
  // thread runs the round — otherwise results would depend on thread scheduling.
  const booster = new Booster({ seed_per_iteration: true, ...o.params }, cache);
  let bestIteration = 0;
  let bestScore: number | null = null;
  let metric: string | null = null;
  let rounds = 0;
  const syncBudget = o.syncRoundBudgetMs ?? SYNC_ROUND_BUDGET_MS;
  let offload = o.syncRoundBudgetMs === 0;
  try {
    for (let iter = 0; iter < o.numRounds; iter++) {
      if (o.signal?.aborted) throw new StepError({ message: 'training cancelled (run cancelled or attempt timed out)', type: 'Cancelled', nonRetryable: true });
      if (iter === 0 || !offload) {
        const t = performance.now();
        booster.updateOneIter(iter, o.dtrain);
        // a round slower than the budget (after the first, which also builds the histogram index)
        // moves the remaining rounds to the async worker
        if (iter > 0 && performance.now() - t > syncBudget) offload = true;
        await yieldToEventLoop();
      } else {
        await booster.updateOneIterAsync(iter, o.dtrain);
      }
      rounds = iter + 1;
      let score: number | undefined;
      if (o.dvalid) {
        const res = booster.evalOneIter(iter, [o.dvalid], ['valid']);
        const first = Object.keys(res)[0];
        if (first) {
          metric = first;
          score = res[first]!;
          const better = bestScore === null || (HIGHER_IS_BETTER.test(first) ? score > bestScore : score < bestScore);
          if (better) {
            bestScore = score;
            bestIteration = iter;
          }
        }
      } else {
        bestIteration = iter;
      }
      o.onRound?.(iter, score);
      if (o.dvalid && o.earlyStoppingRounds && iter - bestIteration >= o.earlyStoppingRounds) break;
    }
  } catch (e) {
    booster.free();
    throw e;
  }
  return { booster, bestIteration, bestScore, rounds, metric };
}
