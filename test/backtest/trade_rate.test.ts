import { describe, expect, it } from 'vitest';
import { portfolioConfigSchema } from '../../portfolio/config.ts';
import { buildWeights } from '../../portfolio/construct.ts';
import { panelFromRows } from '../../backtest/panel.ts';
import { NYSE_DAILY } from '../../calendar/calendar.ts';

/** Deterministic pseudo-random scores (LCG) for a known-answer check of the smoothing recursion. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
}

describe('portfolio trade_rate (partial rebalancing toward the aim portfolio)', () => {
  const T = 40;
  const N = 24;
  const rows = [];
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < N; i++) {
      const missing = i === 3 && t >= 20; // a name that stops trading
      rows.push({ date: new Date(Date.UTC(2020, 0, 1 + t)).toISOString().slice(0, 10), symbol: `S${String(i).padStart(2, '0')}`, open: 10, close: missing ? NaN : 10 + t * 0.01 * (i % 5), volume: 1e6 });
    }
  }
  const panel = panelFromRows(rows);
  const rnd = lcg(7);
  const scores = Float64Array.from({ length: T * N }, () => rnd());
  const ret = new Float64Array(T * N);
  const base = portfolioConfigSchema.parse({ kelly: { enabled: false }, vol_target: { enabled: false }, max_leverage: 1 });

  it('w_t = w_{t-1} + λ(target_t − w_{t-1}), caps hold, turnover falls, untradeable names close', () => {
    const full = buildWeights(scores, panel, ret, { ...base, trade_rate: 1 }, NYSE_DAILY).weights;
    const lambda = 0.25;
    const smooth = buildWeights(scores, panel, ret, { ...base, trade_rate: lambda }, NYSE_DAILY).weights;
    const i3 = panel.symbols.indexOf('S03');
    let turnFull = 0;
    let turnSmooth = 0;
    for (let t = 1; t < T; t++) {
      for (let i = 0; i < N; i++) {
        const k = t * N + i;
        const expected = i === i3 && t >= 20 ? 0 : smooth[k - N]! + lambda * (full[k]! - smooth[k - N]!);
        expect(smooth[k]).toBeCloseTo(expected, 12);
        expect(Math.abs(smooth[k]!)).toBeLessThanOrEqual(base.per_name_cap + 1e-12);
        turnFull += Math.abs(full[k]! - full[k - N]!);
        turnSmooth += Math.abs(smooth[k]! - smooth[k - N]!);
      }
    }
    expect(turnSmooth).toBeLessThan(0.5 * turnFull);
    for (let i = 0; i < N; i++) expect(smooth[i]).toBe(full[i]); // first day: the target itself
  });
});
