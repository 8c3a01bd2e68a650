/**
 * Figures of a backtest (`backtest.returns`) from its contract tables: per-path totals by cost
 * component, the equity and drawdown curves, and the producer's metrics JSON. Sharpe ratios are
 * annualised with the calendar the returns carry (calendar/calendar.ts).
 */
import type { ArtifactStore } from '../artifacts/store.ts';
import { calendarFor } from '../calendar/calendar.ts';
import type { ContractValue } from '../contracts/define.ts';
import type { backtestReturns } from '../contracts/trading.ts';
import { queryRows, sqlString, withDuckDB } from '../lib/duckdb.ts';

/** A backtest returns value (contract backtest.returns). */
export type BacktestValue = ContractValue<typeof backtestReturns>;

export interface EquityPoint {
  path: number;
  date: string;
  equity: number;
  drawdown: number;
}

export interface PathSummary {
  path: number;
  days: number;
  total_return: number;
  max_drawdown: number;
  sharpe: number | null;
  gross: number;
  fee: number;
  spread: number;
  impact: number;
  borrow: number;
  net: number;
  turnover: number;
}

/**
 * Per-path totals (sums of per-bar fractions), annualised net Sharpe (mean/stdev · √bars per year)
 * and the compounded equity/drawdown series of a backtest returns Parquet.
 */
export async function backtestSeries(file: string, barsPerYear: number): Promise<{ summaries: PathSummary[]; equity: EquityPoint[] }> {
  const f = sqlString(file);
  const sqrtBars = Math.sqrt(barsPerYear);
  return withDuckDB(async (con) => {
    const summaries = await queryRows<Record<string, number | bigint | null>>(
      con,
      `WITH e AS (
         SELECT path, date, net, exp(sum(ln(greatest(1 + net, 1e-9))) OVER (PARTITION BY path ORDER BY date)) AS eq FROM read_parquet(${f})
       ), d AS (SELECT path, eq / max(eq) OVER (PARTITION BY path ORDER BY date) - 1 AS dd, eq FROM e)
       SELECT r.path, count(*) AS days, sum(gross) AS gross, sum(fee) AS fee, sum(spread) AS spread, sum(impact) AS impact, sum(borrow) AS borrow,
              sum(net) AS net, sum(turnover) AS turnover,
              (SELECT min(dd) FROM d WHERE d.path = r.path) AS max_drawdown,
              (SELECT last(eq ORDER BY date) FROM e WHERE e.path = r.path) - 1 AS total_return,
              CASE WHEN stddev_samp(net) > 0 THEN avg(net) / stddev_samp(net) * ${sqrtBars} END AS sharpe
       FROM read_parquet(${f}) r GROUP BY r.path ORDER BY r.path`,
    );
    const equity = await queryRows<{ path: number; date: Date; equity: number; drawdown: number }>(
      con,
      `WITH e AS (
         SELECT path, date, exp(sum(ln(greatest(1 + net, 1e-9))) OVER (PARTITION BY path ORDER BY date)) AS equity FROM read_parquet(${f})
       ) SELECT path, date, equity, equity / max(equity) OVER (PARTITION BY path ORDER BY date) - 1 AS drawdown FROM e ORDER BY path, date`,
    );
    return {
      summaries: summaries.map((s) => ({
        path: Number(s.path),
        days: Number(s.days),
        total_return: Number(s.total_return),
        max_drawdown: Number(s.max_drawdown),
        sharpe: s.sharpe === null ? null : Number(s.sharpe),
        gross: Number(s.gross),
        fee: Number(s.fee),
        spread: Number(s.spread),
        impact: Number(s.impact),
        borrow: Number(s.borrow),
        net: Number(s.net),
        turnover: Number(s.turnover),
      })),
      equity: equity.map((r) => ({ path: Number(r.path), date: r.date instanceof Date ? r.date.toISOString().slice(0, 10) : String(r.date), equity: r.equity, drawdown: r.drawdown })),
    };
  });
}

/** Scalars of a metrics object, nested objects flattened one level to dotted keys (`median.sharpe`). */
export function flatScalars(v: unknown, prefix = '', depth = 0, out: Record<string, unknown> = {}): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (x === null || typeof x !== 'object') out[key] = x;
    else if (!Array.isArray(x) && depth < 1) flatScalars(x, key, depth + 1, out);
  }
  return out;
}

/** The backtest figures of one provided value: path summaries, equity series and aggregate metrics. */
export async function backtestFigures(store: ArtifactStore, v: BacktestValue): Promise<{ paths: PathSummary[]; equity: EquityPoint[]; aggregate: Record<string, unknown> }> {
  const { summaries, equity } = await backtestSeries(store.path(v.returns), calendarFor(v.calendar).barsPerYear);
  let aggregate: Record<string, unknown> = {};
  if (store.has(v.metrics)) {
    const m = store.readJson<Record<string, unknown>>(v.metrics);
    aggregate = flatScalars(m.aggregate ?? m);
  }
  return { paths: summaries, equity, aggregate };
}

/** Per-path figures the producer wrote in its metrics JSON (`per_path`, `walk_forward`, `aggregate.median`). */
export interface BacktestMetricsDoc {
  per_path?: Array<{ path: number; sharpe?: number; sharpe_gross?: number; max_drawdown?: number; turnover_annual?: number }>;
  walk_forward?: { sharpe?: number } | null;
  aggregate?: { median?: Record<string, number> };
}
