/**
 * Tonight's trials as tradable return streams, for the gate's DSR and PBO (Bailey & López de Prado
 * 2014; Bailey et al. 2015): every trial of every bound trial ledger is traded through the SAME
 * portfolio construction (portfolio/construct.ts `buildWeights`) and costs/engine
 * (backtest/engine.ts, execution/cost_models.ts) as the candidate — the settings its backtest
 * recorded — giving per-path daily net returns in the candidate's own units. The candidate (when it
 * is not itself one of the ledgers' trials, e.g. a stack) is a trial too, and so is every sizing
 * policy that was not kept.
 *
 * Done here, where the prices are, rather than in the fit: the fit has no prices and no portfolio
 * or cost settings, and a portfolio/cost change must re-trade every trial (it is a new trial set).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ArtifactStore } from '../../artifacts/store.ts';
import { forEachPathScores, loadPanel, requireColumns } from '../../backtest/io.ts';
import { runPath, type ExecutionTiming } from '../../backtest/engine.ts';
import { firstActiveDay } from '../../backtest/metrics.ts';
import type { PricePanel } from '../../backtest/panel.ts';
import type { TradingCalendar } from '../../calendar/calendar.ts';
import type { ContractValue, ohlcvDaily, sizingPolicy, trialsLedger } from '../../contracts/index.ts';
import { costConfigSchema, riskInputs, type CostConfig, type RiskInputs } from '../../execution/cost_models.ts';
import { loadConfig } from '../../lib/config.ts';
import { sqlString } from '../../lib/duckdb.ts';
import { digestJson } from '../../lib/hash.ts';
import { portfolioConfigSchema, type PortfolioConfig } from '../../portfolio/config.ts';
import { buildWeights } from '../../portfolio/construct.ts';
import type { Input } from '../types.ts';

/** Code version of the trial streams (part of every evaluation digest). */
export const GATE_TRIALS_VERSION = 'gate-trials/1';

/** Per path: ISO date → daily net return (fraction of capital). */
export type PathStreams = Map<number, Map<string, number>>;

/** What every trial is traded through: the candidate's prices, portfolio, costs and fills. */
export interface TradeSetup {
  panel: PricePanel;
  risk: RiskInputs;
  pcfg: PortfolioConfig;
  costs: CostConfig;
  execution: ExecutionTiming;
  cal: TradingCalendar;
  /** Where the settings came from (the backtest's metrics, or the config files when it lacks them). */
  source: string;
  /** Digest of {portfolio, costs, execution}: part of every trial key. */
  digest: string;
  ohlcvDigest: string;
}

/**
 * The candidate's trade setup: portfolio and cost settings as the backtest recorded them in its
 * metrics (`portfolio`, `costs`), else the config files `fallback` names; the fill timing of the
 * returns. Loads the price panel into `con` (tables `_dates`, `_symbols`). ConfigError on a bad file.
 */
export async function tradeSetup(
  con: DuckDBConnection,
  store: ArtifactStore,
  a: { ohlcv: ContractValue<typeof ohlcvDaily>; metrics: Record<string, unknown>; execution: ExecutionTiming; cal: TradingCalendar; projectRoot: string; fallback: { portfolio: string; costs: string } },
): Promise<TradeSetup> {
  const p = portfolioConfigSchema.safeParse(a.metrics.portfolio);
  const c = costConfigSchema.safeParse(a.metrics.costs);
  const pcfg = p.success ? p.data : loadConfig(a.projectRoot, a.fallback.portfolio, portfolioConfigSchema);
  const costs = c.success ? c.data : loadConfig(a.projectRoot, a.fallback.costs, costConfigSchema);
  const panel = await loadPanel(con, store.path(a.ohlcv));
  const risk = riskInputs(panel, costs.impact.sigma_window, costs.impact.adv_window);
  const source = p.success && c.success ? 'the backtest metrics' : `${a.fallback.portfolio} and ${a.fallback.costs} (the backtest metrics do not record them)`;
  return { panel, risk, pcfg, costs, execution: a.execution, cal: a.cal, source, digest: digestJson({ portfolio: pcfg, costs, execution: a.execution }), ohlcvDigest: a.ohlcv.digest };
}

/** A trial of tonight: identity, configuration and how to get its stream (null: it has none). */
export interface TonightTrial {
  key: string;
  evalDigest: string;
  kind: 'model' | 'candidate' | 'sizing';
  label: string;
  sleeve: string;
  config: Record<string, unknown>;
  stream: (() => Promise<PathStreams>) | null;
}

/** The trials of one trials.ledger input (and why they have no stream, when they have none). */
export interface LedgerTrials {
  sleeve: string;
  step: string;
  trials: TonightTrial[];
  note?: string;
}

