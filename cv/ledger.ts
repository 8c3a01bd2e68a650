/**
 * The trial ledger of a CPCV fit (contract `trials.ledger`): every trial tried, its parameters,
 * metrics and per-split table (JSON), and each trial's daily return stream (Parquet trial_id, date,
 * ret ordered by trial_id, date). DSR needs the number of trials and the variance of their Sharpe
 * ratios; PBO (CSCV) needs the trials' return matrix (Bailey & López de Prado 2014; Bailey et al. 2015).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ArtifactRef, ArtifactStore } from '../artifacts/store.ts';
import { sqlString } from '../lib/duckdb.ts';
import { appendColumns } from './columns.ts';
import type { FoldResult } from './fold.ts';
import type { Selection, TrialSummary } from './trials.ts';

/** What a trial's return stream is (recorded in the ledger). */
export const TRIAL_STREAM_DEFINITION =
  'daily return of a dollar-neutral rank-weighted long/short portfolio on the trial OOF scores (gross 1), realised ret / label length in bars, averaged over the CPCV paths';

/** x rounded to 6 decimals; null when not finite (JSON has no NaN). */
export const round6 = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : null);

/** Every number of a flat record rounded with {@link round6}. */
export const clean = (o: object): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? round6(v) : v]));

/** Writes the trials' return streams (finite bars only); bars are `uniqueDates` (days since 1970-01-01). */
export async function writeTrialReturns(con: DuckDBConnection, store: ArtifactStore, summaries: TrialSummary[], uniqueDates: Int32Array): Promise<ArtifactRef> {
  const ids: string[] = [], days: number[] = [], ret: number[] = [];
  for (const s of summaries) for (let d = 0; d < uniqueDates.length; d++) if (Number.isFinite(s.stream[d]!)) {
    ids.push(s.trial_id);
    days.push(uniqueDates[d]!);
    ret.push(s.stream[d]!);
  }
  await appendColumns(con, 'trial_rows', [
    { name: 'trial_id', type: 'VARCHAR', values: ids },
    { name: 'day', type: 'INTEGER', values: days },
    { name: 'ret', type: 'DOUBLE', values: ret },
  ]);
  const file = store.tempPath('trial_returns.parquet');
  await con.run(`COPY (SELECT trial_id, (DATE '1970-01-01' + day) AS date, ret FROM trial_rows ORDER BY trial_id, date) TO ${sqlString(file)} (FORMAT parquet)`);
  await con.run('DROP TABLE trial_rows');
  return store.putFile(file, { name: 'trial_returns.parquet' });
}

/** The ledger JSON: sleeve, selection rule and selected trial, and every trial with its metrics and splits. */
export function ledgerDoc(a: { sleeve: string; selection: Selection; selected: string; summaries: TrialSummary[]; splitRows: FoldResult[][] }): Record<string, unknown> {
  return {
    sleeve: a.sleeve,
    n_trials: a.summaries.length,
    selection: a.selection,
    selected_trial: a.selected,
    stream: TRIAL_STREAM_DEFINITION,
    trials: a.summaries.map((s, t) => ({
      trial_id: s.trial_id,
      params: s.params,
      metrics: clean(s.metrics),
      splits: a.splitRows[t]!.map((r) => clean(r)),
    })),
  };
}
