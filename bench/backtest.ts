/**
 * Benchmark of the backtest: 7 CPCV paths × 1,259 days × 505 symbols of the real S&P 500 data.
 * Scores = 20-day momentum (+ a path-specific perturbation). Times, separately:
 *   engine   — portfolio construction, look-ahead check, daily engine with all costs and metrics (target ≤ 2 s);
 *   step     — the portfolio.build and backtest.cpcv_paths steps (Parquet in, Parquet/JSON out).
 * Wall times on a shared machine are inflated by other load; CPU times (process.cpuUsage) are reported too.
 * Prints one JSON object. Run: npx tsx bench/backtest.ts
 */
import path from 'node:path';
import { readdirSync } from 'node:fs';
import { ArtifactStore } from '../artifacts/store.ts';
import { withDuckDB, sqlString } from '../lib/duckdb.ts';
import { writeSp500Slice, SP500_DIR } from '../test/support/sp500.ts';
import { makeTestContext, runKind, tempDir } from '../test/support/context.ts';
import { loadPanel } from '../backtest/io.ts';
import { riskInputs, costConfigSchema } from '../execution/cost_models.ts';
import { portfolioConfigSchema } from '../portfolio/config.ts';
import { buildWeights } from '../portfolio/construct.ts';
import { runPath, forwardIcCheck, assertNoLookAhead } from '../backtest/engine.ts';
import { pathMetrics, firstActiveDay, aggregateMetrics } from '../backtest/metrics.ts';
import { backtestCpcvPaths } from '../kinds/backtest/backtest_cpcv.ts';
import { portfolioBuild } from '../kinds/backtest/portfolio_build.ts';
import { NYSE_DAILY } from '../calendar/calendar.ts';
import type { AnyStepKind } from '../kinds/types.ts';
import { stackUpstream } from '../test/backtest/fixtures.ts';

const PATHS = 7;
const dir = tempDir('bench-bt-');
const store = new ArtifactStore(path.join(dir, 'store'));
const symbols = readdirSync(SP500_DIR()).filter((f) => f.endsWith('_data.csv')).map((f) => f.replace(/_data\.csv$/, '')).sort();
const curatedFile = await writeSp500Slice(path.join(dir, 'curated.parquet'), symbols);
const curated = await store.putFile(curatedFile, { name: 'curated.parquet', move: false });

const t0 = performance.now();
const panel = await withDuckDB((con) => loadPanel(con, curatedFile));
const tLoad = performance.now() - t0;

// dense momentum scores per path, information ≤ t
const scores: Float64Array[] = [];
for (let p = 1; p <= PATHS; p++) {
  const s = new Float64Array(panel.T * panel.N).fill(NaN);
  for (let t = 20; t < panel.T; t++) {
    for (let i = 0; i < panel.N; i++) {
      const c = panel.close[t * panel.N + i]!;
      const c0 = panel.close[(t - 20) * panel.N + i]!;
      if (c > 0 && c0 > 0) s[t * panel.N + i] = Math.log(c / c0) + 0.01 * Math.sin(p * 7.3 + i * 1.7 + t * 0.31);
    }
  }
  scores.push(s);
}

const pcfg = portfolioConfigSchema.parse({});
const costs = costConfigSchema.parse({});
const cpu1 = process.cpuUsage();
const t1 = performance.now();
const risk = riskInputs(panel, costs.impact.sigma_window, costs.impact.adv_window);
const tRisk = performance.now() - t1;
let tBuild = 0;
let tIc = 0;
let tRun = 0;
let tMetrics = 0;
const per = [];
for (let p = 0; p < PATHS; p++) {
  let a = performance.now();
  const W = buildWeights(scores[p]!, panel, risk.ret, pcfg, NYSE_DAILY).weights;
  let b = performance.now();
  tBuild += b - a;
  a = b;
  const ic = forwardIcCheck(W, panel, risk.ret);
  assertNoLookAhead(ic, p + 1, pcfg.max_forward_ic);
  b = performance.now();
  tIc += b - a;
  a = b;
  const series = runPath(W, panel, risk, costs, NYSE_DAILY, 'close');
  b = performance.now();
  tRun += b - a;
  a = b;
  per.push(pathMetrics(series, NYSE_DAILY, firstActiveDay(series)));
  tMetrics += performance.now() - a;
}
const engineMs = performance.now() - t1;
const engineCpu = process.cpuUsage(cpu1);
const agg = aggregateMetrics(per);

