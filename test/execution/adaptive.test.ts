import { describe, expect, it } from 'vitest';
import { AdaptiveCostModel, adaptiveImpactCost, type CostFeatures } from '../../execution/adaptive/cost_model.ts';
import { DEFAULT_ADAPTIVE_COST, runAdaptiveCost } from '../../execution/adaptive/experiment.ts';
import { RecursiveLeastSquares } from '../../execution/adaptive/rls.ts';
import { solveSpd } from '../../execution/bandit/linalg.ts';
import { costConfigSchema, impactCost } from '../../execution/cost_models.ts';
import { loadLobSession } from '../../lob/load.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { Rng } from '../../rl/rng.ts';

describe('recursive least squares', () => {
  it('with no forgetting equals batch ridge (XᵀX + δI)⁻¹Xᵀy', () => {
    const rng = new Rng(1);
    const d = 3;
    const rls = new RecursiveLeastSquares(d, 2, 1);
    const xtx = new Float64Array(d * d);
    const xty = new Float64Array(d);
    for (let i = 0; i < 200; i++) {
      const x = [1, rng.normal(), rng.normal()];
      const y = 0.5 + 2 * x[1]! - x[2]! + 0.3 * rng.normal();
      rls.update(x, y);
      for (let a = 0; a < d; a++) {
        xty[a] += x[a]! * y;
        for (let b = 0; b < d; b++) xtx[a * d + b] += x[a]! * x[b]!;
      }
    }
    for (let a = 0; a < d; a++) xtx[a * d + a] += 2;
    const w = solveSpd(xtx, xty, d);
    for (let a = 0; a < d; a++) expect(rls.w[a]!).toBeCloseTo(w[a]!, 9);
  });

  it('with forgetting tracks a coefficient that changes', () => {
    const rng = new Rng(2);
    const slow = new RecursiveLeastSquares(1, 1, 1);
    const fast = new RecursiveLeastSquares(1, 1, 0.95);
    for (let i = 0; i < 400; i++) {
      const x = [1 + rng.next()];
      const y = (i < 200 ? 1 : 3) * x[0]!;
      slow.update(x, y);
      fast.update(x, y);
    }
    expect(Math.abs(fast.w[0]! - 3)).toBeLessThan(0.01);
    expect(Math.abs(slow.w[0]! - 3)).toBeGreaterThan(0.5);
  });
});

describe('adaptive cost model', () => {
  const f = (spreadBps: number, participation: number): CostFeatures => ({ timeOfDay: 0.1, spreadBps, sigmaBps: 10, participation, side: 1 });

  it('learns a known residual on top of the AC base', () => {
    const m = new AdaptiveCostModel(0.5, 1);
    const rng = new Rng(3);
    const truth = (x: CostFeatures) => x.spreadBps / 2 + 0.5 * x.sigmaBps * x.participation + 1.5 + 0.2 * x.spreadBps;
    for (let i = 0; i < 500; i++) {
      const x = f(4 + 8 * rng.next(), rng.next());
      m.update(x, truth(x));
    }
    expect(m.baseBps(f(8, 0.5))).toBeCloseTo(4 + 2.5, 12);
    expect(m.predictBps(f(8, 0.5))).toBeCloseTo(truth(f(8, 0.5)), 2);
    // clipped to the training range: far outside it the residual does not extrapolate linearly
    expect(m.predictBps(f(100, 0.5)) - m.baseBps(f(100, 0.5))).toBeCloseTo(1.5 + 0.2 * 12, 1);
  });

  it('exposes the impactCost shape of execution/cost_models.ts', () => {
    const cfg = costConfigSchema.parse({});
    const m = new AdaptiveCostModel(0.6);
    const cost = adaptiveImpactCost(m);
    expect(cost(0, 0.02, 1e9, cfg)).toBe(0);
    expect(cost(0.01, NaN, 1e9, cfg)).toBe(impactCost(0.01, NaN, 1e9, cfg)); // same missing-data fallback
    const a = cost(0.02, 0.02, 1e8, cfg);
    const b = cost(0.04, 0.02, 1e8, cfg);
    expect(b).toBeGreaterThan(a);
    // untrained: c·σ·ρ in bps on |dw| (the half-spread is charged by linearCosts): ρ = 0.04·1e8/1e8 = 0.04
    expect(b).toBeCloseTo((0.04 * Math.max(0, 10 / 2 + 0.6 * 200 * 0.04 - 5)) / 1e4, 12);
  });
});

describe.skipIf(!hasSharedData())('adaptive cost on the GOOG replay', () => {
  it('prequential evaluation is deterministic and reports base and adaptive errors', async () => {
    const s = await loadLobSession('GOOG');
    const cfg = { ...DEFAULT_ADAPTIVE_COST, everySeconds: 20 };
    const a = runAdaptiveCost(s, cfg);
    const b = runAdaptiveCost(s, cfg);
    expect(a.adaptive).toEqual(b.adaptive);
    expect(a.children).toBeGreaterThan(100);
    expect(a.c).toBeGreaterThan(0);
    expect(a.base.mae).toBeGreaterThan(0);
    expect(a.calibration.reduce((x, q) => x + q.n, 0)).toBe(a.children);
  });
});