type LedgerDoc = { trials?: { trial_id: string; params?: unknown }[]; scores?: ContractValue<typeof trialsLedger>['scores'] | null };

/**
 * Tonight's trials of one trials.ledger input. A trial's key is its configuration: family, sleeve,
 * params, the ledger's `context_digest` (else the scores' digest — data-dependent, so a re-fit on new
 * data counts as a new trial: the conservative side) and the trade setup. Without trial scores the
 * trials are still counted, without streams.
 */
export function ledgerTrials(con: DuckDBConnection, store: ArtifactStore, t: Input<ContractValue<typeof trialsLedger>>, setup: TradeSetup, family: string): LedgerTrials {
  const doc = store.readJson<LedgerDoc>(t.value.ledger);
  const scores = t.value.scores ?? doc.scores ?? null;
  const listed = doc.trials?.length ? doc.trials : [];
  const ids = listed.map((x) => x.trial_id);
  for (let i = ids.length; i < t.value.n_trials; i++) ids.push(`${t.value.sleeve}:unlisted${i}`);
  const context = t.value.context_digest ?? (scores ? `scores:${scores.digest}` : `returns:${t.value.returns.digest}`);
  const trials = ids.map((id, i): TonightTrial => {
    const config = { sleeve: t.value.sleeve, trial_id: id, params: listed[i]?.params ?? null, context, trade: setup.digest };
    const key = digestJson({ family, kind: 'model', ...config });
    return {
      key,
      evalDigest: digestJson({ key, scores: scores?.digest ?? null, ohlcv: setup.ohlcvDigest, code: GATE_TRIALS_VERSION }),
      kind: 'model',
      label: id,
      sleeve: t.value.sleeve,
      config,
      stream: scores ? () => tradeTrial(con, store.path(scores), id, setup) : null,
    };
  });
  return { sleeve: t.value.sleeve, step: t.step, trials, ...(scores ? {} : { note: `ledger of ${t.step} has no trial scores: its ${ids.length} trial(s) are counted without streams` }) };
}

/** The candidate book as a trial: its own path returns (the backtest), keyed by its signal and trade setup. */
export function candidateTrial(a: { family: string; sleeve: string; components: string[]; signalDigest: string; setup: TradeSetup; returnsDigest: string; streams: PathStreams }): TonightTrial {
  const config = { sleeve: a.sleeve, components: a.components, context: `signal:${a.signalDigest}`, trade: a.setup.digest };
  const key = digestJson({ family: a.family, kind: 'candidate', ...config });
  const evalDigest = digestJson({ key, returns: a.returnsDigest, code: GATE_TRIALS_VERSION });
  return { key, evalDigest, kind: 'candidate', label: `${a.sleeve} book`, sleeve: a.sleeve, config, stream: async () => a.streams };
}

/** The sizing policy an OPE step did not keep: a trial tried and rejected (no stream of its own). */
export function sizingTrial(family: string, candidateKey: string, s: Input<ContractValue<typeof sizingPolicy>>): TonightTrial {
  const notKept = s.value.policy === 'learned' ? 'baseline' : 'learned';
  const config = { candidate: candidateKey, step: s.step, estimator: s.value.estimator, not_kept: notKept, env: s.value.env.digest };
  const key = digestJson({ family, kind: 'sizing', ...config });
  return { key, evalDigest: digestJson({ key, report: s.value.report.digest, code: GATE_TRIALS_VERSION }), kind: 'sizing', label: `${s.step}: ${notKept} sizing (not kept)`, sleeve: '', config, stream: null };
}

/**
 * One trial's scores → per-path target weights (the candidate's construction) → per-path daily net
 * returns from the first active day. One path at a time through one scores and one weights buffer
 * (backtest/io.ts forEachPathScores): a trial allocates no T×N matrix per path.
 */
async function tradeTrial(con: DuckDBConnection, file: string, trialId: string, s: TradeSetup): Promise<PathStreams> {
  await requireColumns(con, file, 'trial scores', ['trial_id', 'path', 'date', 'symbol', 'score']);
  const { T, dates } = s.panel;
  const out: PathStreams = new Map();
  const W = new Float64Array(T * s.panel.N);
  await forEachPathScores(con, file, 'score', s.panel, `trial scores of ${trialId}`, (p, scores) => {
    buildWeights(scores, s.panel, s.risk.ret, s.pcfg, s.cal, { risk: s.risk, out: W });
    const series = runPath(W, s.panel, s.risk, s.costs, s.cal, s.execution);
    const m = new Map<string, number>();
    for (let t = firstActiveDay(series); t < T; t++) m.set(dates[t]!, series.net[t]!);
    out.set(p, m);
  }, `o.trial_id = ${sqlString(trialId)}`);
  return out;
}
