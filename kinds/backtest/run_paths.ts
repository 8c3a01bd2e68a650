/**
 * Shared plumbing of portfolio.build and backtest.cpcv_paths: the calendar check across inputs,
 * dense per-path scores of a signals.oof input, dense weights of a portfolio.weights input, and
 * weights built from scores through portfolio/construct.ts.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ArtifactStore } from '../../artifacts/store.ts';
import type { PricePanel } from '../../backtest/panel.ts';
import { loadScores } from '../../backtest/io.ts';
import { calendarFor, type TradingCalendar } from '../../calendar/calendar.ts';
import type { ContractValue } from '../../contracts/define.ts';
import type { portfolioWeights, signalsOof } from '../../contracts/index.ts';
import type { CostConfig, RiskInputs } from '../../execution/cost_models.ts';
import { InputError } from '../../lib/errors.ts';
import type { PortfolioConfig } from '../../portfolio/config.ts';
import { buildWeights } from '../../portfolio/construct.ts';
import type { Input } from '../types.ts';

/** A signals.oof input value. */
export type SignalValue = ContractValue<typeof signalsOof>;
/** A portfolio.weights input value. */
export type WeightsValue = ContractValue<typeof portfolioWeights>;

/**
 * The calendar every time-indexed input shares: the first input's, which each other input must
 * carry too (the backtest joins them on one bar axis). Throws InputError naming the inputs otherwise,
 * or when the name is not a known calendar (calendar/calendar.ts).
 */
export function sharedCalendar(inputs: Input<{ calendar: string }>[]): TradingCalendar {
  const first = inputs[0];
  if (!first) throw new InputError({ message: 'no time-indexed input to take the calendar from' });
  const other = inputs.find((i) => i.value.calendar !== first.value.calendar);
  if (other) {
    throw new InputError({
      message: `${first.step}.${first.output} is on calendar "${first.value.calendar}" but ${other.step}.${other.output} is on "${other.value.calendar}"; inputs joined on one bar axis must share a calendar`,
      details: { calendars: inputs.map((i) => ({ step: i.step, output: i.output, calendar: i.value.calendar })) },
    });
  }
  try {
    return calendarFor(first.value.calendar);
  } catch (e) {
    throw new InputError({ message: `${first.step}.${first.output}: ${(e as Error).message}`, cause: e });
  }
}

/**
 * Dense per-path scores (T×N, NaN = no score) of a signals.oof input: its `oof` table (paths 1..φ)
 * and its `walk_forward` table (path 0), column `score`. Rows off the price panel are dropped and
 * counted. Throws InputError when a path appears in both tables, InputError (io.ts) on missing columns
 * or duplicated (path, date, symbol).
 */
export async function loadSignal(con: DuckDBConnection, store: ArtifactStore, signal: Input<SignalValue>, panel: PricePanel): Promise<{ paths: Map<number, Float64Array>; dropped: number }> {
  const out = new Map<number, Float64Array>();
  let dropped = 0;
  for (const key of ['oof', 'walk_forward'] as const) {
    const what = `signals.oof ${key} of step ${signal.step} (sleeve ${signal.value.sleeve})`;
    const r = await loadScores(con, store.path(signal.value[key]), 'score', panel, what);
    dropped += r.dropped;
    for (const [p, m] of r.paths) {
      if (out.has(p)) throw new InputError({ message: `signal of step ${signal.step}: path ${p} appears in both oof and walk_forward` });
      out.set(p, m);
    }
  }
  return { paths: out, dropped };
}

/**
 * Dense per-path target weights (T×N, 0 = no position) of a portfolio.weights input. Throws
 * InputError when a row lies off the price panel (a weight must be decided on a date with prices).
 */
export async function loadWeights(con: DuckDBConnection, store: ArtifactStore, weights: Input<WeightsValue>, panel: PricePanel): Promise<Map<number, Float64Array>> {
  const what = `portfolio.weights of step ${weights.step}`;
  const { paths, dropped } = await loadScores(con, store.path(weights.value), 'weight', panel, what);
  if (dropped > 0) {
    throw new InputError({ message: `${what} have ${dropped} rows dated outside the price calendar (or unknown symbols): a weight must be decided on a trading date with prices` });
  }
  for (const m of paths.values()) for (let k = 0; k < m.length; k++) if (m[k] !== m[k]) m[k] = 0;
  return paths;
}

/**
 * Target weights for every path of a score map (portfolio/construct.ts `buildWeights`, in path
 * order), with each path's mean leverage over the dates that hold a position and the share of those
 * dates at `max_leverage` (the vol target out of reach there). With `costs`, the
 * held book's sizing statistics are net of its trading costs (σ/ADV from `risk`).
 */
export function weightsFromScores(
  scores: Map<number, Float64Array>,
  panel: PricePanel,
  risk: RiskInputs,
  cfg: PortfolioConfig,
  cal: TradingCalendar,
  costs?: CostConfig,
): { weights: Map<number, Float64Array>; meanLeverage: Record<string, number>; atMaxLeverage: Record<string, number> } {
  const weights = new Map<number, Float64Array>();
  const meanLeverage: Record<string, number> = {};
  const atMaxLeverage: Record<string, number> = {};
  for (const [p, s] of [...scores.entries()].sort((a, b) => a[0] - b[0])) {
    const b = buildWeights(s, panel, risk.ret, cfg, cal, { costs, risk });
    weights.set(p, b.weights);
    let sum = 0;
    let n = 0;
    let atMax = 0;
    for (let t = 0; t < panel.T; t++) {
      let any = false;
      for (let i = 0; i < panel.N && !any; i++) any = b.weights[t * panel.N + i] !== 0;
      if (any) {
        sum += b.leverage[t]!;
        n++;
        if (b.leverage[t]! >= cfg.max_leverage) atMax++;
      }
    }
    meanLeverage[String(p)] = n ? sum / n : 0;
    atMaxLeverage[String(p)] = n ? atMax / n : 0;
  }
  return { weights, meanLeverage, atMaxLeverage };
}
