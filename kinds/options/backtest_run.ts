/**
 * The body of `options.backtest` (imported lazily): rebuild the chain index and lot table, read the
 * OOF scores per path, run the options engine with the threshold signal on every path, and write
 * the daily and trade tables and the per-path summary.
 */
import type { z } from 'zod';
import type { ArtifactStore } from '../../artifacts/store.ts';
import { runOptionsBacktest, type BacktestResult, type Signal } from '../../options/backtest/engine.ts';
import { ChainIndex } from '../../options/pricing/lookup.ts';
import type { StepContext } from '../types.ts';
import type { backtestConsumes, backtestOutputs, pathSummarySchema } from './backtest.ts';
import { backtestConfigSchema, loadOptionsConfig } from './config.ts';
import { lotTable, readIvHistory, readLots } from './io.ts';
import { fin, readParquet, writeParquet } from './tables.ts';
import { yieldOrCancel } from './common.ts';

type Ctx = StepContext<typeof backtestConsumes>;
type Cfg = z.output<typeof backtestConfigSchema>;
type PathSummary = z.input<typeof pathSummarySchema>;

/** OOF scores by path → date → score, from the signal's two Parquet files. */
export async function readScores(store: ArtifactStore, v: { oof: { uri: string }; walk_forward: { uri: string } }): Promise<Map<number, Map<string, number>>> {
  const out = new Map<number, Map<string, number>>();
  for (const ref of [v.walk_forward, v.oof]) {
    const rows = await readParquet<{ path: number; date: string; score: number | null }>(store.path(ref.uri), "path, strftime(date, '%Y-%m-%d') AS date, score", 'score IS NOT NULL', 'path, date');
    for (const r of rows) (out.get(r.path) ?? out.set(r.path, new Map()).get(r.path)!).set(r.date, r.score!);
  }
  return out;
}

/** The threshold signal of the config on one path's scores (reads only the decision date's score). */
export function thresholdSignal(scores: ReadonlyMap<string, number>, cfg: Cfg, holdDays: number): Signal {
  return (view) => {
    const s = scores.get(view.asOf);
    if (s === undefined || !Number.isFinite(s)) return null;
    if (s > cfg.long_threshold) return { structure: cfg.long_structure, holdDays, deltaHedge: cfg.delta_hedge, tag: 'long' };
    if (s < cfg.short_threshold) return { structure: cfg.short_structure, holdDays, deltaHedge: cfg.delta_hedge, tag: 'short' };
    return null;
  };
}

function summary(path: number, r: BacktestResult): PathSummary {
  const s = r.summary;
  return {
    path, pnl: s.totalPnl, total_return: s.totalReturn, sharpe: fin(s.sharpe), max_drawdown: s.maxDrawdown, trades: s.nTrades, hit_rate: fin(s.hitRate),
    costs: s.costs, max_abs_vega: s.maxAbsVega, skipped: s.skippedIntents,
    long_trades: r.trades.filter((t) => t.tag === 'long').length, short_trades: r.trades.filter((t) => t.tag === 'short').length,
  };
}

