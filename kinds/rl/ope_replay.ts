/**
 * Exact replay side of rl.ope: policies replayed in MarketEnv on the baseline books the dataset was
 * logged on (the rl.dataset contract's `books` Parquet, rl/book_io.ts), per evaluation episode.
 * For the baseline (a fixed multiplier) this is its exact value on the logged dates, the V(baseline)
 * the decision's paired difference DR(π) − V(baseline) subtracts.
 */
import type { ArtifactRef } from '../../artifacts/store.ts';
import type { RlDataset } from '../../rl/dataset.ts';
import { StepError } from '../../lib/errors.ts';
import type { StepContext } from '../types.ts';
import type { DatasetMeta } from './dataset.ts';

/** Replay of one policy: the discounted return of each evaluation episode (episode order) and the per-bar mean. */
export interface ReplayResult {
  /** Σ_h γ^h r_h replayed from each episode's logged start state over its logged length. */
  episodes: Float64Array;
  /** Σ episodes / Σ_episodes Σ_h γ^h: the mean per bar. */
  perBar: number;
}

/**
 * Replays each deterministic policy of `choose` in MarketEnv from the start state of every evaluation
 * episode (same start state — date, previous multiplier, drawdown — and length as the logged episode;
 * the env is scale-invariant in equity, so this is exact) and returns per-episode discounted returns
 * in the order of rl/ope `episodesFromDataset`. The env assumes prices do not react to the scaled
 * trades. `books` is the dataset's books Parquet. Throws StepError('RlReplayUnavailable') when a
 * dataset path has no book, StepError('RlDataError') from rl/book_io.ts on a malformed books file.
 */
export async function replayValues(ctx: Pick<StepContext, 'artifacts'>, books: ArtifactRef, meta: DatasetMeta, ds: RlDataset, choose: Record<string, (s: Float64Array) => number>, gamma: number): Promise<Record<string, ReplayResult>> {
  const { readBooksParquet } = await import('../../rl/book_io.ts');
  const { MarketEnv } = await import('../../rl/env.ts');
  const stored = await readBooksParquet(ctx.artifacts.path(books), meta.actions.length);
  const byPath = new Map(stored.map((b) => [b.path, b]));
  const F = ds.featureNames.length;
  const out: Record<string, ReplayResult> = {};
  for (const [name, fn] of Object.entries(choose)) {
    const vals: number[] = [];
    let norm = 0;
    for (let i = 0; i < ds.n; i++) {
      if (ds.split[i] !== 1 || ds.step[i] !== 0) continue;
      const book = byPath.get(ds.path[i]!);
      if (!book) throw new StepError({ message: `rl.ope: path ${ds.path[i]} of the dataset has no book to replay`, type: 'RlReplayUnavailable', nonRetryable: true });
      let L = 0;
      while (i + L < ds.n && ds.episode[i + L] === ds.episode[i]) L++;
      const env = new MarketEnv(book, meta.env);
      const s0 = ds.state.subarray(i * F, (i + 1) * F);
      let st = { t: ds.t[i]!, prevAction: meta.actions.indexOf(s0[F - 1]!), equity: 1 - s0[F - 2]!, peak: 1 };
      let g = 1;
      let v = 0;
      for (let h = 0; h < L && st.t < env.length; h++) {
        const res = env.step(st, fn(env.observe(st)));
        v += g * res.reward;
        norm += g;
        g *= gamma;
        st = res.next;
      }
      vals.push(v);
    }
    const sum = vals.reduce((a, b) => a + b, 0);
    out[name] = { episodes: Float64Array.from(vals), perBar: norm > 0 ? sum / norm : NaN };
  }
  return out;
}
