import { beforeAll, describe, expect, it } from 'vitest';
import { groupByDate, groupByExpiry, type ChainRow } from '../../options/data/chain.ts';
import { closeOn, type IndexSeries } from '../../options/data/index-series.ts';
import { black76Greeks, black76Price, blackScholesPrice } from '../../options/pricing/black76.ts';
import { solveDateChain } from '../../options/pricing/chain-iv.ts';
import { parityForward, parityPairs, parityRegression } from '../../options/pricing/forward.ts';
import { brent, impliedVol } from '../../options/pricing/implied-vol.ts';
import { normCdf, normInv } from '../../options/pricing/normal.ts';
import { repoRate } from '../../options/pricing/rates.ts';
import { yearFraction } from '../../options/pricing/time.ts';
import { mulberry32 } from '../support/rng.ts';
import { hasOptionsData, realChain, realIndices } from './real-data.ts';

describe('normal distribution', () => {
  it('Φ matches reference values and its inverse round-trips', () => {
    expect(normCdf(0)).toBe(0.5);
    expect(normCdf(1.96)).toBeCloseTo(0.9750021048517795, 14);
    expect(normCdf(-3)).toBeCloseTo(0.0013498980316301, 15);
    expect(Math.abs(normCdf(-10) / 7.61985302416047e-24 - 1)).toBeLessThan(1e-8); // far tail: relative accuracy
    for (const p of [1e-10, 0.01, 0.3, 0.5, 0.9, 0.999999]) expect(normCdf(normInv(p))).toBeCloseTo(p, 14);
    expect(() => normInv(1)).toThrow(RangeError);
  });
});

