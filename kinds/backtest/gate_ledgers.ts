/**
 * The gate's trial ledgers: each trials.ledger input's return streams as a date × trial matrix, the
 * trials' Sharpe ratios and their variance (DSR's N and V[SR], Bailey & López de Prado 2014), PBO by
 * CSCV per ledger and pooled over all ledgers (Bailey, Borwein, López de Prado & Zhu 2015).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ArtifactStore } from '../../artifacts/store.ts';
import { forEachChunk, requireColumns } from '../../backtest/io.ts';
import type { ContractValue, trialsLedger } from '../../contracts/index.ts';
import type { PromotionConfig } from '../../governance/config.ts';
import { trialSharpeStats } from '../../governance/dsr.ts';
import { pboCscv, type PboResult } from '../../governance/pbo.ts';
import { queryRows, sqlString } from '../../lib/duckdb.ts';
import type { Input } from '../types.ts';

/** One sleeve's trials as the gate uses them. */
export interface SleeveLedger {
  sleeve: string;
  /** Step that provided the ledger. */
  step: string;
  task: string;
  /** max(ledger n_trials, distinct trial ids with returns). */
  n_trials: number;
  trial_ids: string[];
  /** Per-period Sharpe ratio of each trial's return stream (same order as trial_ids). */
  trial_sharpes: number[];
  var_sr: number;
  pbo: PboResult | null;
  pbo_error?: string;
  /** Row-major T×N returns on the dates on which every trial has a finite return. */
  matrix: { m: Float64Array; T: number; dates: string[] } | null;
}

/**
 * Loads one trials.ledger input: the trial ids of its returns table, the dates on which every trial
 * has a finite return, the T×N matrix of those returns, the trial Sharpe statistics and the ledger's
 * own PBO (a RangeError of CSCV — too few dates for the blocks — is recorded, not thrown).
 * Throws InputError (io.ts) when the returns table lacks trial_id/date/ret.
 */
export async function loadLedger(con: DuckDBConnection, store: ArtifactStore, t: Input<ContractValue<typeof trialsLedger>>, task: string, cfg: PromotionConfig, signal: AbortSignal): Promise<SleeveLedger> {
  const file = store.path(t.value.returns);
  await requireColumns(con, file, `trials.ledger returns of ${t.step}`, ['trial_id', 'date', 'ret']);
  const ids = (await queryRows<{ trial_id: string }>(con, `SELECT DISTINCT CAST(trial_id AS VARCHAR) AS trial_id FROM read_parquet(${sqlString(file)}) ORDER BY 1`)).map((r) => r.trial_id);
  const out: SleeveLedger = { sleeve: t.value.sleeve, step: t.step, task, n_trials: Math.max(t.value.n_trials, ids.length), trial_ids: ids, trial_sharpes: [], var_sr: 0, pbo: null, matrix: null };
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
    out.pbo = pboCscv(m, T, N, { blocks: cfg.pbo.blocks, signal });
  } catch (e) {
    if (e instanceof RangeError) out.pbo_error = e.message;
    else throw e;
  }
  return out;
}

/** Pools every sleeve's trial streams on their common dates (columns in ledger order). */
export function pool(ledgers: SleeveLedger[]): { m: Float64Array; T: number; N: number } | null {
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

/** The trials every ledger holds, pooled: N for the DSR, V[SR] over all trial Sharpes, and the pooled PBO. */
export interface PooledTrials {
  nTrials: number;
  pooledVar: number;
  /** Trial streams pooled into the CSCV matrix. */
  nStreams: number;
  pbo: PboResult | null;
  pboError?: string;
}

/**
 * Pools the ledgers: N = Σ n_trials, V[SR] = sample variance of every finite trial Sharpe, PBO of the
 * pooled matrix (the single ledger's own PBO when there is one ledger). CSCV RangeErrors become
 * `pboError`.
 */
export function pooledTrials(ledgers: SleeveLedger[], cfg: PromotionConfig, signal: AbortSignal): PooledTrials {
  const nTrials = ledgers.reduce((a, l) => a + l.n_trials, 0);
  const allSharpes = ledgers.flatMap((l) => l.trial_sharpes).filter(Number.isFinite);
  const pooledVar = allSharpes.length >= 2 ? sampleVariance(allSharpes) : 0;
  const pooled = pool(ledgers);
  let pbo: PboResult | null = null;
  let pboError = ledgers.length === 0 ? 'no trial ledger upstream' : undefined;
  if (pooled && pooled.N >= 2) {
    try {
      pbo = ledgers.length === 1 ? ledgers[0]!.pbo : pboCscv(pooled.m, pooled.T, pooled.N, { blocks: cfg.pbo.blocks, signal });
      if (!pbo) pboError = ledgers[0]!.pbo_error;
    } catch (e) {
      if (e instanceof RangeError) pboError = e.message;
      else throw e;
    }
  } else if (pooled) pboError = `PBO needs at least 2 trial return streams; the ledger(s) hold ${pooled.N}`;
  return { nTrials, pooledVar, nStreams: pooled?.N ?? 0, pbo, pboError };
}

/** Sample variance (n − 1). */
function sampleVariance(x: number[]): number {
  const m = x.reduce((a, b) => a + b, 0) / x.length;
  return x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1);
}
