import { beforeAll, describe, expect, it } from 'vitest';
import { groupByDate, type ChainRow } from '../../options/data/chain.ts';
import { closeOn, type IndexSeries } from '../../options/data/index-series.ts';
import { solveDateChain } from '../../options/pricing/chain-iv.ts';
import { median } from '../../options/pricing/forward.ts';
import { calendarCheck } from '../../options/surface/calendar.ts';
import { fitDateSurface } from '../../options/surface/date-surface.ts';
import { fitSsvi, ssviArbitrage, ssviW, type SsviSlice } from '../../options/surface/ssvi.ts';
import { fitSviQuasiExplicit, innerFit, type SmilePoint } from '../../options/surface/svi-fit.ts';
import { sviButterflyCheck, sviG, sviInvalid, sviW, type SviParams } from '../../options/surface/svi.ts';
import { hasOptionsData, realChain, realIndices } from './real-data.ts';

describe('raw SVI', () => {
  it('round trip: a synthetic smile gives back its five parameters', () => {
    for (const p of [
      { a: 0.002, b: 0.05, rho: -0.4, m: 0.02, sigma: 0.08 },
      { a: 0.0005, b: 0.02, rho: -0.7, m: -0.03, sigma: 0.15 },
      { a: 0.01, b: 0.1, rho: 0.2, m: 0.05, sigma: 0.3 },
    ] satisfies SviParams[]) {
      const pts: SmilePoint[] = [];
      for (let k = -0.35; k <= 0.25 + 1e-12; k += 0.02) pts.push({ k, w: sviW(p, k), weight: 1 + Math.abs(k) });
      const fit = fitSviQuasiExplicit(pts);
      expect(fit.params.a).toBeCloseTo(p.a, 7);
      expect(fit.params.b).toBeCloseTo(p.b, 6);
      expect(fit.params.rho).toBeCloseTo(p.rho, 6);
      expect(fit.params.m).toBeCloseTo(p.m, 6);
      expect(fit.params.sigma).toBeCloseTo(p.sigma, 6);
      expect(fit.objective).toBeLessThan(1e-18);
    }
  });

  it('inner problem respects the Zeliade domain (Lee bound c + |d| ≤ 4σ) when the data push beyond it', () => {
    const pts: SmilePoint[] = [];
    for (let k = -0.3; k <= 0.3 + 1e-12; k += 0.05) pts.push({ k, w: 10 * Math.abs(k), weight: 1 });
    const q = innerFit(pts, 0, 0.01, 3);
    expect(q.c + Math.abs(q.d)).toBeLessThanOrEqual(4 * 0.01 + 1e-12);
    expect(q.a).toBeGreaterThanOrEqual(0);
    expect(() => fitSviQuasiExplicit(pts.slice(0, 4))).toThrow(/need ≥ 5 points/);
  });

  it('Durrleman g catches the butterfly arbitrage of Vogt’s slice (Gatheral & Jacquier 2014, §5.2)', () => {
    const vogt: SviParams = { a: -0.041, b: 0.1331, rho: 0.306, m: 0.3586, sigma: 0.4153 };
    expect(sviInvalid(vogt)).toBeNull(); // a valid raw SVI slice (positive variance) …
    const chk = sviButterflyCheck(vogt);
    expect(chk.arbitrageFree).toBe(false); // … with a negative density
    expect(chk.minG).toBeLessThan(0);
    expect(sviG(vogt, chk.atK)).toBe(chk.minG);
    expect(sviButterflyCheck({ a: 0.002, b: 0.05, rho: -0.4, m: 0.02, sigma: 0.08 }).arbitrageFree).toBe(true);
  });

  it('calendar check flags crossing slices', () => {
    const lo = { a: 0.004, b: 0.05, rho: -0.4, m: 0, sigma: 0.1 };
    const hi = { a: 0.003, b: 0.02, rho: -0.4, m: 0, sigma: 0.1 }; // smaller wings: crosses below the short slice
    const r = calendarCheck([{ expiry: 'a', t: 0.1, w: (k) => sviW(lo, k) }, { expiry: 'b', t: 0.2, w: (k) => sviW(hi, k) }]);
    expect(r[0]!.ok).toBe(false);
    const ok = calendarCheck([{ expiry: 'a', t: 0.1, w: (k) => sviW(lo, k) }, { expiry: 'b', t: 0.2, w: (k) => 2 * sviW(lo, k) }]);
    expect(ok[0]!.ok).toBe(true);
  });
});

