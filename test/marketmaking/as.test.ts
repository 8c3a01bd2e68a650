import { describe, expect, it } from 'vitest';
import { DEFAULT_DQN } from '../../execution/rl/dqn.ts';
import { loadLobSession } from '../../lob/load.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { asQuotes, type AsParams, fillIntensity } from '../../marketmaking/avellaneda_stoikov.ts';
import { calibrateAsFromBars, calibrateAsFromLob } from '../../marketmaking/calibrate.ts';
import { evaluateMm } from '../../marketmaking/evaluate.ts';
import { loadBars } from '../../marketmaking/klines.ts';
import { ArrivalMarket } from '../../marketmaking/markets/arrival.ts';
import { AS_ACTION, MM_ACTIONS, modifiedAsQuotes } from '../../marketmaking/policy.ts';
import { trainRlMarketMaker } from '../../marketmaking/rl_mm.ts';
import { MmEnv } from '../../marketmaking/rl_env.ts';

// The parameters of Avellaneda & Stoikov (2008) §3: s = 100, T = 1, σ = 2, dt = 0.005, A = 140, k = 1.5.
const PAPER: AsParams = { gamma: 0.1, sigma: 2, k: 1.5, A: 140 };

describe('Avellaneda–Stoikov quotes', () => {
  it('match r = s − qγσ²(T−t) and δᵃ + δᵇ = γσ²(T−t) + (2/γ)ln(1 + γ/k)', () => {
    for (const [s, q, tau, p] of [[100, 0, 1, PAPER], [100, 3, 0.5, PAPER], [100, -2, 0.25, { ...PAPER, gamma: 0.5 }], [576.3, 4, 300, { gamma: 0.01, sigma: 0.09, k: 5.1, A: 0.13 }]] as const) {
      const a = asQuotes(s, q, tau, p);
      const r = s - q * p.gamma * p.sigma ** 2 * tau;
      const spread = p.gamma * p.sigma ** 2 * tau + (2 / p.gamma) * Math.log(1 + p.gamma / p.k);
      expect(a.reservation).toBeCloseTo(r, 12);
      expect(a.spread).toBeCloseTo(spread, 12);
      expect(a.bid).toBeCloseTo(r - spread / 2, 12);
      expect(a.ask).toBeCloseTo(r + spread / 2, 12);
      expect(a.deltaBid + a.deltaAsk).toBeCloseTo(spread, 12);
    }
    // hand-computed: q = 0 at t = 0: spread 0.4 + 20·ln(16/15) = 1.690774…, symmetric around s
    const z = asQuotes(100, 0, 1, PAPER);
    expect(z.spread).toBeCloseTo(0.4 + 20 * Math.log(16 / 15), 12);
    expect(z.ask - 100).toBeCloseTo(100 - z.bid, 12);
    expect(fillIntensity(1, PAPER)).toBeCloseTo(140 * Math.exp(-1.5), 12);
    expect(() => asQuotes(100, 0, 1, { ...PAPER, gamma: 0 })).toThrow(/γ > 0/);
  });

  it('the action grid contains A-S itself and modified quotes reduce to it', () => {
    const m = new ArrivalMarket(PAPER, 100, 200, 0.005, 1, 1, 1, 1);
    m.begin(0);
    const a = MM_ACTIONS[AS_ACTION]!;
    expect([a.spread, a.skew]).toEqual([1, 1]);
    const qu = modifiedAsQuotes(m, PAPER, 5);
    const ref = asQuotes(100, 0, 1, PAPER);
    expect(qu.bid).toBeCloseTo(ref.bid, 12);
    expect(qu.ask).toBeCloseTo(ref.ask, 12);
  });

  it('in the paper\'s simulation the inventory strategy has a smaller PnL and inventory spread than the symmetric one', () => {
    // Paper Table 1 (γ = 0.1): inventory strategy std(profit) ≈ 2.9 vs symmetric ≈ 8.8; std(q) ≈ 1.9 vs 8.0.
    const market = new ArrivalMarket(PAPER, 100, 200, 0.005, 1, 1, 500, 7);
    const env = new MmEnv(market, PAPER, 1000);
    const inv = evaluateMm('A-S', env, () => AS_ACTION, 200, '24x7');
    const symIndex = MM_ACTIONS.findIndex((x) => x.spread === 1 && x.skew === 0.5);
    const halfSkew = evaluateMm('half skew', env, () => symIndex, 200, '24x7');
    expect(inv.pnlStd).toBeLessThan(halfSkew.pnlStd);
    expect(inv.inventory.std).toBeLessThan(halfSkew.inventory.std);
    expect(inv.pnlMean).toBeGreaterThan(40);
    expect(inv.pnlMean).toBeLessThan(90); // the paper reports a mean profit of 62.94 for the inventory strategy
    expect(inv.inventory.std).toBeGreaterThan(1);
    expect(inv.inventory.std).toBeLessThan(4);
  });

  it('the RL market maker is seeded and deterministic', () => {
    const p: AsParams = { gamma: 0.1, sigma: 2, k: 1.5, A: 140 };
    const env = () => new MmEnv(new ArrivalMarket(p, 100, 40, 0.005, 5, 1, 5, 3), p, 5);
    const cfg = { dqn: { ...DEFAULT_DQN, hidden: [8], episodes: 30, epsStart: 0.2, epsEnd: 0.05, epsDecayEpisodes: 20, warmup: 100, seed: 4 }, warmEpisodes: 5, warmEpochs: 2, margin: 1 };
    const a = trainRlMarketMaker(env(), cfg);
    const b = trainRlMarketMaker(env(), cfg);
    expect(Array.from(a.net.w[1]!)).toEqual(Array.from(b.net.w[1]!));
    expect(a.returns).toEqual(b.returns);
    expect(a.warmStates).toBe(5 * 40);
  });
});

describe.skipIf(!hasSharedData())('A-S calibration on the real data', () => {
  it('LOB: σ, A, k from the GOOG arrivals', async () => {
    const s = await loadLobSession('GOOG');
    const t0 = s.messages.time[0]!;
    const c = calibrateAsFromLob(s, t0, t0 + 1800);
    expect(c.sigma.value).toBeGreaterThan(0.02); // USD/√s
    expect(c.sigma.value).toBeLessThan(0.3);
    expect(c.k.value).toBeGreaterThan(1); // 1/USD
    expect(c.A.lo).toBeLessThanOrEqual(c.A.value);
    expect(c.A.hi).toBeGreaterThanOrEqual(c.A.value);
    for (let i = 1; i < c.points.length; i++) expect(c.points[i]!.lambda).toBeLessThanOrEqual(c.points[i - 1]!.lambda);
  });

  it('Binance: σ and touch-based λ(δ) from BTC hourly bars', async () => {
    const b = await loadBars('BTCUSDT');
    expect(b.ts.length).toBe(33_412);
    const c = calibrateAsFromBars(b, 1, 20_000);
    expect(c.sigma.value).toBeGreaterThan(0.002); // per √hour, log-price
    expect(c.sigma.value).toBeLessThan(0.03);
    expect(c.k.value).toBeGreaterThan(50);
    expect(c.approximations.join(' ')).toMatch(/touch = fill/);
    for (let i = 1; i < c.points.length; i++) expect(c.points[i]!.lambda).toBeLessThan(c.points[i - 1]!.lambda);
  });
});
