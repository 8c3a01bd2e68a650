import { describe, expect, it } from 'vitest';
import { acCostMoments, acFrontier, acHoldings, acKappa, acLambdaForKappaT, acObjective, acSchedule, type AcParams } from '../../execution/schedules/almgren_chriss.ts';
import { holdings, roundTrades, twapSchedule } from '../../execution/schedules/schedule.ts';
import { vwapSchedule } from '../../execution/schedules/vwap.ts';

/**
 * Minimises U(x_1..x_{N−1}) = E + λV numerically, from the objective alone: Gauss–Seidel sweeps where
 * each coordinate moves to the vertex of the parabola through three evaluations (exact for a
 * quadratic), starting from the TWAP path; stops when no coordinate moves by more than 1e-10·X.
 */
function numericalOptimum(X: number, T: number, N: number, p: AcParams, lambda: number): number[] {
  const x = Array.from({ length: N + 1 }, (_, k) => X * (1 - k / N));
  const f = () => acObjective(x, T, p, lambda);
  for (let sweep = 0; sweep < 20_000; sweep++) {
    let moved = 0;
    for (let k = 1; k < N; k++) {
      const h = 1e-3 * X;
      const x0 = x[k]!;
      const f0 = f();
      x[k] = x0 + h;
      const fp = f();
      x[k] = x0 - h;
      const fm = f();
      const curv = fp - 2 * f0 + fm;
      const step = curv > 0 ? (-h * (fp - fm)) / (2 * curv) : 0;
      x[k] = x0 + step;
      moved = Math.max(moved, Math.abs(step));
    }
    if (moved < 1e-10 * X) break;
  }
  return x;
}

const P: AcParams = { sigma: 0.08, gamma: 2.5e-4, eta: 0.015, epsilon: 0.2 };

describe('Almgren–Chriss efficient trajectories', () => {
  it('closed form x_j = X·sinh(κ(T−t_j))/sinh(κT) equals the numerical optimum of E + λV', () => {
    const X = 1000;
    const T = 300;
    const N = 10;
    for (const kT of [0.3, 1, 3, 6]) {
      const lambda = acLambdaForKappaT(kT, T, N, P);
      const closed = acHoldings(X, T, N, P, lambda);
      const num = numericalOptimum(X, T, N, P, lambda);
      for (let k = 0; k <= N; k++) expect(Math.abs(closed[k]! - num[k]!)).toBeLessThan(1e-6 * X);
      expect(acObjective(closed, T, P, lambda)).toBeLessThanOrEqual(acObjective(num, T, P, lambda) + 1e-9);
      // κ recovered from λ is the κ asked for
      expect(acKappa(P, lambda, T / N) * T).toBeCloseTo(kT, 10);
    }
    // also with ε = 0 and a different N
    const p0 = { ...P, epsilon: 0 };
    const lam = acLambdaForKappaT(2, 120, 7, p0);
    const a = acHoldings(500, 120, 7, p0, lam);
    const b = numericalOptimum(500, 120, 7, p0, lam);
    a.forEach((v, k) => expect(Math.abs(v - b[k]!)).toBeLessThan(1e-6 * 500));
  });

  it('λ = 0 is TWAP; E and V of TWAP match AC eq. 11', () => {
    const X = 900;
    const T = 300;
    const N = 9;
    const x = acHoldings(X, T, N, P, 0);
    x.forEach((v, k) => expect(v).toBeCloseTo(X * (1 - k / N), 9));
    const tau = T / N;
    const m = acCostMoments(x, T, P);
    const etaT = P.eta - (P.gamma * tau) / 2;
    expect(m.expected).toBeCloseTo(0.5 * P.gamma * X * X + P.epsilon * X + (etaT * X * X) / T, 6);
    expect(m.variance).toBeCloseTo((1 / 3) * P.sigma ** 2 * X * X * T * (1 - 1 / N) * (1 - 1 / (2 * N)), 6);
  });

  it('the frontier trades expected cost for variance monotonically in λ', () => {
    const lambdas = [0, 0.5, 1, 2, 4, 8].map((kT) => acLambdaForKappaT(kT, 300, 10, P));
    const f = acFrontier(1000, 300, 10, P, lambdas);
    for (let i = 1; i < f.length; i++) {
      expect(f[i]!.expectedCost).toBeGreaterThan(f[i - 1]!.expectedCost);
      expect(f[i]!.stdCost).toBeLessThan(f[i - 1]!.stdCost);
    }
    expect(() => acKappa({ ...P, eta: 1e-9 }, 1e-6, 30)).toThrow(/η̃ = η − γτ\/2 = .* must be > 0/);
  });

  it('whole-share schedules sum to X; VWAP follows the profile; bad input is rejected', () => {
    const ac = acSchedule(1001, 300, 10, P, acLambdaForKappaT(3, 300, 10, P));
    expect(ac.trades.reduce((a, n) => a + n, 0)).toBe(1001);
    expect(ac.trades[0]!).toBeGreaterThan(ac.trades[9]!);
    expect(holdings(ac).at(-1)).toBe(0);
    expect(twapSchedule(1000, 300, 3).trades).toEqual([333, 334, 333]);
    expect(vwapSchedule(100, 30, [1, 3, 0, 6]).trades).toEqual([10, 30, 0, 60]);
    expect(vwapSchedule(100, 30, [0, 0]).name).toMatch(/TWAP/);
    expect(() => roundTrades(10.5, [10.5, 0])).toThrow(/positive whole number/);
    expect(() => twapSchedule(100, 300, 0)).toThrow(/whole number ≥ 1/);
  });
});
