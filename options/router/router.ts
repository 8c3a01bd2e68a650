/**
 * Strategy router as meta-labeling (AFML ch. 3.6) over the four rule strategies, out of sample.
 *
 * Walk-forward: decisions before `oosStart` only produce training events. From `oosStart` on, every
 * `refitEvery` sessions a logistic secondary model (router/logistic.ts) is refitted on the events whose
 * end t1 is strictly before the decision date (labels known, no overlap with the future: purging by
 * t1, AFML ch. 7). At a close, the strategies that fire are scored P(profit | inputs); the router
 * takes the one with the highest probability if it exceeds `threshold`. Breadth filter: when market
 * breadth says risk-off (router/breadth.ts `riskOff`), only the long-volatility strategies
 * (gamma_scalping, vol_expansion) are eligible; with no breadth for the date the filter is inactive
 * (and the result says on how many OOS dates it was). Every strategy's OOS P&L is its own backtest
 * restricted to decisions in the OOS period, with the same engine, costs and vega cap.
 */
import { runOptionsBacktest, type BacktestConfig, type BacktestResult, type Signal } from '../backtest/engine.ts';
import type { LotTable } from '../backtest/lots.ts';
import type { ChainIndex } from '../pricing/lookup.ts';
import { riskOff } from './breadth.ts';
import { fitLogistic, predictLogistic, type LogisticModel } from './logistic.ts';
import { metaEvents, metaInputs, type MetaEvent } from './meta-label.ts';
import { STRATEGIES, STRATEGY_SIGNALS, strategyIntents, type StrategyName } from './strategies.ts';

/** Router settings. */
export interface RouterConfig {
  /** Index of the first out-of-sample decision date (default 80 sessions of training events). */
  oosStart?: number;
  refitEvery?: number;
  threshold?: number;
  /** Minimum training events (both labels present) for a model; before that the router stays flat. */
  minEvents?: number;
  lambda?: number;
}

/** One row of the router table. */
export interface RouterRow {
  name: string;
  trades: number;
  pnl: number;
  totalReturn: number;
  sharpe: number;
  maxDrawdown: number;
  hitRate: number;
  costs: number;
}

/** Result of the router study. */
export interface RouterStudy {
  oosStart: string;
  events: MetaEvent[];
  table: RouterRow[];
  /** Walk-forward predictions of OOS events (model as of each event's date). */
  oosPredictions: Array<{ strategy: StrategyName; date: string; p: number; label: 0 | 1 }>;
  /** Brier score of the OOS predictions and the base rate of profitable events. */
  brier: number;
  baseRate: number;
  breadth: { oosDates: number; withBreadth: number; riskOffDates: number };
  chosen: Record<string, number>;
  /** Each secondary-model fit: anchor date, training events, latest event end used (always < anchor). */
  fits: Array<{ anchor: string; nTrain: number; maxT1: string | null; fitted: boolean }>;
  results: Record<string, BacktestResult>;
}

const LONG_VOL: ReadonlySet<StrategyName> = new Set(['gamma_scalping', 'vol_expansion']);

/** Runs the study: events, walk-forward router, and the OOS table (4 strategies, priority baseline, router). */
export function routerStudy(index: ChainIndex, lotOf: LotTable, cfg: BacktestConfig, rc: RouterConfig = {}): RouterStudy {
  const oosIdx = rc.oosStart ?? 80;
  if (oosIdx <= 0 || oosIdx >= index.dates.length) throw new RangeError(`routerStudy: oosStart ${oosIdx} outside 1..${index.dates.length - 1}`);
  const oosStart = index.dates[oosIdx]!;
  const events = metaEvents(index, lotOf, cfg);
  const models = new Map<string, LogisticModel | null>();
  const fits: RouterStudy['fits'] = [];
  const modelAt = (date: string): LogisticModel | null => {
    const i = index.indexOf(date);
    const anchor = index.dates[oosIdx + Math.floor((i - oosIdx) / (rc.refitEvery ?? 21)) * (rc.refitEvery ?? 21)]!;
    if (!models.has(anchor)) {
      const train = events.filter((e) => e.t1 < anchor);
      const ok = train.length >= (rc.minEvents ?? 20) && new Set(train.map((e) => e.label)).size === 2;
      models.set(anchor, ok ? fitLogistic(train.map((e) => e.x), train.map((e) => e.label), rc.lambda ?? 1) : null);
      fits.push({ anchor, nTrain: train.length, maxT1: train.reduce<string | null>((m, e) => (m === null || e.t1 > m ? e.t1 : m), null), fitted: ok });
    }
    return models.get(anchor)!;
  };
  const chosen: Record<string, number> = {};
  const br = { oosDates: 0, withBreadth: 0, riskOffDates: 0 };
  const router: Signal = (view) => {
    const off = riskOff(view.extraInputs() as { adRatio: number; trin: number } | undefined);
    const model = modelAt(view.asOf);
    if (!model) return null;
    let best: { s: StrategyName; p: number } | null = null;
    for (const [s, intent] of Object.entries(strategyIntents(view)) as Array<[StrategyName, ReturnType<Signal>]>) {
      if (!intent || (off === true && !LONG_VOL.has(s))) continue;
      const p = predictLogistic(model, metaInputs(view, s));
      if (p > (rc.threshold ?? 0.5) && (!best || p > best.p)) best = { s, p };
    }
    if (!best) return null;
    chosen[best.s] = (chosen[best.s] ?? 0) + 1;
    return { ...strategyIntents(view)[best.s]!, tag: `router:${best.s}` };
  };
  const priority: Signal = (view) => {
    const it = strategyIntents(view);
    const s = STRATEGIES.find((n) => it[n]);
    return s ? it[s] : null;
  };
  const oos = { ...cfg, decideOn: (d: string) => d >= oosStart };
  for (const d of index.dates.filter((x) => x >= oosStart)) {
    br.oosDates++;
    const b = cfg.extra?.get(d) as { adRatio: number; trin: number } | undefined;
    const off = riskOff(b);
    if (off !== null) br.withBreadth++;
    if (off === true) br.riskOffDates++;
  }
  const results: Record<string, BacktestResult> = {};
  for (const s of STRATEGIES) results[s] = runOptionsBacktest(index, STRATEGY_SIGNALS[s], lotOf, oos);
  results.priority_no_meta = runOptionsBacktest(index, priority, lotOf, oos);
  results.router = runOptionsBacktest(index, router, lotOf, oos);
  const oosEvents = events.filter((e) => e.date >= oosStart);
  const oosPredictions = oosEvents.flatMap((e) => {
    const m = modelAt(e.date);
    return m ? [{ strategy: e.strategy, date: e.date, p: predictLogistic(m, e.x), label: e.label }] : [];
  });
  const brier = oosPredictions.reduce((s, o) => s + (o.p - o.label) ** 2, 0) / (oosPredictions.length || NaN);
  const baseRate = oosEvents.filter((e) => e.label === 1).length / (oosEvents.length || NaN);
  const table = Object.entries(results).map(([name, r]) => ({
    name, trades: r.summary.nTrades, pnl: r.summary.totalPnl, totalReturn: r.summary.totalReturn, sharpe: r.summary.sharpe,
    maxDrawdown: r.summary.maxDrawdown, hitRate: r.summary.hitRate, costs: r.summary.costs,
  }));
  return { oosStart, events, table, oosPredictions, brier, baseRate, breadth: br, chosen, fits, results };
}
