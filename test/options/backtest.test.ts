import { beforeAll, describe, expect, it } from 'vitest';
import { auditChain } from '../../options/audit/chain-audit.ts';
import { DEFAULT_COSTS } from '../../options/backtest/costs.ts';
import { runOptionsBacktest, type Signal } from '../../options/backtest/engine.ts';
import { lotTableFromAudits } from '../../options/backtest/lots.ts';
import { buildStructure } from '../../options/backtest/structures.ts';
import { LookAheadError } from '../../options/backtest/view.ts';
import type { ChainRow } from '../../options/data/chain.ts';
import type { IndexSeries } from '../../options/data/index-series.ts';
import { optionsFeaturesFromHistory } from '../../options/features/pipeline.ts';
import { solveChainHistory } from '../../options/pricing/history.ts';
import { ChainIndex } from '../../options/pricing/lookup.ts';
import { hasOptionsData, realChain, realIndices } from './real-data.ts';
import { syntheticChain, weekdays } from './synthetic.ts';

describe('options backtest engine (synthetic flat-vol chain)', () => {
  const dates = weekdays('2025-03-03', 10);
  const rows = syntheticChain(dates, dates.map(() => 22000), ['2025-03-27', '2025-04-24'], 0.14);
  const index = new ChainIndex(solveChainHistory(rows, []));
  const lots = lotTableFromAudits(auditChain(rows));

  it('fills on the next session at its settle; P&L = Δvalue − 50 bp of premium per fill', () => {
    const once: Signal = (v) => (v.asOf === dates[1] ? { structure: 'long_straddle', holdDays: 3, tag: 'x' } : null);
    const r = runOptionsBacktest(index, once, lots, { vegaCap: 20_000 });
    expect(r.trades).toHaveLength(1);
    const t = r.trades[0]!;
    expect(t).toMatchObject({ decisionDate: dates[1], fillDate: dates[2], exitDate: dates[5] });
    const val = (d: string) => t.legs.reduce((s, l) => s + l.qty * index.contract(d, l.expiry, l.type, l.strike)!.price, 0);
    expect(t.entryValue).toBeCloseTo(val(dates[2]!), 8);
    expect(t.exitValue).toBeCloseTo(val(dates[5]!), 8);
    expect(t.costs).toBeCloseTo((DEFAULT_COSTS.optionBps / 1e4) * (t.entryValue + t.exitValue), 8);
    expect(t.pnl).toBeCloseTo(t.exitValue - t.entryValue - t.costs, 8);
    expect(r.summary.totalPnl).toBeCloseTo(t.pnl, 8);
    // sizing at the decision date (lot 75 inferred from turnover): min(⌊vega cap / vega per lot⌋, ⌊2 % of capital / debit per lot⌋)
    const legs = buildStructure('long_straddle', index.slice(dates[1]!, '2025-03-27')!);
    const c = (l: (typeof legs)[number]) => index.contract(dates[1]!, l.expiry, l.type, l.strike)!;
    const vegaPerLot = legs.reduce((s, l) => s + l.qty * (c(l).vega / 100) * 75, 0);
    const debitPerLot = legs.reduce((s, l) => s + l.qty * c(l).price * 75, 0);
    expect(t.lots).toBe(Math.min(Math.floor(20_000 / vegaPerLot), Math.floor((0.02 * 1e7) / debitPerLot)));
    expect(runOptionsBacktest(index, once, lots, { vegaCap: 20_000, riskFraction: 1 }).trades[0]!.lots).toBe(Math.min(50, Math.floor(20_000 / vegaPerLot)));
    expect(r.days[2]!.vega).toBeGreaterThan(0);
    expect(Math.abs(r.days[2]!.vega)).toBeLessThanOrEqual(20_000 * 1.05);
  });

  it('a planted signal that reads its own fill price (next session’s settle) is caught', () => {
    const cheat: Signal = (v) => {
      const next = dates[dates.indexOf(v.asOf) + 1];
      if (!next) return null;
      const k = 22000;
      const fill = v.contract('2025-03-27', 'C', k, next); // the price it would trade at
      const now = v.contract('2025-03-27', 'C', k);
      return fill && now && fill.price > now.price ? { structure: 'long_straddle', holdDays: 1 } : null;
    };
    expect(() => runOptionsBacktest(index, cheat, lots)).toThrow(LookAheadError);
    expect(() => runOptionsBacktest(index, cheat, lots)).toThrow(/deciding at the close of 2025-03-03 read contract 2025-03-27 C 22000 dated 2025-03-04/);
  });

  it('delta-hedged positions carry ~zero net delta after each close; an unsizable intent is skipped', () => {
    const spots = dates.map((_, i) => 22000 * (1 + 0.01 * i));
    const idx = new ChainIndex(solveChainHistory(syntheticChain(dates, spots, ['2025-03-27'], 0.14), []));
    const r = runOptionsBacktest(idx, (v) => (v.asOf === dates[0] ? { structure: 'short_strangle', holdDays: 5, deltaHedge: true } : null), lots);
    for (const d of r.days.slice(1, 5)) expect(Math.abs(d.delta)).toBeLessThan(1e-6);
    expect(r.trades[0]!.hedgePnl).not.toBe(0);
    const tiny = runOptionsBacktest(idx, (v) => (v.asOf === dates[0] ? { structure: 'long_straddle', holdDays: 2 } : null), lots, { vegaCap: 1 });
    expect(tiny.trades).toHaveLength(0);
    expect(tiny.summary.skippedIntents).toBe(1);
  });
});

describe.skipIf(!hasOptionsData())('options backtest on the real NIFTY chains', () => {
  let rows: ChainRow[];
  let nifty: IndexSeries;
  beforeAll(async () => {
    rows = await realChain();
    nifty = await realIndices();
  });

  it('a VRP signal trades straddles with fills after the decision, vega within the cap, equity and greeks every day', () => {
    const history = solveChainHistory(rows, nifty['NIFTY 50']!);
    const index = new ChainIndex(history);
    const feats = new Map(optionsFeaturesFromHistory(history, nifty['NIFTY 50']!).map((f) => [f.date, f]));
    const vrpSignal: Signal = (v) => {
      const f = v.feature();
      if (!f || !Number.isFinite(f.values.vrp)) return null;
      return { structure: f.values.vrp > 2 ? 'short_straddle' : f.values.vrp < -2 ? 'long_straddle' : 'short_strangle', holdDays: 5, deltaHedge: true, tag: 'vrp' };
    };
    const r = runOptionsBacktest(index, vrpSignal, lotTableFromAudits(auditChain(rows)), { features: feats, vegaCap: 20_000 });
    expect(r.days).toHaveLength(243);
    expect(r.trades.length).toBeGreaterThan(20);
    for (const t of r.trades) {
      expect(t.fillDate > t.decisionDate).toBe(true);
      expect(index.indexOf(t.fillDate)).toBe(index.indexOf(t.decisionDate) + 1);
      expect(t.lots).toBeGreaterThan(0);
    }
    expect(r.summary.maxAbsVega).toBeLessThan(20_000 * 2); // sized at the cap at decision; vega drifts with spot and time
    expect(r.days.every((d) => Number.isFinite(d.equity) && Number.isFinite(d.delta))).toBe(true);
    expect(r.summary.costs).toBeGreaterThan(0);
    console.log('VRP straddle backtest summary:', r.summary);
  });
});
