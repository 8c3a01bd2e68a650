/**
 * Simulator-side diagnostic of rl.ope: both policies replayed in MarketEnv on the baseline books the
 * dataset was logged on (rebuilt from the dataset meta's sources), per evaluation episode.
 */
import { calendarFor } from '../../calendar/calendar.ts';
import type { RlDataset } from '../../rl/dataset.ts';
import type { StepContext } from '../types.ts';
import { bookPaths, type DatasetMeta } from './dataset.ts';

/**
 * Replays each deterministic policy of `choose` in MarketEnv from the start state of every evaluation
 * episode (same start-state distribution and horizon as the OPE estimand) and returns the mean
 * discounted return per bar, V / Σ γ^h. A simulator-side diagnostic (it assumes prices do not react
 * to the scaled trades), not the gate. Null when the meta does not record its book sources.
 */
export async function replayValues(ctx: Pick<StepContext, 'artifacts'>, meta: DatasetMeta, ds: RlDataset, choose: Record<string, (s: Float64Array) => number>, gamma: number): Promise<Record<string, number> | null> {
  if (!meta.sources || !meta.calendar) return null;
  const { loadBooks } = await import('../../rl/book.ts');
  const { MarketEnv } = await import('../../rl/env.ts');
  const refs = meta.sources;
  await ctx.artifacts.materialize([refs.weights, refs.ohlcv, refs.oof, refs.returns].flatMap((r) => (r ? [r.uri] : [])));
  const { books } = await loadBooks(bookPaths(ctx, refs), meta.env, { maxPaths: meta.dataset.max_paths, calendar: calendarFor(meta.calendar) });
  const byPath = new Map(books.map((b) => [b.path, b]));
  const F = ds.featureNames.length;
  const out: Record<string, number> = {};
  for (const [name, fn] of Object.entries(choose)) {
    let sum = 0;
    let cnt = 0;
    let norm = 0;
    for (let i = 0; i < ds.n; i++) {
      if (ds.split[i] !== 1 || ds.step[i] !== 0) continue;
      const book = byPath.get(ds.path[i]!);
      if (!book) continue;
      let L = 0;
      while (i + L < ds.n && ds.episode[i + L] === ds.episode[i]) L++;
      const env = new MarketEnv(book, meta.env);
      const s0 = ds.state.subarray(i * F, (i + 1) * F);
      const prev = meta.actions.indexOf(s0[F - 1]!);
      let st = { t: ds.t[i]!, prevAction: prev, equity: 1 - s0[F - 2]!, peak: 1 };
      let g = 1;
      let v = 0;
      let nn = 0;
      for (let h = 0; h < L && st.t < env.length; h++) {
        const res = env.step(st, fn(env.observe(st)));
        v += g * res.reward;
        nn += g;
        g *= gamma;
        st = res.next;
      }
      sum += v;
      norm += nn;
      cnt++;
    }
    out[name] = cnt > 0 ? sum / norm : NaN;
  }
  return out;
}
