import type { StepContext } from '../types.ts';
import type { ArtifactRef } from '../../artifacts/store.ts';
import { withDuckDB, sqlString, queryRows } from '../../lib/duckdb.ts';
import { StepError, UserError } from '../../lib/errors.ts';
import { loadYamlConfig } from '../../portfolio/config.ts';
import { promotionConfigSchema, type PromotionConfig } from '../../governance/config.ts';
import { deflatedSharpe, trialSharpeStats, type DsrResult } from '../../governance/dsr.ts';
import { psrOfReturns } from '../../governance/psr.ts';
import { pboCscv, type PboResult } from '../../governance/pbo.ts';
import { calibration, type CalibrationResult } from '../../governance/calibration.ts';
import { compareChampion, type ChampionComparison, type PathReturn } from '../../governance/champion.ts';
import { makeBar, failedBars, formatGateTable, type GateBar } from '../../governance/gate.ts';
import { median } from '../../governance/stats.ts';
import { forEachChunk, requireColumns } from '../../backtest/io.ts';
import { ancestorsOf, refOf } from './common.ts';
import type { DuckDBConnection } from '@duckdb/node-api';

interface SleeveLedger {
  sleeve: string;
  step_id: string;
  task: string;
  n_trials: number;
  trial_ids: string[];
  trial_sharpes: number[];
  var_sr: number;
  pbo: PboResult | null;
  pbo_error?: string;
  matrix: { m: Float64Array; T: number; dates: string[] } | null;
}

function aggregate(values: number[], how: PromotionConfig['path_aggregate']): number | null {
  const v = values.filter(Number.isFinite);
  if (!v.length) return null;
  if (how === 'min') return Math.min(...v);
  if (how === 'mean') return v.reduce((a, b) => a + b, 0) / v.length;
  return median(v);
}

/** Reads (path, date, net) of a returns Parquet, optionally filtered to one sleeve. */
async function readPathReturns(con: DuckDBConnection, file: string, what: string, sleeve?: string): Promise<PathReturn[]> {
  await requireColumns(con, file, what, ['path', 'date', 'net', ...(sleeve !== undefined ? ['sleeve'] : [])]);
  const where = sleeve !== undefined ? `WHERE sleeve = ${sqlString(sleeve)}` : '';
  return queryRows<PathReturn>(con, `SELECT CAST(path AS INTEGER) AS path, strftime(CAST(date AS DATE), '%Y-%m-%d') AS date, CAST(net AS DOUBLE) AS net FROM read_parquet(${sqlString(file)}) ${where} ORDER BY path, date`);
}

function byPath(rows: PathReturn[]): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const r of rows) {
    let a = m.get(r.path);
    if (!a) m.set(r.path, (a = []));
    a.push(r.net);
  }
  return m;
}

/** Loads a sleeve's trial ledger and trial return streams (dates on which every trial has a return). */
async function loadLedger(con: DuckDBConnection, ctx: StepContext, f: ReturnType<typeof ancestorsOf>[number], cfg: PromotionConfig): Promise<SleeveLedger> {
  const sleeve = String(f.step.outputs.sleeve ?? f.id);
  const ledger = ctx.artifacts.readJson<{ n_trials?: number; trials?: { trial_id: string }[] }>(refOf(f, 'trial_ledger'));
  const file = ctx.artifacts.path(refOf(f, 'trial_returns'));
  await requireColumns(con, file, `trial_returns of ${f.id}`, ['trial_id', 'date', 'ret']);
  const ids = (await queryRows<{ trial_id: string }>(con, `SELECT DISTINCT CAST(trial_id AS VARCHAR) AS trial_id FROM read_parquet(${sqlString(file)}) ORDER BY 1`)).map((r) => r.trial_id);
  const nLedger = Number(ledger.n_trials ?? ledger.trials?.length ?? 0);
  const nTrials = Math.max(nLedger, ids.length);
  const out: SleeveLedger = { sleeve, step_id: f.id, task: String(f.step.outputs.task ?? 'unknown'), n_trials: nTrials, trial_ids: ids, trial_sharpes: [], var_sr: 0, pbo: null, matrix: null };
  if (ids.length === 0) return out;
  const dates = (
    await queryRows<{ d: string }>(
      con,
      `SELECT strftime(CAST(date AS DATE), '%Y-%m-%d') AS d FROM read_parquet(${sqlString(file)}) WHERE ret IS NOT NULL AND isfinite(ret) GROUP BY 1 HAVING count(DISTINCT trial_id) = ${ids.length} ORDER BY 1`,
    )
  ).map((r) => r.d);
  const T = dates.length;
  const N = ids.length;
  const m = new Float64Array(T * N);
  const di = new Map(dates.map((d, i) => [d, i]));
  const ti = new Map(ids.map((d, i) => [d, i]));
  await forEachChunk(con, `SELECT CAST(trial_id AS VARCHAR), strftime(CAST(date AS DATE), '%Y-%m-%d'), CAST(ret AS DOUBLE) FROM read_parquet(${sqlString(file)}) WHERE ret IS NOT NULL AND isfinite(ret)`, (c, n) => {
    for (let j = 0; j < n; j++) {
      const d = di.get(c[1]!.getItem(j) as string);
      if (d === undefined) continue;
      m[d * N + ti.get(c[0]!.getItem(j) as string)!] = c[2]!.getItem(j) as number;
    }
  });
  out.matrix = { m, T, dates };
  const cols: Float64Array[] = ids.map((_, n) => {
    const x = new Float64Array(T);
    for (let t = 0; t < T; t++) x[t] = m[t * N + n]!;
    return x;
  });
  const st = trialSharpeStats(cols);
  out.trial_sharpes = st.sharpes;
  out.var_sr = st.variance;
  try {
    out.pbo = pboCscv(m, T, N, { blocks: cfg.pbo.blocks, signal: ctx.signal });
  } catch (e) {
    if (e instanceof RangeError) out.pbo_error = e.message;
    else throw e;
  }
  return out;
}

