import { beforeAll, describe, expect, it } from 'vitest';
import type { ChainRow } from '../../options/data/chain.ts';
import type { DailyClose, IndexSeries } from '../../options/data/index-series.ts';
import type { OptionsFeatureRow } from '../../options/features/compute.ts';
import { optionsFeaturesFromHistory } from '../../options/features/pipeline.ts';
import { mlpHedger, trainDeepHedger } from '../../options/hedging/deep-hedge.ts';
import { bsDeltaHedger, bsStraddle, shortStraddlePnl } from '../../options/hedging/hedge-pnl.ts';
import { fitHestonToVix } from '../../options/hedging/heston-fit.ts';
import { gbmPaths, hestonPaths } from '../../options/hedging/simulate.ts';
import { hedgingStudy, realPaths } from '../../options/hedging/study.ts';
import { blackScholesPrice } from '../../options/pricing/black76.ts';
import { solveChainHistory } from '../../options/pricing/history.ts';
import { normalRng } from '../../options/stats/rng.ts';
import { mean, sampleStd } from '../../options/stats/series.ts';
import { calendarFor } from '../../calendar/calendar.ts';
import { weekdays } from './synthetic.ts';

/** One NSE session in years, and n sessions (calendar/calendar.ts). */
const SESSION = calendarFor('nse').years(1);
const sessions = (n: number) => calendarFor('nse').years(n);
import { hasOptionsData, realChain, realIndices } from './real-data.ts';

describe('hedging math (known answers)', () => {
  it('short-straddle P&L on a 2-step path, by hand', () => {
    const path = [1, 1.02, 0.99];
    const h = (_x: number, _t: number, _p: number, i: number) => (i === 0 ? 0.1 : -0.2);
    // premium 0.03 − |0.99 − 1| + 0.1·0.02 + (−0.2)(−0.03) − c(|0.1|·1 + |−0.3|·1.02 + |−0.2|·0.99)
    const c = 1e-3;
    expect(shortStraddlePnl(path, 1, 0.03, h, c)).toBeCloseTo(0.03 - 0.01 + 0.002 + 0.006 - c * (0.1 + 0.3 * 1.02 + 0.2 * 0.99), 14);
    expect(bsStraddle(1, 1, 0.2, 0.25)).toBeCloseTo(blackScholesPrice('C', 1, 1, 0.25, 0.2, 0) + blackScholesPrice('P', 1, 1, 0.25, 0.2, 0), 14);
  });

  it('BS delta hedging on fine GBM paths removes most of the straddle risk and centres the P&L at zero', () => {
    const steps = 200;
    const T = sessions(20);
    const paths = gbmPaths(2000, steps, T / steps, 0.15, 5);
    const prem = bsStraddle(1, 1, 0.15, T);
    const pnl = (h: Parameters<typeof shortStraddlePnl>[3]) => Array.from({ length: 2000 }, (_, i) => shortStraddlePnl(paths.subarray(i * (steps + 1), (i + 1) * (steps + 1)), 1, prem, h, 0));
    const hedged = pnl(bsDeltaHedger(0.15, T));
    const naked = pnl(() => 0);
    expect(sampleStd(hedged)).toBeLessThan(0.12 * sampleStd(naked));
    expect(Math.abs(mean(hedged))).toBeLessThan(3 * sampleStd(hedged) / Math.sqrt(2000));
  });

  it('GBM and Heston paths are seeded and have the stated variance', () => {
    const a = gbmPaths(3000, 10, SESSION, 0.2, 9);
    expect(gbmPaths(3000, 10, SESSION, 0.2, 9)).toEqual(a);
    const r = Array.from({ length: 3000 }, (_, i) => Math.log(a[i * 11 + 10]!));
    expect(sampleStd(r)).toBeCloseTo(0.2 * Math.sqrt(sessions(10)), 2);
    const h = { kappa: 2, theta: 0.04, xi: 0.3, rho: -0.6, v0: 0.04 };
    const hp = hestonPaths(3000, 10, SESSION, h, 4);
    expect(hestonPaths(3000, 10, SESSION, h, 4)).toEqual(hp);
    expect(sampleStd(Array.from({ length: 3000 }, (_, i) => Math.log(hp[i * 11 + 10]!)))).toBeCloseTo(0.2 * Math.sqrt(sessions(10)), 2);
    expect(() => hestonPaths(1, 1, 1, { ...h, rho: 1 }, 1)).toThrow(RangeError);
  });

  it('the VIX² regression recovers Heston parameters from a simulated variance/price series', () => {
    const truth = { kappa: 4, theta: 0.03, xi: 0.35, rho: -0.55, v0: 0.03 };
    const z = normalRng(11);
    const dt = SESSION;
    const dates = weekdays('1990-01-01', 12_000);
    let v = truth.v0;
    let s = 10_000;
    const nifty: DailyClose[] = [];
    const vix: DailyClose[] = [];
    for (const d of dates) {
      nifty.push({ date: d, close: s });
      vix.push({ date: d, close: 100 * Math.sqrt(v) });
      const z1 = z();
      const z2 = truth.rho * z1 + Math.sqrt(1 - truth.rho ** 2) * z();
      s *= Math.exp(Math.sqrt(v * dt) * z1);
      v = Math.max(v + truth.kappa * (truth.theta - v) * dt + truth.xi * Math.sqrt(v * dt) * z2, 1e-6);
    }
    const f = fitHestonToVix(nifty, vix, dates[0]!, dates.at(-1)!);
    expect(f.theta).toBeCloseTo(truth.theta, 2);
    expect(f.xi).toBeCloseTo(truth.xi, 1);
    expect(f.rho).toBeCloseTo(truth.rho, 1);
    expect(f.kappa).toBeGreaterThan(2);
    expect(f.kappa).toBeLessThan(7);
    expect(() => fitHestonToVix(nifty.slice(0, 10), vix, dates[0]!, dates[9]!)).toThrow(/only 10 dates/);
  });

  it('deep hedger training is deterministic and lowers the CVaR objective', async () => {
    const T = sessions(10);
    const paths = gbmPaths(512, 10, SESSION, 0.15, 2);
    const prem = bsStraddle(1, 1, 0.15, T);
    const cfg = { iterations: 40, batch: 256, learningRate: 0.02, seed: 3 };
    const a = await trainDeepHedger(paths, 10, T, 1, prem, cfg);
    const b = await trainDeepHedger(paths, 10, T, 1, prem, cfg);
    expect(b.curve).toEqual(a.curve);
    expect(b.params).toEqual(a.params);
    expect(mean(a.curve.slice(-5))).toBeLessThan(0.6 * a.curve[0]!);
    const h = mlpHedger(a.params, T);
    expect(Math.abs(h(0.05, 0.5, 0, 5))).toBeLessThanOrEqual(1);
  });
});