describe('SSVI', () => {
  const truth = { rho: -0.35, eta: 0.8, gamma: 0.45 };
  const thetas = [0.002, 0.005, 0.011];
  const slices = (th: number[], p = truth): SsviSlice[] =>
    th.map((theta, i) => ({ expiry: `e${i}`, t: (i + 1) / 12, theta, points: Array.from({ length: 21 }, (_, j) => -0.3 + 0.03 * j).map((k) => ({ k, w: ssviW(p, theta, k), weight: 1 })) }));

  it('round trip recovers (ρ, η, γ) and the surface is arbitrage-free', () => {
    const fit = fitSsvi(slices(thetas));
    expect(fit.params.rho).toBeCloseTo(truth.rho, 4);
    expect(fit.params.eta).toBeCloseTo(truth.eta, 3);
    expect(fit.params.gamma).toBeCloseTo(truth.gamma, 3);
    const arb = ssviArbitrage(fit.params, slices(thetas));
    expect(arb.butterflyFree).toBe(true);
    expect(arb.calendarFree).toBe(true);
  });

  it('catches a planted calendar arbitrage (θ decreasing in t)', () => {
    const arb = ssviArbitrage(truth, slices([0.005, 0.003, 0.011]));
    expect(arb.calendarFree).toBe(false);
    expect(arb.calendar[0]).toMatchObject({ from: 'e0', to: 'e1', ok: false });
    expect(arb.calendar[0]!.minDiff).toBeLessThan(0);
    expect(arb.calendar[1]!.ok).toBe(true);
  });

  it('catches a planted butterfly arbitrage (θφ(θ)(1 + |ρ|) > 4, Theorem 4.2 violated)', () => {
    const bad = { rho: -0.9, eta: 400, gamma: 0.1 };
    const arb = ssviArbitrage(bad, slices([0.01]));
    expect(arb.butterfly[0]!.thetaPhi1).toBeGreaterThan(4);
    expect(arb.butterflyFree).toBe(false);
    expect(arb.butterfly[0]!.minG).toBeLessThan(0);
  });
});

describe.skipIf(!hasOptionsData())('surfaces on the real NIFTY chains', () => {
  let rows: ChainRow[];
  let idx: IndexSeries;
  beforeAll(async () => {
    rows = await realChain();
    idx = await realIndices();
  });

  it('SVI per expiry fits within about a vol point (median |residual|); flags are reported per date', () => {
    const byDate = [...groupByDate(rows)];
    const sample = byDate.filter((_, i) => i % 24 === 5); // 10 dates spread over the year
    const res: number[] = [];
    const flags: string[] = [];
    for (const [d, r] of sample) {
      const s = fitDateSurface(solveDateChain(d, r, closeOn(idx['NIFTY 50']!, d)));
      expect(s.slices.length).toBeGreaterThan(0);
      expect(s.ssvi).not.toBeNull();
      for (const f of s.slices) for (const p of f.points) res.push(Math.abs(p.residualVolPts));
      flags.push(...s.flags);
    }
    const med = median(res);
    console.log(`real-chain SVI: median |residual| ${med.toFixed(3)} vol points over ${res.length} points of ${sample.length} dates; flags`, flags);
    expect(med).toBeLessThan(1);
    expect(med).toBeGreaterThan(0);
  });
});
