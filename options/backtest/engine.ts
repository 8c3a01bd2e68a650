/**
 * Daily options backtest on the solved NIFTY chains.
 *
 * Timing (no look-ahead): at the close of date tᵢ the signal sees a {@link PointInTimeView} as of tᵢ
 * and may return a {@link TradeIntent}; the structure's legs and size are fixed from tᵢ's chain, and
 * the order fills at the settle of the NEXT session tᵢ₊₁. Positions are marked at each session's
 * settle (the previous mark is carried when a settle is missing, counted as `staleMarks`), closed at
 * the settle `holdDays` sessions after the fill, or on the expiry date at the exercise value
 * (data/chain.ts `optionPrice`), or on the last date. An order whose fill session would be the expiry
 * date itself is skipped.
 * Optional delta hedge: at each close the index position is reset to −Δ (Black-76 spot delta, index
 * units). Sizing at the decision date: lots = min(maxLots, ⌊vegaCap / |vega per lot|⌋,
 * ⌊riskFraction·capital / max loss per lot⌋) with vega in INR per vol point and the max loss of
 * backtest/risk.ts; an intent that sizes to 0 lots is skipped. One position at a time.
 * P&L in INR; equity = capital + cumulative P&L; daily return = P&L / capital.
 */
import { calendarFor } from '../../calendar/calendar.ts';
import type { DailyClose } from '../data/index-series.ts';
import type { OptionsFeatureRow } from '../features/compute.ts';
import type { ChainIndex } from '../pricing/lookup.ts';
import { DEFAULT_COSTS, hedgeCost, optionCost, type CostModel } from './costs.ts';
import type { LotTable } from './lots.ts';
import { buildStructure, type Leg, type StructureKind } from './structures.ts';
import { PointInTimeView } from './view.ts';
import { frontExpiryFor } from './expiry-choice.ts';
import { maxLossPerUnit } from './risk.ts';

/** What a signal asks for at a close. */
export interface TradeIntent {
  structure: StructureKind;
  /** Sessions to hold after the fill (≥ 1). */
  holdDays: number;
  /** Minimum calendar days to expiry at the decision date (default 7 + 1.5 × holdDays). */
  minDays?: number;
  deltaHedge?: boolean;
  tag?: string;
}

/** A signal: decision at the close of `view.asOf`, or null for no trade. */
export type Signal = (view: PointInTimeView) => TradeIntent | null;

/** Engine settings. */
export interface BacktestConfig {
  /** Capital, INR (default 1 crore = 1e7). */
  capital?: number;
  /** Cap on |position vega|, INR per vol point (default 20,000). */
  vegaCap?: number;
  /** Cap on the trade's maximum loss (backtest/risk.ts) as a fraction of capital (default 0.02). */
  riskFraction?: number;
  maxLots?: number;
  costs?: CostModel;
  /** Per-date feature rows the signals may read (point-in-time guarded). */
  features?: ReadonlyMap<string, OptionsFeatureRow>;
  /** NIFTY 50 closes the signals may read up to the decision date. */
  nifty?: readonly DailyClose[];
  /** Extra per-date inputs (breadth) the signals may read up to the decision date. */
  extra?: ReadonlyMap<string, Record<string, number>>;
  /** Dates on which the signal may decide (default: all); others are skipped without calling it. */
  decideOn?: (date: string) => boolean;
}

/** One completed or open trade. */
export interface Trade {
  tag: string;
  structure: StructureKind;
  decisionDate: string;
  fillDate: string;
  exitDate: string | null;
  legs: Leg[];
  lots: number;
  /** INR paid (+) or received (−) for the legs at the fill. */
  entryValue: number;
  exitValue: number;
  costs: number;
  hedgePnl: number;
  pnl: number;
}

/** One session of the backtest (after that session's trades). */
export interface BacktestDay {
  date: string;
  pnl: number;
  equity: number;
  drawdown: number;
  /** Net delta, index units (options + hedge). */
  delta: number;
  /** Gamma, index units per index point. */
  gamma: number;
  /** Vega, INR per vol point. */
  vega: number;
  /** Theta, INR per calendar day. */
  theta: number;
  open: string | null;
}

/** Result of a run. */
export interface BacktestResult {
  days: BacktestDay[];
  trades: Trade[];
  summary: { totalPnl: number; totalReturn: number; sharpe: number; maxDrawdown: number; nTrades: number; hitRate: number; costs: number; skippedIntents: number; staleMarks: number; maxAbsVega: number };
}

interface Open {
  trade: Trade;
  hedge: number;
  marks: number[];
  fillIndex: number;
  pending: boolean;
  hold: number;
  deltaHedge: boolean;
  expiry: string;
}

