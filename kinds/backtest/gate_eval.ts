/**
 * The body of `gate.governance`. Every trial of tonight (each ledger's trials traded through the
 * candidate's portfolio and costs, the candidate book, the sizing policy not kept) goes into the
 * family's persistent ledger; DSR per CPCV path deflates by the effective number of trials (ONC
 * clusters of every trial the family ever evaluated) and V[SR] across the cluster representatives
 * (Bailey & López de Prado 2014; López de Prado 2019); PBO by CSCV over that trial set decides with
 * P(OOS loss) (Bailey et al. 2015); then the strategy bars of configs/promotion.yml, the OOF leakage
 * bar, stack-vs-sleeve, calibration, OPE and champion (gate_bars.ts). A failed gate is an outcome:
 * the verdict (passed false, every failing bar) is returned, never thrown.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { z } from 'zod';
import type { ArtifactRef } from '../../artifacts/store.ts';
import { calendarFor, type TradingCalendar } from '../../calendar/calendar.ts';
import type { ContractValue, gateVerdict } from '../../contracts/index.ts';
import { promotionConfigSchema, type PromotionConfig } from '../../governance/config.ts';
import { deflatedSharpe, expectedMaxSharpe, type DsrResult } from '../../governance/dsr.ts';
import { failedBars, formatGateTable, makeBar, type GateBar } from '../../governance/gate.ts';
import { pboDecision } from '../../governance/pbo.ts';
import { psrOfReturns } from '../../governance/psr.ts';
import type { PathReturn } from '../../governance/champion.ts';
import { loadConfig } from '../../lib/config.ts';
import { withDuckDB } from '../../lib/duckdb.ts';
import { InputError } from '../../lib/errors.ts';
import type { Input, StepContext } from '../types.ts';
import type { SignalValue } from './run_paths.ts';
import { aggregate, byPath, calibrationBars, championBar, oofLeakageBar, oofRankIc, opeBars, readPathReturns, stackVsSleevesBar } from './gate_bars.ts';
import { familyTrials, type FamilyTrials } from './gate_ledgers.ts';
import { candidateTrial, ledgerTrials, sizingTrial, tradeSetup, type PathStreams, type TonightTrial, type TradeSetup } from './gate_trials.ts';
import type { gateConsumes, gateOutputs } from './gate_governance.ts';

type Verdict = ContractValue<typeof gateVerdict>;
type Ctx = StepContext<typeof gateConsumes>;
type PerPath = { path: number; sharpe: number; max_drawdown: number; turnover_annual: number; psr: number; dsr: DsrResult | null; dsr_total_n: number | null };
type BacktestMetrics = { per_path: { path: number; sharpe: number; max_drawdown: number; turnover_annual: number }[]; sleeve_list?: { sleeve: string; sharpe_median: number }[] } & Record<string, unknown>;

/** The `with` of gate.governance. */
export interface GateWith {
  bars: string;
  champion?: ArtifactRef;
  family?: string;
  portfolio: string;
  costs: string;
}

/** The strategy's aggregated figures over the used paths. */
interface Figures {
  perPath: PerPath[];
  sharpe: number | null;
  mdd: number | null;
  turnover: number | null;
  psr: number | null;
  dsr: number | null;
  dsrTotalN: number | null;
}

/** The family a gate's trials belong to: `with.family`, else `params.model`, else the pipeline name. */
import { familyOf as familyOfStep } from './gate_family.ts';
export { familyOf } from './gate_family.ts';

/**
 * Runs the gate and returns the verdict with its fields flat: passed true when every blocking bar
 * passes, else passed false with every failing bar in `failing` (an outcome, not an error).
 * Throws InputError when the returns' source signal is not among the bound signals or its calendar is
 * unknown, ConfigError on a bad config, TrackerError when the ledger cannot be read or appended.
 */
