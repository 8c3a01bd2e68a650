/**
 * From panel rows to a learner's TrainingSet (models/learner.ts): the row-major feature matrix,
 * the target, time-decay sample weights and, for ranking objectives, one query group per date.
 */
import type { TrainingSet } from '../models/learner.ts';
import type { Panel } from './panel.ts';

/**
 * The features of `rows` (in the given order) as a row-major `rows.length × nFeatures` matrix. Runs
 * of consecutive rows (a training set is a few long runs of the panel) are copied as one block.
 */
export function featureRows(panel: Pick<Panel, 'X' | 'nFeatures'>, rows: ArrayLike<number>): Float32Array {
  const F = panel.nFeatures;
  const X = panel.X;
  const n = rows.length;
  const x = new Float32Array(n * F);
  let k = 0;
  while (k < n) {
    const first = rows[k]!;
    let e = k + 1;
    while (e < n && rows[e] === first + (e - k)) e++;
    if (e - k >= 8) x.set(X.subarray(first * F, (first + e - k) * F), k * F);
    else {
      for (let r = k; r < e; r++) {
        const src = rows[r]! * F;
        const dst = r * F;
        for (let j = 0; j < F; j++) x[dst + j] = X[src + j]!;
      }
    }
    k = e;
  }
  return x;
}

/** `values[rows[k]]` for every k, as a Float32Array. */
function gather(values: Float32Array, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = values[rows[k]!]!;
  return out;
}

/**
 * The TrainingSet of `rows` (ascending, hence date-ordered): features, target, optional per-row
 * weights. With `perDateGroups` (ranking objectives) the rows form one query group per date and the
 * weights become one per group (the weight of the group's first row): rankers weight queries, not rows.
 */
export function trainingSet(panel: Panel, rows: number[], target: Float32Array, weights: Float32Array | null, perDateGroups = false): TrainingSet {
  const set: TrainingSet = { X: featureRows(panel, rows), nRows: rows.length, nFeatures: panel.nFeatures, y: gather(target, rows) };
  if (!perDateGroups) {
    if (weights) set.weight = gather(weights, rows);
    return set;
  }
  const sizes: number[] = [];
  const gw: number[] = [];
  for (let k = 0; k < rows.length; k++) {
    if (k === 0 || panel.dateIdx[rows[k]!] !== panel.dateIdx[rows[k - 1]!]) {
      sizes.push(0);
      if (weights) gw.push(weights[rows[k]!]!);
    }
    sizes[sizes.length - 1]!++;
  }
  set.groups = Uint32Array.from(sizes);
  if (weights) set.weight = Float32Array.from(gw);
  return set;
}

/**
 * Time-decay weights 0.5^(age/halfLife) for `rows` (zero elsewhere), age = bars before the latest
 * bar of `rows`; null without a half-life. (López de Prado, AFML ch. 4.7, time decay.)
 */
export function decayWeights(panel: Pick<Panel, 'n' | 'dateIdx'>, rows: number[], halfLife: number | null): Float32Array | null {
  if (!halfLife) return null;
  let last = 0;
  for (const i of rows) last = Math.max(last, panel.dateIdx[i]!);
  const w = new Float32Array(panel.n);
  for (const i of rows) w[i] = Math.pow(0.5, (last - panel.dateIdx[i]!) / halfLife);
  return w;
}

/** The rows on every `stride`-th bar (bar index divisible by stride); all rows for stride ≤ 1. */
export function strided(panel: Pick<Panel, 'dateIdx'>, rows: number[], stride: number): number[] {
  return stride <= 1 ? rows : rows.filter((i) => panel.dateIdx[i]! % stride === 0);
}
