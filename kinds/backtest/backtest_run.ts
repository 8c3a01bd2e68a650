/**
 * The body of `backtest.cpcv_paths`: every path of the bound weights (and of each sleeve signal)
 * through backtest/engine.ts (impact from the bound adaptive cost model, if any), the returns
 * Parquet by cost component, and the metrics JSON.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { z } from 'zod';
import type { ArtifactRef, ArtifactStore } from '../../artifacts/store.ts';
import type { TradingCalendar } from '../../calendar/calendar.ts';
import { loadPanel } from '../../backtest/io.ts';
import { appendColumns } from '../../lib/append.ts';
import { assertNoLookAhead, forwardIcCheck, runPath, type ExecutionTiming, type ForwardIcCheck, type ImpactFn, type PathSeries } from '../../backtest/engine.ts';
import { aggregateMetrics, firstActiveDay, pathMetrics, type PathMetrics } from '../../backtest/metrics.ts';
import { median } from '../../governance/stats.ts';
import type { PricePanel } from '../../backtest/panel.ts';
import { costConfigSchema, riskInputs, type CostConfig, type RiskInputs } from '../../execution/cost_models.ts';
import { AdaptiveCostModel, adaptiveImpactCost } from '../../execution/adaptive/cost_model.ts';
import { loadConfig } from '../../lib/config.ts';
import { sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { InputError, StepError } from '../../lib/errors.ts';
import { portfolioConfigSchema, type PortfolioConfig } from '../../portfolio/config.ts';
import type { Input, StepContext } from '../types.ts';
import type { backtestConsumes, backtestOutputs } from './backtest_cpcv.ts';
import { loadSignal, loadWeights, sharedCalendar, weightsFromScores, type SignalValue } from './run_paths.ts';

/** One backtested path: its daily series, first active day, metrics and look-ahead statistic. */
interface PathRun {
  path: number;
  series: PathSeries;
  start: number;
  metrics: PathMetrics;
  ic: ForwardIcCheck;
}

/** What every path of one backtest shares. */
interface Setup {
  ctx: StepContext;
  panel: PricePanel;
  risk: RiskInputs;
  costs: CostConfig;
  pcfg: PortfolioConfig;
  execution: ExecutionTiming;
  cal: TradingCalendar;
  /** The bound adaptive impact model's cost per fill timing; undefined = the inline square-root law. */
  impact?: Record<ExecutionTiming, ImpactFn>;
}

/** What the metrics JSON records of a bound impact model. */
interface ImpactModelInfo {
  step: string;
  output: string;
  model: ArtifactRef;
  c: number;
  symbol: string;
  date: string;
  time_of_day: Record<ExecutionTiming, number>;
}

/**
 * Time of day (fraction of the regular session, the model's `timeOfDay` feature) at which each fill
 * timing trades: a same-close fill at the end of the session (1), a next-open fill at its start (0).
 * The model clips it to the range it was trained on.
 */
const FILL_TIME_OF_DAY: Record<ExecutionTiming, number> = { close: 1, next_open: 0 };

/**
 * The impact cost of a bound `execution.cost_model` input, per fill timing: its model JSON restored
 * (AdaptiveCostModel.fromJSON) and mapped to the engine's per-trade impact by adaptiveImpactCost
 * (execution/adaptive/cost_model.ts). Throws InputError naming the step when the artifact is not a
 * `trademl.adaptive_cost_model/v1` model.
 */
function impactModelOf(ctx: StepContext<typeof backtestConsumes>): { fns: Record<ExecutionTiming, ImpactFn>; info: ImpactModelInfo } | undefined {
  const bound = ctx.maybeInput('impact_model');
  if (!bound) return undefined;
  let model: AdaptiveCostModel;
  try {
    model = AdaptiveCostModel.fromJSON(ctx.artifacts.readJson(bound.value.model));
  } catch (e) {
    throw new InputError({ message: `impact_model from ${bound.step}.${bound.output} (${bound.uses}): ${(e as Error).message}`, cause: e, details: { step: bound.step, output: bound.output, model: bound.value.model.uri } });
  }
  const fns = { close: adaptiveImpactCost(model, FILL_TIME_OF_DAY.close), next_open: adaptiveImpactCost(model, FILL_TIME_OF_DAY.next_open) };
  return { fns, info: { step: bound.step, output: bound.output, model: bound.value.model, c: model.c, symbol: bound.value.symbol, date: bound.value.date, time_of_day: { ...FILL_TIME_OF_DAY } } };
}

