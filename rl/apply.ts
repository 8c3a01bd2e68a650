import type { EnvConfig } from './config.ts';
import { MarketEnv, actionIndex, type PathBook } from './env.ts';
import { argmax } from './networks.ts';

/** Multipliers chosen by a policy along one path, with the resulting book's daily figures. */
export interface AppliedPath {
  path: number;
  dates: string[];
  /** [T] multiplier applied to the baseline target weights of each date. */
  multiplier: Float64Array;
  /** [T] realised net return (after the env's cost model) of the scaled book, date t → next close. */
  net: Float64Array;
}

/**
 * Runs an exported RL sizing policy (ONNX: state [N, F] → scores [N, A], action = argmax) along
 * every path book with onnxruntime-node, carrying the policy's own previous multiplier and drawdown
 * state, from date index `start` — or from the first date after `start.after` (the policy's training
 * window end: in-sample dates keep the baseline) — earlier dates get the baseline multiplier. This is what
 * `portfolio.build` calls to scale its target weights when an accepted policy is configured:
 * weight'(t, i) = multiplier(t) · weight(t, i). States are built exactly as in rl.dataset.
 */
export async function applyPolicyOnnx(books: PathBook[], onnxModel: Uint8Array | string, env: EnvConfig, start: number | { after: string } = 0): Promise<AppliedPath[]> {
  const ort = await import('onnxruntime-node');
  const sess = await ort.InferenceSession.create(onnxModel as Uint8Array, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  try {
    const A = env.actions.length;
    const kBase = actionIndex(env.actions, env.baseline_action);
    const out: AppliedPath[] = [];
    for (const book of books) {
      const menv = new MarketEnv(book, env);
      const T = menv.length;
      const startIndex = typeof start === 'number' ? start : firstAfter(book.dates, start.after);
      const multiplier = new Float64Array(T);
      const net = new Float64Array(T);
      let st = menv.reset(0, kBase);
      for (let t = 0; t < T; t++) {
        let k = kBase;
        if (t >= startIndex) {
          const s = Float32Array.from(menv.observe(st));
          const res = await sess.run({ [sess.inputNames[0]!]: new ort.Tensor('float32', s, [1, s.length]) });
          const scores = res[sess.outputNames[0]!]!.data as Float32Array;
          if (scores.length !== A) throw new Error(`RL policy returns ${scores.length} scores but the config has ${A} actions`);
          k = argmax(scores);
        }
        const r = menv.step(st, k);
        multiplier[t] = env.actions[k]!;
        net[t] = r.net;
        st = r.next;
      }
      out.push({ path: book.path, dates: book.dates, multiplier, net });
    }
    return out;
  } finally {
    await sess.release();
  }
}

/** Index of the first date strictly after `date` (dates ascending); the length when none is. */
function firstAfter(dates: readonly string[], date: string): number {
  let k = 0;
  while (k < dates.length && dates[k]! <= date) k++;
  return k;
}