describe('Black-76 / Black–Scholes known answers (Hull, Options, Futures and Other Derivatives)', () => {
  it('Hull Example 15.6: S=42, K=40, r=10%, σ=20%, T=0.5 → c = 4.76, p = 0.81', () => {
    expect(blackScholesPrice('C', 42, 40, 0.5, 0.2, 0.1)).toBeCloseTo(4.7594, 4);
    expect(blackScholesPrice('P', 42, 40, 0.5, 0.2, 0.1)).toBeCloseTo(0.8086, 4);
  });

  it('Hull Example 18.x (Black 1976): futures put F=K=20, r=9%, σ=25%, T=4 months → 1.12', () => {
    const p = black76Price({ type: 'P', forward: 20, strike: 20, t: 4 / 12, vol: 0.25, df: Math.exp(-0.09 * 4 / 12) });
    expect(p).toBeCloseTo(1.1166, 4);
    expect(p.toFixed(2)).toBe('1.12');
  });

  it('Hull Example 19.1 greeks: S=49, K=50, r=5%, σ=20%, T=20 weeks → Δ=0.522, Γ=0.066, vega=12.1', () => {
    const t = 20 / 52;
    const F = 49 * Math.exp(0.05 * t);
    const g = black76Greeks({ type: 'C', forward: F, strike: 50, t, vol: 0.2, df: Math.exp(-0.05 * t) }, 0.05);
    expect(blackScholesPrice('C', 49, 50, t, 0.2, 0.05)).toBeCloseTo(2.4, 2);
    expect(g.delta * (F / 49)).toBeCloseTo(0.522, 3); // spot delta = (F/S)·∂V/∂F
    expect(g.gamma * (F / 49) ** 2).toBeCloseTo(0.066, 3);
    expect(g.vega).toBeCloseTo(12.1, 1);
  });

  it('greeks equal finite differences of the price; theta at fixed F with D = e^{−rT}', () => {
    const r = 0.06;
    for (const [type, K] of [['C', 23000], ['P', 24500], ['C', 25000]] as const) {
      const x = { type, forward: 24000, strike: K, t: 0.1, vol: 0.15, df: Math.exp(-r * 0.1) };
      const g = black76Greeks(x, r);
      const P = (o: Partial<typeof x>) => black76Price({ ...x, ...o, df: Math.exp(-r * (o.t ?? x.t)) });
      const h = 0.01;
      expect(g.delta).toBeCloseTo((P({ forward: 24000 + h }) - P({ forward: 24000 - h })) / (2 * h), 6);
      expect(g.gamma).toBeCloseTo((P({ forward: 24000 + 1 }) - 2 * P({}) + P({ forward: 24000 - 1 })) / 1, 6);
      expect(g.vega).toBeCloseTo((P({ vol: 0.15 + 1e-6 }) - P({ vol: 0.15 - 1e-6 })) / 2e-6, 3);
      expect(g.theta).toBeCloseTo(-(P({ t: 0.1 + 1e-6 }) - P({ t: 0.1 - 1e-6 })) / 2e-6, 2);
    }
  });

  it('put–call parity C − P = D(F − K) holds to rounding, deep in and out of the money', () => {
    for (const K of [5000, 20000, 24000, 30000, 60000]) {
      const x = { forward: 24000, strike: K, t: 0.2, vol: 0.18, df: 0.99 };
      const c = black76Price({ ...x, type: 'C' });
      const p = black76Price({ ...x, type: 'P' });
      expect(c - p).toBeCloseTo(0.99 * (24000 - K), 8);
      expect(Math.min(c, p)).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('implied volatility', () => {
  it('recovers the vol of random Black-76 prices and re-prices within 1e-6 INR', () => {
    const rnd = mulberry32(7);
    for (let i = 0; i < 2000; i++) {
      const type = rnd() < 0.5 ? 'C' : 'P';
      const F = 24000;
      const K = F * Math.exp((rnd() - 0.5) * 0.6);
      const t = 1 / 365 + rnd() * 0.5;
      const vol = 0.05 + rnd() * 0.8;
      const df = Math.exp(-0.06 * t);
      const price = black76Price({ type, forward: F, strike: K, t, vol, df });
      const r = impliedVol(type, price, F, K, t, df);
      if (r.reason) {
        // only where the price carries no vol information in double precision (time value below the tolerance)
        expect(r.reason).toBe('below_intrinsic');
        continue;
      }
      expect(Math.abs(black76Price({ type, forward: F, strike: K, t, vol: r.iv, df }) - price)).toBeLessThan(1e-6);
      if (price - df * Math.max(type === 'C' ? F - K : K - F, 0) > 1e-3) expect(r.iv).toBeCloseTo(vol, 6);
    }
  });

  it('names why no root exists', () => {
    const df = 0.995;
    expect(impliedVol('C', 994, 24000, 23000, 0.05, df).reason).toBe('below_intrinsic');
    expect(impliedVol('C', 24000, 24000, 23000, 0.05, df).reason).toBe('above_upper_bound'); // ≥ D·F
    expect(impliedVol('P', 23000, 24000, 23000, 0.05, df).reason).toBe('above_upper_bound'); // ≥ D·K
    expect(impliedVol('C', 100, 24000, 23000, 0, df).reason).toBe('zero_time');
    expect(impliedVol('P', 0, 24000, 23000, 0.05, df).reason).toBe('non_positive_price');
    expect(impliedVol('C', 23500, 24000, 1000, 1, 1, { volMax: 2 }).reason).toBe('above_vol_cap');
    expect(Number.isNaN(impliedVol('C', 994, 24000, 23000, 0.05, df).iv)).toBe(true);
    expect(() => impliedVol('C', 10, -1, 23000, 0.05, df)).toThrow(RangeError);
  });

  it('hits the Newton cap and finishes with Brent', () => {
    const df = 1;
    const price = black76Price({ type: 'C', forward: 24000, strike: 30000, t: 0.05, vol: 0.6, df });
    const r = impliedVol('C', price, 24000, 30000, 0.05, df, { maxNewton: 2 });
    expect(r.method).toBe('brent');
    expect(r.iv).toBeCloseTo(0.6, 8);
    expect(() => brent((x) => x * x + 1, -1, 1, 1e-12, 10)).toThrow(/does not bracket/);
  });
});

describe('parity forward and year fraction', () => {
  it('ACT/365 to the expiry close; repo rate schedule', () => {
    expect(yearFraction('2025-01-15', '2025-01-30')).toBe(15 / 365);
    expect(yearFraction('2025-01-30', '2025-01-30')).toBe(0);
    expect(repoRate('2025-01-15')).toBe(0.065);
    expect(repoRate('2025-06-06')).toBe(0.055);
    expect(() => repoRate('2020-01-01')).toThrow(/no RBI repo rate/);
  });

  it('recovers the forward of a synthetic Black-76 chain exactly', () => {
    const F = 23456.7;
    const df = 0.99;
    const rows: ChainRow[] = [];
    for (let K = 22000; K <= 25000; K += 50) {
      for (const type of ['C', 'P'] as const) {
        rows.push({ date: '2025-01-15', expiry: '2025-02-27', type, strike: K, open: null, high: null, low: null, close: null, settle: black76Price({ type, forward: F, strike: K, t: 0.12, vol: 0.14, df }), contracts: 10, turnover: null, premiumTurnover: null, oi: null, oiChange: null, underlying: null });
      }
    }
    const f = parityForward(parityPairs(rows), df);
    expect(f.forward).toBeCloseTo(F, 8);
    expect(f.strikes).toContain(23450);
    expect(parityForward([], df).reason).toBe('no_pairs');
  });
});

describe.skipIf(!hasOptionsData())('implied vols on the real NIFTY chains', () => {
  let rows: ChainRow[];
  let idx: IndexSeries;
  beforeAll(async () => {
    rows = await realChain();
    idx = await realIndices();
  });

  it('every solved contract re-prices within 1e-6 INR; every NaN has a reason', () => {
    const counts: Record<string, number> = {};
    let worst = 0;
    let dates = 0;
    for (const [d, r] of groupByDate(rows)) {
      dates++;
      const chain = solveDateChain(d, r, closeOn(idx['NIFTY 50']!, d));
      expect(Number.isFinite(chain.spot)).toBe(true);
      for (const s of chain.slices) {
        for (const c of s.contracts) {
          counts[c.reason ?? 'solved'] = (counts[c.reason ?? 'solved'] ?? 0) + 1;
          if (c.reason) {
            expect(Number.isNaN(c.iv)).toBe(true);
            continue;
          }
          const p = black76Price({ type: c.type, forward: s.forward, strike: c.strike, t: s.t, vol: c.iv, df: s.df });
          worst = Math.max(worst, Math.abs(p - c.price));
        }
      }
    }
    expect(dates).toBe(243);
    expect(worst).toBeLessThan(1e-6);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(119_874);
    expect(counts.no_price).toBe(rows.filter((x) => x.settle === null && x.close === null).length);
    expect(counts.zero_time).toBe(rows.filter((x) => x.date === x.expiry && (x.settle !== null || x.close !== null)).length);
    expect(counts.solved! / total).toBeGreaterThan(0.85);
    console.log('IV solve counts on the real chains:', counts, 'worst re-pricing error', worst);
  });

  it('the parity regression implies noisy rates (why the stated repo rate is used)', () => {
    const implied: number[] = [];
    for (const [d, r] of groupByDate(rows)) {
      for (const [e, er] of groupByExpiry(r)) {
        const t = yearFraction(d, e);
        if (t <= 20 / 365) continue;
        const pairs = parityPairs(er);
        const reg = parityRegression(pairs, parityForward(pairs, Math.exp(-repoRate(d) * t)).forward, t);
        if (Number.isFinite(reg.impliedRate)) implied.push(reg.impliedRate);
      }
    }
    implied.sort((a, b) => a - b);
    const iqr = implied[Math.floor(0.75 * implied.length)]! - implied[Math.floor(0.25 * implied.length)]!;
    expect(iqr).toBeGreaterThan(0.02); // > 2 percentage points of spread between quartiles
  });
});
