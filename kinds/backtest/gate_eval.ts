/**
 * The body of `gate.governance`: PSR/DSR per CPCV path with N and V[SR] from the trial ledgers,
 * PBO by CSCV over the pooled trial streams, the strategy bars of configs/promotion.yml, the
 * stack-vs-sleeve, calibration, OPE and champion bars (gate_bars.ts), the report and the verdict.
 */
import type { z } from 'zod';
import type { ArtifactRef } from '../../artifacts/store.ts';
import { calendarFor, type TradingCalendar } from '../../calendar/calendar.ts';
import type { ContractValue, gateVerdict } from '../../contracts/index.ts';
import { promotionConfigSchema, type PromotionConfig } from '../../governance/config.ts';
import { deflatedSharpe, type DsrResult } from '../../governance/dsr.ts';
import { failedBars, formatGateTable, makeBar, type GateBar } from '../../governance/gate.ts';
import { psrOfReturns } from '../../governance/psr.ts';
import { loadConfig } from '../../lib/config.ts';
import { withDuckDB } from '../../lib/duckdb.ts';
import { InputError, StepError } from '../../lib/errors.ts';
import type { StepContext } from '../types.ts';
import { aggregate, byPath, calibrationBars, championBar, fmt, opeBars, readPathReturns, stackVsSleevesBar } from './gate_bars.ts';
import { loadLedger, pooledTrials, type PooledTrials, type SleeveLedger } from './gate_ledgers.ts';
import type { gateConsumes, gateOutputs } from './gate_governance.ts';

type Verdict = ContractValue<typeof gateVerdict>;
type PerPath = { path: number; sharpe: number; max_drawdown: number; turnover_annual: number; psr: number; dsr: DsrResult | null };
type BacktestMetrics = { per_path: { path: number; sharpe: number; max_drawdown: number; turnover_annual: number }[]; sleeve_list?: { sleeve: string; sharpe_median: number }[] };

/** The strategy's aggregated figures over the used paths. */
interface Figures {
  perPath: PerPath[];
  sharpe: number | null;
  mdd: number | null;
  turnover: number | null;
  psr: number | null;
  dsr: number | null;
}

/**
 * Runs the gate. Returns the verdict (and its fields flat) when every blocking bar passes; otherwise
 * throws StepError('GateFailed', non-retryable, a deterministic failure the cache replays) whose
 * message is the bar table and whose details carry `{ bars, report, verdict }`. Throws InputError
 * when the returns' source signal is not among the bound signals or its calendar is unknown,
 * ConfigError on a bad promotion config.
 */
