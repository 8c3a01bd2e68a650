import type { PricePanel } from '../backtest/panel.ts';
import type { TradingCalendar } from '../calendar/calendar.ts';
import { riskInputs, type CostConfig } from '../execution/cost_models.ts';
import { InputError } from '../lib/errors.ts';
import type { PortfolioConfig } from './config.ts';
import { baseBookRow, bookScratch } from './construct.ts';
import { sizerStep, type SizerDecision, type SizerState } from './sizing.ts';

/**
 * Today's book for deployment (`trademl score`), built exactly as the gated backtest builds it
 * (issue 14, item 7: deployed = gated): the same base book (rank z-score, gross/net, per-name cap),
 * the same held-book sizing step (vol target / Kelly on the held book's own net returns, floor,
 * ceiling, caps) and the same partial rebalancing from the book actually held (`trade_rate`).
 * Run once per trading day, carrying {@link BookState} from one day to the next; the weights it returns
 * equal row t of portfolio/construct.ts `buildWeights` on the same scores and prices.
 */

/** JSON-serialisable state of the deployed book after a decision (what the next day's call needs). */
export interface BookState {
  /** Decision date of this state (ISO YYYY-MM-DD). */
  date: string;
  /** Names with a held weight ≠ 0, and their weights (fractions of capital). */
  held: Record<string, number>;
  /** Effective leverage of the held book (EMA of the multipliers at the trade rate). */
  leverage_bar: number;
  /** Per-unit net returns of the held book on its positioned days, oldest first. */
  unit_returns: number[];
  /** Cost of this decision's trades (fraction of capital), charged against the next day's return. */
  last_cost: number;
}

/** Result of {@link scoreBook}. */
export interface ScoredBook {
  date: string;
  /** Weights to hold after today's trades (non-zero names only). */
  weights: Map<string, number>;
  /** Σ|Δw| of today's trades from the held book (one-way, fraction of capital). */
  turnover: number;
  /** Today's multiplier and its components. */
  sizing: SizerDecision;
  /** State to pass to the next trading day's call. */
  state: BookState;
}

/** The rows 0..t of a panel (views, no copy): nothing after the decision date is visible. */
function panelUpTo(p: PricePanel, t: number): PricePanel {
  const n = (t + 1) * p.N;
  return { dates: p.dates.slice(0, t + 1), symbols: p.symbols, T: t + 1, N: p.N, open: p.open.subarray(0, n), close: p.close.subarray(0, n), volume: p.volume.subarray(0, n) };
}

/**
 * Target weights of `date` from the model's `scores` of that date (symbol → score; missing or
 * non-finite = no score) and the held book `state` of the previous trading date (null for the
 * first day: the book starts from the target itself, as in the backtest). `panel` holds the prices
 * up to at least `date` (rows after it are ignored); σ/ADV for the costs use the windows of `costs`.
 * Throws InputError when `date` is not a panel date, when the state is not from the previous panel
 * date (a skipped day would leave the held book's return unaccounted), or when a held name has no
 * column in the panel.
 */
export function scoreBook(o: { date: string; scores: ReadonlyMap<string, number>; panel: PricePanel; state: BookState | null; cfg: PortfolioConfig; cal: TradingCalendar; costs?: CostConfig }): ScoredBook {
  const t = o.panel.dates.indexOf(o.date);
  if (t < 0) throw new InputError({ message: `scoreBook: ${o.date} is not a date of the price panel (${o.panel.dates[0]}..${o.panel.dates[o.panel.T - 1]})` });
  if (o.state && o.state.date !== o.panel.dates[t - 1]) {
    throw new InputError({ message: `scoreBook: the held book's state is from ${o.state.date}, but the previous trading date of ${o.date} is ${o.panel.dates[t - 1] ?? 'none'}; score every trading day in order (or start a new book with no state)` });
  }
  const panel = panelUpTo(o.panel, t);
  const { N, symbols } = panel;
  const col = new Map(symbols.map((s, i) => [s, i]));
  const st: SizerState = { held: new Float64Array(N), started: o.state !== null, leverageBar: o.state?.leverage_bar ?? 1, unitReturns: [...(o.state?.unit_returns ?? [])], lastCost: o.state?.last_cost ?? 0 };
  const unknown = Object.keys(o.state?.held ?? {}).filter((s) => !col.has(s));
  if (unknown.length) throw new InputError({ message: `scoreBook: held name(s) ${unknown.join(', ')} have no prices in the panel; the held book cannot be marked` });
  for (const [s, w] of Object.entries(o.state?.held ?? {})) st.held[col.get(s)!] = w;
  const prev = Float64Array.from(st.held);
  const score = new Float64Array(N).fill(NaN);
  for (const [s, v] of o.scores) {
    const i = col.get(s);
    if (i !== undefined) score[i] = v;
  }
  const off = t * N;
  const close = panel.close.subarray(off, off + N);
  const base = new Float64Array(N);
  baseBookRow(score, close, 0, N, o.cfg, base, bookScratch(N));
  const risk = o.costs ? riskInputs(panel, o.costs.impact.sigma_window, o.costs.impact.adv_window) : riskInputs(panel);
  const row = { close, ret: risk.ret.subarray(off, off + N), sigma: risk.sigma.subarray(off, off + N), adv: risk.adv.subarray(off, off + N) };
  const sizing = sizerStep(st, base, row, o.cfg, o.cal, o.costs);
  const weights = new Map<string, number>();
  let turnover = 0;
  for (let i = 0; i < N; i++) {
    turnover += Math.abs(st.held[i]! - prev[i]!);
    if (st.held[i] !== 0) weights.set(symbols[i]!, st.held[i]!);
  }
  return {
    date: o.date,
    weights,
    turnover,
    sizing,
    state: { date: o.date, held: Object.fromEntries(weights), leverage_bar: st.leverageBar, unit_returns: st.unitReturns, last_cost: st.lastCost },
  };
}
