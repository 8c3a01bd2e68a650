import { describe, expect, it } from 'vitest';
import { banditRounds, DEFAULT_BANDIT, runBandit, runOrderTypeBandits } from '../../execution/bandit/experiment.ts';
import { cholesky, shermanMorrison, solveSpd } from '../../execution/bandit/linalg.ts';
import { LinUcb } from '../../execution/bandit/linucb.ts';
import { ORDER_TYPES } from '../../execution/bandit/order_types.ts';
import { gammaSample, NigThompson } from '../../execution/bandit/thompson.ts';
import { loadLobSession } from '../../lob/load.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { Rng } from '../../rl/rng.ts';

/** Synthetic linear bandit with a known answer: reward of arm a = θ_aᵀx + N(0, 0.5²). */
function linearRounds(n: number, seed: number) {
  const rng = new Rng(seed);
  const theta = [[1, 2, 0], [1, -2, 0], [0.5, 0, 1]];
  const contexts: Float64Array[] = [];
  const rewards: number[][] = [];
  for (let t = 0; t < n; t++) {
    const x = Float64Array.of(1, 2 * rng.next() - 1, 2 * rng.next() - 1);
    contexts.push(x);
    rewards.push(theta.map((th) => th[0]! * x[0]! + th[1]! * x[1]! + th[2]! * x[2]! + 0.5 * rng.normal()));
  }
  const best = contexts.map((x) => {
    const m = theta.map((th) => th[0]! * x[0]! + th[1]! * x[1]! + th[2]! * x[2]!);
    return m.indexOf(Math.max(...m));
  });
  return { contexts, rewards, best, children: [] };
}

describe('bandit algebra', () => {
  it('Sherman–Morrison and Cholesky solves agree with direct computation', () => {
    const a = Float64Array.of(4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2);
    const x = Float64Array.of(0.3, -1, 2);
    const inv = new Float64Array(9);
    // A⁻¹ column by column
    const cols = [0, 1, 2].map((j) => solveSpd(a, Float64Array.from([0, 1, 2], (i) => (i === j ? 1 : 0)), 3));
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) inv[i * 3 + j] = cols[j]![i]!;
    shermanMorrison(inv, x, 3);
    const a2 = a.map((v, k) => v + x[Math.floor(k / 3)]! * x[k % 3]!);
    const direct = [0, 1, 2].map((j) => solveSpd(a2, Float64Array.from([0, 1, 2], (i) => (i === j ? 1 : 0)), 3));
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(inv[i * 3 + j]!).toBeCloseTo(direct[j]![i]!, 12);
    expect(() => cholesky(Float64Array.of(1, 2, 2, 1), 2)).toThrow(/not positive definite/);
  });

  it('NIG posterior mean is the ridge solution (XᵀX + λ₀I)⁻¹Xᵀy; gamma draws have mean k', () => {
    const ts = new NigThompson(1, 2, new Rng(1), 2);
    const X = [[1, 0.5], [1, -1], [1, 2], [1, 0]];
    const y = [1, -2, 3.5, 0.2];
    X.forEach((x, i) => ts.update(0, Float64Array.from(x), y[i]!));
    const p = ts.posterior(0);
    // closed form for this 2×2 case
    const A = [[4 + 2, 1.5], [1.5, 5.25 + 2]];
    const b = [2.7, 0.5 + 2 + 7];
    const det = A[0]![0]! * A[1]![1]! - A[0]![1]! * A[1]![0]!;
    expect(p.mu[0]!).toBeCloseTo((A[1]![1]! * b[0]! - A[0]![1]! * b[1]!) / det, 12);
    expect(p.mu[1]!).toBeCloseTo((A[0]![0]! * b[1]! - A[1]![0]! * b[0]!) / det, 12);
    expect(p.a).toBe(2 + 2);
    const rng = new Rng(3);
    for (const k of [0.5, 2, 7]) {
      let s = 0;
      for (let i = 0; i < 20_000; i++) s += gammaSample(rng, k);
      expect(s / 20_000).toBeGreaterThan(k * 0.97);
      expect(s / 20_000).toBeLessThan(k * 1.03);
    }
  });

  it('LinUCB and Thompson sampling learn a linear bandit with a known optimal arm', () => {
    const r = linearRounds(3000, 4);
    for (const bandit of [new LinUcb(3, 3, 0.5, 1), new NigThompson(3, 3, new Rng(2), 1)]) {
      const run = runBandit('b', r, bandit);
      const late = run.choices.slice(2000);
      const right = late.filter((a, i) => a === r.best[2000 + i]).length / late.length;
      expect(right).toBeGreaterThan(0.9);
      // regret against the per-round oracle grows sublinearly: the last third adds far less than the first
      const oracle = (from: number, to: number) => r.rewards.slice(from, to).reduce((s, row, i) => s + row[r.best[from + i]!]! - row[run.choices[from + i]!]!, 0);
      expect(oracle(2000, 3000)).toBeLessThan(0.5 * oracle(0, 1000));
    }
  });

  it('Thompson sampling with the same seed makes identical choices', () => {
    const r = linearRounds(300, 9);
    const a = runBandit('t', r, new NigThompson(3, 3, new Rng(11), 1));
    const b = runBandit('t', r, new NigThompson(3, 3, new Rng(11), 1));
    const c = runBandit('t', r, new NigThompson(3, 3, new Rng(12), 1));
    expect(a.choices).toEqual(b.choices);
    expect(c.choices).not.toEqual(a.choices);
  });
});

describe.skipIf(!hasSharedData())('order-type bandit on the GOOG replay', () => {
  it('rounds, rewards and bandit passes are deterministic; market orders almost always pay', async () => {
    const s = await loadLobSession('GOOG');
    const cfg = { ...DEFAULT_BANDIT, everySeconds: 30, alphas: [1], thompsonSeeds: [1] };
    const r1 = banditRounds(s, cfg);
    const r2 = banditRounds(s, cfg);
    expect(r1.rewards).toEqual(r2.rewards);
    expect(r1.rewards.length).toBeGreaterThan(50);
    expect(r1.rewards.every((row) => row.length === ORDER_TYPES.length)).toBe(true);
    const market = ORDER_TYPES.indexOf('market');
    // Walking the book costs at least the half-spread, unless the visible depth runs out and the rest waits for the window end.
    expect(r1.rewards.filter((row) => row[market]! < 0).length).toBeGreaterThan(0.95 * r1.rewards.length);
    const a = runOrderTypeBandits(r1, cfg);
    const b = runOrderTypeBandits(r2, cfg);
    expect(a.linucb[0]!.choices).toEqual(b.linucb[0]!.choices);
    expect(a.thompson[0]!.choices).toEqual(b.thompson[0]!.choices);
    const best = a.fixed.best;
    const bestTotal = r1.rewards.reduce((x, row) => x + row[best]!, 0);
    expect(a.linucb[0]!.regretVsBestFixed).toBeCloseTo(bestTotal - a.linucb[0]!.cumulativeReward, 9);
  });
});
