/** The LightGBM search-space sampler: deterministic, without replacement, inside the design's space. */
import { describe, expect, it } from 'vitest';
import { LIGHTGBM_SPACE, LIGHTGBM_SPACE_SIZE, sampleLightgbmTrials } from '../../models/lightgbm/search.ts';

const key = (p: Record<string, unknown>): string => JSON.stringify(Object.keys(LIGHTGBM_SPACE).map((k) => p[k]));

describe('sampleLightgbmTrials', () => {
  it('same seed → the same trials; another seed → other trials', () => {
    const a = sampleLightgbmTrials({ nTrials: 8, seed: 42 });
    expect(sampleLightgbmTrials({ nTrials: 8, seed: 42 })).toEqual(a);
    expect(sampleLightgbmTrials({ nTrials: 8, seed: 43 }).map(key)).not.toEqual(a.map(key));
    // a longer draw with the same seed starts with the shorter one (sequential sampling)
    expect(sampleLightgbmTrials({ nTrials: 12, seed: 42 }).slice(0, 8)).toEqual(a);
  });

  it('every trial lies in the space, carries the base params and bagging_freq, and none repeats', () => {
    const trials = sampleLightgbmTrials({ nTrials: 40, seed: 7, base: { objective: 'regression', seed: 3 } });
    for (const t of trials) {
      for (const [k, vals] of Object.entries(LIGHTGBM_SPACE)) expect(vals as readonly number[]).toContain(t[k]);
      expect(t).toMatchObject({ objective: 'regression', seed: 3, bagging_freq: 1 });
    }
    expect(new Set(trials.map(key)).size).toBe(40);
  });

  it('the whole space is 864 distinct points and a full draw enumerates each once', () => {
    expect(LIGHTGBM_SPACE_SIZE).toBe(3 * 3 * 3 * 2 * 2 * 2 * 2 * 2);
    const all = sampleLightgbmTrials({ nTrials: LIGHTGBM_SPACE_SIZE, seed: 1 });
    expect(new Set(all.map(key)).size).toBe(864);
    // every value of every dimension is reachable
    for (const [k, vals] of Object.entries(LIGHTGBM_SPACE)) expect(new Set(all.map((t) => t[k]))).toEqual(new Set(vals));
  });

  it('refuses a trial count outside 1..864', () => {
    expect(() => sampleLightgbmTrials({ nTrials: 0, seed: 1 })).toThrow(/integer in 1\.\.864, got 0/);
    expect(() => sampleLightgbmTrials({ nTrials: 865, seed: 1 })).toThrow(RangeError);
    expect(() => sampleLightgbmTrials({ nTrials: 2.5, seed: 1 })).toThrow(RangeError);
  });
});
