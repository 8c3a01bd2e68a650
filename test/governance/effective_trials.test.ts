import { describe, expect, it } from 'vitest';
import { effectiveTrials, pboMatrix, type TrialStream } from '../../governance/effective_trials.ts';
import { expectedMaxSharpe } from '../../governance/dsr.ts';
import { onc } from '../../governance/onc.ts';
import { pboCscv, pboDecision } from '../../governance/pbo.ts';
import { Rng } from '../../rl/rng.ts';

const DATES = Array.from({ length: 1260 }, (_, t) => new Date(Date.UTC(2013, 0, 1) + t * 86_400_000).toISOString().slice(0, 10));
const opts = { aggregate: 'median' as const, mergeCorrelation: 0.9, minOverlap: 60, maxClusters: 40, nInit: 5, seed: 7 };

/**
 * `n` trial streams on `paths` paths: daily return = mu + sigma·(√rho·factor_g + √(1−rho)·own noise),
 * factor shared by the trials of the same group (trial i is in group i mod groups).
 */
function streams(o: { n: number; groups: number; rho: number; mu: number; sigma?: number; paths?: number; seed: number; days?: number }): TrialStream[] {
  const rng = new Rng(o.seed);
  const T = o.days ?? DATES.length;
  const sigma = o.sigma ?? 0.01;
  const P = o.paths ?? 3;
  const f = Array.from({ length: o.groups }, () => Float64Array.from({ length: T }, () => rng.normal()));
  return Array.from({ length: o.n }, (_, i) => {
    const base = Float64Array.from({ length: T }, (_, t) => o.mu + sigma * (Math.sqrt(o.rho) * f[i % o.groups]![t]! + Math.sqrt(1 - o.rho) * rng.normal()));
    const paths = new Map<number, Map<string, number>>();
    // the paths of one trial differ by a little path noise (different CPCV models of the same config)
    for (let p = 1; p <= P; p++) paths.set(p, new Map(DATES.slice(0, T).map((d, t) => [d, base[t]! + 0.1 * sigma * rng.normal()])));
    return { id: `t${i}`, paths };
  });
}

