import { describe, expect, it } from 'vitest';
import { pboCscv } from '../../governance/pbo.ts';
import { mulberry32 as rng } from '../support/rng.ts';

function noiseMatrix(T: number, N: number, seed: number): Float64Array {
  const u = rng(seed);
  const m = new Float64Array(T * N);
  for (let i = 0; i < m.length; i++) m[i] = 0.01 * Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u());
  return m;
}

describe('PBO by CSCV (Bailey, Borwein, López de Prado, Zhu 2015)', () => {
  it('is ~0 when one strategy truly dominates', () => {
    const T = 1000;
    const N = 20;
    const m = noiseMatrix(T, N, 1);
    for (let t = 0; t < T; t++) m[t * N + 7] += 0.004; // Sharpe ≈ 6 annualised: best in every half
    const r = pboCscv(m, T, N, { blocks: 16 });
    expect(r.n_combinations).toBe(12870);
    expect(r.pbo).toBeLessThan(0.02);
    expect(r.logits.median).toBeGreaterThan(2);
    expect(r.degradation.prob_oos_loss).toBeLessThan(0.01);
  });

  it('is ~0.5 or more for pure noise strategies', () => {
    const vals: number[] = [];
    for (let seed = 10; seed < 16; seed++) vals.push(pboCscv(noiseMatrix(800, 30, seed), 800, 30, { blocks: 10 }).pbo);
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    expect(mean).toBeGreaterThan(0.35);
    expect(mean).toBeLessThan(0.75);
    // IS winners do not carry over: OOS Sharpe of the IS-best is ~0 on average
    const r = pboCscv(noiseMatrix(800, 30, 99), 800, 30, { blocks: 10 });
    expect(Math.abs(r.degradation.mean_oos_sr)).toBeLessThan(0.03);
    expect(r.degradation.mean_is_sr).toBeGreaterThan(0.03);
  });

  it('validates its inputs', () => {
    expect(() => pboCscv(new Float64Array(100), 100, 1)).toThrow(/at least 2 trials/);
    expect(() => pboCscv(new Float64Array(200), 100, 2, { blocks: 7 })).toThrow(/even/);
    expect(() => pboCscv(new Float64Array(20), 10, 2, { blocks: 16 })).toThrow(/observations/);
  });
});