export async function evaluateGate(ctx: Ctx, w: GateWith): Promise<z.input<typeof gateOutputs>> {
  const cfg = loadConfig(ctx.projectRoot, w.bars, promotionConfigSchema);
  const returns = ctx.input('returns');
  const signals = ctx.inputs('signals');
  const source = signals.find((s) => s.step === returns.value.source.step);
  if (!source) {
    throw new InputError({ message: `gate: the returns of ${returns.step} were built from the signal of step ${returns.value.source.step}, which is not among the bound signals (${signals.map((s) => s.step).join(', ') || 'none'}); bind it in inputs.signals` });
  }
  const cal = calendarOf(returns.step, returns.value.calendar);
  const btMetrics = ctx.artifacts.readJson<BacktestMetrics>(returns.value.metrics);
  const family = familyOfStep(ctx, w.family);
  return withDuckDB(async (con) => {
    ctx.progress({ fraction: 0.05, message: 'reading backtest returns and prices' });
    const rets = await readPathReturns(con, ctx.artifacts.path(returns.value.returns), `returns of ${returns.step}`);
    const all = byPath(rets);
    const cpcvPaths = [...all.keys()].filter((p) => p > 0).sort((a, b) => a - b);
    const usedPaths = cpcvPaths.length ? cpcvPaths : [...all.keys()].sort((a, b) => a - b);
    const setup = await tradeSetup(con, ctx.artifacts, { ohlcv: ctx.input('ohlcv').value, metrics: btMetrics, execution: returns.value.execution, cal, projectRoot: ctx.projectRoot, fallback: w });
    // the leakage query runs on its own DuckDB thread while the trials trade on this one
    const rankIc = oofRankIc(ctx.artifacts, source);
    rankIc.catch(() => undefined); // awaited below; an early throw of the ledger must not leave it unhandled
    const cand = candidateStreams(rets, usedPaths);
    const tonight = tonightTrials(con, ctx, setup, family, { source, returnsDigest: returns.value.returns.digest, streams: cand.streams });
    const { openTracker } = await import('../../tracking/index.ts');
    const tracker = openTracker({ store: ctx.artifacts, home: ctx.home });
    let fam: FamilyTrials;
    try {
      fam = await familyTrials(ctx, tracker, { family, calendar: cal.name, tonight: tonight.trials, candidateDates: cand.dates, cfg });
    } finally {
      await tracker.close();
    }
    ctx.log.info({ family, appended: fam.appended, reused: fam.reused, n_trials: fam.nTrials, n_effective: fam.nEffective }, 'trial ledger');
    ctx.progress({ fraction: 0.8, message: `bars: N=${fam.nTrials}, effective N=${fam.nEffective} (${fam.appended} evaluation(s) appended)` });
    const fig = strategyFigures(all, usedPaths, btMetrics, returns.step, fam, cfg.path_aggregate);
    const pathNote = cpcvPaths.length ? `${cfg.path_aggregate} over ${cpcvPaths.length} CPCV paths` : `no CPCV paths: ${cfg.path_aggregate} over walk-forward path(s) only`;
    const bars = strategyBars(fig, fam, cfg, pathNote, all.has(0) ? (btMetrics.per_path.find((x) => x.path === 0)?.sharpe ?? null) : undefined);
    const leakage = oofLeakageBar(await rankIc, source, cfg, bars);
    const comparison = { hasStack: source.value.components.length > 0, sleeves: btMetrics.sleeve_list ?? [], sleeveReturns: returns.value.sleeve_returns, sharpe: fig.sharpe, dsr: fig.dsr, pbo: fam.pbo?.pbo ?? null, cpcvPaths };
    const sleeveInfo = await stackVsSleevesBar(con, ctx.artifacts, comparison, { nEffective: fam.nEffective, varSr: fam.effective.var_sr, sleevePbo: fam.sleevePbo }, cfg, bars);
    const calib = await calibrationBars(con, ctx.artifacts, signals, cfg, bars);
    const opeInfo = opeBars(ctx.inputs('sizing'), cfg, bars);
    const champion = await championBar(con, ctx.artifacts, w.champion, rets, usedPaths, cal, cfg, bars);
    const failed = failedBars(bars);
    const report = await ctx.artifacts.putJson(
      { passed: failed.length === 0, family, config: cfg, trade_setup: { source: setup.source, execution: setup.execution, portfolio: setup.pcfg, costs: setup.costs }, bars, per_path: fig.perPath, trials: trialsReport(fam, tonight.notes), leakage, calibration: calib, sleeves: sleeveInfo, ope: opeInfo, champion },
      'gate_report.json',
    );
    const verdict: Verdict = {
      passed: failed.length === 0, bars, failing: failed.map((b) => b.id), table: formatGateTable(bars), report,
      sharpe: fig.sharpe, max_drawdown: fig.mdd, psr: fig.psr, dsr: fig.dsr, pbo: fam.pbo?.pbo ?? null, n_trials: fam.nTrials, n_trials_effective: fam.nEffective,
      pbo_prob_oos_loss: fam.pbo?.degradation.prob_oos_loss ?? null, pbo_degradation_slope: fam.pbo?.degradation.slope ?? null,
    };
    ctx.log.info({ table: verdict.table }, 'gate table');
    ctx.progress({ fraction: 1, message: failed.length ? `not promoted: ${verdict.failing.join(', ')}` : 'gate passed' });
    return { verdict, ...verdict };
  });
}

