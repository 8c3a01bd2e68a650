/**
 * The gate's bars beyond the strategy's own figures: the meta-stack against its best sleeve,
 * calibration of classification sleeves, the off-policy evaluation rows and the champion.
 * Each function appends its bars (governance/gate.ts `makeBar`) and returns what the report shows.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ArtifactRef, ArtifactStore } from '../../artifacts/store.ts';
import { requireColumns } from '../../backtest/io.ts';
import type { TradingCalendar } from '../../calendar/calendar.ts';
import type { ContractValue, signalsOof, sizingPolicy } from '../../contracts/index.ts';
import { calibration, type CalibrationResult } from '../../governance/calibration.ts';
import { compareChampion, type ChampionComparison, type PathReturn } from '../../governance/champion.ts';
import type { PromotionConfig } from '../../governance/config.ts';
import { deflatedSharpe } from '../../governance/dsr.ts';
import { makeBar, type GateBar } from '../../governance/gate.ts';
import type { PboResult } from '../../governance/pbo.ts';
import { median } from '../../governance/stats.ts';
import { forEachNumericChunk, queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { StepError } from '../../lib/errors.ts';
import type { Input } from '../types.ts';

/** `path_aggregate` of the promotion config over the finite values; null when none. */
export function aggregate(values: number[], how: PromotionConfig['path_aggregate']): number | null {
  const v = values.filter(Number.isFinite);
  if (!v.length) return null;
  if (how === 'min') return Math.min(...v);
  if (how === 'mean') return v.reduce((a, b) => a + b, 0) / v.length;
  return median(v);
}

/** Bar value formatting in notes and messages (4 decimals, — for none). */
export function fmt(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(4);
}

/** (path, date, net) of a backtest.returns table, optionally one sleeve's rows. */
export async function readPathReturns(con: DuckDBConnection, file: string, what: string, sleeve?: string): Promise<PathReturn[]> {
  await requireColumns(con, file, what, ['path', 'date', 'net', ...(sleeve !== undefined ? ['sleeve'] : [])]);
  const where = sleeve !== undefined ? `WHERE sleeve = ${sqlString(sleeve)}` : '';
  return queryRows<PathReturn>(con, `SELECT CAST(path AS INTEGER) AS path, strftime(CAST(date AS DATE), '%Y-%m-%d') AS date, CAST(net AS DOUBLE) AS net FROM read_parquet(${sqlString(file)}) ${where} ORDER BY path, date`);
}

/** Net returns grouped by path, in row order. */
export function byPath(rows: PathReturn[]): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const r of rows) {
    let a = m.get(r.path);
    if (!a) m.set(r.path, (a = []));
    a.push(r.net);
  }
  return m;
}

/** What the stack-vs-sleeve bar compares against. */
export interface StackComparison {
  hasStack: boolean;
  /** Sleeve backtests of the backtest's metrics (`sleeve_list`), in backtest order. */
  sleeves: { sleeve: string; sharpe_median: number }[];
  sleeveReturns: ArtifactRef | null;
  /** Aggregated Sharpe/DSR of the strategy and its pooled PBO. */
  sharpe: number | null;
  dsr: number | null;
  pbo: number | null;
  cpcvPaths: number[];
}

/** The deflation the sleeves share with the candidate: the family's effective N and V[SR], and each sleeve's own PBO. */
export interface SleeveDeflation {
  nEffective: number;
  varSr: number;
  sleevePbo: Map<string, PboResult | null>;
}

/**
 * The meta-stack's Sharpe minus the best single sleeve's (same portfolio, costs and paths), passing
 * only when the stack's DSR and PBO are not worse; not applicable without a stack. Sleeve DSRs use
 * the same effective N and V[SR] as the stack's; a sleeve's PBO is over its own trials.
 */