/** Runs `signal` over every date of `index`. Errors from the signal (e.g. LookAheadError) propagate. */
export function runOptionsBacktest(index: ChainIndex, signal: Signal, lotOf: LotTable, cfg: BacktestConfig = {}): BacktestResult {
  const capital = cfg.capital ?? 1e7;
  const costs = cfg.costs ?? DEFAULT_COSTS;
  const st = { cum: 0, peak: 0, skipped: 0, stale: 0 };
  const trades: Trade[] = [];
  const days: BacktestDay[] = [];
  let open: Open | null = null;
  for (let i = 0; i < index.dates.length; i++) {
    const date = index.dates[i]!;
    let pnl = 0;
    if (open) {
      pnl += stepOpen(index, open, i, costs, st);
      if (open.trade.exitDate) {
        trades.push(open.trade);
        open = null;
      }
    }
    const g = open && !open.pending ? exposure(index, open, date) : { delta: 0, gamma: 0, vega: 0, theta: 0 };
    if (!open && (cfg.decideOn?.(date) ?? true)) {
      const view = viewAt(index, date, cfg);
      const intent = signal(view);
      if (intent && i + 1 < index.dates.length) {
        const o = decide(index, view, intent, lotOf, cfg);
        if (o) open = o;
        else st.skipped++;
      }
    }
    st.cum += pnl;
    st.peak = Math.max(st.peak, st.cum);
    days.push({ date, pnl, equity: capital + st.cum, drawdown: (st.cum - st.peak) / (capital + st.peak), ...g, open: open && !open.pending ? open.trade.tag : null });
  }
  if (open && !open.pending) trades.push(open.trade);
  return { days, trades, summary: summarise(days, trades, capital, st) };
}

/** The point-in-time view of `date` with the configured inputs. */
export function viewAt(index: ChainIndex, date: string, cfg: BacktestConfig): PointInTimeView {
  return new PointInTimeView(index, date, cfg.features, cfg.nifty, cfg.extra);
}

/**
 * Simulates one trade decided at the close of `decisionDate` on its own (no other position): fill at
 * the next session, then marks, hedge and exit exactly as in {@link runOptionsBacktest}. Returns null
 * when the intent cannot be built or sized, or when no next session exists. Used for meta-labels.
 */
export function simulateSingleTrade(index: ChainIndex, decisionDate: string, intent: TradeIntent, lotOf: LotTable, cfg: BacktestConfig = {}): Trade | null {
  const i0 = index.indexOf(decisionDate);
  if (i0 < 0 || i0 + 1 >= index.dates.length) return null;
  const o = decide(index, viewAt(index, decisionDate, cfg), intent, lotOf, cfg);
  if (!o) return null;
  const st = { stale: 0 };
  for (let i = i0 + 1; i < index.dates.length && !o.trade.exitDate; i++) stepOpen(index, o, i, cfg.costs ?? DEFAULT_COSTS, st);
  return o.trade;
}

/** Sizes and records the intent decided at `view.asOf` (null when it cannot be built or sizes to 0 lots). */
function decide(index: ChainIndex, view: PointInTimeView, intent: TradeIntent, lotOf: LotTable, cfg: BacktestConfig): Open | null {
  if (!(Number.isInteger(intent.holdDays) && intent.holdDays >= 1)) throw new RangeError(`TradeIntent.holdDays must be an integer ≥ 1 (got ${intent.holdDays})`);
  const slice = frontExpiryFor(view, intent.minDays ?? 7 + 1.5 * intent.holdDays);
  if (!slice) return null;
  let legs: Leg[];
  try {
    legs = buildStructure(intent.structure, slice);
  } catch {
    return null;
  }
  const fillDate = index.dates[index.indexOf(view.asOf) + 1]!;
  if (fillDate >= slice.expiry) return null; // the next session is the expiry itself (e.g. a holiday in between)
  const lot = lotOf(view.asOf, slice.expiry);
  const vegaPerLot = Math.abs(legs.reduce((s, l) => s + l.qty * (index.contract(view.asOf, l.expiry, l.type, l.strike)!.vega / 100) * lot, 0));
  const px = legs.map((l) => index.contract(view.asOf, l.expiry, l.type, l.strike)!.price);
  const riskPerLot = maxLossPerUnit(legs, px) * lot;
  const lots = Math.min(cfg.maxLots ?? 50, Math.floor((cfg.vegaCap ?? 20_000) / vegaPerLot), Math.floor(((cfg.riskFraction ?? 0.02) * (cfg.capital ?? 1e7)) / riskPerLot));
  if (!(lots >= 1)) return null;
  const scaled = legs.map((l) => ({ ...l, qty: l.qty * lots * lot }));
  const trade: Trade = {
    tag: intent.tag ?? intent.structure, structure: intent.structure, decisionDate: view.asOf, fillDate, exitDate: null,
    legs: scaled, lots, entryValue: NaN, exitValue: NaN, costs: 0, hedgePnl: 0, pnl: 0,
  };
  return { trade, hedge: 0, marks: scaled.map(() => NaN), fillIndex: index.indexOf(view.asOf) + 1, pending: true, hold: intent.holdDays, deltaHedge: intent.deltaHedge ?? false, expiry: slice.expiry };
}

