/**
 * Meta-labeling events (López de Prado, AFML ch. 3.6): every date on which a rule strategy (the
 * primary model) fires is an event; its meta-label is 1 when the trade, simulated on its own with
 * the backtest's fills and costs, makes money (P&L > 0 after costs), else 0. The event end t1 is the
 * trade's exit date: a secondary model may learn from an event only once t1 has passed.
 */
import { simulateSingleTrade, viewAt, type BacktestConfig } from '../backtest/engine.ts';
import type { LotTable } from '../backtest/lots.ts';
import type { PointInTimeView } from '../backtest/view.ts';
import type { ChainIndex } from '../pricing/lookup.ts';
import { STRATEGIES, STRATEGY_SIGNALS, type StrategyName } from './strategies.ts';

/** One primary-model event with its meta-label. */
export interface MetaEvent {
  strategy: StrategyName;
  date: string;
  t1: string;
  pnl: number;
  label: 0 | 1;
  /** Secondary-model inputs at the decision date (see {@link META_INPUTS}). */
  x: number[];
}

/** Names of the secondary model's inputs: options features, breadth, then the strategy one-hot. */
export const META_INPUTS = ['atm_iv', 'vrp', 'iv_rv_ratio', 'skew_25d', 'term_slope', 'pcr_oi_z21', 'gamma_z21', 'skew_z21', 'ad_ratio', 'trin', ...STRATEGIES.map((s) => `is_${s}`)] as const;

/** Secondary-model inputs of `strategy` at `view.asOf` (NaN where a feature or breadth is missing). */
export function metaInputs(view: PointInTimeView, strategy: StrategyName): number[] {
  const f = view.feature()?.values;
  const b = view.extraInputs();
  const get = (k: string) => (f ? (f as Record<string, number>)[k] ?? NaN : NaN);
  return [
    ...['atm_iv', 'vrp', 'iv_rv_ratio', 'skew_25d', 'term_slope', 'pcr_oi_z21', 'gamma_z21', 'skew_z21'].map(get),
    b?.adRatio ?? NaN, b?.trin ?? NaN,
    ...STRATEGIES.map((s) => (s === strategy ? 1 : 0)),
  ];
}

/** All events of the four strategies over `index` (trades that cannot be built, sized or exited are left out). */
export function metaEvents(index: ChainIndex, lotOf: LotTable, cfg: BacktestConfig): MetaEvent[] {
  const out: MetaEvent[] = [];
  for (const date of index.dates) {
    const view = viewAt(index, date, cfg);
    for (const s of STRATEGIES) {
      const intent = STRATEGY_SIGNALS[s](view);
      if (!intent) continue;
      const t = simulateSingleTrade(index, date, intent, lotOf, cfg);
      if (!t || !t.exitDate) continue;
      out.push({ strategy: s, date, t1: t.exitDate, pnl: t.pnl, label: t.pnl > 0 ? 1 : 0, x: metaInputs(view, s) });
    }
  }
  return out;
}