/** The candidate's per-path streams (CPCV paths used) and its dates (ascending, any path). */
function candidateStreams(rets: PathReturn[], usedPaths: number[]): { streams: PathStreams; dates: string[] } {
  const streams: PathStreams = new Map(usedPaths.map((p) => [p, new Map<string, number>()]));
  for (const r of rets) streams.get(r.path)?.set(r.date, r.net);
  const dates = [...new Set(rets.filter((r) => streams.has(r.path)).map((r) => r.date))].sort();
  return { streams, dates };
}

/**
 * Tonight's trials: every trial of every bound ledger, the candidate book unless it is one of those
 * trials (a base sleeve with a ledger: its selected trial), and the sizing policy each OPE did not keep.
 */
function tonightTrials(con: DuckDBConnection, ctx: Ctx, setup: TradeSetup, family: string, c: { source: Input<SignalValue>; returnsDigest: string; streams: PathStreams }): { trials: TonightTrial[]; notes: string[] } {
  const ledgers = ctx.inputs('trials').map((t) => ledgerTrials(con, ctx.artifacts, t, setup, family));
  const trials = ledgers.flatMap((l) => l.trials);
  const covered = c.source.value.components.length === 0 && ledgers.some((l) => l.sleeve === c.source.value.sleeve && l.trials.some((t) => t.stream));
  const cand = candidateTrial({ family, sleeve: c.source.value.sleeve, components: c.source.value.components, signalDigest: c.source.value.oof.digest, setup, returnsDigest: c.returnsDigest, streams: c.streams });
  if (!covered) trials.push(cand);
  for (const s of ctx.inputs('sizing')) trials.push(sizingTrial(family, cand.key, s));
  return { trials, notes: ledgers.flatMap((l) => (l.note ? [l.note] : [])) };
}

/** The calendar named by the returns of step `step`; InputError when it is unknown. */
function calendarOf(step: string, name: string): TradingCalendar {
  try {
    return calendarFor(name);
  } catch (e) {
    throw new InputError({ message: `backtest returns of ${step}: ${(e as Error).message}`, cause: e });
  }
}

/** Per-path Sharpe, drawdown and turnover (backtest metrics), PSR, DSR (effective N) and DSR (ledger N), and their aggregates. */
function strategyFigures(all: Map<number, number[]>, usedPaths: number[], bt: BacktestMetrics, btStep: string, fam: FamilyTrials, agg: PromotionConfig['path_aggregate']): Figures {
  const perPath: PerPath[] = [];
  const k = fam.nEffective;
  for (const p of usedPaths) {
    const r = all.get(p)!;
    const m = bt.per_path.find((x) => x.path === p);
    if (!m) throw new InputError({ message: `backtest metrics of ${btStep} have no entry for path ${p}` });
    const dsr = k >= 1 ? deflatedSharpe(r, k, fam.effective.var_sr) : null;
    const total = fam.nTrials >= 1 ? deflatedSharpe(r, fam.nTrials, fam.effective.var_trial_sr).dsr : null;
    perPath.push({ path: p, sharpe: m.sharpe, max_drawdown: m.max_drawdown, turnover_annual: m.turnover_annual, psr: psrOfReturns(r, 0).psr, dsr, dsr_total_n: total });
  }
  // drawdown and turnover: the worst-case direction of the aggregate (min → max drawdown)
  return {
    perPath,
    sharpe: aggregate(perPath.map((p) => p.sharpe), agg),
    mdd: agg === 'min' ? Math.max(...perPath.map((p) => p.max_drawdown)) : aggregate(perPath.map((p) => p.max_drawdown), agg),
    turnover: agg === 'min' ? Math.max(...perPath.map((p) => p.turnover_annual)) : aggregate(perPath.map((p) => p.turnover_annual), agg),
    psr: aggregate(perPath.map((p) => p.psr), agg),
    dsr: k >= 1 ? aggregate(perPath.map((p) => p.dsr!.dsr), agg) : null,
    dsrTotalN: fam.nTrials >= 1 ? aggregate(perPath.map((p) => p.dsr_total_n!), agg) : null,
  };
}