/** Fill, mark, hedge and exit of the open position at session i; returns that session's P&L (INR). */
function stepOpen(index: ChainIndex, o: Open, i: number, costs: CostModel, st: { stale: number }): number {
  const date = index.dates[i]!;
  const S = index.spot(date);
  const px = o.trade.legs.map((l, j) => {
    const p = index.contract(date, l.expiry, l.type, l.strike)?.price;
    if (p === undefined || !Number.isFinite(p)) {
      st.stale++;
      return o.marks[j]!;
    }
    return p;
  });
  const value = o.trade.legs.reduce((s, l, j) => s + l.qty * px[j]!, 0);
  let pnl = 0;
  if (o.pending) {
    if (px.some((p) => !Number.isFinite(p))) throw new Error(`backtest: ${o.trade.tag} decided ${o.trade.decisionDate} cannot fill on ${date}: a leg has no settle`);
    o.pending = false;
    o.trade.entryValue = value;
    const c = o.trade.legs.reduce((s, l, j) => s + optionCost(l.qty, px[j]!, costs), 0);
    o.trade.costs += c;
    pnl -= c;
  } else {
    pnl += value - o.trade.legs.reduce((s, l, j) => s + l.qty * o.marks[j]!, 0);
    const h = o.hedge * (S - index.spot(index.dates[i - 1]!));
    o.trade.hedgePnl += h;
    pnl += h;
  }
  o.marks = px;
  const exit = i - o.fillIndex >= o.hold || date >= o.expiry || i === index.dates.length - 1;
  if (exit) {
    const c = o.trade.legs.reduce((s, l, j) => s + optionCost(l.qty, px[j]!, costs), 0) + hedgeCost(o.hedge, S, costs);
    o.trade.costs += c;
    pnl -= c;
    o.trade.exitValue = value;
    o.trade.exitDate = date;
    o.hedge = 0;
  } else if (o.deltaHedge) {
    const target = -exposure(index, o, date).delta + o.hedge;
    const c = hedgeCost(target - o.hedge, S, costs);
    o.trade.costs += c;
    pnl -= c;
    o.hedge = target;
  }
  o.trade.pnl += pnl;
  return pnl;
}

/** Greeks of the open position at `date` (options at that day's IVs, plus the index hedge). */
function exposure(index: ChainIndex, o: Open, date: string): Omit<BacktestDay, 'date' | 'pnl' | 'equity' | 'drawdown' | 'open'> {
  const g = { delta: o.hedge, gamma: 0, vega: 0, theta: 0 };
  const s = index.slice(date, o.expiry);
  const S = index.spot(date);
  for (const l of o.trade.legs) {
    const c = index.contract(date, l.expiry, l.type, l.strike);
    if (!c || c.reason || !s) continue;
    g.delta += l.qty * c.delta * (s.forward / S);
    g.gamma += l.qty * c.gamma * (s.forward / S) ** 2;
    g.vega += (l.qty * c.vega) / 100;
    g.theta += (l.qty * c.theta) / 365;
  }
  return g;
}

function summarise(days: BacktestDay[], trades: Trade[], capital: number, st: { skipped: number; stale: number }): BacktestResult['summary'] {
  const r = days.map((d) => d.pnl / capital);
  const m = r.reduce((s, x) => s + x, 0) / (r.length || 1);
  const sd = Math.sqrt(r.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, r.length - 1));
  const total = days.reduce((s, d) => s + d.pnl, 0);
  const closed = trades.filter((t) => t.exitDate);
  return {
    totalPnl: total, totalReturn: total / capital, sharpe: sd > 0 ? calendarFor('nse').sharpe(m, sd) : NaN,
    maxDrawdown: Math.min(0, ...days.map((d) => d.drawdown)), nTrades: trades.length,
    hitRate: closed.length ? closed.filter((t) => t.pnl > 0).length / closed.length : NaN,
    costs: trades.reduce((s, t) => s + t.costs, 0), skippedIntents: st.skipped, staleMarks: st.stale, maxAbsVega: Math.max(0, ...days.map((d) => Math.abs(d.vega))),
  };
}
