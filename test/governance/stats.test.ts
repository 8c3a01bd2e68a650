import { describe, expect, it } from 'vitest';
import { probabilisticSharpe, psrOfReturns } from '../../governance/psr.ts';
import { deflatedSharpe, expectedMaxSharpe, EULER_GAMMA } from '../../governance/dsr.ts';
import { moments } from '../../governance/stats.ts';
import { calibration } from '../../governance/calibration.ts';
import { compareChampion, type PathReturn } from '../../governance/champion.ts';
import { makeBar, failedBars, formatGateTable } from '../../governance/gate.ts';
import { mulberry32 as rng } from '../support/rng.ts';
import { NYSE_DAILY } from '../../calendar/calendar.ts';

function normals(n: number, seed: number): Float64Array {
  const u = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u());
  return out;
}
/** Independent standard normal CDF via the Abramowitz–Stegun 7.1.26 erf approximation (|err| < 1.5e-7). */
function phiAS(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

describe('PSR / DSR (Bailey & López de Prado 2014)', () => {
  it('reproduces the paper’s worked DSR example (≈ 0.9004)', () => {
    // SR = 2.5 annualised, T = 1250 days, skew −3, kurtosis 10, N = 100 trials, V[SR] = 0.5 annualised.
    const sr = 2.5 / Math.sqrt(250);
    const sr0 = expectedMaxSharpe(100, 0.5 / 250);
    expect(sr0).toBeCloseTo(0.1132, 3);
    const dsr = probabilisticSharpe({ sr, srBenchmark: sr0, n: 1250, skew: -3, kurt: 10 });
    expect(dsr).toBeCloseTo(0.9004, 2);
    expect(Math.abs(dsr - 0.9004)).toBeLessThan(0.002);
  });

  it('PSR matches an independent computation from raw returns', () => {
    const x = normals(1000, 7).map((v, i) => 0.0005 + 0.01 * v + (i % 50 === 0 ? -0.05 : 0)); // fat left tail
    const r = psrOfReturns(x, 0.01);
    // independent: moments by hand, A&S normal CDF
    const n = x.length;
    const mean = x.reduce((a, b) => a + b, 0) / n;
    const m2 = x.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    const m3 = x.reduce((a, b) => a + (b - mean) ** 3, 0) / n;
    const m4 = x.reduce((a, b) => a + (b - mean) ** 4, 0) / n;
    const sd = Math.sqrt((m2 * n) / (n - 1));
    const sr = mean / sd;
    const g3 = m3 / m2 ** 1.5;
    const g4 = m4 / m2 ** 2;
    expect(g3).toBeLessThan(-0.5); // the constructed tail is really there
    const z = ((sr - 0.01) * Math.sqrt(n - 1)) / Math.sqrt(1 - g3 * sr + ((g4 - 1) / 4) * sr * sr);
    expect(r.psr).toBeCloseTo(phiAS(z), 6);
    expect(r.skew).toBeCloseTo(g3, 10);
    expect(r.kurt).toBeCloseTo(g4, 10);
  });

  it('PSR is 0.5 at SR* = SR and negative skew lowers it', () => {
    expect(probabilisticSharpe({ sr: 0.1, srBenchmark: 0.1, n: 500, skew: 0, kurt: 3 })).toBeCloseTo(0.5, 12);
    const sym = probabilisticSharpe({ sr: 0.1, srBenchmark: 0, n: 500, skew: 0, kurt: 3 });
    const neg = probabilisticSharpe({ sr: 0.1, srBenchmark: 0, n: 500, skew: -2, kurt: 9 });
    expect(neg).toBeLessThan(sym);
  });

  it('expected max Sharpe of N null trials agrees with a Monte Carlo maximum', () => {
    const N = 50;
    const sd = 0.05;
    const sims = 4000;
    const z = normals(N * sims, 11);
    let sum = 0;
    for (let s = 0; s < sims; s++) {
      let mx = -Infinity;
      for (let k = 0; k < N; k++) mx = Math.max(mx, z[s * N + k]! * sd);
      sum += mx;
    }
    const mc = sum / sims;
    const sr0 = expectedMaxSharpe(N, sd * sd);
    expect(Math.abs(sr0 - mc) / mc).toBeLessThan(0.04);
    expect(EULER_GAMMA).toBeCloseTo(0.5772156649, 9);
    expect(expectedMaxSharpe(1, 0.3)).toBe(0);
    expect(() => expectedMaxSharpe(0, 0.1)).toThrow(RangeError);
  });

  it('DSR falls as the number of trials grows (same returns)', () => {
    const x = normals(1250, 3).map((v) => 0.0006 + 0.01 * v);
    const d1 = deflatedSharpe(x, 1, 0.0004).dsr;
    const d10 = deflatedSharpe(x, 10, 0.0004).dsr;
    const d1000 = deflatedSharpe(x, 1000, 0.0004).dsr;
    expect(d1).toBeGreaterThan(d10);
    expect(d10).toBeGreaterThan(d1000);
    expect(moments(x).n).toBe(1250);
  });
});

describe('calibration', () => {
  it('known answers: constant 0.5 on a balanced outcome', () => {
    const p = [0.5, 0.5, 0.5, 0.5];
    const y = [1, 0, 1, 0];
    const c = calibration(p, y);
    expect(c.brier).toBeCloseTo(0.25, 12);
    expect(c.log_loss).toBeCloseTo(Math.log(2), 12);
    expect(c.ece).toBeCloseTo(0, 12);
    expect(c.bins[5]!.count).toBe(4);
  });
  it('hand-computed Brier, log loss and reliability bins', () => {
    const p = [0.9, 0.8, 0.2, 0.1, 0.65];
    const y = [1, 0, 0, 0, 1];
    const c = calibration(p, y, 5);
    expect(c.brier).toBeCloseTo((0.01 + 0.64 + 0.04 + 0.01 + 0.1225) / 5, 12);
    expect(c.log_loss).toBeCloseTo(-(Math.log(0.9) + Math.log(0.2) + Math.log(0.8) + Math.log(0.9) + Math.log(0.65)) / 5, 12);
    // bin [0.8,1.0): 0.9 and 0.8 → mean 0.85, frac 0.5
    expect(c.bins[4]).toMatchObject({ count: 2, frac_pos: 0.5 });
    expect(c.bins[4]!.mean_pred).toBeCloseTo(0.85, 12);
    expect(c.ece).toBeCloseTo((2 / 5) * 0.35 + (2 / 5) * 0.15 + (1 / 5) * 0.35, 12);
    expect(() => calibration([1.2], [1])).toThrow(RangeError);
  });
});

describe('champion comparison', () => {
  const mk = (paths: number[], f: (p: number, t: number) => number): PathReturn[] =>
    paths.flatMap((p) => Array.from({ length: 300 }, (_, t) => ({ path: p, date: new Date(Date.UTC(2015, 0, 1) + t * 864e5).toISOString().slice(0, 10), net: f(p, t) })));
  it('compares only the same (path, date) and detects the better strategy', () => {
    const z = normals(3000, 5);
    const champ = mk([1, 2, 3], (p, t) => 0.01 * z[p * 300 + t]!);
    const chal = mk([1, 2, 3, 4], (p, t) => 0.01 * z[p * 300 + t]! + 0.002);
    const c = compareChampion(chal, champ, NYSE_DAILY);
    expect(c.n_paths).toBe(3);
    expect(c.n_days).toBe(900);
    expect(c.challenger_better).toBe(true);
    expect(c.win_rate).toBe(1);
    expect(c.mean_daily_diff).toBeCloseTo(0.002, 12);
    expect(() => compareChampion(mk([9], () => 0.001), champ, NYSE_DAILY)).toThrow(/same paths/);
  });
});

describe('gate table', () => {
  it('non-finite values fail a bar and the table names value and threshold', () => {
    const bars = [makeBar('sharpe', 'Sharpe', 0.42, '>=', 1, true), makeBar('dsr', 'DSR', NaN, '>=', 0.95, true), makeBar('wf', 'walk-forward', 1.1, 'info', null, false)];
    expect(failedBars(bars).map((b) => b.id)).toEqual(['sharpe', 'dsr']);
    const t = formatGateTable(bars);
    expect(t).toMatch(/FAIL\s+blocking\s+sharpe\s+0\.4200\s+>= 1\.0000/);
    expect(t).toMatch(/n\/a\s+info\s+wf/);
  });
});