/** The strategy bars: Sharpe, drawdown, PSR, DSR (effective N; ledger N as info), PBO with P(OOS loss), turnover, walk-forward Sharpe (info). */
function strategyBars(fig: Figures, fam: FamilyTrials, cfg: PromotionConfig, pathNote: string, wfSharpe: number | null | undefined): GateBar[] {
  const e = fam.effective;
  const bars: GateBar[] = [];
  bars.push(makeBar('sharpe', `annualised net Sharpe (${pathNote})`, fig.sharpe, '>=', cfg.sharpe.min, cfg.sharpe.blocking));
  bars.push(makeBar('max_drawdown', `max drawdown of net equity (${pathNote})`, fig.mdd, '<=', cfg.max_drawdown.max, cfg.max_drawdown.blocking));
  bars.push(makeBar('psr', `PSR(SR*=0) of daily net returns (${pathNote})`, fig.psr, '>=', cfg.psr.min, cfg.psr.blocking));
  const sr0 = fam.nEffective >= 1 ? expectedMaxSharpe(fam.nEffective, e.var_sr) : null;
  const dsrNote = fam.nEffective >= 1
    ? `SR0 (daily) = ${sr0!.toFixed(4)}; ${e.k} ONC cluster(s) of ${e.n_streams} trial streams${fam.nStreamless ? ` + ${fam.nStreamless} trial(s) without a stream` : ''}${e.at_cap ? ' (at the cluster cap: a lower bound)' : ''}, mean correlation ${Number.isFinite(e.mean_correlation) ? e.mean_correlation.toFixed(3) : '—'}`
    : 'no trials: DSR cannot be computed without the number of trials';
  bars.push(makeBar('dsr', `deflated Sharpe ratio, effective N=${fam.nEffective} of ${fam.nTrials} trials in the ${fam.family} ledger, V[SR]=${e.var_sr.toExponential(3)} across clusters (${pathNote})`, fig.dsr, '>=', cfg.dsr.min, cfg.dsr.blocking, dsrNote));
  bars.push(makeBar('dsr.ledger_n', `DSR with the ledger's N=${fam.nTrials} and V[SR]=${e.var_trial_sr.toExponential(3)} across all trials (reference)`, fig.dsrTotalN, 'info', null, false));
  bars.push(pboBar(fam, cfg));
  bars.push(makeBar('turnover', `annualised one-way turnover (${pathNote})`, fig.turnover, '<=', cfg.turnover.annual_max, cfg.turnover.blocking));
  if (wfSharpe !== undefined) bars.push(makeBar('walk_forward.sharpe', 'walk-forward (path 0) annualised net Sharpe, reference only', wfSharpe, 'info', null, false));
  return bars;
}

/** The PBO bar: value PBO, decided with P(OOS loss) (governance/pbo.ts `pboDecision`); fails when PBO cannot be computed. */
function pboBar(fam: FamilyTrials, cfg: PromotionConfig): GateBar {
  const title = `probability of backtest overfitting, CSCV S=${cfg.pbo.blocks} over ${fam.pboTrials.length} trial streams, rejecting only with P(OOS loss) > ${cfg.pbo.max_prob_oos_loss}`;
  if (!fam.pbo) return makeBar('pbo', title, null, '<=', cfg.pbo.max, cfg.pbo.blocking, fam.pboError);
  const d = pboDecision(fam.pbo, cfg.pbo);
  const bar = makeBar('pbo', title, fam.pbo.pbo, '<=', cfg.pbo.max, cfg.pbo.blocking, d.reason + (fam.pboExcluded.length ? `; ${fam.pboExcluded.length} trial(s) left out (short coverage)` : ''));
  bar.pass = d.pass;
  return bar;
}

/** The trial section of the gate report (a function of the ledger's content: an unchanged re-run writes the same bytes). */
function trialsReport(fam: FamilyTrials, notes: string[]): Record<string, unknown> {
  const e = fam.effective;
  return {
    family: fam.family, n_trials: fam.nTrials, n_effective: fam.nEffective, n_streamless: fam.nStreamless, notes,
    var_sr_clusters: e.var_sr, var_sr_trials: e.var_trial_sr, mean_correlation: e.mean_correlation, at_cap: e.at_cap,
    clusters: e.clusters, trials: fam.trials, pbo: fam.pbo, pbo_error: fam.pboError ?? null, pbo_trials: fam.pboTrials, pbo_excluded: fam.pboExcluded,
    sleeve_pbo: Object.fromEntries([...fam.sleevePbo.entries()].map(([s, p]) => [s, p?.pbo ?? null])),
  };
}
