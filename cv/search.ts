/**
 * The trials of a CPCV fit: the cartesian product of a grid over base parameters, or a seeded
 * sample of it. Every trial becomes a full CPCV run and a row of the trial ledger (DSR and PBO need
 * the number of trials tried, not only the selected one). Pure: no I/O, no clock.
 */
import type { LearnerParams } from '../models/learner.ts';
import { Rng } from '../rl/rng.ts';

/** A grid: parameter name → the values to try. */
export type Grid = Record<string, (string | number | boolean)[]>;

/** Number of points of `grid` (1 for an empty grid). */
export function gridSize(grid: Grid): number {
  return Object.values(grid).reduce((n, v) => n * v.length, 1);
}

/** Every point of the grid's cartesian product over `base` (keys sorted; the last key varies fastest). */
export function expandGrid(base: LearnerParams, grid: Grid): LearnerParams[] {
  let out: LearnerParams[] = [{ ...base }];
  for (const key of Object.keys(grid).sort()) {
    const next: LearnerParams[] = [];
    for (const p of out) for (const v of grid[key]!) next.push({ ...p, [key]: v });
    out = next;
  }
  return out;
}

/**
 * `nTrials` distinct points of the grid's product, drawn without replacement by a partial
 * Fisher–Yates shuffle of the point indices with the seeded mulberry32 generator (rl/rng.ts), in
 * draw order. Same (base, grid, nTrials, seed) → same list. Throws RangeError when nTrials is not an
 * integer in 1..gridSize(grid).
 */
export function sampleGrid(base: LearnerParams, grid: Grid, nTrials: number, seed: number): LearnerParams[] {
  const all = expandGrid(base, grid);
  if (!Number.isInteger(nTrials) || nTrials < 1 || nTrials > all.length) throw new RangeError(`sampleGrid: n_trials must be an integer in 1..${all.length} (the grid's size), got ${nTrials}`);
  const rng = new Rng(seed);
  const idx = Int32Array.from({ length: all.length }, (_, i) => i);
  const out: LearnerParams[] = [];
  for (let t = 0; t < nTrials; t++) {
    const j = t + rng.int(all.length - t);
    const pick = idx[j]!;
    idx[j] = idx[t]!;
    idx[t] = pick;
    out.push(all[pick]!);
  }
  return out;
}