export async function stackVsSleevesBar(con: DuckDBConnection, store: ArtifactStore, c: StackComparison, d: SleeveDeflation, cfg: PromotionConfig, bars: GateBar[]): Promise<Record<string, unknown>> {
  const info: Record<string, unknown> = {};
  const title = 'meta-stack beats the best single sleeve OOS';
  if (!c.hasStack) {
    bars.push(makeBar('stack_vs_best_sleeve', title, null, '>', null, false, 'not applicable: the backtest ran a single sleeve, there is no stack'));
    return info;
  }
  if (!c.sleeves.length || !c.sleeveReturns) {
    bars.push(makeBar('stack_vs_best_sleeve', title, null, '>', null, cfg.stack_vs_sleeves.blocking, 'no sleeve backtests upstream (the backtest needs sleeves: true and the sleeve signals upstream)'));
    return info;
  }
  const agg = cfg.path_aggregate;
  const sfile = store.path(c.sleeveReturns);
  let best: { name: string; sharpe: number; dsr: number | null; pbo: number | null } | null = null;
  for (const s of c.sleeves) {
    const rows = byPath(await readPathReturns(con, sfile, 'sleeve_returns of the backtest', s.sleeve));
    const paths = [...rows.keys()].filter((p) => (c.cpcvPaths.length ? p > 0 : true));
    const sd = d.nEffective >= 1 ? aggregate(paths.map((p) => deflatedSharpe(rows.get(p)!, d.nEffective, d.varSr).dsr), agg) : null;
    const row = { sleeve: s.sleeve, sharpe: s.sharpe_median, dsr: sd, pbo: d.sleevePbo.get(s.sleeve)?.pbo ?? null };
    info[s.sleeve] = row;
    if (!best || s.sharpe_median > best.sharpe) best = { name: s.sleeve, sharpe: s.sharpe_median, dsr: sd, pbo: row.pbo };
  }
  const b = best!;
  const sharpeOk = c.sharpe !== null && c.sharpe > b.sharpe;
  const dsrOk = c.dsr !== null && (b.dsr === null || c.dsr >= b.dsr);
  const pboOk = c.pbo !== null && (b.pbo === null || c.pbo <= b.pbo + cfg.stack_vs_sleeves.pbo_tolerance);
  const bar = makeBar(
    'stack_vs_best_sleeve',
    `meta-stack Sharpe minus best sleeve (${b.name}) Sharpe, without worse DSR/PBO`,
    c.sharpe !== null ? c.sharpe - b.sharpe : null,
    '>',
    0,
    cfg.stack_vs_sleeves.blocking,
    `stack Sharpe ${fmt(c.sharpe)} vs ${fmt(b.sharpe)}; DSR ${fmt(c.dsr)} vs ${fmt(b.dsr)}${dsrOk ? '' : ' (worse)'}; PBO ${fmt(c.pbo)} vs ${fmt(b.pbo)}${pboOk ? '' : ' (worse)'}`,
  );
  bar.pass = sharpeOk && dsrOk && pboOk;
  bars.push(bar);
  return info;
}

/**
 * Brier score, ECE and log loss of P(label = +1) of every classification sleeve (a signal with no
 * components and task classification) over its CPCV paths; "not applicable" when its OOF has no
 * prob_up/label. Throws StepError('BadUpstream') when the probabilities are unusable.
 */
