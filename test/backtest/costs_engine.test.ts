import { describe, expect, it } from 'vitest';
import { costConfigSchema, impactCost, linearCosts, borrowCost, borrowAnnualBps, riskInputs } from '../../execution/cost_models.ts';
import { runPath } from '../../backtest/engine.ts';
import { panelFromRows } from '../../backtest/panel.ts';
import { baseBookRow, bookScratch, kellyLeverage, buildWeights, shrunkMean } from '../../portfolio/construct.ts';
import { portfolioConfigSchema } from '../../portfolio/config.ts';
import { pathMetrics } from '../../backtest/metrics.ts';
import { NYSE_DAILY, calendarFor } from '../../calendar/calendar.ts';

const costs = costConfigSchema.parse({});

describe('cost model arithmetic', () => {
  it('fees and half-spread are bps of traded notional', () => {
    const c = linearCosts(0.4, costConfigSchema.parse({ fee_bps: 1, half_spread_bps: 5 }));
    expect(c.fee).toBeCloseTo(0.4 * 1e-4, 15);
    expect(c.spread).toBeCloseTo(0.4 * 5e-4, 15);
  });
  it('square-root impact: |Δw|·Y·σ·√(|Δw|·capital/ADV)', () => {
    const cfg = costConfigSchema.parse({ capital_usd: 1e8, impact: { coefficient: 0.5 } });
    // trade 1% of 100M = 1M USD in a name with ADV 25M and σ 2%: rate = 0.5·0.02·√(0.04) = 0.002
    expect(impactCost(0.01, 0.02, 25e6, cfg)).toBeCloseTo(0.01 * 0.002, 15);
    expect(impactCost(-0.01, 0.02, 25e6, cfg)).toBeCloseTo(0.01 * 0.002, 15);
    // 4× the size → √4 = 2× the rate, 8× the cost
    expect(impactCost(0.04, 0.02, 25e6, cfg) / impactCost(0.01, 0.02, 25e6, cfg)).toBeCloseTo(8, 10);
    // unknown ADV → missing_bps
    expect(impactCost(0.01, 0.02, NaN, cfg)).toBeCloseTo(0.01 * 50e-4, 15);
  });
  it('borrow is tiered by ADV and charged per bar of the calendar (annual / bars per year)', () => {
    expect(borrowAnnualBps(5e8, costs.borrow.tiers)).toBe(25);
    expect(borrowAnnualBps(5e7, costs.borrow.tiers)).toBe(75);
    expect(borrowAnnualBps(1e6, costs.borrow.tiers)).toBe(300);
    expect(borrowCost(-0.1, 1e6, costs, NYSE_DAILY)).toBeCloseTo((0.1 * 0.03) / NYSE_DAILY.barsPerYear, 15);
    // 24×7 crypto accrues over 365 days: the same annual rate is a smaller daily charge
    expect(borrowCost(-0.1, 1e6, costs, calendarFor('24x7'))).toBeCloseTo((0.1 * 0.03) / 365, 15);
    expect(borrowCost(0.1, 1e6, costs, NYSE_DAILY)).toBe(0);
  });
});

/** Two names, 4 days, hand-checkable prices. */
function tinyPanel() {
  const rows = [
    ['2020-01-01', 'A', 100, 100, 1e6],
    ['2020-01-02', 'A', 101, 110, 1e6],
    ['2020-01-03', 'A', 111, 99, 1e6],
    ['2020-01-06', 'A', 99, 99, 1e6],
    ['2020-01-01', 'B', 50, 50, 2e6],
    ['2020-01-02', 'B', 50, 45, 2e6],
    ['2020-01-03', 'B', 44, 45, 2e6],
    ['2020-01-06', 'B', 45, 54, 2e6],
  ] as const;
  return panelFromRows(rows.map(([date, symbol, open, close, volume]) => ({ date, symbol, open, close, volume })));
}

