import path from 'node:path';
import { withDuckDB, sqlString } from '../../lib/duckdb.ts';
import { ArtifactStore, type ArtifactRef } from '../../artifacts/store.ts';
import { contractId, type Contract, type ContractValue } from '../../contracts/define.ts';
import { ohlcvDaily, signalsOof, trialsLedger } from '../../contracts/index.ts';
import { STEP_KINDS } from '../../kinds/registry.ts';
import type { StepOutputs } from '../../kinds/types.ts';
import type { TestUpstream } from '../support/context.ts';
import { writeSp500Slice, TEST_SYMBOLS } from '../support/sp500.ts';

/**
 * Outputs of an upstream step of the registered kind `uses` that carry each value under every output
 * key at which that kind provides the value's contract (so fixtures follow the kinds' declarations,
 * whatever they name their keys), plus `extra` outputs. Throws when the kind provides none of them.
 */
export function providerOutputs(uses: string, values: [Contract, unknown][], extra: StepOutputs = {}): StepOutputs {
  const kind = STEP_KINDS.get(uses);
  const out: StepOutputs = { ...extra };
  for (const [c, v] of values) {
    const keys = Object.entries(kind?.provides ?? {}).filter(([, p]) => p.name === c.name).map(([k]) => k);
    if (!keys.length) throw new Error(`fixture: step kind ${uses} does not provide ${contractId(c)}`);
    for (const k of keys) out[k] = c.schema.parse(v);
  }
  return out;
}

/** The ohlcv.daily value of a curated test slice (NYSE sessions). */
export function ohlcvValue(ref: ArtifactRef): ContractValue<typeof ohlcvDaily> {
  return { ...ref, dataset: 'sp500_test_slice', calendar: 'nyse' };
}

/** A signals.oof value (NYSE calendar). `components` non-empty makes it a stack's signal. */
export function signalValue(o: { sleeve: string; task?: 'regression' | 'classification'; oof: ArtifactRef; walkForward: ArtifactRef; components?: string[]; nPaths?: number }): ContractValue<typeof signalsOof> {
  return { sleeve: o.sleeve, task: o.task ?? 'regression', calendar: 'nyse', n_paths: o.nPaths ?? 7, components: o.components ?? [], oof: o.oof, walk_forward: o.walkForward };
}

/** A qc.audit upstream step whose curated view is `curated`. */
export function auditStep(curated: ArtifactRef): TestUpstream {
  return { uses: 'qc.audit', outputs: providerOutputs('qc.audit', [[ohlcvDaily, ohlcvValue(curated)]], { status: 'GREEN' }) };
}

/**
 * Real-data fixture: curated OHLCV of the 30-symbol S&P test slice and a stack-style OOF where the
 * score of (date, symbol, path) is a 20-day momentum known at the close of `date` plus a small
 * path-specific deterministic perturbation (paths 1..7), and path 0 (walk-forward) starts a year in.
 * `shiftDays` > 0 moves every score that many trading days into the past, i.e. the score on date t is
 * the one computed at t+shiftDays (a deliberate look-ahead for the timing test).
 */
