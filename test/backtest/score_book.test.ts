import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { hasSharedData, PROJECT_ROOT } from '../../lib/paths.ts';
import { loadConfig } from '../../lib/config.ts';
import { withDuckDB } from '../../lib/duckdb.ts';
import { loadPanel } from '../../backtest/io.ts';
import type { PricePanel } from '../../backtest/panel.ts';
import { NYSE_DAILY } from '../../calendar/calendar.ts';
import { costConfigSchema, riskInputs } from '../../execution/cost_models.ts';
import { portfolioConfigSchema } from '../../portfolio/config.ts';
import { buildWeights } from '../../portfolio/construct.ts';
import { scoreBook, type BookState } from '../../portfolio/score_book.ts';
import { tempDir } from '../support/context.ts';
import { TEST_SYMBOLS, writeSp500Slice } from '../support/sp500.ts';

const d = hasSharedData() ? describe : describe.skip;

/** 10-day momentum known at the close of t (NaN before), T×N. */
function momentum(p: PricePanel, lb: number): Float64Array {
  const s = new Float64Array(p.T * p.N).fill(NaN);
  for (let t = lb; t < p.T; t++) {
    for (let i = 0; i < p.N; i++) {
      const a = p.close[t * p.N + i]!;
      const b = p.close[(t - lb) * p.N + i]!;
      if (a > 0 && b > 0) s[t * p.N + i] = Math.log(a / b);
    }
  }
  return s;
}

d('scoreBook: the deployed book is the gated book (real S&P slice, 30 names, 2015–2016)', () => {
  let panel: PricePanel;
  beforeAll(async () => {
    const file = await writeSp500Slice(path.join(tempDir('score-book-'), 'px.parquet'), TEST_SYMBOLS, { from: '2015-01-01', to: '2016-12-31' });
    panel = await withDuckDB((con) => loadPanel(con, file));
  });

  it('day by day from the held book, through a JSON state, reproduces buildWeights row for row', () => {
    const cfg = loadConfig(PROJECT_ROOT, 'configs/portfolio.yml', portfolioConfigSchema);
    const costs = loadConfig(PROJECT_ROOT, 'configs/costs.yml', costConfigSchema);
    expect(cfg.trade_rate).toBeLessThan(1); // the smoothing from the held book is exercised
    const scores = momentum(panel, 10);
    const risk = riskInputs(panel, costs.impact.sigma_window, costs.impact.adv_window);
    const gated = buildWeights(scores, panel, risk.ret, cfg, NYSE_DAILY, { costs, risk });
    const { T, N } = panel;
    let state: BookState | null = null;
    let maxDiff = 0;
    let sumTurnover = 0;
    for (let t = 0; t < T; t++) {
      const today = new Map(panel.symbols.map((s, i) => [s, scores[t * N + i]!]));
      const r = scoreBook({ date: panel.dates[t]!, scores: today, panel, state, cfg, cal: NYSE_DAILY, costs });
      for (let i = 0; i < N; i++) maxDiff = Math.max(maxDiff, Math.abs((r.weights.get(panel.symbols[i]!) ?? 0) - gated.weights[t * N + i]!));
      expect(r.sizing.leverage).toBe(gated.leverage[t]);
      sumTurnover += r.turnover;
      state = JSON.parse(JSON.stringify(r.state)) as BookState; // what `trademl score` stores between days
    }
    expect(maxDiff).toBe(0);
    // the held book trades a fraction of the gap each day: far less than a daily re-formed decile book
    expect(NYSE_DAILY.annualizeMean(sumTurnover / T)).toBeLessThan(100);
  });

  it('refuses a state that is not from the previous trading date, and prices after the date are never read', () => {
    const cfg = portfolioConfigSchema.parse({});
    const scores = new Map(panel.symbols.map((s, i) => [s, i]));
    const first = scoreBook({ date: panel.dates[100]!, scores, panel, state: null, cfg, cal: NYSE_DAILY });
    expect(() => scoreBook({ date: panel.dates[102]!, scores, panel, state: first.state, cfg, cal: NYSE_DAILY })).toThrow(/previous trading date/);
    expect(() => scoreBook({ date: '2015-01-03', scores, panel, state: null, cfg, cal: NYSE_DAILY })).toThrow(/not a date of the price panel/);
    // future prices poisoned: the book of day 101 does not change
    const next = scoreBook({ date: panel.dates[101]!, scores, panel, state: first.state, cfg, cal: NYSE_DAILY });
    const cut = (101 + 1) * panel.N;
    const poisoned: PricePanel = { ...panel, close: Float64Array.from(panel.close, (c, k) => (k >= cut ? c * 3 : c)), open: Float64Array.from(panel.open, (c, k) => (k >= cut ? NaN : c)) };
    const again = scoreBook({ date: panel.dates[101]!, scores, panel: poisoned, state: first.state, cfg, cal: NYSE_DAILY });
    expect([...again.weights]).toEqual([...next.weights]);
  });
});
