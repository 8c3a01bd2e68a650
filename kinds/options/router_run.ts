/**
 * The body of `options.router` (imported lazily): rebuild the chain index, lot table, feature rows
 * and closes, compute market breadth from the equities panel on the dates the options cover, run
 * the router study and write its report.
 */
import type { z } from 'zod';
import type { BacktestConfig } from '../../options/backtest/engine.ts';
import { ChainIndex } from '../../options/pricing/lookup.ts';
import { breadth, type PanelBar } from '../../options/router/breadth.ts';
import { routerStudy } from '../../options/router/router.ts';
import type { StepContext } from '../types.ts';
import { loadOptionsConfig, routerConfigSchema } from './config.ts';
import { lotTable, readCloses, readFeatureTable, readIvHistory, readLots } from './io.ts';
import type { routerConsumes, routerOutputs } from './router.ts';
import { fin, readParquet } from './tables.ts';

type Ctx = StepContext<typeof routerConsumes>;

/** Calendar days before the first options date read from the equities panel (each name's previous close). */
const BREADTH_LOOKBACK_DAYS = 10;

/**
 * A/D ratio and TRIN per date of the equities panel, for dates in [from, to] (the panel is read from
 * `from` − 10 calendar days so the first date has each name's previous close). Empty when the panel
 * does not cover the window.
 */
async function breadthMap(file: string, from: string, to: string): Promise<Map<string, Record<string, number>>> {
  const start = new Date(Date.parse(`${from}T00:00:00Z`) - BREADTH_LOOKBACK_DAYS * 86_400_000).toISOString().slice(0, 10);
  const bars = await readParquet<PanelBar>(file, "strftime(date, '%Y-%m-%d') AS date, symbol, close, volume", `date >= DATE '${start}' AND date <= DATE '${to}' AND close IS NOT NULL`, 'symbol, date');
  const out = new Map<string, Record<string, number>>();
  for (const b of breadth(bars)) if (b.date >= from) out.set(b.date, { adRatio: b.adRatio, trin: b.trin });
  return out;
}

/** Runs the router study (see module docs). */
export async function runRouter(ctx: Ctx, w: { config: string; nifty_symbol: string }): Promise<z.input<typeof routerOutputs>> {
  const cfg = loadOptionsConfig(ctx.projectRoot, w.config, routerConfigSchema);
  const index = new ChainIndex(await readIvHistory(ctx.artifacts, ctx.input('iv').value));
  const lotOf = lotTable(await readLots(ctx.artifacts.path(ctx.input('audit').value.lots)));
  const feats = await readFeatureTable(ctx.artifacts.path(ctx.input('features').value.table));
  const idx = ctx.input('index');
  const nifty = (await readCloses(ctx.artifacts.path(idx.value), [w.nifty_symbol], idx.step))[w.nifty_symbol]!;
  let b = ctx.maybeInput('breadth');
  if (b && b.step === idx.step && b.output === idx.output) {
    ctx.log.warn({ step: b.step }, 'options.router: the breadth input is the index input itself; bind an equities panel with inputs: { breadth: … } — breadth filter off');
    b = undefined;
  }
  const from = index.dates[0]!, to = index.dates.at(-1)!;
  ctx.progress({ fraction: 0.1, message: b ? `breadth from ${b.step} (${b.value.dataset})` : 'no breadth panel: filter inactive' });
  const extra = b ? await breadthMap(ctx.artifacts.path(b.value), from, to) : new Map<string, Record<string, number>>();
  const bt: BacktestConfig = {
    capital: cfg.capital, vegaCap: cfg.vega_cap, costs: { optionBps: cfg.costs.option_bps, hedgeBps: cfg.costs.hedge_bps },
    features: new Map(feats.map((f) => [f.date, f])), nifty, extra,
  };
  ctx.progress({ fraction: 0.2, message: 'meta-labeling events and walk-forward router' });
  const st = routerStudy(index, lotOf, bt, { oosStart: cfg.oos_start, refitEvery: cfg.refit_every, threshold: cfg.threshold, minEvents: cfg.min_events, lambda: cfg.lambda });
  const table = st.table.map((r) => ({ name: r.name, trades: r.trades, pnl: r.pnl, total_return: r.totalReturn, sharpe: fin(r.sharpe), max_drawdown: r.maxDrawdown, hit_rate: fin(r.hitRate), costs: r.costs }));
  const report = await ctx.artifacts.putJson({
    config: cfg, oos_start: st.oosStart, breadth_source: b ? { step: b.step, dataset: b.value.dataset, dates_with_breadth: extra.size } : null,
    fits: st.fits, oos_predictions: st.oosPredictions, events: st.events.map((e) => ({ strategy: e.strategy, date: e.date, t1: e.t1, pnl: e.pnl, label: e.label })),
  }, 'options_router_report.json');
  const br = { oos_dates: st.breadth.oosDates, with_breadth: st.breadth.withBreadth, risk_off_dates: st.breadth.riskOffDates };
  const best = [...table].sort((x, y) => y.pnl - x.pnl)[0]!;
  const gap = b && extra.size === 0 ? ` (the panel ${b.value.dataset} has no date within ${from}..${to})` : '';
  return {
    router: { calendar: 'nse', oos_start: st.oosStart, table, events: st.events.length, brier: fin(st.brier), base_rate: fin(st.baseRate), breadth: br, chosen: st.chosen, report },
    best: best.name, router_pnl: table.find((r) => r.name === 'router')!.pnl,
    breadth_coverage: `${br.with_breadth} of ${br.oos_dates} OOS dates${b ? '' : ' (no breadth panel bound)'}${gap}`,
  };
}
