import { beforeAll, describe, expect, it } from 'vitest';
import type { ChainRow } from '../../options/data/chain.ts';
import type { IndexSeries } from '../../options/data/index-series.ts';
import { black76Price } from '../../options/pricing/black76.ts';
import { solveChainHistory } from '../../options/pricing/history.ts';
import { ChainIndex } from '../../options/pricing/lookup.ts';
import { discountFactor, repoRate } from '../../options/pricing/rates.ts';
import { calendarDays, yearFraction } from '../../options/pricing/time.ts';
import { straddleTargets, straddleTargetStats } from '../../options/targets/straddle.ts';
import { hasOptionsData, realChain, realIndices } from './real-data.ts';
import { syntheticChain, weekdays } from './synthetic.ts';

describe('delta-hedged straddle target (known answers on a flat-vol Black-76 chain)', () => {
  const dates = weekdays('2025-03-03', 12);

  it('spot unchanged: P&L = Black-76 time decay of the straddle + financing; the hedge earns nothing', () => {
    const rows = syntheticChain(dates, dates.map(() => 22000), ['2025-03-27', '2025-04-24'], 0.14);
    const idx = new ChainIndex(solveChainHistory(rows, []));
    const t = straddleTargets(idx, 5)[0]!;
    expect(t.reason).toBeNull();
    expect(t).toMatchObject({ date: '2025-03-03', t1: dates[5], expiry: '2025-03-27', strike: 22100 });
    const price = (d: string) => {
      const tt = yearFraction(d, '2025-03-27');
      const df = discountFactor(repoRate(d), tt);
      const x = { forward: 22000 / df, strike: 22100, t: tt, vol: 0.14, df };
      return black76Price({ ...x, type: 'C' }) + black76Price({ ...x, type: 'P' });
    };
    expect(t.hedgePnl).toBe(0);
    expect(t.exit - t.entry).toBeCloseTo(price(dates[5]!) - price(dates[0]!), 8);
    expect(t.pnl).toBeCloseTo(t.exit - t.entry + t.carry, 12);
    expect(t.label).toBe(t.pnl > 0 ? 1 : 0);
  });

  it('the hedge is −Σ Δ·ΔS with each day’s delta; the holding period never spans an expiry', () => {
    const spots = dates.map((_, i) => 22000 * (1 + 0.01 * Math.sin(i)));
    const rows = syntheticChain(dates, spots, ['2025-03-05', '2025-03-27'], 0.14);
    const idx = new ChainIndex(solveChainHistory(rows, []));
    const t = straddleTargets(idx, 3)[0]!;
    expect(t.expiry).toBe('2025-03-27'); // 2025-03-05 expires inside the holding period (exit 2025-03-06)
    let hedge = 0;
    let carry = 0;
    for (let j = 0; j < 3; j++) {
      const d = dates[j]!;
      const c = idx.contract(d, t.expiry, 'C', t.strike)!;
      const p = idx.contract(d, t.expiry, 'P', t.strike)!;
      const delta = (idx.slice(d, t.expiry)!.forward / spots[j]!) * (c.delta + p.delta);
      hedge -= delta * (spots[j + 1]! - spots[j]!);
      carry += repoRate(d) * (calendarDays(d, dates[j + 1]!) / 365) * (delta * spots[j]! - c.price - p.price);
    }
    expect(t.hedgePnl).toBeCloseTo(hedge, 10);
    expect(t.carry).toBeCloseTo(carry, 10);
    const all = straddleTargets(idx, 3);
    expect(all.slice(-3).map((x) => x.reason)).toEqual(['horizon_beyond_data', 'horizon_beyond_data', 'horizon_beyond_data']);
    expect(() => straddleTargets(idx, 0)).toThrow(RangeError);
  });
});

describe.skipIf(!hasOptionsData())('straddle targets on the real NIFTY chains', () => {
  let rows: ChainRow[];
  let nifty: IndexSeries;
  beforeAll(async () => {
    rows = await realChain();
    nifty = await realIndices();
  });

  it('5-session delta-hedged P&L: a target on almost every date, P(P&L > 0) strictly inside (0, 1)', () => {
    const idx = new ChainIndex(solveChainHistory(rows, nifty['NIFTY 50']!));
    const t = straddleTargets(idx, 5);
    const s = straddleTargetStats(t);
    console.log('straddle target (h = 5) stats:', s);
    expect(s.n + s.nMissing).toBe(243);
    expect(s.missingReasons.horizon_beyond_data).toBe(5);
    expect(s.n).toBeGreaterThan(230);
    expect(s.pPositive).toBeGreaterThan(0.05);
    expect(s.pPositive).toBeLessThan(0.95);
    for (const x of t) if (x.reason === null) expect(x.t1 > x.date && x.expiry > x.t1).toBe(true);
  });
});