describe('effective number of trials (ONC clustering, López de Prado 2019)', () => {
  it('ONC recovers three blocks of correlated streams', () => {
    // 12 trials in 3 groups of 4 (within-group ρ ≈ 0.8, across ≈ 0)
    const tr = streams({ n: 12, groups: 3, rho: 0.8, mu: 0, seed: 1 });
    const e = effectiveTrials(tr, opts);
    expect(e.k).toBe(3);
    const groupOf = (id: string) => Number(id.slice(1)) % 3;
    for (const c of e.clusters) expect(new Set(c.members.map(groupOf)).size).toBe(1);
    // ONC alone, on the same correlations
    const n = 4;
    const corr = new Float64Array([1, 0.95, 0.01, 0.02, 0.95, 1, 0.03, 0.0, 0.01, 0.03, 1, 0.9, 0.02, 0.0, 0.9, 1]);
    const r = onc(corr, n, { seed: 3 });
    expect(r.k).toBe(2);
    expect(r.labels[0]).toBe(r.labels[1]);
    expect(r.labels[2]).toBe(r.labels[3]);
    expect(r.labels[0]).not.toBe(r.labels[2]);
  });

  it('near-duplicate trials count once: one cluster, SR0 = 0, while their raw variance is tiny', () => {
    const tr = streams({ n: 8, groups: 1, rho: 0.97, mu: 0.001, seed: 2 });
    const e = effectiveTrials(tr, opts);
    expect(e.mean_correlation).toBeGreaterThan(0.9);
    expect(e.k).toBe(1);
    expect(e.var_sr).toBe(0);
    expect(expectedMaxSharpe(e.k, e.var_sr)).toBe(0);
    expect(e.var_trial_sr).toBeGreaterThan(0);
    expect(e.clusters[0]!.members).toHaveLength(8);
    expect(e.clusters[0]!.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('independent trials stay distinct: the effective N grows with them and V[SR] is across the clusters', () => {
    const tr = streams({ n: 6, groups: 6, rho: 0.9, mu: 0, seed: 4 });
    const e = effectiveTrials(tr, opts);
    expect(e.mean_correlation).toBeLessThan(0.1);
    expect(e.k).toBeGreaterThanOrEqual(2);
    expect(e.clusters.map((c) => c.members.length).reduce((a, b) => a + b, 0)).toBe(6);
    expect(e.var_sr).toBeGreaterThan(0);
  });

  it('pairs with too few common dates count as uncorrelated (distinct), never merged', () => {
    const a = streams({ n: 1, groups: 1, rho: 0.5, mu: 0, seed: 5, days: 100 })[0]!;
    const late = streams({ n: 1, groups: 1, rho: 0.5, mu: 0, seed: 5, days: 1260 })[0]!;
    // late only keeps dates after the first 1200: no overlap with a's 100
    const b: TrialStream = { id: 'late', paths: new Map([...late.paths].map(([p, m]) => [p, new Map([...m].filter(([d]) => d > DATES[1200]!))])) };
    const e = effectiveTrials([a, b], opts);
    expect(e.k).toBe(2);
  });

  it('PBO matrix keeps trials covering the candidate dates and drops the short ones', () => {
    const tr = streams({ n: 3, groups: 3, rho: 0.5, mu: 0, seed: 6 });
    const short: TrialStream = { id: 'short', paths: new Map([[1, new Map(DATES.slice(0, 300).map((d) => [d, 0.001]))]]) };
    const mx = pboMatrix([...tr, short], DATES, 0.9);
    expect(mx.ids).toEqual(['t0', 't1', 't2']);
    expect(mx.excluded).toEqual(['short']);
    expect(mx.T).toBe(DATES.length);
  });
});

describe('the PBO bar decides with P(OOS loss) (Bailey et al. 2015)', () => {
  const matrix = (tr: TrialStream[]) => pboMatrix(tr, DATES, 0.9);
  const rule = { max: 0.05, max_prob_oos_loss: 0.1 };

  it('8 trials sharing a ~1.6 annual-Sharpe edge are not rejected, although PBO alone is far above 0.05', () => {
    // daily SR 0.1 per trial (≈ 1.6 annualised on NYSE sessions), trials correlated 0.5: near-duplicates of one real edge
    const tr = streams({ n: 8, groups: 1, rho: 0.5, mu: 0.001, sigma: 0.01, paths: 1, seed: 11 });
    const mx = matrix(tr);
    const r = pboCscv(mx.m, mx.T, mx.ids.length, { blocks: 16 });
    expect(r.pbo).toBeGreaterThan(0.05); // the old bar (pbo ≤ 0.05 alone) rejected this edge
    expect(r.degradation.prob_oos_loss).toBeLessThan(0.02);
    const d = pboDecision(r, rule);
    expect(d.pass).toBe(true);
    expect(d.reason).toMatch(/P\(OOS loss\) 0\.0\d\d ≤ 0\.1/);
  });

  it('8 skill-less trials are rejected: overfit selection that loses out of sample', () => {
    const tr = streams({ n: 8, groups: 8, rho: 0.5, mu: 0, sigma: 0.01, paths: 1, seed: 12 });
    const mx = matrix(tr);
    const r = pboCscv(mx.m, mx.T, mx.ids.length, { blocks: 16 });
    expect(r.pbo).toBeGreaterThan(0.05);
    expect(r.degradation.prob_oos_loss).toBeGreaterThan(0.1);
    expect(pboDecision(r, rule).pass).toBe(false);
  });

  it('one real edge among noise trials passes on PBO itself', () => {
    const noise = streams({ n: 7, groups: 7, rho: 0.5, mu: 0, sigma: 0.01, paths: 1, seed: 13 });
    const edge = streams({ n: 1, groups: 1, rho: 0.5, mu: 0.0015, sigma: 0.01, paths: 1, seed: 14 }).map((t) => ({ ...t, id: 'edge' }));
    const mx = matrix([...noise, ...edge]);
    const r = pboCscv(mx.m, mx.T, mx.ids.length, { blocks: 16 });
    expect(r.pbo).toBeLessThanOrEqual(0.05);
    expect(pboDecision(r, rule).pass).toBe(true);
  });
});