export async function evaluateGate(ctx: StepContext<typeof gateConsumes>, w: { bars: string; champion?: ArtifactRef }): Promise<z.input<typeof gateOutputs>> {
  const cfg = loadConfig(ctx.projectRoot, w.bars, promotionConfigSchema);
  const returns = ctx.input('returns');
  const signals = ctx.inputs('signals');
  const source = signals.find((s) => s.step === returns.value.source.step);
  if (!source) {
    throw new InputError({ message: `gate: the returns of ${returns.step} were built from the signal of step ${returns.value.source.step}, which is not among the bound signals (${signals.map((s) => s.step).join(', ') || 'none'}); bind it in inputs.signals` });
  }
  const cal = calendarOf(returns.step, returns.value.calendar);
  const btMetrics = ctx.artifacts.readJson<BacktestMetrics>(returns.value.metrics);
  const agg = cfg.path_aggregate;
  return withDuckDB(async (con) => {
    ctx.progress({ fraction: 0.05, message: 'reading backtest returns' });
    const rets = await readPathReturns(con, ctx.artifacts.path(returns.value.returns), `returns of ${returns.step}`);
    const all = byPath(rets);
    const cpcvPaths = [...all.keys()].filter((p) => p > 0).sort((a, b) => a - b);
    const usedPaths = cpcvPaths.length ? cpcvPaths : [...all.keys()].sort((a, b) => a - b);
    const pathNote = cpcvPaths.length ? `${agg} over ${cpcvPaths.length} CPCV paths` : `no CPCV paths: ${agg} over walk-forward path(s) only`;
    const trials = ctx.inputs('trials');
    ctx.progress({ fraction: 0.15, message: `trial ledgers of ${trials.length} sleeve(s)` });
    const ledgers: SleeveLedger[] = [];
    for (const t of trials) ledgers.push(await loadLedger(con, ctx.artifacts, t, signals.find((s) => s.value.sleeve === t.value.sleeve)?.value.task ?? 'unknown', cfg, ctx.signal));
    ctx.progress({ fraction: 0.4, message: 'PBO (CSCV) over the pooled trials' });
    const pooled = pooledTrials(ledgers, cfg, ctx.signal);
    const fig = strategyFigures(all, usedPaths, btMetrics, returns.step, pooled, agg);
    const bars = strategyBars(fig, pooled, cfg, pathNote, all.has(0) ? (btMetrics.per_path.find((x) => x.path === 0)?.sharpe ?? null) : undefined);
    const comparison = { hasStack: source.value.components.length > 0, sleeves: btMetrics.sleeve_list ?? [], sleeveReturns: returns.value.sleeve_returns, sharpe: fig.sharpe, dsr: fig.dsr, pbo: pooled.pbo?.pbo ?? null, cpcvPaths };
    const sleeveInfo = await stackVsSleevesBar(con, ctx.artifacts, comparison, ledgers, cfg, bars);
    const calib = await calibrationBars(con, ctx.artifacts, signals, cfg, bars);
    const opeInfo = opeBars(ctx.artifacts, ctx.inputs('sizing'), cfg, bars);
    const champion = await championBar(con, ctx.artifacts, w.champion, rets, usedPaths, cal, cfg, bars);
    const failed = failedBars(bars);
    const report = await ctx.artifacts.putJson(
      {
        passed: failed.length === 0,
        config: cfg,
        bars,
        per_path: fig.perPath,
        n_trials: pooled.nTrials,
        var_trial_sr: pooled.pooledVar,
        ledgers: ledgers.map((l) => ({ sleeve: l.sleeve, step: l.step, task: l.task, n_trials: l.n_trials, trial_sharpes: l.trial_sharpes, var_sr: l.var_sr, pbo: l.pbo, pbo_error: l.pbo_error })),
        pbo: pooled.pbo,
        calibration: calib,
        sleeves: sleeveInfo,
        ope: opeInfo,
        champion,
      },
      'gate_report.json',
    );
    const verdict: Verdict = { passed: failed.length === 0, bars, failing: failed.map((b) => b.id), table: formatGateTable(bars), report, sharpe: fig.sharpe, max_drawdown: fig.mdd, psr: fig.psr, dsr: fig.dsr, pbo: pooled.pbo?.pbo ?? null, n_trials: pooled.nTrials };
    ctx.log.info({ table: verdict.table }, 'gate table');
    ctx.progress({ fraction: 1, message: failed.length ? `gate FAILED: ${verdict.failing.join(', ')}` : 'gate passed' });
    if (failed.length) throw gateFailed(failed, verdict);
    return { verdict, ...verdict };
  });
}

/** The calendar named by the returns of step `step`; InputError when it is unknown. */
function calendarOf(step: string, name: string): TradingCalendar {
  try {
    return calendarFor(name);
  } catch (e) {
    throw new InputError({ message: `backtest returns of ${step}: ${(e as Error).message}`, cause: e });
  }
}