// the steps on a stack-style OOF Parquet (7 paths, and path 0 from 2014 on as the walk-forward) built in DuckDB
const oofFile = path.join(dir, 'oof.parquet');
const wfFile = path.join(dir, 'oof_wf.parquet');
await withDuckDB(async (con) => {
  await con.run(`CREATE TABLE m AS SELECT date, symbol, ln(close / lag(close, 20) OVER (PARTITION BY symbol ORDER BY date)) AS mom,
                      ln(lead(close, 5) OVER (PARTITION BY symbol ORDER BY date) / close) AS ret FROM read_parquet(${sqlString(curatedFile)})`);
  await con.run(`COPY (SELECT p.range::INTEGER AS path, date, symbol, mom + 0.01 * sin(p.range * 7.3 + hash(symbol) % 97) AS score, ret
    FROM m CROSS JOIN range(1, ${PATHS + 1}) p WHERE mom IS NOT NULL ORDER BY path, date, symbol) TO ${sqlString(oofFile)} (FORMAT parquet)`);
  await con.run(`COPY (SELECT 0 AS path, date, symbol, mom AS score, ret FROM m WHERE mom IS NOT NULL AND date >= DATE '2014-02-10' ORDER BY date, symbol) TO ${sqlString(wfFile)} (FORMAT parquet)`);
});
const fx = { curated, oof: await store.putFile(oofFile, { name: 'oof.parquet', move: false }), oofWf: await store.putFile(wfFile, { name: 'oof_walk_forward.parquet', move: false }) };
const pb = portfolioBuild as unknown as AnyStepKind;
const bt = backtestCpcvPaths as unknown as AnyStepKind;
const cpu2 = process.cpuUsage();
const t2 = performance.now();
const weights = await runKind(pb, {}, makeTestContext({ store, kind: pb, upstream: stackUpstream(fx) }));
const portfolioStepMs = performance.now() - t2;
const out = (await runKind(bt, {}, makeTestContext({ store, kind: bt, upstream: { ...stackUpstream(fx), portfolio: { uses: 'portfolio.build', outputs: weights, needs: ['stack'] } } }))) as Record<string, number>;
const stepMs = performance.now() - t2;
const stepCpu = process.cpuUsage(cpu2);

console.log(
  JSON.stringify({
    bench: 'backtest',
    paths: PATHS,
    days: panel.T,
    symbols: panel.N,
    engine_ms: Math.round(engineMs),
    engine_cpu_ms: Math.round((engineCpu.user + engineCpu.system) / 1000),
    engine_breakdown_ms: { risk_inputs: Math.round(tRisk), portfolio: Math.round(tBuild), lookahead_check: Math.round(tIc), daily_engine: Math.round(tRun), metrics: Math.round(tMetrics) },
    engine_target_ms: 2000,
    engine_within_target: engineMs <= 2000,
    panel_load_ms: Math.round(tLoad),
    step_ms: Math.round(stepMs),
    step_breakdown_ms: { portfolio_build: Math.round(portfolioStepMs), backtest_cpcv_paths: Math.round(stepMs - portfolioStepMs) },
    step_cpu_ms_main_thread_and_duckdb: Math.round((stepCpu.user + stepCpu.system) / 1000),
    load_average_1m: (await import('node:os')).loadavg()[0],
    sharpe_median: agg.median.sharpe,
    step_sharpe_median: out.sharpe_median,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
