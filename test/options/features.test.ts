import { calendarFor } from '../../calendar/calendar.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChainRow } from '../../options/data/chain.ts';
import type { IndexSeries } from '../../options/data/index-series.ts';
import type { OptionsFeatureRow } from '../../options/features/compute.ts';
import { realisedVol } from '../../options/features/compute.ts';
import { OPTIONS_FEATURES } from '../../options/features/definitions.ts';
import { optionsFeaturesFromChain } from '../../options/features/pipeline.ts';
import { maxPainStrike } from '../../options/features/snapshot.ts';
import type { ContractIv } from '../../options/pricing/chain-iv.ts';
import { cvar, trailingZ } from '../../options/stats/series.ts';
import { hasOptionsData, realChain, realIndices } from './real-data.ts';

describe('feature building blocks (known answers)', () => {
  it('max pain minimises the writers’ payout', () => {
    const c = (type: 'C' | 'P', strike: number, oi: number) => ({ type, strike, oi }) as ContractIv;
    // payout(K*) = 30·max(K*−100,0) [call OI at 100] + 20·max(110−K*,0) [put OI at 110] + 30·max(90−K*,0) [put OI at 90]
    const contracts = [c('C', 100, 30), c('P', 110, 20), c('P', 90, 30), c('P', 100, 0), c('C', 90, 0), c('C', 110, 0)];
    expect(maxPainStrike(contracts)).toBe(100); // payouts: 90 → 400, 100 → 200, 110 → 300
    expect(maxPainStrike([])).toBeNaN();
  });

  it('trailing z-score, realised vol and CVaR', () => {
    expect(trailingZ([1, 2, 3], 3)).toBeCloseTo(1, 12); // (3 − 2)/1
    expect(trailingZ([1, 2], 3)).toBeNaN();
    expect(trailingZ([1, NaN, 3], 3)).toBeNaN();
    // constant 1 % daily log return alternating sign: std = 0.01·√(20/19)
    const closes = [{ date: '2025-01-01', close: 100 }];
    for (let i = 1; i <= 20; i++) closes.push({ date: `2025-01-${String(i + 1).padStart(2, '0')}`, close: closes[i - 1]!.close * Math.exp(i % 2 ? 0.01 : -0.01) });
    const last = closes.pop()!;
    expect(realisedVol(closes, last.date, last.close)).toBeCloseTo(100 * 0.01 * Math.sqrt(20 / 19) * Math.sqrt(calendarFor('nse').barsPerYear), 10);
    expect(realisedVol(closes.slice(0, 5), last.date, last.close)).toBeNaN();
    expect(cvar([-10, -5, 0, 5, 10, 15, 20, 25, 30, 35], 0.8)).toBe(7.5);
  });
});

describe.skipIf(!hasOptionsData())('the 16 options features on the real NIFTY chains', () => {
  let rows: ChainRow[];
  let idx: IndexSeries;
  let full: OptionsFeatureRow[];
  beforeAll(async () => {
    rows = await realChain();
    idx = await realIndices();
    full = optionsFeaturesFromChain(rows, idx['NIFTY 50']!);
  });

  it('one row per date, 16 features, every NaN with a reason', () => {
    expect(full).toHaveLength(243);
    for (const r of full) {
      expect(Object.keys(r.values)).toEqual([...OPTIONS_FEATURES]);
      for (const f of OPTIONS_FEATURES) if (Number.isNaN(r.values[f])) expect(r.reasons[f], `${r.date} ${f}`).toBeTruthy();
    }
    const late = full.slice(30);
    for (const f of ['atm_iv', 'skew_25d', 'pcr_oi', 'vrp', 'dealer_gamma', 'pcr_oi_z21', 'gamma_z21', 'max_pain_dist'] as const) {
      expect(late.filter((r) => Number.isFinite(r.values[f])).length, f).toBeGreaterThan(0.9 * late.length);
    }
    const atm = full.map((r) => r.values.atm_iv).filter(Number.isFinite);
    expect(Math.min(...atm)).toBeGreaterThan(5); // NIFTY ATM vol lives in 8–25 vol points
    expect(Math.max(...atm)).toBeLessThan(35);
    expect(full.every((r) => !(r.values.dealer_gamma > 0))).toBe(true); // dealers short every option ⇒ GEX ≤ 0
  });

  it('truncation test: features on data cut at t equal the full-history features at t, bitwise', () => {
    const dates = full.map((r) => r.date);
    for (const cut of [dates[24]!, dates[130]!]) {
      const trunc = optionsFeaturesFromChain(rows.filter((r) => r.date <= cut), idx['NIFTY 50']!.filter((c) => c.date <= cut));
      expect(trunc.at(-1)!.date).toBe(cut);
      for (const t of trunc) {
        const f = full.find((r) => r.date === t.date)!;
        for (const name of OPTIONS_FEATURES) expect(Object.is(t.values[name], f.values[name]), `${t.date} ${name}: ${t.values[name]} vs ${f.values[name]}`).toBe(true);
      }
    }
  });
});