/** Per-path Sharpe, drawdown and turnover (from the backtest metrics), PSR and DSR, and their aggregates. */
function strategyFigures(all: Map<number, number[]>, usedPaths: number[], bt: BacktestMetrics, btStep: string, pooled: PooledTrials, agg: PromotionConfig['path_aggregate']): Figures {
  const { nTrials, pooledVar } = pooled;
  const perPath: PerPath[] = [];
  for (const p of usedPaths) {
    const r = all.get(p)!;
    const m = bt.per_path.find((x) => x.path === p);
    if (!m) throw new InputError({ message: `backtest metrics of ${btStep} have no entry for path ${p}` });
    perPath.push({ path: p, sharpe: m.sharpe, max_drawdown: m.max_drawdown, turnover_annual: m.turnover_annual, psr: psrOfReturns(r, 0).psr, dsr: nTrials >= 1 ? deflatedSharpe(r, nTrials, pooledVar) : null });
  }
  // drawdown and turnover: the worst-case direction of the aggregate (min → max drawdown)
  return {
    perPath,
    sharpe: aggregate(perPath.map((p) => p.sharpe), agg),
    mdd: agg === 'min' ? Math.max(...perPath.map((p) => p.max_drawdown)) : aggregate(perPath.map((p) => p.max_drawdown), agg),
    turnover: agg === 'min' ? Math.max(...perPath.map((p) => p.turnover_annual)) : aggregate(perPath.map((p) => p.turnover_annual), agg),
    psr: aggregate(perPath.map((p) => p.psr), agg),
    dsr: nTrials >= 1 ? aggregate(perPath.map((p) => p.dsr!.dsr), agg) : null,
  };
}

/** The strategy bars: Sharpe, drawdown, PSR, DSR, PBO, turnover, and the walk-forward Sharpe (info) when `wfSharpe` is defined. */
function strategyBars(fig: Figures, pooled: PooledTrials, cfg: PromotionConfig, pathNote: string, wfSharpe: number | null | undefined): GateBar[] {
  const { nTrials, pooledVar, pbo } = pooled;
  const bars: GateBar[] = [];
  bars.push(makeBar('sharpe', `annualised net Sharpe (${pathNote})`, fig.sharpe, '>=', cfg.sharpe.min, cfg.sharpe.blocking));
  bars.push(makeBar('max_drawdown', `max drawdown of net equity (${pathNote})`, fig.mdd, '<=', cfg.max_drawdown.max, cfg.max_drawdown.blocking));
  bars.push(makeBar('psr', `PSR(SR*=0) of daily net returns (${pathNote})`, fig.psr, '>=', cfg.psr.min, cfg.psr.blocking));
  const sr0 = fig.perPath[0]?.dsr?.sr0;
  const dsrNote = nTrials >= 1 ? `SR0 (daily) = ${sr0?.toFixed(4)}` : 'no trial ledger upstream: DSR cannot be computed without the number of trials';
  bars.push(makeBar('dsr', `deflated Sharpe ratio, N=${nTrials} trials, V[SR]=${pooledVar.toExponential(3)} (${pathNote})`, fig.dsr, '>=', cfg.dsr.min, cfg.dsr.blocking, dsrNote));
  const pboNote = pbo ? `logit median ${pbo.logits.median.toFixed(3)}, OOS-loss prob ${pbo.degradation.prob_oos_loss.toFixed(3)}` : pooled.pboError;
  bars.push(makeBar('pbo', `probability of backtest overfitting, CSCV S=${cfg.pbo.blocks} over ${pooled.nStreams} trial streams`, pbo ? pbo.pbo : null, '<=', cfg.pbo.max, cfg.pbo.blocking, pboNote));
  bars.push(makeBar('turnover', `annualised one-way turnover (${pathNote})`, fig.turnover, '<=', cfg.turnover.annual_max, cfg.turnover.blocking));
  if (wfSharpe !== undefined) bars.push(makeBar('walk_forward.sharpe', 'walk-forward (path 0) annualised net Sharpe, reference only', wfSharpe, 'info', null, false));
  return bars;
}

/** The GateFailed error: every failing blocking bar with value and threshold, then the table. */
function gateFailed(failed: GateBar[], verdict: Verdict): StepError {
  const list = failed.map((b) => `${b.id}=${fmt(b.value)} needs ${b.op} ${fmt(b.threshold)}${b.note && b.note.includes('(worse)') ? ` [${b.note}]` : ''}`).join('; ');
  return new StepError({
    message: `promotion gate failed (${failed.length} blocking bar(s): ${list})\n${verdict.table}`,
    type: 'GateFailed',
    nonRetryable: true,
    details: { bars: verdict.bars, report: verdict.report, verdict },
  });
}
