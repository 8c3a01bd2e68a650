/**
 * The design's small LightGBM search space, sampled to a handful of trials (seeded, deterministic,
 * without replacement). Pure: no I/O, no clock. Every sampled trial is a full CPCV run and goes to
 * the trial ledger (the protocol records them; DSR and PBO need the number of trials).
 */
import { Rng } from '../../rl/rng.ts';
import type { LearnerParams } from '../learner.ts';

/** Each hyper-parameter's allowed values (LightGBM names; colsample = feature_fraction, subsample = bagging_fraction). */
export const LIGHTGBM_SPACE = {
  num_leaves: [31, 63, 127],
  max_depth: [-1, 7, 11],
  learning_rate: [0.01, 0.05, 0.1],
  min_data_in_leaf: [50, 200],
  feature_fraction: [0.6, 0.9],
  bagging_fraction: [0.6, 0.9],
  lambda_l1: [0, 10],
  lambda_l2: [0, 10],
} as const satisfies Record<string, readonly number[]>;

type Key = keyof typeof LIGHTGBM_SPACE;
const KEYS = Object.keys(LIGHTGBM_SPACE) as Key[];

/** Number of distinct points in {@link LIGHTGBM_SPACE} (3·3·3·2·2·2·2·2 = 864). */
export const LIGHTGBM_SPACE_SIZE = KEYS.reduce((n, k) => n * LIGHTGBM_SPACE[k].length, 1);

/** The point with mixed-radix index `i` (0 ≤ i < LIGHTGBM_SPACE_SIZE), keys in space order. */
function decode(i: number): Record<Key, number> {
  const out = {} as Record<Key, number>;
  let r = i;
  for (const k of KEYS) {
    const vals = LIGHTGBM_SPACE[k];
    out[k] = vals[r % vals.length]!;
    r = Math.floor(r / vals.length);
  }
  return out;
}

export interface LightgbmSearchOptions {
  /** Number of trials (1..LIGHTGBM_SPACE_SIZE). */
  nTrials: number;
  /** Seed of the sampler (any integer). */
  seed: number;
  /** Params shared by every trial (objective, seed, num_threads, …); sampled keys override them. */
  base?: LearnerParams;
}

/**
 * Draws `nTrials` distinct points of {@link LIGHTGBM_SPACE} (partial Fisher–Yates over the 864
 * points with the seeded mulberry32 generator of rl/rng.ts) and returns one LightGBM param set per
 * trial: `base`, the sampled values, and `bagging_freq: 1` (LightGBM ignores bagging_fraction
 * unless bagging_freq > 0) unless `base` sets it. Same (nTrials, seed, base) → same list.
 * Throws RangeError when nTrials is not an integer in 1..864.
 */
export function sampleLightgbmTrials(o: LightgbmSearchOptions): LearnerParams[] {
  if (!Number.isInteger(o.nTrials) || o.nTrials < 1 || o.nTrials > LIGHTGBM_SPACE_SIZE) {
    throw new RangeError(`sampleLightgbmTrials: nTrials must be an integer in 1..${LIGHTGBM_SPACE_SIZE}, got ${o.nTrials}`);
  }
  const rng = new Rng(o.seed);
  const idx = Int32Array.from({ length: LIGHTGBM_SPACE_SIZE }, (_, i) => i);
  const trials: LearnerParams[] = [];
  for (let t = 0; t < o.nTrials; t++) {
    const j = t + rng.int(LIGHTGBM_SPACE_SIZE - t);
    const pick = idx[j]!;
    idx[j] = idx[t]!;
    idx[t] = pick;
    trials.push({ bagging_freq: 1, ...(o.base ?? {}), ...decode(pick) });
  }
  return trials;
}