/** Pools every sleeve's trial streams on their common dates (trial ids prefixed by sleeve). */
function pool(ledgers: SleeveLedger[]): { m: Float64Array; T: number; N: number } | null {
  const ok = ledgers.filter((l) => l.matrix && l.trial_ids.length);
  if (!ok.length) return null;
  let common = new Set(ok[0]!.matrix!.dates);
  for (const l of ok.slice(1)) common = new Set(l.matrix!.dates.filter((d) => common.has(d)));
  const dates = [...common].sort();
  const N = ok.reduce((a, l) => a + l.trial_ids.length, 0);
  const m = new Float64Array(dates.length * N);
  let off = 0;
  for (const l of ok) {
    const idx = new Map(l.matrix!.dates.map((d, i) => [d, i]));
    const n = l.trial_ids.length;
    dates.forEach((d, t) => {
      const src = idx.get(d)!;
      for (let k = 0; k < n; k++) m[t * N + off + k] = l.matrix!.m[src * n + k]!;
    });
    off += n;
  }
  return { m, T: dates.length, N };
}

/** The gate: computes every bar, writes the report artifact, throws GateFailed when a blocking bar fails. */
export async function evaluateGate(ctx: StepContext, w: { bars: string; champion?: ArtifactRef }) {
  const cfg = loadYamlConfig(ctx.projectRoot, w.bars, promotionConfigSchema);
  const bts = ancestorsOf(ctx, 'backtest.cpcv_paths');
  if (bts.length !== 1) throw new UserError(`gate.governance needs exactly one upstream backtest.cpcv_paths step, found ${bts.length}`);
  const bt = bts[0]!;
  const btMetrics = ctx.artifacts.readJson<{ per_path: { path: number; sharpe: number; max_drawdown: number; turnover_annual: number }[] }>(refOf(bt, 'metrics'));
  const fits = ancestorsOf(ctx, 'fit.cpcv');
  const hasStack = ancestorsOf(ctx, 'stack.oof').length > 0 || (bt.step.outputs.source as { uses?: string } | undefined)?.uses !== 'fit.cpcv';
  const agg = cfg.path_aggregate;

  return withDuckDB(async (con) => {
    ctx.progress({ fraction: 0.05, message: 'reading backtest returns' });
    const rets = await readPathReturns(con, ctx.artifacts.path(refOf(bt, 'returns')), `returns of ${bt.id}`);
    const all = byPath(rets);
    const cpcvPaths = [...all.keys()].filter((p) => p > 0).sort((a, b) => a - b);
    const usedPaths = cpcvPaths.length ? cpcvPaths : [...all.keys()].sort((a, b) => a - b);
    const pathNote = cpcvPaths.length ? `${agg} over ${cpcvPaths.length} CPCV paths` : `no CPCV paths: ${agg} over walk-forward path(s) only`;

    ctx.progress({ fraction: 0.15, message: `trial ledgers of ${fits.length} sleeve(s)` });
    const ledgers: SleeveLedger[] = [];
    for (const f of fits) ledgers.push(await loadLedger(con, ctx, f, cfg));
    const nTrials = ledgers.reduce((a, l) => a + l.n_trials, 0);
    const allSharpes = ledgers.flatMap((l) => l.trial_sharpes).filter(Number.isFinite);
    const pooledVar = allSharpes.length >= 2 ? sampleVariance(allSharpes) : 0;
    ctx.progress({ fraction: 0.4, message: 'PBO (CSCV) over the pooled trials' });
    const pooled = pool(ledgers);
    let pboPooled: PboResult | null = null;
    let pboErr = fits.length === 0 ? 'no upstream fit.cpcv trial ledger' : undefined;
    if (pooled && pooled.N >= 2) {
      try {
        pboPooled = ledgers.length === 1 ? ledgers[0]!.pbo : pboCscv(pooled.m, pooled.T, pooled.N, { blocks: cfg.pbo.blocks, signal: ctx.signal });
        if (!pboPooled) pboErr = ledgers[0]!.pbo_error;
      } catch (e) {
        if (e instanceof RangeError) pboErr = e.message;
        else throw e;
      }
    } else if (pooled) pboErr = `PBO needs at least 2 trial return streams; the ledger(s) hold ${pooled.N}`;

    // Per-path PSR / DSR of the strategy.
    const perPath: { path: number; sharpe: number; max_drawdown: number; turnover_annual: number; psr: number; dsr: DsrResult | null }[] = [];
    for (const p of usedPaths) {
      const r = all.get(p)!;
      const m = btMetrics.per_path.find((x) => x.path === p);
      if (!m) throw new UserError(`backtest metrics of ${bt.id} have no entry for path ${p}`);
      perPath.push({ path: p, sharpe: m.sharpe, max_drawdown: m.max_drawdown, turnover_annual: m.turnover_annual, psr: psrOfReturns(r, 0).psr, dsr: nTrials >= 1 ? deflatedSharpe(r, nTrials, pooledVar) : null });
    }
    const sharpe = aggregate(perPath.map((p) => p.sharpe), agg);
    // drawdown: the worst-case direction of the aggregate (min → max drawdown)
    const mdd = agg === 'min' ? Math.max(...perPath.map((p) => p.max_drawdown)) : aggregate(perPath.map((p) => p.max_drawdown), agg);
    const turnover = agg === 'min' ? Math.max(...perPath.map((p) => p.turnover_annual)) : aggregate(perPath.map((p) => p.turnover_annual), agg);
    const psr = aggregate(perPath.map((p) => p.psr), agg);
    const dsr = nTrials >= 1 ? aggregate(perPath.map((p) => p.dsr!.dsr), agg) : null;

    const bars: GateBar[] = [];
    bars.push(makeBar('sharpe', `annualised net Sharpe (${pathNote})`, sharpe, '>=', cfg.sharpe.min, cfg.sharpe.blocking));
    bars.push(makeBar('max_drawdown', `max drawdown of net equity (${pathNote})`, mdd, '<=', cfg.max_drawdown.max, cfg.max_drawdown.blocking));
    bars.push(makeBar('psr', `PSR(SR*=0) of daily net returns (${pathNote})`, psr, '>=', cfg.psr.min, cfg.psr.blocking));
    const sr0 = perPath[0]?.dsr?.sr0;
    bars.push(
      makeBar(
        'dsr',
        `deflated Sharpe ratio, N=${nTrials} trials, V[SR]=${pooledVar.toExponential(3)} (${pathNote})`,
        dsr,
        '>=',
        cfg.dsr.min,
        cfg.dsr.blocking,
        nTrials >= 1 ? `SR0 (daily) = ${sr0?.toFixed(4)}` : 'no trial ledger upstream: DSR cannot be computed without the number of trials',
      ),
    );
    bars.push(makeBar('pbo', `probability of backtest overfitting, CSCV S=${cfg.pbo.blocks} over ${pooled?.N ?? 0} trial streams`, pboPooled ? pboPooled.pbo : null, '<=', cfg.pbo.max, cfg.pbo.blocking, pboPooled ? `logit median ${pboPooled.logits.median.toFixed(3)}, OOS-loss prob ${pboPooled.degradation.prob_oos_loss.toFixed(3)}` : pboErr));
    bars.push(makeBar('turnover', `annualised one-way turnover (${pathNote})`, turnover, '<=', cfg.turnover.annual_max, cfg.turnover.blocking));
    const wf = all.get(0);
    if (wf) bars.push(makeBar('walk_forward.sharpe', 'walk-forward (path 0) annualised net Sharpe, reference only', btMetrics.per_path.find((x) => x.path === 0)?.sharpe ?? null, 'info', null, false));

    // Stack vs best single sleeve (same portfolio, costs and paths).
    const sleeveInfo: Record<string, unknown> = {};
    const btSleeves = (bt.step.outputs.sleeves as { sleeve: string; step_id: string; sharpe_median: number }[] | undefined) ?? [];
    const sleeveRef = bt.step.outputs.sleeve_returns as ArtifactRef | null | undefined;
    if (!hasStack) {
      bars.push(makeBar('stack_vs_best_sleeve', 'meta-stack beats the best single sleeve OOS', null, '>', null, false, 'not applicable: the backtest ran a single sleeve, there is no stack'));
    } else if (!btSleeves.length || !sleeveRef) {
      bars.push(makeBar('stack_vs_best_sleeve', 'meta-stack beats the best single sleeve OOS', null, '>', null, cfg.stack_vs_sleeves.blocking, 'no sleeve backtests upstream (backtest.cpcv_paths with sleeves: true and fit.cpcv ancestors are needed)'));
    } else {
      const sfile = ctx.artifacts.path(sleeveRef);
      let best: { name: string; sharpe: number; dsr: number | null; pbo: number | null } | null = null;
      for (const s of btSleeves) {
        const led = ledgers.find((l) => l.step_id === s.step_id);
        const rows = byPath(await readPathReturns(con, sfile, `sleeve_returns of ${bt.id}`, s.sleeve));
        const paths = [...rows.keys()].filter((p) => (cpcvPaths.length ? p > 0 : true));
        const sd = led && led.n_trials >= 1 ? aggregate(paths.map((p) => deflatedSharpe(rows.get(p)!, led.n_trials, led.var_sr).dsr), agg) : null;
        const info = { sleeve: s.sleeve, sharpe: s.sharpe_median, dsr: sd, pbo: led?.pbo?.pbo ?? null, n_trials: led?.n_trials ?? 0 };
        sleeveInfo[s.sleeve] = info;
        if (!best || s.sharpe_median > best.sharpe) best = { name: s.sleeve, sharpe: s.sharpe_median, dsr: sd, pbo: info.pbo };
      }
      const b = best!;
      const sharpeOk = sharpe !== null && sharpe > b.sharpe;
      const dsrOk = dsr !== null && (b.dsr === null || dsr >= b.dsr);
      const pboOk = pboPooled !== null && (b.pbo === null || pboPooled.pbo <= b.pbo + cfg.stack_vs_sleeves.pbo_tolerance);
      const bar = makeBar(
        'stack_vs_best_sleeve',
        `meta-stack Sharpe minus best sleeve (${b.name}) Sharpe, without worse DSR/PBO`,
        sharpe !== null ? sharpe - b.sharpe : null,
        '>',
        0,
        cfg.stack_vs_sleeves.blocking,
        `stack Sharpe ${fmt(sharpe)} vs ${fmt(b.sharpe)}; DSR ${fmt(dsr)} vs ${fmt(b.dsr)}${dsrOk ? '' : ' (worse)'}; PBO ${fmt(pboPooled?.pbo ?? null)} vs ${fmt(b.pbo)}${pboOk ? '' : ' (worse)'}`,
      );
      bar.pass = sharpeOk && dsrOk && pboOk;
      bars.push(bar);
    }

    // Calibration of classification sleeves.
    const calib: Record<string, CalibrationResult | string> = {};
    for (const f of fits) {
      const name = String(f.step.outputs.sleeve ?? f.id);
      if (f.step.outputs.task !== 'classification') continue;
      const file = ctx.artifacts.path(refOf(f, 'oof'));
      const cols = (await queryRows<{ column_name: string }>(con, `SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(${sqlString(file)}))`)).map((r) => r.column_name);
      if (!cols.includes('prob_up') || !cols.includes('label')) {
        const why = `not applicable: oof of ${f.id} has no prob_up/label columns (calibration needs P(label=+1))`;
        calib[name] = why;
        bars.push(makeBar(`calibration.brier[${name}]`, `Brier score of ${name}`, null, '<=', null, false, why));
        continue;
      }
      const p: number[] = [];
      const y: number[] = [];
      await forEachChunk(con, `SELECT CAST(prob_up AS DOUBLE), CAST(label AS DOUBLE) FROM read_parquet(${sqlString(file)}) WHERE path > 0 AND prob_up IS NOT NULL AND label IS NOT NULL ORDER BY path, date, symbol`, (c, n) => {
        for (let j = 0; j < n; j++) {
          p.push(c[0]!.getItem(j) as number);
          y.push((c[1]!.getItem(j) as number) === 1 ? 1 : 0);
        }
      });
      let res: CalibrationResult;
      try {
        res = calibration(p, y, cfg.calibration.bins);
      } catch (e) {
        throw new StepError({ message: `calibration of sleeve ${name} (${f.id}): ${(e as Error).message}`, type: 'BadUpstream', nonRetryable: true });
      }
      calib[name] = res;
      bars.push(makeBar(`calibration.brier[${name}]`, `Brier score of P(label=+1) for ${name} (reference ${res.brier_reference.toFixed(4)})`, res.brier, '<=', cfg.calibration.brier_max, cfg.calibration.blocking));
      bars.push(makeBar(`calibration.ece[${name}]`, `expected calibration error of ${name}, ${cfg.calibration.bins} bins`, res.ece, '<=', cfg.calibration.ece_max, cfg.calibration.blocking));
      bars.push(makeBar(`calibration.log_loss[${name}]`, `log loss of ${name}`, res.log_loss, 'info', null, false));
    }

    // Offline RL policy evaluation (informational unless ope.blocking).
    const opeInfo: Record<string, unknown> = {};
    for (const o of ancestorsOf(ctx, 'rl.ope')) {
      const out = o.step.outputs as { accepted?: boolean; policy?: string; estimator?: string; dr?: { estimate: number; lcb: number; ucb: number }; baseline_value?: number; margin?: number };
      opeInfo[o.id] = out;
      const lcb = out.dr?.lcb ?? null;
      const thr = out.baseline_value !== undefined ? out.baseline_value + (out.margin ?? 0) : null;
      const bar = makeBar(`ope.accepted[${o.id}]`, `OPE (${out.estimator ?? 'dr'}) lower bound of the ${out.policy ?? 'learned'} policy vs baseline + margin`, lcb, '>=', thr, cfg.ope.blocking, `estimate ${fmt(out.dr?.estimate ?? null)} [${fmt(lcb)}, ${fmt(out.dr?.ucb ?? null)}]; accepted=${String(out.accepted)}`);
      if (typeof out.accepted === 'boolean') bar.pass = out.accepted;
      bars.push(bar);
    }

    // Champion on the same paths.
    let champion: ChampionComparison | null = null;
    if (w.champion) {
      const champRows = await readPathReturns(con, ctx.artifacts.path(w.champion), 'champion returns');
      try {
        champion = compareChampion(rets.filter((r) => usedPaths.includes(r.path)), champRows.filter((r) => usedPaths.includes(r.path)));
        const b = makeBar('champion', 'challenger minus champion median path Sharpe (same paths and dates)', champion.challenger_sharpe_median - champion.champion_sharpe_median, '>', 0, cfg.champion.blocking, `win rate ${champion.win_rate.toFixed(2)} over ${champion.n_paths} paths`);
        bars.push(b);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        bars.push(makeBar('champion', 'challenger vs champion on the same paths', null, '>', 0, cfg.champion.blocking, e.message));
      }
    } else {
      bars.push(makeBar('champion', 'challenger vs champion', null, 'info', null, false, 'no champion registered: comparison skipped'));
    }

    const failed = failedBars(bars);
    const table = formatGateTable(bars);
    const report = await ctx.artifacts.putJson(
      {
        passed: failed.length === 0,
        config: cfg,
        bars,
        per_path: perPath,
        n_trials: nTrials,
        var_trial_sr: pooledVar,
        ledgers: ledgers.map((l) => ({ sleeve: l.sleeve, step_id: l.step_id, task: l.task, n_trials: l.n_trials, trial_sharpes: l.trial_sharpes, var_sr: l.var_sr, pbo: l.pbo, pbo_error: l.pbo_error })),
        pbo: pboPooled,
        calibration: calib,
        sleeves: sleeveInfo,
        ope: opeInfo,
        champion,
      },
      'gate_report.json',
    );
    ctx.log.info({ table }, 'gate table');
    ctx.progress({ fraction: 1, message: failed.length ? `gate FAILED: ${failed.map((b) => b.id).join(', ')}` : 'gate passed' });
    if (failed.length) {
      throw new StepError(
        { message: `promotion gate failed (${failed.length} blocking bar(s): ${failed.map((b) => `${b.id}=${fmt(b.value)} needs ${b.op} ${fmt(b.threshold)}${b.note && b.note.includes('(worse)') ? ` [${b.note}]` : ''}`).join('; ')})\n${table}`, type: 'GateFailed', nonRetryable: true, details: { bars, report } },
      );
    }
    return { passed: true, bars, table, report, sharpe, max_drawdown: mdd, psr, dsr, pbo: pboPooled?.pbo ?? null, n_trials: nTrials };
  });
}

function fmt(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(4);
}

/** Sample variance (n − 1). */
function sampleVariance(x: number[]): number {
  const m = x.reduce((a, b) => a + b, 0) / x.length;
  return x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1);
}