describe('engine timing and P&L (known answers)', () => {
  const panel = tinyPanel();
  const risk = riskInputs(panel, 20, 20);
  const free = costConfigSchema.parse({ fee_bps: 0, half_spread_bps: 0, impact: { coefficient: 0, missing_bps: 0 }, borrow: { tiers: [{ min_adv_usd: 0, annual_bps: 0 }] } });
  // +50% A / −50% B decided at the close of day 0, flat afterwards
  const W = new Float64Array(panel.T * panel.N);
  W[0] = 0.5;
  W[1] = -0.5;

  it('close execution earns the close-to-close return of the NEXT day only', () => {
    const s = runPath(W, panel, risk, free, NYSE_DAILY, 'close');
    expect(s.gross[0]).toBe(0);
    expect(s.gross[1]).toBeCloseTo(0.5 * 0.1 + -0.5 * -0.1, 12); // +10% A, −10% B
    expect(s.gross[2]).toBe(0); // flat after the day-1 close
    expect(s.turnover[0]).toBeCloseTo(1, 12);
    // drifted holdings at day-1 close: A 0.55, B −0.45 over capital 1.1 → traded to 0
    expect(s.turnover[1]).toBeCloseTo((0.55 + 0.45) / 1.1, 12);
  });

  it('next_open execution: traded at the open of t+1, earns open→close of t+1', () => {
    const s = runPath(W, panel, risk, free, NYSE_DAILY, 'next_open');
    expect(s.turnover[0]).toBe(0);
    expect(s.turnover[1]).toBeCloseTo(1, 12);
    expect(s.gross[1]).toBeCloseTo(0.5 * (110 / 101 - 1) + -0.5 * (45 / 50 - 1), 12);
  });

  it('costs are charged on the execution day and net = gross − costs', () => {
    const c = costConfigSchema.parse({ fee_bps: 1, half_spread_bps: 5, impact: { missing_bps: 20 }, borrow: { tiers: [{ min_adv_usd: 0, annual_bps: 126 }] } });
    const s = runPath(W, panel, risk, c, NYSE_DAILY, 'close');
    expect(s.fee[0]).toBeCloseTo(1e-4, 15);
    expect(s.spread[0]).toBeCloseTo(5e-4, 15);
    expect(s.impact[0]).toBeCloseTo(20e-4, 15); // no σ/ADV history yet → missing_bps
    expect(s.borrow[1]).toBeCloseTo((0.5 * 0.0126) / NYSE_DAILY.barsPerYear, 15); // short B held overnight day 0→1
    for (let t = 0; t < panel.T; t++) expect(s.net[t]).toBeCloseTo(s.gross[t]! - s.fee[t]! - s.spread[t]! - s.impact[t]! - s.borrow[t]!, 15);
  });
});

