import { beforeAll, describe, expect, it } from 'vitest';
import type { OptionsFeatureRow } from '../../options/features/compute.ts';
import { OPTIONS_FEATURES } from '../../options/features/definitions.ts';
import { optionsFeaturesFromHistory } from '../../options/features/pipeline.ts';
import { standardiseFeatures } from '../../options/features/standardise.ts';
import { solveChainHistory } from '../../options/pricing/history.ts';
import { hasOptionsData, realChain, realIndices } from './real-data.ts';

const row = (date: string, x: number): OptionsFeatureRow => ({ date, values: Object.fromEntries(OPTIONS_FEATURES.map((f) => [f, x])) as OptionsFeatureRow['values'], reasons: {}, rv20: NaN });

describe('expanding z-scores (known answers)', () => {
  it('z_t uses the mean and sample std of the values dated ≤ t; NaN before minObs and for NaN inputs', () => {
    const rows = [1, 2, 3, 4, NaN, 10].map((x, i) => row(`2025-01-0${i + 1}`, x));
    const z = standardiseFeatures(rows, 3).map((r) => r.z.atm_iv);
    expect(z.slice(0, 2).every(Number.isNaN)).toBe(true);
    expect(z[2]).toBeCloseTo((3 - 2) / 1, 12); // {1,2,3}: mean 2, sd 1
    expect(z[3]).toBeCloseTo((4 - 2.5) / Math.sqrt(5 / 3), 12);
    expect(Number.isNaN(z[4]!)).toBe(true);
    const all = [1, 2, 3, 4, 10];
    const m = all.reduce((a, b) => a + b) / 5;
    const sd = Math.sqrt(all.reduce((a, b) => a + (b - m) ** 2, 0) / 4);
    expect(z[5]).toBeCloseTo((10 - m) / sd, 12);
    expect(() => standardiseFeatures(rows, 1)).toThrow(RangeError);
  });
});

describe.skipIf(!hasOptionsData())('expanding z-scores on the real features: no look-ahead', () => {
  let rows: OptionsFeatureRow[];
  beforeAll(async () => {
    const idx = await realIndices();
    rows = optionsFeaturesFromHistory(solveChainHistory(await realChain(), idx['NIFTY 50']!), idx['NIFTY 50']!);
  });
  it('truncating the rows at t leaves every z ≤ t unchanged', () => {
    const full = standardiseFeatures(rows);
    for (const cut of [30, 100, 200]) expect(standardiseFeatures(rows.slice(0, cut))).toEqual(full.slice(0, cut));
    expect(full.filter((r) => Number.isFinite(r.z.atm_iv)).length).toBeGreaterThan(200);
  });
});
