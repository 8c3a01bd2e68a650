/**
 * Issue 14, items 1 and 8 on the full shipped S&P panel (505 names, 2013-02-08..2018-02-07), through
 * the project's own portfolio construction (configs/portfolio.yml), engine and costs (configs/costs.yml),
 * with a pure 5-day reversal (information ≤ close_t):
 * - the held book's realised volatility (next-open fills, net) is within ±20% of the vol target, the
 *   book is never switched off, and with Kelly on it stays above the leverage floor;
 * - filled at its own close the same signal books a much higher gross Sharpe than at the next open.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasSharedData, PROJECT_ROOT } from '../../lib/paths.ts';
import { loadConfig } from '../../lib/config.ts';
import { withDuckDB } from '../../lib/duckdb.ts';
import { loadPanel } from '../../backtest/io.ts';
import type { PricePanel } from '../../backtest/panel.ts';
import { runPath } from '../../backtest/engine.ts';
import { firstActiveDay, pathMetrics } from '../../backtest/metrics.ts';
import { NYSE_DAILY } from '../../calendar/calendar.ts';
import { costConfigSchema, riskInputs, type RiskInputs } from '../../execution/cost_models.ts';
import { portfolioConfigSchema, type PortfolioConfig } from '../../portfolio/config.ts';
import { buildWeights } from '../../portfolio/construct.ts';
import { tempDir } from '../support/context.ts';
import { SP500_DIR, writeSp500Slice } from '../support/sp500.ts';

const d = hasSharedData() ? describe : describe.skip;

d('full S&P panel: vol target on the held book, close vs next-open fills', () => {
  let panel: PricePanel;
  let risk: RiskInputs;
  let rev5: Float64Array;
  const cfg = loadConfig(PROJECT_ROOT, 'configs/portfolio.yml', portfolioConfigSchema);
  const costs = loadConfig(PROJECT_ROOT, 'configs/costs.yml', costConfigSchema);
  beforeAll(async () => {
    const symbols = readdirSync(SP500_DIR()).filter((f) => f.endsWith('_data.csv')).map((f) => f.slice(0, -'_data.csv'.length));
    const file = await writeSp500Slice(path.join(tempDir('c-full-'), 'px.parquet'), symbols);
    panel = await withDuckDB((con) => loadPanel(con, file));
    risk = riskInputs(panel, costs.impact.sigma_window, costs.impact.adv_window);
    const { T, N, close } = panel;
    rev5 = new Float64Array(T * N).fill(NaN);
    for (let t = 5; t < T; t++) for (let i = 0; i < N; i++) {
      const a = close[t * N + i]!;
      const b = close[(t - 5) * N + i]!;
      if (a > 0 && b > 0) rev5[t * N + i] = -(a / b - 1);
    }
  });
  const backtest = (c: PortfolioConfig, ex: 'close' | 'next_open') => {
    const built = buildWeights(rev5, panel, risk.ret, c, NYSE_DAILY, { costs, risk });
    const s = runPath(built.weights, panel, risk, costs, NYSE_DAILY, ex);
    const from = firstActiveDay(s);
    return { built, s, from, m: pathMetrics(s, NYSE_DAILY, from) };
  };

  it('realised vol of the held book (net, next-open fills) is within ±20% of the target; never switched off', () => {
    expect(panel.N).toBe(505);
    expect(cfg.vol_target.enabled && !cfg.kelly.enabled).toBe(true);
    const { built, s, from, m } = backtest(cfg, 'next_open');
    const ratio = m.ann_vol / cfg.vol_target.annual;
    console.info(`full panel, 5-day reversal: realised vol ${(m.ann_vol * 100).toFixed(2)}% vs target ${(cfg.vol_target.annual * 100).toFixed(0)}% (ratio ${ratio.toFixed(3)}), mean leverage ${(built.leverage.subarray(from).reduce((a, b) => a + b, 0) / (panel.T - from)).toFixed(2)}`);
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.2);
    for (let t = from + 1; t < panel.T; t++) expect(s.grossExposure[t]!, panel.dates[t]).toBeGreaterThan(0.1);
  });

  it('Kelly on (net returns of the held book, shrunk mean): floored above zero, never flat', () => {
    const kc = portfolioConfigSchema.parse({ ...cfg, kelly: { ...cfg.kelly, enabled: true } });
    const { built, s, from } = backtest(kc, 'next_open');
    let atFloor = 0;
    for (let t = from + 1; t < panel.T; t++) {
      expect(built.leverage[t]!).toBeGreaterThanOrEqual(kc.min_leverage);
      expect(s.grossExposure[t]!, panel.dates[t]).toBeGreaterThan(0.05);
      if (built.leverage[t] === kc.min_leverage) atFloor++;
    }
    console.info(`Kelly on: leverage at the floor ${kc.min_leverage} on ${atFloor} of ${panel.T - from - 1} days`);
  });

  it('filled at its own close, the reversal books bounce it could not trade: close gross Sharpe ≫ next-open', () => {
    const close = backtest(cfg, 'close').m;
    const open = backtest(cfg, 'next_open').m;
    console.info(`full panel, 5-day reversal: gross Sharpe close ${close.sharpe_gross.toFixed(2)} vs next open ${open.sharpe_gross.toFixed(2)}; net ${close.sharpe.toFixed(2)} vs ${open.sharpe.toFixed(2)}`);
    expect(close.sharpe_gross - open.sharpe_gross).toBeGreaterThan(0.15);
  });
});
