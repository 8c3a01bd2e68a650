import { beforeAll, describe, expect, it } from 'vitest';
import type { ChainRow } from '../../options/data/chain.ts';
import { groupByDate } from '../../options/data/chain.ts';
import { closeOn } from '../../options/data/index-series.ts';
import { otmSmile, quoteQuality, solveDateChain } from '../../options/pricing/chain-iv.ts';
import { hasOptionsData, realChain, realIndices } from './real-data.ts';
import { syntheticChain } from './synthetic.ts';

describe('quote quality (known answers)', () => {
  const base = syntheticChain(['2025-03-03'], [22_000], ['2025-03-27'], 0.14)[0]!;
  it('clean = traded with Settle = Close (or the expiry date), settle_ne_close, untraded', () => {
    expect(quoteQuality(base)).toBe('clean');
    expect(quoteQuality({ ...base, settle: base.close! + 0.05 })).toBe('clean'); // within one tick
    expect(quoteQuality({ ...base, settle: base.close! + 10 })).toBe('settle_ne_close');
    expect(quoteQuality({ ...base, contracts: 0 })).toBe('untraded');
    expect(quoteQuality({ ...base, contracts: null, close: null })).toBe('untraded');
    expect(quoteQuality({ ...base, date: base.expiry, contracts: 0 })).toBe('clean');
  });
});

describe.skipIf(!hasOptionsData())('quote quality on the real chains', () => {
  let rows: ChainRow[];
  beforeAll(async () => {
    rows = await realChain();
  });
  it('NSE settles away from the close on thinly traded strikes; smiles drop those quotes (their IVs are kept)', async () => {
    const q = rows.reduce<Record<string, number>>((m, r) => ({ ...m, [quoteQuality(r)]: (m[quoteQuality(r)] ?? 0) + 1 }), {});
    console.log('quote quality of the real rows:', q);
    expect(q.settle_ne_close).toBeGreaterThan(0.1 * (q.clean! + q.settle_ne_close!)); // not a rare glitch
    const d = '2025-09-29';
    const day = groupByDate(rows).get(d)!;
    const pick = (k: number) => day.find((r) => r.expiry === '2025-11-25' && r.type === 'P' && r.strike === k)!;
    // 24150 PE: Close 152.30 between its neighbours' 153.20 (24100) and 173.10 (24200), Settle 297.15
    expect([pick(24100).settle, pick(24150).close, pick(24150).settle, pick(24200).settle]).toEqual([153.2, 152.3, 297.15, 173.1]);
    expect(quoteQuality(pick(24150))).toBe('settle_ne_close');
    const chain = solveDateChain(d, day, closeOn((await realIndices())['NIFTY 50']!, d));
    const slice = chain.slices.find((s) => s.expiry === '2025-11-25')!;
    expect(slice.contracts.find((c) => c.type === 'P' && c.strike === 24150)!.reason).toBeNull(); // solved
    const smile = otmSmile(slice);
    expect(smile.some((c) => c.strike === 24150)).toBe(false);
    expect(smile.every((c) => c.quote === 'clean')).toBe(true);
    expect(smile.length).toBeGreaterThan(20);
  });
});