export async function calibrationBars(con: DuckDBConnection, store: ArtifactStore, signals: Input<ContractValue<typeof signalsOof>>[], cfg: PromotionConfig, bars: GateBar[]): Promise<Record<string, CalibrationResult | string>> {
  const calib: Record<string, CalibrationResult | string> = {};
  for (const s of signals) {
    const name = s.value.sleeve;
    if (s.value.task !== 'classification' || s.value.components.length > 0) continue;
    const file = store.path(s.value.oof);
    const cols = (await queryRows<{ column_name: string }>(con, `SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(${sqlString(file)}))`)).map((r) => r.column_name);
    if (!cols.includes('prob_up') || !cols.includes('label')) {
      const why = `not applicable: oof of ${s.step} has no prob_up/label columns (calibration needs P(label=+1))`;
      calib[name] = why;
      bars.push(makeBar(`calibration.brier[${name}]`, `Brier score of ${name}`, null, '<=', null, false, why));
      continue;
    }
    // typed columns streamed chunk by chunk into arrays sized by a count (no per-value getItem, no
    // materialized copy of the 4M rows beside them), in the file's row order
    const from = `FROM read_parquet(${sqlString(file)}) WHERE path > 0 AND prob_up IS NOT NULL AND label IS NOT NULL`;
    const n = Number((await queryRows<{ n: bigint }>(con, `SELECT count(*) AS n ${from}`))[0]!.n);
    const p = new Float64Array(n);
    const y = new Float64Array(n);
    let at = 0;
    await forEachNumericChunk(con, `SELECT CAST(prob_up AS DOUBLE), CAST(CAST(label AS DOUBLE) = 1 AS DOUBLE) ${from} ORDER BY path, date, symbol`, ['double', 'double'], (c, m) => {
      p.set(c[0]!, at);
      y.set(c[1]!, at);
      at += m;
    });
    let res: CalibrationResult;
    try {
      res = calibration(p, y, cfg.calibration.bins);
    } catch (e) {
      throw new StepError({ message: `calibration of sleeve ${name} (${s.step}): ${(e as Error).message}`, type: 'BadUpstream', nonRetryable: true, cause: e });
    }
    calib[name] = res;
    bars.push(makeBar(`calibration.brier[${name}]`, `Brier score of P(label=+1) for ${name} (reference ${res.brier_reference.toFixed(4)})`, res.brier, '<=', cfg.calibration.brier_max, cfg.calibration.blocking));
    bars.push(makeBar(`calibration.ece[${name}]`, `expected calibration error of ${name}, ${cfg.calibration.bins} bins`, res.ece, '<=', cfg.calibration.ece_max, cfg.calibration.blocking));
    bars.push(makeBar(`calibration.log_loss[${name}]`, `log loss of ${name}`, res.log_loss, 'info', null, false));
  }
  return calib;
}

/**
 * One row per sizing policy: the OPE lower bound of the learned policy against the baseline value
 * plus the margin (the sizing.policy contract's figures), passing exactly when the policy was
 * accepted; informational unless `ope.blocking`.
 */
export function opeBars(sizing: Input<ContractValue<typeof sizingPolicy>>[], cfg: PromotionConfig, bars: GateBar[]): Record<string, unknown> {
  const info: Record<string, unknown> = {};
  for (const o of sizing) {
    const v = o.value;
    info[o.step] = { ...v };
    const lcb = v.estimate?.lcb ?? null;
    const thr = v.baseline_value !== null ? v.baseline_value + v.margin : null;
    const bar = makeBar(`ope.accepted[${o.step}]`, `OPE (${v.estimator}) lower bound of the learned sizing policy vs baseline + margin`, lcb, '>=', thr, cfg.ope.blocking, `estimate ${fmt(v.estimate?.estimate ?? null)} [${fmt(lcb)}, ${fmt(v.estimate?.ucb ?? null)}]; ${v.decision}`);
    bar.pass = v.accepted;
    bars.push(bar);
  }
  return info;
}

/** The challenger against a champion's returns on the same paths and dates (blocking per config). */
export async function championBar(con: DuckDBConnection, store: ArtifactStore, champion: ArtifactRef | undefined, rets: PathReturn[], usedPaths: number[], cal: TradingCalendar, cfg: PromotionConfig, bars: GateBar[]): Promise<ChampionComparison | null> {
  if (!champion) {
    bars.push(makeBar('champion', 'challenger vs champion', null, 'info', null, false, 'no champion registered: comparison skipped'));
    return null;
  }
  const champRows = await readPathReturns(con, store.path(champion), 'champion returns');
  try {
    const c = compareChampion(rets.filter((r) => usedPaths.includes(r.path)), champRows.filter((r) => usedPaths.includes(r.path)), cal);
    bars.push(makeBar('champion', 'challenger minus champion median path Sharpe (same paths and dates)', c.challenger_sharpe_median - c.champion_sharpe_median, '>', 0, cfg.champion.blocking, `win rate ${c.win_rate.toFixed(2)} over ${c.n_paths} paths`));
    return c;
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    bars.push(makeBar('champion', 'challenger vs champion on the same paths', null, '>', 0, cfg.champion.blocking, e.message));
    return null;
  }
}