describe.skipIf(!hasOptionsData())('deep hedging vs BS delta on real NIFTY paths (small training)', () => {
  let rows: ChainRow[];
  let idx: IndexSeries;
  let feats: OptionsFeatureRow[];
  beforeAll(async () => {
    rows = await realChain();
    idx = await realIndices();
    feats = optionsFeaturesFromHistory(solveChainHistory(rows, idx['NIFTY 50']!), idx['NIFTY 50']!);
  });

  it('calibrates on data before the test window and reports mean, variance and CVaR side by side', async () => {
    const real = realPaths(feats, idx['NIFTY 50']!, '2025-04-01', 20);
    expect(real.length).toBeGreaterThan(100);
    expect(real.every((p) => p.start >= '2025-04-01' && p.path[0] === 1 && p.path.length === 21)).toBe(true);
    const st = await hedgingStudy(feats, idx['NIFTY 50']!, idx['INDIA VIX']!, {
      trainEnd: '2025-03-31', testStart: '2025-04-01', nTrain: 1024, nSimTest: 500, deep: { iterations: 40, batch: 512, learningRate: 0.02 },
    });
    expect(st.heston.to <= '2025-03-31').toBe(true);
    expect(st.sigmaGbm).toBeGreaterThan(0.08);
    expect(st.sigmaGbm).toBeLessThan(0.25);
    expect(st.table).toHaveLength(12);
    const real0 = st.table.filter((r) => r.paths === 'real');
    expect(real0.map((r) => r.hedger)).toEqual(['bs_delta', 'deep_gbm', 'deep_heston', 'unhedged']);
    const bs = real0.find((r) => r.hedger === 'bs_delta')!;
    const un = real0.find((r) => r.hedger === 'unhedged')!;
    expect(bs.variance).toBeLessThan(un.variance); // hedging real NIFTY paths removes risk
    expect(bs.cvar95).toBeLessThan(un.cvar95);
  });
});