type Outputs = z.input<typeof backtestOutputs>;
type Fills = Outputs['fills'];
type SleeveSummary = Outputs['sleeves'][number];

/**
 * Runs the backtest step: loads the configs and the bound inputs, backtests every weights path
 * (then each sleeve), writes the returns/sleeve returns Parquet and the metrics JSON. With a bound
 * `impact_model` every runPath call (main paths, the other fill timing, sleeves) takes its impact
 * from that model, and the metrics JSON records it under `impact_model`; without one nothing differs
 * from the square-root law. Throws InputError on inputs on different calendars, weights with no
 * path or an impact model artifact that is not a saved adaptive model, StepError('LookAheadDetected')
 * when a path's targets correlate implausibly with the next day's return.
 */
export async function runBacktest(ctx: StepContext<typeof backtestConsumes>, w: { portfolio: string; costs: string; execution?: ExecutionTiming; sleeves: boolean }): Promise<Outputs> {
  const pcfg = loadConfig(ctx.projectRoot, w.portfolio, portfolioConfigSchema);
  const costs = loadConfig(ctx.projectRoot, w.costs, costConfigSchema);
  const execution = w.execution ?? pcfg.execution;
  const weights = ctx.input('weights');
  const ohlcv = ctx.input('ohlcv');
  const sleeveInputs = w.sleeves ? ctx.inputs('sleeves').filter((s) => s.step !== weights.value.source.step) : [];
  const cal = sharedCalendar([ohlcv, weights, ...sleeveInputs]);
  const impactModel = impactModelOf(ctx);

  return withDuckDB(async (con) => {
    ctx.progress({ fraction: 0.02, message: 'loading prices' });
    const panel = await loadPanel(con, ctx.artifacts.path(ohlcv.value));
    const risk = riskInputs(panel, costs.impact.sigma_window, costs.impact.adv_window);
    ctx.progress({ fraction: 0.15, message: `loading the weights of ${weights.step}` });
    const W = await loadWeights(con, ctx.artifacts, weights, panel);
    if (W.size === 0) throw new InputError({ message: `portfolio.weights of step ${weights.step} hold no paths to backtest` });
    const setup: Setup = { ctx, panel, risk, costs, pcfg, execution, cal, impact: impactModel?.fns };
    const main = backtestPaths(setup, W, 'signal', 0.2, 0.4);
    const fills = fillComparison(setup, main, W);
    const cpcv = main.filter((r) => r.path > 0);
    const wf = main.find((r) => r.path === 0);
    const agg = aggregateMetrics((cpcv.length ? cpcv : main).map((r) => r.metrics));
    const returnsRef = await writeReturns(con, ctx.artifacts, panel, '_ret', [{ rows: main }], 'returns.parquet');
    const sl = await backtestSleeves(con, setup, sleeveInputs);
    const sleeveRef = sl.rows.length ? await writeReturns(con, ctx.artifacts, panel, '_sret', sl.rows, 'sleeve_returns.parquet') : null;
    const source = weights.value.source;
    const metricsRef = await ctx.artifacts.putJson(
      {
        execution,
        source,
        calendar_name: cal.name,
        costs,
        // only when bound, so a backtest without one writes the very same bytes as before
        ...(impactModel ? { impact_model: impactModel.info } : {}),
        portfolio: pcfg,
        calendar: { first: panel.dates[0], last: panel.dates[panel.T - 1], n_dates: panel.T, n_symbols: panel.N },
        per_path: main.map((r, k) => ({ path: r.path, first_date: panel.dates[r.start], untradeable_weight: r.series.untradeable, forward_ic: r.ic, ...r.metrics, fills: fills.per_path[k]! })),
        fills,
        realised_vol: realisedVol(pcfg, agg.median.ann_vol!),
        aggregate: agg,
        walk_forward: wf ? wf.metrics : null,
        sleeves: sl.metrics,
        sleeve_list: sl.summary,
      },
      'backtest_metrics.json',
    );
    ctx.progress({ fraction: 1, message: `median Sharpe ${agg.median.sharpe!.toFixed(2)} over ${agg.n_paths} paths` });
    return {
      returns: { calendar: cal.name, execution, source, returns: returnsRef, metrics: metricsRef, sleeve_returns: sleeveRef },
      n_paths: main.length,
      paths: main.map((r) => r.path),
      execution,
      sharpe_median: agg.median.sharpe!,
      sharpe_distribution: agg.sharpe_distribution,
      max_drawdown_median: agg.median.max_drawdown!,
      turnover_annual_median: agg.median.turnover_annual!,
      cost_drag_bps_median: agg.median.cost_drag_bps_total!,
      walk_forward_sharpe: wf ? wf.metrics.sharpe : null,
      forward_ic_max: Math.max(...main.map((r) => r.ic.mean_ic)),
      fills,
      realised_vol: realisedVol(pcfg, agg.median.ann_vol!),
      sleeves: sl.summary,
    };
  });
}

