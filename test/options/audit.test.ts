import { beforeAll, describe, expect, it } from 'vitest';
import { auditChain, auditChainDate } from '../../options/audit/chain-audit.ts';
import { inferLotSize } from '../../options/audit/lot-size.ts';
import { DEFAULT_THRESHOLDS, levelOf } from '../../options/audit/rules.ts';
import { groupByDate, type ChainRow } from '../../options/data/chain.ts';
import { black76Price } from '../../options/pricing/black76.ts';
import { hasOptionsData, realChain } from './real-data.ts';

/** A clean Black-76 chain of one date (lot 75): every rule GREEN. */
function cleanChain(date = '2025-03-03', spot = 22000, settleShift = 0): ChainRow[] {
  const rows: ChainRow[] = [];
  const df = Math.exp(-0.0625 * (24 / 365));
  for (let K = 20000; K <= 24000; K += 50) {
    for (const type of ['C', 'P'] as const) {
      const p = Math.max(0.05, Math.round((black76Price({ type, forward: spot, strike: K, t: 24 / 365, vol: 0.15, df }) + settleShift) * 20) / 20);
      const n = 40;
      rows.push({
        date, expiry: '2025-03-27', type, strike: K, open: p, high: p + 1, low: Math.max(0.05, p - 1), close: p, settle: p, contracts: n,
        turnover: n * 75 * (K + p), premiumTurnover: n * 75 * p, oi: n * 75 * 3, oiChange: null, underlying: spot,
      });
    }
  }
  return rows;
}

describe('chain audit rules on planted defects', () => {
  it('a clean chain is GREEN and its lot is inferred exactly', () => {
    const a = auditChainDate(cleanChain(), null);
    expect(a.reasons).toEqual([]);
    expect(a.status).toBe('GREEN');
    expect(a.lots['2025-03-27']).toMatchObject({ lot: 75, lotFromOi: 225, oiNotMultiple: 0 });
    expect(a.strikeSteps['2025-03-27']).toBe(50);
  });

  it('zero, crossed and OI-in-contracts rows turn the date RED with the rule named', () => {
    const rows = cleanChain();
    rows[10] = { ...rows[10]!, settle: 0, close: 0 };
    for (let i = 20; i < 30; i++) rows[i] = { ...rows[i]!, high: 1, low: 5 };
    for (let i = 30; i < 60; i++) rows[i] = { ...rows[i]!, oi: 7 }; // not a multiple of 75: contracts, not units
    const a = auditChainDate(rows, null);
    expect(a.status).toBe('RED');
    const byRule = Object.fromEntries(a.findings.map((f) => [f.rule, f]));
    expect(byRule.zero_price!.count).toBe(1);
    expect(byRule.crossed_price!).toMatchObject({ count: 11, level: 'RED' }); // 10 high < low + the zero close below its low
    expect(byRule.oi_units!).toMatchObject({ count: 30, level: 'RED' });
    expect(a.reasons[0]).toMatch(/^(crossed_price|oi_units):/);
  });

  it('stale settles, parity breaches, vertical arbitrage and missing expiries are caught', () => {
    const prev = cleanChain('2025-02-28', 22000);
    const today = cleanChain('2025-03-03', 22400).map((r, i) => (i % 2 === 0 ? { ...r, settle: prev[i]!.settle, close: prev[i]!.close, contracts: 0 } : r));
    const stale = auditChainDate(today, prev).findings.find((f) => f.rule === 'stale_settle')!;
    expect(stale.level).toBe('RED');
    expect(stale.detail).toMatch(/NIFTY moved 1\.82%/);
    const broken = cleanChain().map((r) => (r.type === 'P' && r.strike % 100 === 0 ? { ...r, settle: r.settle! + 400, close: r.close! + 400 } : r));
    const f = auditChainDate(broken, null).findings;
    expect(f.find((x) => x.rule === 'parity_breach')!.count).toBeGreaterThan(0);
    expect(f.find((x) => x.rule === 'vertical_arbitrage')!.level).not.toBe('GREEN');
    const other = { ...prev[0]!, expiry: '2025-04-24' };
    expect(auditChainDate(cleanChain(), [...prev, other]).findings.find((x) => x.rule === 'expiry_consistency')).toMatchObject({ level: 'RED' });
  });

  it('levels follow the stated thresholds', () => {
    expect(levelOf('parity_breach', 0, 10, DEFAULT_THRESHOLDS)).toBe('GREEN');
    expect(levelOf('parity_breach', 2, 10, DEFAULT_THRESHOLDS)).toBe('AMBER');
    expect(levelOf('parity_breach', 4, 10, DEFAULT_THRESHOLDS)).toBe('RED');
    expect(() => levelOf('nope', 1, 1, DEFAULT_THRESHOLDS)).toThrow(/no thresholds/);
    expect(inferLotSize([]).lot).toBeNaN();
  });
});

describe.skipIf(!hasOptionsData())('chain audit on the real NIFTY chains', () => {
  let rows: ChainRow[];
  beforeAll(async () => {
    rows = await realChain();
  });

  it('243 dates audited; lot 25 on the Jan-2025 series and 75 after NSE’s revision; OI in index units', () => {
    const audits = auditChain(rows);
    expect(audits).toHaveLength(243);
    const lotsByExpiry = new Map<string, Set<number>>();
    for (const a of audits) for (const [e, l] of Object.entries(a.lots)) if (Number.isFinite(l.lot)) (lotsByExpiry.get(e) ?? lotsByExpiry.set(e, new Set()).get(e)!).add(l.lot);
    expect([...lotsByExpiry.get('2025-01-30')!]).toEqual([25]);
    for (const [e, s] of lotsByExpiry) if (e > '2025-01-30') expect([...s]).toEqual([75]);
    // every OI figure is a whole multiple of a lot in force (25): OI is in units of the index, not contracts
    expect(audits.every((a) => a.findings.find((f) => f.rule === 'oi_units')!.count === 0)).toBe(true);
    // the 23 dates without an Underlying Value are AMBER for it
    expect(audits.filter((a) => a.findings.some((f) => f.rule === 'missing_underlying' && f.level === 'AMBER'))).toHaveLength(23);
    // on the 9 expiry dates the expiring series settles at one value, the underlying's final settlement price
    const exp = audits.map((a) => a.findings.find((f) => f.rule === 'expiry_settlement')!).filter((f) => f.of > 0);
    expect(exp).toHaveLength(9);
    expect(exp.every((f) => f.level === 'GREEN')).toBe(true);
    const status = audits.reduce<Record<string, number>>((m, a) => ({ ...m, [a.status]: (m[a.status] ?? 0) + 1 }), {});
    console.log('chain audit status counts:', status);
    expect(audits.every((a) => a.status === 'GREEN' || a.reasons.length > 0)).toBe(true);
  });

  it('one date sees only itself and the previous date (point in time)', () => {
    const dates = [...groupByDate(rows).keys()];
    const cut = dates[100]!;
    const full = auditChain(rows).find((a) => a.date === cut);
    const trunc = auditChain(rows.filter((r) => r.date <= cut)).at(-1);
    expect(trunc).toEqual(full);
  });
});