/** Per CPCV path, the mean daily Spearman rank IC of an OOF signal's score with its label return. */
export type OofRankIc = { path: number; rank_ic: number }[];

/**
 * The mean daily Spearman rank IC (average ranks for ties) of the OOF score with the row's realised
 * label return (`ret`), per CPCV path (> 0), over (path, date) cross-sections of ≥ 5 rows with a
 * finite IC; paths without one are left out. Computed on a DuckDB instance of its own with ONE
 * thread and no memory cap: a parallel aggregation merges float partial sums in varying order, and
 * a spilled window hands rows on in another order, while the verdict must be byte-stable. Being its own instance, it runs beside the gate's other work (the trial trading
 * on the JS thread, whose reads keep both threads of the gate's instance): start it early, await it
 * when the bar is due.
 */
export async function oofRankIc(store: ArtifactStore, signal: Input<ContractValue<typeof signalsOof>>): Promise<OofRankIc> {
  const file = sqlString(store.path(signal.value.oof));
  return withDuckDB(async (con) => {
    await con.run('SET threads = 1');
    const rows = await queryRows<{ path: number; ic: number }>(
      con,
      `WITH x AS (SELECT path, date, score, ret FROM read_parquet(${file}) WHERE path > 0 AND score IS NOT NULL AND ret IS NOT NULL AND isfinite(score) AND isfinite(ret)),
       r AS (SELECT path, date, rank() OVER (PARTITION BY path, date ORDER BY score) + (count(*) OVER (PARTITION BY path, date, score) - 1) / 2.0 AS rs,
                    rank() OVER (PARTITION BY path, date ORDER BY ret) + (count(*) OVER (PARTITION BY path, date, ret) - 1) / 2.0 AS rr FROM x),
       d AS (SELECT path, date, corr(rs, rr) AS ic FROM r GROUP BY path, date HAVING count(*) >= 5)
       SELECT CAST(path AS INTEGER) AS path, avg(ic) AS ic FROM d WHERE ic IS NOT NULL AND isfinite(ic) GROUP BY path ORDER BY path`,
    );
    return rows.map((r) => ({ path: r.path, rank_ic: r.ic }));
  }, ':memory:', { memoryLimit: null });
}

/**
 * Look-ahead plausibility of the candidate's OOF: the mean over CPCV paths of {@link oofRankIc}.
 * Honest daily cross-sectional rank ICs are a few hundredths; above `oof_leakage.max_abs_rank_ic`
 * (the training configs' leakage ceiling) the score knows its label — a leak, refused whatever the
 * Sharpe says. Not computable (no rows with score and ret) fails the bar.
 */
export function oofLeakageBar(perPath: OofRankIc, signal: Input<ContractValue<typeof signalsOof>>, cfg: PromotionConfig, bars: GateBar[]): { mean_rank_ic: number | null; per_path: OofRankIc } {
  const mean = perPath.length ? perPath.reduce((a, r) => a + r.rank_ic, 0) / perPath.length : null;
  const ceiling = cfg.oof_leakage.max_abs_rank_ic;
  bars.push(
    makeBar('oof_leakage', `|mean daily rank IC| of ${signal.value.sleeve}'s OOF score with its own label return (look-ahead above the ceiling)`, mean === null ? null : Math.abs(mean), '<=', ceiling, cfg.oof_leakage.blocking, mean === null ? 'no OOF rows with score and ret' : `mean rank IC ${mean.toFixed(4)} over ${perPath.length} paths`),
  );
  return { mean_rank_ic: mean, per_path: perPath };
}
