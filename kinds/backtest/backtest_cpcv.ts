import { z } from 'zod';
import { defineStepKind, artifactRefSchema } from '../types.ts';

const distributionSchema = z.object({ min: z.number(), p25: z.number(), median: z.number(), mean: z.number(), p75: z.number(), max: z.number(), std: z.number() });

/**
 * `backtest.cpcv_paths`: runs the deterministic daily engine on every CPCV path (and the walk-forward
 * path 0 for reference) of the upstream signal, net of fees, half-spread, square-root impact and borrow.
 * Also backtests each upstream fit.cpcv sleeve's own OOF predictions the same way (for the gate's
 * "stack beats the best sleeve" bar).
 */
export const backtestCpcvPaths = defineStepKind({
  uses: 'backtest.cpcv_paths',
  version: '2',
  description: 'Daily backtest of every CPCV path + walk-forward, costs by component, metrics per path and aggregated',
  with: z
    .object({
      portfolio: z.string().default('configs/portfolio.yml'),
      costs: z.string().default('configs/costs.yml'),
      /** Overrides the portfolio config's execution timing. */
      execution: z.enum(['close', 'next_open']).optional(),
      /** Also backtest each upstream fit.cpcv sleeve (needed by the gate's stack-vs-sleeve bar). */
      sleeves: z.boolean().default(true),
    })
    .strict(),
  outputs: z.object({
    returns: artifactRefSchema,
    metrics: artifactRefSchema,
    sleeve_returns: artifactRefSchema.nullable(),
    n_paths: z.number().int(),
    paths: z.array(z.number().int()),
    execution: z.enum(['close', 'next_open']),
    source: z.object({ uses: z.string(), step_id: z.string() }),
    sharpe_median: z.number(),
    sharpe_distribution: distributionSchema,
    max_drawdown_median: z.number(),
    turnover_annual_median: z.number(),
    cost_drag_bps_median: z.number(),
    walk_forward_sharpe: z.number().nullable(),
    forward_ic_max: z.number(),
    sleeves: z.array(z.object({ sleeve: z.string(), step_id: z.string(), task: z.string(), sharpe_median: z.number(), max_drawdown_median: z.number() })),
  }),
  configFiles: (w) => [w.portfolio, w.costs],
  async run(ctx, w) {
    const { withDuckDB, sqlString } = await import('../../lib/duckdb.ts');
    const { UserError } = await import('../../lib/errors.ts');
    const { loadYamlConfig, portfolioConfigSchema } = await import('../../portfolio/config.ts');
    const { costConfigSchema, riskInputs } = await import('../../execution/cost_models.ts');
    const { loadPanel, appendColumns } = await import('../../backtest/io.ts');
    const { runPath, forwardIcCheck, assertNoLookAhead } = await import('../../backtest/engine.ts');
    const { pathMetrics, aggregateMetrics, firstActiveDay } = await import('../../backtest/metrics.ts');
    const { curatedRef, ancestorsOf } = await import('./common.ts');
    const { pickSource, loadSignal, loadWeights, weightsFromScores } = await import('./run_paths.ts');

    const pcfg = loadYamlConfig(ctx.projectRoot, w.portfolio, portfolioConfigSchema);
    const costs = loadYamlConfig(ctx.projectRoot, w.costs, costConfigSchema);
    const execution = w.execution ?? pcfg.execution;
    const src = pickSource(ctx);
    const curated = curatedRef(ctx);

    return withDuckDB(async (con) => {
      ctx.progress({ fraction: 0.02, message: 'loading prices' });
      const panel = await loadPanel(con, ctx.artifacts.path(curated));
      const risk = riskInputs(panel, costs.impact.sigma_window, costs.impact.adv_window);
      ctx.progress({ fraction: 0.15, message: `loading ${src.uses} of ${src.id}` });
      let weights: Map<number, Float64Array>;
      if (src.uses === 'portfolio.build') weights = await loadWeights(con, ctx, src.id, panel);
      else weights = weightsFromScores((await loadSignal(con, ctx, src, panel)).paths, panel, risk, pcfg).weights;
      if (weights.size === 0) throw new UserError(`${src.uses} step ${src.id} gave no paths to backtest`);

      /** Backtests a set of paths; returns per-path series, metrics and the look-ahead checks. */
      const runAll = (ws: Map<number, Float64Array>, label: string, from: number, span: number) => {
        const out: { path: number; series: ReturnType<typeof runPath>; start: number; metrics: ReturnType<typeof pathMetrics>; ic: ReturnType<typeof forwardIcCheck> }[] = [];
        const list = [...ws.entries()].sort((a, b) => a[0] - b[0]);
        list.forEach(([p, W], k) => {
          if (ctx.signal.aborted) throw new Error('backtest aborted');
          // check the held book and the trades decided each day: with partial rebalancing
          // (trade_rate < 1) a leak shows in the trades far more than in the smoothed book
          const held = forwardIcCheck(W, panel, risk.ret);
          const traded = forwardIcCheck(dailyTrades(W, panel.N), panel, risk.ret);
          const ic = traded.mean_ic > held.mean_ic ? traded : held;
          assertNoLookAhead(ic, p, pcfg.max_forward_ic);
          const series = runPath(W, panel, risk, costs, execution);
          const start = firstActiveDay(series);
          out.push({ path: p, series, start, metrics: pathMetrics(series, start), ic });
          ctx.progress({ fraction: from + (span * (k + 1)) / list.length, message: `${label}: path ${p} done` });
        });
        return out;
      };
      const main = runAll(weights, 'signal', 0.2, 0.45);
      const cpcv = main.filter((r) => r.path > 0);
      const wf = main.find((r) => r.path === 0);
      const agg = aggregateMetrics((cpcv.length ? cpcv : main).map((r) => r.metrics));

      /** Returns Parquet rows from each path's first active day on (warm-up days before any position are omitted). */
      const seriesColumns = (rows: typeof main, extra?: string) => {
        const cols = { path: [] as number[], di: [] as number[], gross: [] as number[], fee: [] as number[], spread: [] as number[], impact: [] as number[], borrow: [] as number[], net: [] as number[], turnover: [] as number[], ge: [] as number[], ne: [] as number[], sleeve: [] as string[] };
        for (const r of rows) {
          const s = r.series;
          for (let t = r.start; t < panel.T; t++) {
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
            if (extra !== undefined) cols.sleeve.push(extra);
          }
        }
        return cols;
      };
      const writeReturns = async (table: string, rowsBy: { rows: typeof main; sleeve?: string }[], name: string) => {
        const all = rowsBy.map((x) => seriesColumns(x.rows, x.sleeve));
        const cat = <K extends keyof ReturnType<typeof seriesColumns>>(k: K) => all.flatMap((c) => c[k] as unknown[]) as ReturnType<typeof seriesColumns>[K];
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
        const tmp = ctx.artifacts.tempPath(name);
        await con.run(
          `COPY (SELECT ${hasSleeve ? 'r.sleeve, ' : ''}r.path, d.date, r.gross, r.fee, r.spread, r.impact, r.borrow, r.net, r.turnover, r.gross_exposure, r.net_exposure
           FROM ${table} r JOIN _dates d USING (di) ORDER BY ${hasSleeve ? 'r.sleeve, ' : ''}r.path, d.date) TO ${sqlString(tmp)} (FORMAT parquet)`,
        );
        return ctx.artifacts.putFile(tmp, { name });
      };
      const returnsRef = await writeReturns('_ret', [{ rows: main }], 'returns.parquet');

      // Sleeves: each fit.cpcv's own OOF predictions through the same portfolio and costs.
      const sleeves: { sleeve: string; step_id: string; task: string; sharpe_median: number; max_drawdown_median: number }[] = [];
      const sleeveMetrics: Record<string, unknown> = {};
      const sleeveRows: { rows: typeof main; sleeve: string }[] = [];
      if (w.sleeves && src.uses !== 'fit.cpcv') {
        const fits = ancestorsOf(ctx, 'fit.cpcv');
        for (const [k, f] of fits.entries()) {
          const name = String(f.step.outputs.sleeve ?? f.id);
          const sc = await loadSignal(con, ctx, { id: f.id, uses: 'fit.cpcv' }, panel);
          const ws = weightsFromScores(sc.paths, panel, risk, pcfg).weights;
          const rows = runAll(ws, `sleeve ${name}`, 0.7 + (0.25 * k) / fits.length, 0.25 / fits.length);
          const cp = rows.filter((r) => r.path > 0);
          const a = aggregateMetrics((cp.length ? cp : rows).map((r) => r.metrics));
          sleeves.push({ sleeve: name, step_id: f.id, task: String(f.step.outputs.task ?? 'unknown'), sharpe_median: a.median.sharpe!, max_drawdown_median: a.median.max_drawdown! });
          sleeveMetrics[name] = { aggregate: a, per_path: rows.map((r) => ({ path: r.path, ...r.metrics })) };
          sleeveRows.push({ rows, sleeve: name });
        }
      }
      const sleeveRef = sleeveRows.length ? await writeReturns('_sret', sleeveRows, 'sleeve_returns.parquet') : null;

      const metricsDoc = {
        execution,
        source: { uses: src.uses, step_id: src.id },
        costs,
        portfolio: pcfg,
        calendar: { first: panel.dates[0], last: panel.dates[panel.T - 1], n_dates: panel.T, n_symbols: panel.N },
        per_path: main.map((r) => ({ path: r.path, first_date: panel.dates[r.start], untradeable_weight: r.series.untradeable, forward_ic: r.ic, ...r.metrics })),
        aggregate: agg,
        walk_forward: wf ? wf.metrics : null,
        sleeves: sleeveMetrics,
      };
      const metricsRef = await ctx.artifacts.putJson(metricsDoc, 'backtest_metrics.json');
      ctx.progress({ fraction: 1, message: `median Sharpe ${agg.median.sharpe!.toFixed(2)} over ${agg.n_paths} paths` });
      return {
        returns: returnsRef,
        metrics: metricsRef,
        sleeve_returns: sleeveRef,
        n_paths: main.length,
        paths: main.map((r) => r.path),
        execution,
        source: { uses: src.uses, step_id: src.id },
        sharpe_median: agg.median.sharpe!,
        sharpe_distribution: agg.sharpe_distribution,
        max_drawdown_median: agg.median.max_drawdown!,
        turnover_annual_median: agg.median.turnover_annual!,
        cost_drag_bps_median: agg.median.cost_drag_bps_total!,
        walk_forward_sharpe: wf ? wf.metrics.sharpe : null,
        forward_ic_max: Math.max(...main.map((r) => r.ic.mean_ic)),
        sleeves,
      };
    });
  },
});

/** Trades decided each day, ΔW_t = W_t − W_{t−1} (T×N row-major; the first row is W_0). */
function dailyTrades(W: Float64Array, N: number): Float64Array {
  const d = new Float64Array(W.length);
  for (let k = 0; k < W.length; k++) d[k] = k < N ? W[k]! : W[k]! - W[k - N]!;
  return d;
}