export async function buildStackFixture(store: ArtifactStore, dir: string, opts: { shiftDays?: number; lookback?: number } = {}): Promise<{ curated: ArtifactRef; oof: ArtifactRef; oofWf: ArtifactRef }> {
  const curatedPath = await writeSp500Slice(path.join(dir, 'curated.parquet'), TEST_SYMBOLS);
  const curated = await store.putFile(curatedPath, { name: 'curated.parquet', move: false });
  const lb = opts.lookback ?? 20;
  const shift = opts.shiftDays ?? 0;
  const oofPath = path.join(dir, 'oof.parquet');
  const wfPath = path.join(dir, 'oof_wf.parquet');
  await withDuckDB(async (con) => {
    await con.run(`CREATE TABLE px AS SELECT * FROM read_parquet(${sqlString(curatedPath)})`);
    await con.run(`CREATE TABLE mom AS
      SELECT date, symbol,
             ln(close / lag(close, ${lb}) OVER w) AS mom,
             ln(lead(close, 5) OVER w / close) AS ret
      FROM px WINDOW w AS (PARTITION BY symbol ORDER BY date)`);
    // score on date t = momentum computed at t + shift (shift > 0: information from the future)
    await con.run(`CREATE TABLE sc AS
      SELECT date, symbol, lead(mom, ${shift}) OVER (PARTITION BY symbol ORDER BY date) AS score, ret FROM mom`);
    await con.run(`CREATE TABLE paths AS SELECT range::INTEGER AS path FROM range(1, 8)`);
    await con.run(`COPY (
      SELECT p.path, s.date, s.symbol,
             s.score + 0.02 * ((hash(s.symbol || CAST(s.date AS VARCHAR) || CAST(p.path AS VARCHAR)) % 1000) / 1000.0 - 0.5) AS score,
             s.ret
      FROM sc s CROSS JOIN paths p WHERE s.score IS NOT NULL AND s.ret IS NOT NULL
      ORDER BY p.path, s.date, s.symbol) TO ${sqlString(oofPath)} (FORMAT parquet)`);
    await con.run(`COPY (SELECT 0 AS path, date, symbol, score, ret FROM sc WHERE score IS NOT NULL AND ret IS NOT NULL AND date >= DATE '2014-02-10'
      ORDER BY date, symbol) TO ${sqlString(wfPath)} (FORMAT parquet)`);
  });
  return {
    curated,
    oof: await store.putFile(oofPath, { name: 'oof.parquet', move: false }),
    oofWf: await store.putFile(wfPath, { name: 'oof_walk_forward.parquet', move: false }),
  };
}

/**
 * Upstream of a portfolio step: a qc.audit (the curated slice) and a stack.oof whose signal is the
 * fixture's OOF (components `a`, `b`); the stack needs the audit and `stackNeeds`.
 */
export function stackUpstream(f: { curated: ArtifactRef; oof: ArtifactRef; oofWf: ArtifactRef }, stackNeeds: string[] = []): Record<string, TestUpstream> {
  const signal = signalValue({ sleeve: 'stack', oof: f.oof, walkForward: f.oofWf, components: ['a', 'b'] });
  return {
    audit: auditStep(f.curated),
    stack: { uses: 'stack.oof', outputs: providerOutputs('stack.oof', [[signalsOof, signal]]), needs: ['audit', ...stackNeeds] },
  };
}

/**
 * A trials.ledger on real data: each trial is a momentum long/short with a different lookback; its
 * daily return stream = equal-weight long top third − short bottom third, next-day return.
 */
export async function buildTrialLedger(store: ArtifactStore, dir: string, curated: ArtifactRef, lookbacks: number[], sleeve = 'mom'): Promise<ContractValue<typeof trialsLedger>> {
  const file = path.join(dir, `trial_returns_${sleeve}.parquet`);
  await withDuckDB(async (con) => {
    await con.run(`CREATE TABLE px AS SELECT date, symbol, close, close / lag(close) OVER (PARTITION BY symbol ORDER BY date) - 1 AS r1 FROM read_parquet(${sqlString(store.path(curated))})`);
    const parts = lookbacks.map(
      (lb) => `SELECT '${sleeve}-lb${lb}' AS trial_id, date, ln(close / lag(close, ${lb}) OVER (PARTITION BY symbol ORDER BY date)) AS sig,
                lead(r1) OVER (PARTITION BY symbol ORDER BY date) AS fwd, symbol FROM px`,
    );
    await con.run(`CREATE TABLE sig AS ${parts.join(' UNION ALL ')}`);
    await con.run(`COPY (
      SELECT trial_id, date, avg(CASE WHEN q = 3 THEN fwd WHEN q = 1 THEN -fwd END) AS ret
      FROM (SELECT *, ntile(3) OVER (PARTITION BY trial_id, date ORDER BY sig) AS q FROM sig WHERE sig IS NOT NULL AND fwd IS NOT NULL)
      GROUP BY trial_id, date ORDER BY trial_id, date) TO ${sqlString(file)} (FORMAT parquet)`);
  });
  const ledger = await store.putJson({ sleeve, n_trials: lookbacks.length, trials: lookbacks.map((lb) => ({ trial_id: `${sleeve}-lb${lb}`, params: { lookback: lb }, metrics: {} })) }, 'trial_ledger.json');
  return { sleeve, n_trials: lookbacks.length, ledger, returns: await store.putFile(file, { name: 'trial_returns.parquet', move: false }) };
}
