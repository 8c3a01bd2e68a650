import { describe, expect, it } from 'vitest';
import { DEFAULT_EXIT, runExitStudy } from '../../decisions/exit.ts';
import { solveFiniteMdp, valueIteration } from '../../decisions/mdp.ts';
import { loadReversalPanel, type SignalPanel } from '../../decisions/panel.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { Rng } from '../../rl/rng.ts';

describe('value iteration', () => {
  it('solves the secretary problem: stop from candidate ⌈n/e⌉ on at a best-so-far, success 0.3987 for n = 10', () => {
    // State at stage t (candidate t+1 seen): 0 = not best so far, 1 = best so far. Stop at a best-so-far wins with prob (t+1)/n.
    const n = 10;
    const sol = solveFiniteMdp({
      states: 2, actions: 2, horizon: n,
      reward: (t, s, a) => (a === 1 && s === 1 ? (t + 1) / n : 0),
      transitions: (t, _s, a) => (a === 1 || t === n - 1 ? [] : [[1, 1 / (t + 2)], [0, 1 - 1 / (t + 2)]]),
    });
    const stopAt = sol.policy.map((pi) => pi[1]);
    expect(stopAt).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1, 1]); // skip 3 candidates, then take the first best-so-far
    expect(sol.policy.every((pi) => pi[0] === 0)).toBe(true); // never stop at a candidate that is not the best so far
    const p0 = sol.V[0]![1]!; // the first candidate is always best so far
    let exact = 0;
    for (let j = 4; j <= n; j++) exact += 3 / n / (j - 1); // P(success | r = 4) = (r−1)/n · Σ_{j=r}^{n} 1/(j−1)
    expect(p0).toBeCloseTo(exact, 12);
    expect(p0).toBeCloseTo(0.398690, 6);
  });

  it('discounted value iteration matches the closed form of a two-state chain', () => {
    // s0: a0 stays (+1), a1 moves to s1 (0); s1: stays with +2. β = 0.9: V(s1) = 20, V(s0) = max(1 + 0.9·V0, 0.9·20) = 18 (move).
    const r = valueIteration({
      states: 2, actions: 2,
      reward: (_t, s, a) => (s === 0 ? (a === 0 ? 1 : 0) : 2),
      transitions: (_t, s, a) => (s === 0 ? (a === 0 ? [[0, 1]] : [[1, 1]]) : [[1, 1]]),
    }, 0.9, 1e-12);
    expect(r.V[1]!).toBeCloseTo(20, 9);
    expect(r.V[0]!).toBeCloseTo(18, 9);
    expect(r.policy[0]).toBe(1);
    expect(() => solveFiniteMdp({ states: 1, actions: 1, horizon: 1, reward: () => 0, transitions: () => [[0, 0.7], [0, 0.6]] })).toThrow(/sum to 1.3 > 1/);
  });
});

/** Synthetic panel: the signal persists (AR(1)); next-day return = +8 bps · z when the signal still agrees, −8 bps when it reversed. */
function syntheticPanel(T: number, N: number, seed: number): SignalPanel {
  const rng = new Rng(seed);
  const signal = new Float64Array(T * N);
  const fwdRet = new Float64Array(T * N);
  for (let i = 0; i < N; i++) {
    let z = rng.normal();
    for (let t = 0; t < T; t++) {
      z = 0.8 * z + 0.6 * rng.normal();
      signal[t * N + i] = z;
      fwdRet[t * N + i] = 8e-4 * z + 0.01 * rng.normal();
    }
  }
  return { dates: Array.from({ length: T }, (_, t) => `d${t}`), symbols: Array.from({ length: N }, (_, i) => `s${i}`), T, N, signal, fwdRet };
}

describe('exit MDP on a panel', () => {
  it('last stage: hold exactly where the next-day reward is positive; MDP maximises the per-trade return it optimises', () => {
    const r = runExitStudy(syntheticPanel(600, 60, 3), { ...DEFAULT_EXIT, costBps: 0 });
    const last = r.policy[r.policy.length - 1]!;
    let checked = 0;
    r.holdRewardBps.forEach((rew, s) => {
      if (r.holdCounts[s]! < 30) return; // unseen states have reward 0 (a tie: hold)
      checked++;
      expect(last[s]).toBe(rew > 0 ? 0 : 1);
    });
    expect(checked).toBeGreaterThanOrEqual(6);
    // reversed states lose, confirming ones earn (the synthetic truth: E[r] ∝ aligned z)
    for (let i = 0; i < DEFAULT_EXIT.intensityBins; i++) {
      if (r.holdCounts[i * 3]! >= 30) expect(r.holdRewardBps[i * 3]!).toBeLessThan(0);
      if (r.holdCounts[i * 3 + 2]! >= 30) expect(r.holdRewardBps[i * 3 + 2]!).toBeGreaterThan(0);
    }
    const mdp = r.results.find((x) => x.rule.startsWith('MDP'))!;
    for (const other of r.results.filter((x) => x !== mdp)) expect(mdp.meanNetBps).toBeGreaterThan(other.meanNetBps);
    expect(r.valueBps[0]!.every((v) => v >= 0)).toBe(true); // exiting is always available, so V ≥ 0
  });
});

describe.skipIf(!hasSharedData())('exit MDP on the S&P 500 subset (5-day reversal signal)', () => {
  it('fits, applies and compares deterministically', async () => {
    const p = await loadReversalPanel('sp500_subset');
    expect(p.N).toBe(60);
    expect(p.T).toBe(1259);
    const a = runExitStudy(p);
    const b = runExitStudy(p);
    expect(a.results).toEqual(b.results);
    expect(a.results.map((x) => x.rule)).toEqual(['fixed 5-day exit', 'MDP exit (≤ 10 days)', 'fixed 10-day exit']);
    expect(a.results[0]!.meanHoldDays).toBeCloseTo(5, 1);
    expect(a.results[1]!.meanHoldDays).toBeGreaterThanOrEqual(1);
  });
});
