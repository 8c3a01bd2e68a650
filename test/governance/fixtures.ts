/**
 * Gate fixtures on real S&P prices: a trials.ledger whose trials carry OOF scores on every CPCV path
 * (what a fit writes since the gate trades trials through the candidate's portfolio and costs).
 */
import path from 'node:path';
import type { ArtifactRef, ArtifactStore } from '../../artifacts/store.ts';
import type { ContractValue, trialsLedger } from '../../contracts/index.ts';
import { sqlString, withDuckDB } from '../../lib/duckdb.ts';

/**
 * A trials.ledger on real data: trial `lb` scores each (path 1..7, date, symbol) with the `lb`-day
 * momentum known at the close of the date plus a small path-specific perturbation; `returns` holds
 * the label-unit stream (next-day top-third minus bottom-third return), as fits write it.
 */
export async function scoredLedger(store: ArtifactStore, dir: string, curated: ArtifactRef, lookbacks: number[], sleeve: string): Promise<ContractValue<typeof trialsLedger>> {
  const scores = path.join(dir, `trial_scores_${sleeve}.parquet`);
  const rets = path.join(dir, `trial_returns_${sleeve}.parquet`);
  await withDuckDB(async (con) => {
    await con.run(`CREATE TABLE px AS SELECT date, symbol, close, close / lag(close) OVER (PARTITION BY symbol ORDER BY date) - 1 AS r1 FROM read_parquet(${sqlString(store.path(curated))})`);
    const parts = lookbacks.map((lb) => `SELECT '${sleeve}:t${lb}' AS trial_id, date, symbol, ln(close / lag(close, ${lb}) OVER (PARTITION BY symbol ORDER BY date)) AS sig, lead(r1) OVER (PARTITION BY symbol ORDER BY date) AS fwd FROM px`);
    await con.run(`CREATE TABLE sig AS SELECT * FROM (${parts.join(' UNION ALL ')}) WHERE sig IS NOT NULL`);
    await con.run(`COPY (SELECT s.trial_id, p.range::INTEGER AS path, s.date, s.symbol,
        CAST(s.sig + 0.01 * ((hash(s.symbol || CAST(s.date AS VARCHAR) || CAST(p.range AS VARCHAR)) % 1000) / 1000.0 - 0.5) AS FLOAT) AS score
      FROM sig s CROSS JOIN range(1, 8) p ORDER BY s.trial_id, path, s.date, s.symbol) TO ${sqlString(scores)} (FORMAT parquet)`);
    await con.run(`COPY (SELECT trial_id, date, avg(CASE WHEN q = 3 THEN fwd WHEN q = 1 THEN -fwd END) AS ret
      FROM (SELECT *, ntile(3) OVER (PARTITION BY trial_id, date ORDER BY sig) AS q FROM sig WHERE fwd IS NOT NULL) GROUP BY trial_id, date ORDER BY trial_id, date) TO ${sqlString(rets)} (FORMAT parquet)`);
  });
  const scoresRef = await store.putFile(scores, { name: 'trial_scores.parquet', move: false });
  const ledger = await store.putJson({ sleeve, n_trials: lookbacks.length, trials: lookbacks.map((lb) => ({ trial_id: `${sleeve}:t${lb}`, params: { lookback: lb }, metrics: {} })), scores: scoresRef }, 'trial_ledger.json');
  return { sleeve, n_trials: lookbacks.length, ledger, returns: await store.putFile(rets, { name: 'trial_returns.parquet', move: false }), scores: scoresRef };
}