async function writeTables(store: ArtifactStore, results: ReadonlyArray<[number, BacktestResult]>) {
  const days = results.flatMap(([p, r]) => r.days.map((d) => ({ p, d })));
  const trades = results.flatMap(([p, r]) => r.trades.map((t, i) => ({ p, t, n: i + 1 })));
  const d = await writeParquet(store, 'options_backtest_days.parquet', [
    { name: 'path', type: 'INTEGER', values: days.map((x) => x.p) },
    { name: 'date', type: 'DATE', values: days.map((x) => x.d.date) },
    ...(['pnl', 'equity', 'drawdown', 'delta', 'gamma', 'vega', 'theta'] as const).map((k) => ({ name: k, type: 'DOUBLE' as const, values: days.map((x) => x.d[k]) })),
    { name: 'open', type: 'VARCHAR', values: days.map((x) => x.d.open) },
  ], ['path', 'date']);
  const t = await writeParquet(store, 'options_backtest_trades.parquet', [
    { name: 'path', type: 'INTEGER', values: trades.map((x) => x.p) },
    { name: 'n', type: 'INTEGER', values: trades.map((x) => x.n) },
    { name: 'structure', type: 'VARCHAR', values: trades.map((x) => x.t.structure) },
    { name: 'decision_date', type: 'DATE', values: trades.map((x) => x.t.decisionDate) },
    { name: 'fill_date', type: 'DATE', values: trades.map((x) => x.t.fillDate) },
    { name: 'exit_date', type: 'DATE', values: trades.map((x) => x.t.exitDate) },
    { name: 'lots', type: 'INTEGER', values: trades.map((x) => x.t.lots) },
    ...(['entryValue', 'exitValue', 'costs', 'hedgePnl', 'pnl'] as const).map((k) => ({ name: k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), type: 'DOUBLE' as const, values: trades.map((x) => x.t[k]) })),
    { name: 'legs', type: 'VARCHAR', values: trades.map((x) => JSON.stringify(x.t.legs)) },
  ], ['path', 'n']);
  return { days: d, trades: t };
}

/** Runs the backtest on every path of the signal (see module docs). */
export async function runOptionsSignalBacktest(ctx: Ctx, w: { config: string; hold_days: number }): Promise<z.input<typeof backtestOutputs>> {
  const cfg = loadOptionsConfig(ctx.projectRoot, w.config, backtestConfigSchema);
  const signal = ctx.input('signal');
  const index = new ChainIndex(await readIvHistory(ctx.artifacts, ctx.input('iv').value));
  const lotOf = lotTable(await readLots(ctx.artifacts.path(ctx.input('audit').value.lots)));
  const scores = await readScores(ctx.artifacts, signal.value);
  const engine = { capital: cfg.capital, vegaCap: cfg.vega_cap, riskFraction: cfg.risk_fraction, maxLots: cfg.max_lots, costs: { optionBps: cfg.costs.option_bps, hedgeBps: cfg.costs.hedge_bps } };
  const results: Array<[number, BacktestResult]> = [];
  for (const [p, sc] of [...scores].sort((a, b) => a[0] - b[0])) {
    ctx.progress({ fraction: results.length / scores.size, message: `path ${p}: ${sc.size} scored dates` });
    results.push([p, runOptionsBacktest(index, thresholdSignal(sc, cfg, w.hold_days), lotOf, engine)]);
    await yieldOrCancel(ctx.signal, 'options backtest');
  }
  const paths = results.map(([p, r]) => summary(p, r));
  const t = await writeTables(ctx.artifacts, results);
  const summaryRef = await ctx.artifacts.putJson({ source: { step: signal.step, sleeve: signal.value.sleeve }, config: cfg, hold_days: w.hold_days, paths }, 'options_backtest_summary.json');
  const cpcv = paths.filter((p) => p.path > 0).map((p) => p.pnl).sort((a, b) => a - b);
  const med = cpcv.length ? (cpcv.length % 2 ? cpcv[cpcv.length >> 1]! : 0.5 * (cpcv[cpcv.length / 2 - 1]! + cpcv[cpcv.length / 2]!)) : null;
  const trades = results.flatMap(([, r]) => r.trades);
  return {
    backtest: {
      calendar: 'nse', source: { step: signal.step, sleeve: signal.value.sleeve }, ...t, summary: summaryRef, capital: cfg.capital, vega_cap: cfg.vega_cap,
      costs: { option_bps: cfg.costs.option_bps, hedge_bps: cfg.costs.hedge_bps }, paths: paths.map((p) => p.path),
    },
    paths, walk_forward: paths.find((p) => p.path === 0) ?? null, median_path_pnl: med,
    costs_modelled: cfg.costs.option_bps > 0 && trades.length > 0 && trades.every((x) => x.costs > 0),
  };
}