/**
 * Backtests a set of paths in path order. Checks the held book and the trades decided each day
 * against the next day's return (with partial rebalancing a leak shows in the trades far more than in
 * the smoothed book) and throws StepError('LookAheadDetected') above the configured ceiling.
 */
function backtestPaths(s: Setup, ws: Map<number, Float64Array>, label: string, from: number, span: number): PathRun[] {
  const out: PathRun[] = [];
  const list = [...ws.entries()].sort((a, b) => a[0] - b[0]);
  list.forEach(([p, W], k) => {
    if (s.ctx.signal.aborted) throw new StepError({ message: 'backtest aborted', type: 'Aborted' });
    const held = forwardIcCheck(W, s.panel, s.risk.ret);
    const traded = forwardIcCheck(dailyTrades(W, s.panel.N), s.panel, s.risk.ret);
    const ic = traded.mean_ic > held.mean_ic ? traded : held;
    assertNoLookAhead(ic, p, s.pcfg.max_forward_ic);
    const series = runPath(W, s.panel, s.risk, s.costs, s.cal, s.execution, s.impact?.[s.execution]);
    const start = firstActiveDay(series);
    out.push({ path: p, series, start, metrics: pathMetrics(series, s.cal, start), ic });
    s.ctx.progress({ fraction: from + (span * (k + 1)) / list.length, message: `${label}: path ${p} done` });
  });
  return out;
}

/**
 * The same weights filled both ways, side by side: at the next session's open (tradable: after the
 * data the signal used) and at the decision day's own close (the signal's own print; not tradable,
 * it books the bid–ask bounce the signal is computed from). Gross and net Sharpe per path over each
 * path's active days, and medians over the CPCV paths (all paths when there are none). The primary
 * timing's figures are those of `runs`; the other is run here through the same engine and costs.
 */
function fillComparison(s: Setup, runs: PathRun[], ws: Map<number, Float64Array>): Fills {
  const other: ExecutionTiming = s.execution === 'close' ? 'next_open' : 'close';
  const fig = (m: PathMetrics) => ({ sharpe: m.sharpe, sharpe_gross: m.sharpe_gross });
  const per_path = runs.map((r) => {
    const alt = runPath(ws.get(r.path)!, s.panel, s.risk, s.costs, s.cal, other, s.impact?.[other]);
    const m = pathMetrics(alt, s.cal, firstActiveDay(alt));
    return { path: r.path, [s.execution]: fig(r.metrics), [other]: fig(m) } as Fills['per_path'][number];
  });
  const cp = per_path.filter((p) => p.path > 0);
  const use = cp.length ? cp : per_path;
  const med = (t: ExecutionTiming) => ({ sharpe: median(use.map((p) => p[t].sharpe)), sharpe_gross: median(use.map((p) => p[t].sharpe_gross)) });
  return { execution: s.execution, per_path, median: { next_open: med('next_open'), close: med('close') } };
}

/** Realised annual vol of the book (median over CPCV paths) against the configured target. */
function realisedVol(pcfg: PortfolioConfig, median: number): Outputs['realised_vol'] {
  const target = pcfg.vol_target.enabled ? pcfg.vol_target.annual : null;
  return { target, median, ratio_median: target ? median / target : null };
}

/** Each sleeve signal through the same portfolio construction, engine and costs. */
async function backtestSleeves(
  con: DuckDBConnection,
  s: Setup,
  sleeves: Input<SignalValue>[],
): Promise<{ summary: SleeveSummary[]; metrics: Record<string, unknown>; rows: { rows: PathRun[]; sleeve: string }[] }> {
  const summary: SleeveSummary[] = [];
  const metrics: Record<string, unknown> = {};
  const rows: { rows: PathRun[]; sleeve: string }[] = [];
  for (const [k, sig] of sleeves.entries()) {
    const name = sig.value.sleeve;
    const sc = await loadSignal(con, s.ctx.artifacts, sig, s.panel);
    const ws = weightsFromScores(sc.paths, s.panel, s.risk, s.pcfg, s.cal, s.costs).weights;
    const runs = backtestPaths(s, ws, `sleeve ${name}`, 0.7 + (0.25 * k) / sleeves.length, 0.25 / sleeves.length);
    const cp = runs.filter((r) => r.path > 0);
    const a = aggregateMetrics((cp.length ? cp : runs).map((r) => r.metrics));
    summary.push({ sleeve: name, step: sig.step, task: sig.value.task, sharpe_median: a.median.sharpe!, max_drawdown_median: a.median.max_drawdown! });
    metrics[name] = { aggregate: a, per_path: runs.map((r) => ({ path: r.path, ...r.metrics })) };
    rows.push({ rows: runs, sleeve: name });
  }
  return { summary, metrics, rows };
}

