/**
 * Point-in-time standardisation of the options features for a learner: the value of date t becomes
 * z_t = (x_t − mean(x_s, s ≤ t)) / std(x_s, s ≤ t), the expanding mean and sample std over the
 * finite values dated ≤ t (the date itself included), NaN until `minObs` finite values exist or when
 * the std is 0. Nothing after t enters z_t, so truncating the rows at t leaves every z ≤ t unchanged.
 * (Expanding rather than full-sample moments: a full-sample z-score would leak the future's level
 * and scale into every past row.) Welford's online update keeps it O(n) and stable.
 */
import { OPTIONS_FEATURES, type OptionsFeature } from './definitions.ts';
import type { OptionsFeatureRow } from './compute.ts';

/** Expanding z-scores of every feature (rows in any order; output ascending by date). */
export function standardiseFeatures(rows: readonly OptionsFeatureRow[], minObs = 20): Array<{ date: string; z: Record<OptionsFeature, number> }> {
  if (!(Number.isInteger(minObs) && minObs >= 2)) throw new RangeError(`standardiseFeatures: minObs must be an integer ≥ 2 (got ${minObs})`);
  const sorted = [...rows].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  const acc = Object.fromEntries(OPTIONS_FEATURES.map((f) => [f, { n: 0, mean: 0, m2: 0 }])) as Record<OptionsFeature, { n: number; mean: number; m2: number }>;
  return sorted.map((r) => {
    const z = {} as Record<OptionsFeature, number>;
    for (const f of OPTIONS_FEATURES) {
      const x = r.values[f];
      const a = acc[f];
      if (Number.isFinite(x)) {
        a.n++;
        const d = x - a.mean;
        a.mean += d / a.n;
        a.m2 += d * (x - a.mean);
      }
      const sd = a.n > 1 ? Math.sqrt(a.m2 / (a.n - 1)) : NaN;
      z[f] = Number.isFinite(x) && a.n >= minObs && sd > 0 ? (x - a.mean) / sd : NaN;
    }
    return { date: r.date, z };
  });
}
