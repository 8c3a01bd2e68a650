/**
 * The body of `options.gate` (imported lazily): figures from the backtest summary and daily table,
 * the DSR's N and V[SR] from the trial ledgers' return streams, one bar per configs/options/gate.yml
 * entry, and the verdict (passed false with the failing bars when a blocking bar fails: an
 * outcome, returned).
 */
import type { z } from 'zod';
import type { ArtifactStore } from '../../artifacts/store.ts';
import { deflatedSharpe, trialSharpeStats } from '../../governance/dsr.ts';
import { failedBars, formatGateTable, makeBar, type GateBar } from '../../governance/gate.ts';
import { psrOfReturns } from '../../governance/psr.ts';
import type { StepContext } from '../types.ts';
import { gateConfigSchema, loadOptionsConfig } from './config.ts';
import type { optionsGateConsumes, optionsGateOutputs } from './gate.ts';
import { fin, readParquet } from './tables.ts';

type Ctx = StepContext<typeof optionsGateConsumes>;
type Outputs = z.input<typeof optionsGateOutputs>;
type PathRow = { path: number; pnl: number; trades: number; max_abs_vega: number; costs: number; sharpe: number | null; max_drawdown: number };

/** Trial return streams of every bound ledger: (count, their per-period Sharpe variance). */
async function trialStats(store: ArtifactStore, ledgers: ReadonlyArray<{ value: { n_trials: number; returns: { uri: string } } }>): Promise<{ n: number; variance: number }> {
  const streams: number[][] = [];
  let n = 0;
  for (const l of ledgers) {
    n += l.value.n_trials;
    const rows = await readParquet<{ trial_id: string; ret: number }>(store.path(l.value.returns.uri), 'trial_id, ret', 'ret IS NOT NULL', 'trial_id, date');
    const by = new Map<string, number[]>();
    for (const r of rows) (by.get(r.trial_id) ?? by.set(r.trial_id, []).get(r.trial_id)!).push(r.ret);
    streams.push(...by.values());
  }
  return { n, variance: streams.length >= 2 ? trialSharpeStats(streams).variance : 0 };
}

/** Evaluates the bars (see module docs). */
export async function evaluateOptionsGate(ctx: Ctx, barsFile: string): Promise<Outputs> {
  const cfg = loadOptionsConfig(ctx.projectRoot, barsFile, gateConfigSchema);
  const bt = ctx.input('backtest').value;
  const summary = ctx.artifacts.readJson<{ paths: PathRow[] }>(bt.summary);
  const trades = await readParquet<{ path: number; costs: number }>(ctx.artifacts.path(bt.trades), 'path, costs');
  const wf = summary.paths.find((p) => p.path === 0);
  const cpcv = summary.paths.filter((p) => p.path > 0).map((p) => p.pnl).sort((a, b) => a - b);
  const median = cpcv.length ? (cpcv.length % 2 ? cpcv[cpcv.length >> 1]! : 0.5 * (cpcv[cpcv.length / 2 - 1]! + cpcv[cpcv.length / 2]!)) : null;
  const days = await readParquet<{ pnl: number }>(ctx.artifacts.path(bt.days), 'pnl', 'path = 0', 'date');
  const first = days.findIndex((d) => d.pnl !== 0);
  const rets = first < 0 ? [] : days.slice(first).map((d) => d.pnl / bt.capital);
  const ts = await trialStats(ctx.artifacts, ctx.inputs('trials'));
  const dsr = rets.length > 2 ? deflatedSharpe(rets, Math.max(1, ts.n), ts.variance) : null;
  const psr = rets.length > 2 ? psrOfReturns(rets).psr : NaN;
  const vega = Math.max(0, ...summary.paths.map((p) => p.max_abs_vega)) / bt.vega_cap;
  const costsOk = bt.costs.option_bps > 0 && trades.length > 0 && trades.every((t) => t.costs > 0);
  const b = cfg.bars;
  const bar = (id: keyof typeof b, description: string, value: number | null, note?: string): GateBar => makeBar(id, description, value, b[id].op, b[id].threshold, b[id].blocking, note);
  const bars: GateBar[] = [
    bar('walk_forward_pnl', 'delta-hedged P&L after costs of the walk-forward path 0 (models trained on earlier dates only), INR', wf ? wf.pnl : null, wf ? undefined : 'no walk-forward path'),
    bar('median_path_pnl', 'median delta-hedged P&L after costs over the CPCV paths, INR', median),
    bar('vega_within_cap', 'max |position vega| over every path and day ÷ the vega cap', vega),
    bar('costs_modelled', 'option costs charged, bps of premium (0 when a trade paid none)', costsOk ? bt.costs.option_bps : 0, `${trades.length} trades; hedge ${bt.costs.hedge_bps} bps of notional`),
    bar('walk_forward_trades', 'trades of the walk-forward path', wf ? wf.trades : null),
    bar('walk_forward_sharpe', 'annualised Sharpe of the walk-forward daily P&L ÷ capital (calendar nse)', fin(wf?.sharpe ?? NaN)),
    bar('dsr', 'deflated Sharpe ratio of the walk-forward daily P&L (N and V[SR] from the trial ledgers)', fin(dsr?.dsr ?? NaN), `N = ${ts.n} trials`),
  ];
  const failing = failedBars(bars).map((x) => x.id);
  const table = formatGateTable(bars);
  const report = await ctx.artifacts.putJson({ bars_file: barsFile, paths: summary.paths, trials: ts, dsr, psr: fin(psr), walk_forward_days: rets.length }, 'options_gate_report.json');
  const verdict = {
    passed: failing.length === 0, bars, failing, table, report,
    sharpe: fin(wf?.sharpe ?? NaN), max_drawdown: wf ? Math.abs(wf.max_drawdown) : null, psr: fin(psr), dsr: fin(dsr?.dsr ?? NaN), pbo: null, n_trials: ts.n,
  };
  ctx.progress({ fraction: 1, message: failing.length ? `not passed: ${failing.join(', ')}` : 'gate passed' });
  if (failing.length) ctx.log.info({ failing }, `options gate not passed:\n${table}`);
  return { verdict, ...verdict };
}