/** Returns Parquet columns from each path's first active day on (warm-up days before any position are omitted). */
function seriesColumns(rows: PathRun[], T: number, sleeve?: string) {
  const cols = { path: [] as number[], di: [] as number[], gross: [] as number[], fee: [] as number[], spread: [] as number[], impact: [] as number[], borrow: [] as number[], net: [] as number[], turnover: [] as number[], ge: [] as number[], ne: [] as number[], sleeve: [] as string[] };
  for (const r of rows) {
    const s = r.series;
    for (let t = r.start; t < T; t++) {
      cols.path.push(r.path);
      cols.di.push(t);
      cols.gross.push(s.gross[t]!);
      cols.fee.push(s.fee[t]!);
      cols.spread.push(s.spread[t]!);
      cols.impact.push(s.impact[t]!);
      cols.borrow.push(s.borrow[t]!);
      cols.net.push(s.net[t]!);
      cols.turnover.push(s.turnover[t]!);
      cols.ge.push(s.grossExposure[t]!);
      cols.ne.push(s.netExposure[t]!);
      if (sleeve !== undefined) cols.sleeve.push(sleeve);
    }
  }
  return cols;
}

/**
 * Writes the backtest.returns table (leading column `sleeve` when the rows are sleeves), ordered by
 * (sleeve,) path, date, into the store. Needs the `_dates` table of io.ts `loadPanel` on `con`.
 */
async function writeReturns(con: DuckDBConnection, store: ArtifactStore, panel: PricePanel, table: string, rowsBy: { rows: PathRun[]; sleeve?: string }[], name: string): Promise<ArtifactRef> {
  const all = rowsBy.map((x) => seriesColumns(x.rows, panel.T, x.sleeve));
  type Cols = ReturnType<typeof seriesColumns>;
  const cat = <K extends keyof Cols>(k: K) => all.flatMap((c) => c[k] as unknown[]) as Cols[K];
  const hasSleeve = rowsBy.some((x) => x.sleeve !== undefined);
  await appendColumns(con, table, [
    ...(hasSleeve ? [{ name: 'sleeve', type: 'VARCHAR' as const, values: cat('sleeve') }] : []),
    { name: 'path', type: 'INTEGER', values: cat('path') },
    { name: 'di', type: 'INTEGER', values: cat('di') },
    { name: 'gross', type: 'DOUBLE', values: cat('gross') },
    { name: 'fee', type: 'DOUBLE', values: cat('fee') },
    { name: 'spread', type: 'DOUBLE', values: cat('spread') },
    { name: 'impact', type: 'DOUBLE', values: cat('impact') },
    { name: 'borrow', type: 'DOUBLE', values: cat('borrow') },
    { name: 'net', type: 'DOUBLE', values: cat('net') },
    { name: 'turnover', type: 'DOUBLE', values: cat('turnover') },
    { name: 'gross_exposure', type: 'DOUBLE', values: cat('ge') },
    { name: 'net_exposure', type: 'DOUBLE', values: cat('ne') },
  ]);
  const tmp = store.tempPath(name);
  await con.run(
    `COPY (SELECT ${hasSleeve ? 'r.sleeve, ' : ''}r.path, d.date, r.gross, r.fee, r.spread, r.impact, r.borrow, r.net, r.turnover, r.gross_exposure, r.net_exposure
     FROM ${table} r JOIN _dates d USING (di) ORDER BY ${hasSleeve ? 'r.sleeve, ' : ''}r.path, d.date) TO ${sqlString(tmp)} (FORMAT parquet)`,
  );
  return store.putFile(tmp, { name });
}

/** Trades decided each day, ΔW_t = W_t − W_{t−1} (T×N row-major; the first row is W_0). */
function dailyTrades(W: Float64Array, N: number): Float64Array {
  const d = new Float64Array(W.length);
  for (let k = 0; k < W.length; k++) d[k] = k < N ? W[k]! : W[k]! - W[k - N]!;
  return d;
}