describe('portfolio construction', () => {
  const cfg = portfolioConfigSchema.parse({});
  it('rank z-score book: gross 1, net 0, per-name cap respected with water-filling', () => {
    const N = 30;
    const score = Float64Array.from({ length: N }, (_, i) => (i === 0 ? 1e6 : i)); // an outlier does not matter after ranking
    const close = new Float64Array(N).fill(10);
    const out = new Float64Array(N);
    baseBookRow(score, close, 0, N, cfg, out, bookScratch(N));
    const gross = out.reduce((a, b) => a + Math.abs(b), 0);
    const net = out.reduce((a, b) => a + b, 0);
    expect(gross).toBeCloseTo(1, 10);
    expect(net).toBeCloseTo(0, 10);
    expect(Math.max(...out.map(Math.abs))).toBeLessThanOrEqual(0.05 + 1e-12);
    expect(out.filter((w) => Math.abs(w - 0.05) < 1e-12 || Math.abs(w + 0.05) < 1e-12).length).toBeGreaterThan(0); // caps bind
    expect(out[0]).toBeCloseTo(0.05, 12); // highest score is long at the cap
  });
  it('long-only with fewer names than gross/cap sits every name at the cap', () => {
    const c = portfolioConfigSchema.parse({ mode: 'long_only', min_names: 2 });
    const N = 20;
    const out = new Float64Array(N);
    baseBookRow(Float64Array.from({ length: N }, (_, i) => i), new Float64Array(N).fill(1), 0, N, c, out, bookScratch(N));
    // 10 names with z > 0, 10·5% = 50% < gross 1 → all at 5%
    expect(out.filter((w) => w > 0).length).toBe(10);
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(0.5, 12);
    expect(Math.min(...out)).toBe(0);
  });
  it('fractional Kelly leverage = f·μ/σ² (0 for a negative edge); the mean is shrunk by n·s²/(n·s² + B)', () => {
    expect(kellyLeverage(0.0004, 0.0001, 0.5)).toBeCloseTo(2, 12);
    expect(kellyLeverage(0.0004, 0.0001, 1)).toBeCloseTo(4, 12);
    expect(kellyLeverage(-0.0004, 0.0001, 0.5)).toBe(0);
    // prior sd of the annual Sharpe s = 1, n = half a year of daily bars (B = NYSE bars per year): a third of the sample mean survives
    const B = NYSE_DAILY.barsPerYear;
    expect(shrunkMean(0.0006, B / 2, 1, B)).toBeCloseTo(0.0002, 15);
    expect(shrunkMean(0.0006, 126, 2, B)).toBeCloseTo((0.0006 * 126 * 4) / (126 * 4 + B), 15);
  });
  it('vol target and Kelly size the held book from its own per-unit returns; the floor keeps it on', () => {
    // two names, A always +0.1%/day plus alternating ±2% noise, B always −0.1%/day; score prefers A
    const T = 200;
    const rows: { date: string; symbol: string; open: number; close: number; volume: number }[] = [];
    let a = 100;
    let b = 100;
    for (let t = 0; t < T; t++) {
      const d = new Date(Date.UTC(2015, 0, 1) + t * 864e5).toISOString().slice(0, 10);
      if (t > 0) {
        a *= 1.001 + (t % 2 ? 0.02 : -0.02);
        b *= 0.999;
      }
      rows.push({ date: d, symbol: 'A', open: a, close: a, volume: 1e6 }, { date: d, symbol: 'B', open: b, close: b, volume: 1e6 });
    }
    const panel = panelFromRows(rows);
    const risk = riskInputs(panel);
    const scores = new Float64Array(T * 2);
    for (let t = 0; t < T; t++) {
      scores[t * 2] = 1;
      scores[t * 2 + 1] = -1;
    }
    // base book +0.1 A / −0.1 B (gross 0.2, far from the per-name cap at any leverage used here), full
    // daily rebalance and no costs: the held book's per-unit return is the base book's, 0.1·(r_A − r_B)
    const unit = { min_names: 2, gross: 0.2, per_name_cap: 1, max_leverage: 100, trade_rate: 1 };
    const base: number[] = [];
    for (let t = T - 50; t < T; t++) base.push(0.1 * risk.ret[t * 2]! - 0.1 * risk.ret[t * 2 + 1]!);
    const mu = base.reduce((x, y) => x + y, 0) / 50;
    const v = base.reduce((x, y) => x + (y - mu) ** 2, 0) / 49;
    const ck = portfolioConfigSchema.parse({ ...unit, vol_target: { enabled: false }, kelly: { enabled: true, fraction: 0.5, window: 50, min_obs: 20, prior_sharpe: 1 } });
    const built = buildWeights(scores, panel, risk.ret, ck, NYSE_DAILY);
    const kelly = 0.5 * (shrunkMean(mu, 50, 1, NYSE_DAILY.barsPerYear) / v);
    expect(kelly).toBeGreaterThan(1);
    expect(built.leverage[T - 1]).toBeCloseTo(kelly, 8);
    expect(built.weights[(T - 1) * 2]).toBeCloseTo(0.1 * kelly, 10);
    // a negative edge: Kelly says 0, the floor keeps the book at min_leverage instead of switching it off
    const flipped = buildWeights(scores.map((x) => -x), panel, risk.ret, ck, NYSE_DAILY);
    expect(flipped.kelly[T - 1]).toBe(0);
    expect(flipped.leverage[T - 1]).toBe(ck.min_leverage);
    expect(Math.min(...flipped.leverage.subarray(25))).toBe(ck.min_leverage);
    expect(Math.abs(flipped.weights[(T - 1) * 2]!)).toBeGreaterThan(0);
    // vol targeting alone: leverage = target / (σ·√bars per year)
    const cv = portfolioConfigSchema.parse({ ...unit, vol_target: { annual: 0.1, window: 50, min_obs: 20 } });
    const bv = buildWeights(scores, panel, risk.ret, cv, NYSE_DAILY);
    expect(bv.leverage[T - 1]).toBeCloseTo(0.1 / Math.sqrt(v * NYSE_DAILY.barsPerYear), 8);
    // on a 24×7 calendar the same daily σ is a larger annual vol: less leverage
    expect(buildWeights(scores, panel, risk.ret, cv, calendarFor('24x7')).leverage[T - 1]).toBeCloseTo(0.1 / Math.sqrt(v * 365), 8);
    const m = pathMetrics(runPath(bv.weights, panel, risk, costConfigSchema.parse({}), NYSE_DAILY, 'close'), NYSE_DAILY, 60);
    expect(m.ann_vol).toBeGreaterThan(0.08);
    expect(m.ann_vol).toBeLessThan(0.12);
  });
});
