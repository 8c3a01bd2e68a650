import { blockBootstrap, type Estimate } from '../impact/stats.ts';
import { timeBlocks } from '../impact/tape.ts';

/**
 * Implementation-shortfall summary rows over many episodes. Episodes that start close together
 * overlap in time, so the 95% interval of the mean is a block bootstrap over blocks of episodes
 * whose start times fall in the same `blockSeconds` bucket (Künsch 1989), not an i.i.d. one.
 */
export interface ShortfallRow {
  strategy: string;
  episodes: number;
  /** Mean implementation shortfall, bps (positive = cost), with its block-bootstrap interval. */
  mean: Estimate;
  /** Standard deviation across episodes, bps. */
  stdBps: number;
  /** Episodes that still had inventory at the deadline (completed by a forced market order). */
  forcedCompletions: number;
}

/** Summarises one strategy's shortfalls `bps` (one per episode, starts `starts` in seconds). */
export function shortfallRow(strategy: string, bps: number[], starts: number[], opts: { blockSeconds?: number; seed?: number; forced?: number } = {}): ShortfallRow {
  if (bps.length !== starts.length) throw new RangeError(`${strategy}: ${bps.length} shortfalls for ${starts.length} episode starts`);
  const blocks = timeBlocks(starts, opts.blockSeconds ?? 300);
  const mean = blockBootstrap(blocks, (idx) => idx.reduce((a, i) => a + bps[i]!, 0) / idx.length, { reps: 2000, seed: opts.seed ?? 11 });
  const m = bps.reduce((a, x) => a + x, 0) / bps.length;
  const std = Math.sqrt(bps.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, bps.length - 1));
  return { strategy, episodes: bps.length, mean, stdBps: std, forcedCompletions: opts.forced ?? 0 };
}

/** Paired difference a − b (bps) on the same episodes, with a block-bootstrap interval of its mean. */
export function pairedDifference(label: string, a: number[], b: number[], starts: number[], opts: { blockSeconds?: number; seed?: number } = {}): { label: string; mean: Estimate } {
  if (a.length !== b.length) throw new RangeError(`${label}: ${a.length} vs ${b.length} episodes; a paired difference needs the same episodes`);
  const d = a.map((x, i) => x - b[i]!);
  const blocks = timeBlocks(starts, opts.blockSeconds ?? 300);
  return { label, mean: blockBootstrap(blocks, (idx) => idx.reduce((s, i) => s + d[i]!, 0) / idx.length, { reps: 2000, seed: opts.seed ?? 12 }) };
}
