/**
 * Issue 14, item 1 (backtest side): fills at the next open after the data a signal uses. On real
 * S&P prices (30-name slice, 2013–2018): the engine's P&L up to a date never depends on targets
 * decided on or after it; a signal that uses its own fill price (the next open) trips the look-ahead
 * detector (test/validity/c_sp500_full.test.ts shows close vs next-open fills on the full panel).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { hasSharedData, PROJECT_ROOT } from '../../lib/paths.ts';
import { loadConfig } from '../../lib/config.ts';
import { withDuckDB } from '../../lib/duckdb.ts';
import { loadPanel } from '../../backtest/io.ts';
import type { PricePanel } from '../../backtest/panel.ts';
import { assertNoLookAhead, forwardIcCheck, runPath } from '../../backtest/engine.ts';
import { NYSE_DAILY } from '../../calendar/calendar.ts';
import { costConfigSchema, riskInputs, type RiskInputs } from '../../execution/cost_models.ts';
import { portfolioConfigSchema } from '../../portfolio/config.ts';
import { buildWeights } from '../../portfolio/construct.ts';
import { tempDir } from '../support/context.ts';
import { TEST_SYMBOLS, writeSp500Slice } from '../support/sp500.ts';

const d = hasSharedData() ? describe : describe.skip;

/** score(t, i) = f(t, i) for every priced cell (NaN where f is not finite). */
function signal(p: PricePanel, f: (t: number, i: number) => number): Float64Array {
  const s = new Float64Array(p.T * p.N).fill(NaN);
  for (let t = 0; t < p.T; t++) for (let i = 0; i < p.N; i++) {
    const v = f(t, i);
    if (Number.isFinite(v)) s[t * p.N + i] = v;
  }
  return s;
}

d('fills after the data a signal uses (backtest side, real S&P slice)', () => {
  let panel: PricePanel;
  let risk: RiskInputs;
  const cfg = loadConfig(PROJECT_ROOT, 'configs/portfolio.yml', portfolioConfigSchema);
  const costs = loadConfig(PROJECT_ROOT, 'configs/costs.yml', costConfigSchema);
  beforeAll(async () => {
    const file = await writeSp500Slice(path.join(tempDir('c-fills-'), 'px.parquet'), TEST_SYMBOLS);
    panel = await withDuckDB((con) => loadPanel(con, file));
    risk = riskInputs(panel, costs.impact.sigma_window, costs.impact.adv_window);
  });
  const px = (k: number) => panel.close[k]!;
  const rev5 = () => signal(panel, (t, i) => -(px(t * panel.N + i) / px((t - 5) * panel.N + i) - 1));

  it('the default fill is the next open', () => {
    expect(cfg.execution).toBe('next_open');
    expect(portfolioConfigSchema.parse({}).execution).toBe('next_open');
  });

  it('property: P&L of dates ≤ t never changes when targets decided at t or later change', () => {
    const W = buildWeights(rev5(), panel, risk.ret, cfg, NYSE_DAILY, { costs, risk }).weights;
    const { T, N } = panel;
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
    for (const ex of ['next_open', 'close'] as const) {
      const ref = runPath(W, panel, risk, costs, NYSE_DAILY, ex);
      for (const t of [40, 333, 800, T - 2]) {
        const V = Float64Array.from(W);
        for (let k = t * N; k < T * N; k++) V[k] = 0.05 * rnd();
        const alt = runPath(V, panel, risk, costs, NYSE_DAILY, ex);
        for (let u = 0; u < t; u++) expect(alt.net[u], `${ex} date ${u} after changing targets from ${t}`).toBe(ref.net[u]);
        // next open: date t itself is untouched too (its trades happen at the open of t + 1)
        if (ex === 'next_open') expect(alt.net[t]).toBe(ref.net[t]);
        else expect(alt.gross[t]).toBe(ref.gross[t]);
        expect(alt.net[t + 1]).not.toBe(ref.net[t + 1]);
      }
    }
  });

  it('a signal that uses its own fill price (the next open) trips the look-ahead detector', () => {
    const { N } = panel;
    // overnight gap open_{t+1} / close_t: known only at the fill
    const gap = signal(panel, (t, i) => (t + 1 < panel.T ? panel.open[(t + 1) * N + i]! / px(t * N + i) - 1 : NaN));
    const W = buildWeights(gap, panel, risk.ret, cfg, NYSE_DAILY, { costs, risk }).weights;
    const trades = Float64Array.from(W, (w, k) => (k < N ? w : w - W[k - N]!));
    const ic = [forwardIcCheck(W, panel, risk.ret), forwardIcCheck(trades, panel, risk.ret)].sort((a, b) => b.mean_ic - a.mean_ic)[0]!;
    expect(() => assertNoLookAhead(ic, 1, cfg.max_forward_ic)).toThrow(/look-ahead detected/);
    // the honest 5-day reversal (close_t and earlier only) passes
    const honest = buildWeights(rev5(), panel, risk.ret, cfg, NYSE_DAILY, { costs, risk }).weights;
    expect(() => assertNoLookAhead(forwardIcCheck(honest, panel, risk.ret), 1, cfg.max_forward_ic)).not.toThrow();
  });
});
