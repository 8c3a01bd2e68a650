/**
 * The trial ledger of a CPCV fit (contract `trials.ledger`): every trial tried, its parameters,
 * metrics and per-split table (JSON), each trial's label-based return stream (Parquet trial_id, date,
 * ret ordered by trial_id, date; a research diagnostic in label units, see TRIAL_STREAM_DEFINITION)
 * and each trial's OOF scores on every CPCV path (Parquet trial_id, path, date, symbol, score):
 * the gate trades those scores through the candidate's portfolio and costs, so DSR and PBO see
 * every trial in the strategy's own tradable daily units (Bailey & López de Prado 2014; Bailey et
 * al. 2015).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ArtifactRef, ArtifactStore } from '../artifacts/store.ts';
import { sqlString } from '../lib/duckdb.ts';
import { appendColumns } from './columns.ts';
import type { FoldResult } from './fold.ts';
import type { Selection, TrialSummary } from './trials.ts';

/** What a trial's return stream is (recorded in the ledger). */
export const TRIAL_STREAM_DEFINITION =
  'label units, not tradable: daily return of a dollar-neutral rank-weighted long/short portfolio on the trial OOF scores (gross 1), realised ret / label length in bars, averaged over the CPCV paths; the gate trades `scores` through the candidate portfolio and costs instead';

/** x rounded to 6 decimals; null when not finite (JSON has no NaN). */
export const round6 = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : null);

/** Every number of a flat record rounded with {@link round6}. */
export const clean = (o: object): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? round6(v) : v]));

/**
 * Writes the trials' return streams (finite bars only; bars are `uniqueDates`, days since
 * 1970-01-01) and, when the summaries carry their path scores and `con` holds the protocol's `panel`
 * table, their OOF scores ({@link writeTrialScores}); the scores' reference is set on every summary
 * (`scores`), where {@link ledgerDoc} records it. Returns the return streams' reference.
 */
export async function writeTrialReturns(con: DuckDBConnection, store: ArtifactStore, summaries: TrialSummary[], uniqueDates: Int32Array): Promise<ArtifactRef> {
  if (summaries.length && summaries.every((s) => s.pathScores?.length) && (await hasPanelTable(con))) {
    const scores = await writeTrialScores(con, store, summaries);
    for (const s of summaries) s.scores = scores;
  }
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

async function hasPanelTable(con: DuckDBConnection): Promise<boolean> {
  const r = await con.runAndReadAll(`SELECT count(*) FROM duckdb_tables() WHERE table_name = 'panel'`);
  return Number(r.getRows()[0]![0]) > 0;
}

/**
 * Writes every trial's OOF score on every CPCV path as one Parquet (trial_id, path 1..φ, date,
 * symbol, score FLOAT; rows with a score only; ordered by trial_id, path, date, symbol). Rows are
 * the protocol's `panel` table (row_id, date, symbol) in `con`. One trial at a time is staged, so
 * memory stays at one trial's φ·n rows in JS.
 */
export async function writeTrialScores(con: DuckDBConnection, store: ArtifactStore, summaries: TrialSummary[], table = 'panel'): Promise<ArtifactRef> {
  const parts: string[] = [];
  for (const [t, s] of summaries.entries()) {
    const rowId: number[] = [], path: number[] = [], score: number[] = [];
    s.pathScores.forEach((sc, p) => {
      for (let i = 0; i < sc.length; i++) if (Number.isFinite(sc[i]!)) {
        rowId.push(i);
        path.push(p + 1);
        score.push(sc[i]!);
      }
    });
    await appendColumns(con, `trial_scores_${t}`, [
      { name: 'row_id', type: 'INTEGER', values: rowId },
      { name: 'path', type: 'INTEGER', values: path },
      { name: 'score', type: 'DOUBLE', values: score },
    ]);
    parts.push(`SELECT ${sqlString(s.trial_id)} AS trial_id, path, row_id, score FROM trial_scores_${t}`);
  }
  const file = store.tempPath('trial_scores.parquet');
  await con.run(`COPY (SELECT s.trial_id, s.path, p.date, p.symbol, CAST(s.score AS FLOAT) AS score FROM (${parts.join(' UNION ALL ')}) s JOIN ${table} p USING (row_id)
    ORDER BY s.trial_id, s.path, p.date, p.symbol) TO ${sqlString(file)} (FORMAT parquet)`);
  for (const t of summaries.keys()) await con.run(`DROP TABLE trial_scores_${t}`);
  return store.putFile(file, { name: 'trial_scores.parquet' });
}

/**
 * The ledger JSON: sleeve, selection rule and selected trial, every trial with its metrics and
 * splits, and `scores` (the trial-scores Parquet reference, `scores` argument or the summaries', null
 * when not written).
 */
export function ledgerDoc(a: { sleeve: string; selection: Selection; selected: string; summaries: TrialSummary[]; splitRows: FoldResult[][]; scores?: ArtifactRef }): Record<string, unknown> {
  return {
    sleeve: a.sleeve,
    n_trials: a.summaries.length,
    selection: a.selection,
    selected_trial: a.selected,
    stream: TRIAL_STREAM_DEFINITION,
    scores: a.scores ?? a.summaries[0]?.scores ?? null,
    trials: a.summaries.map((s, t) => ({
      trial_id: s.trial_id,
      params: s.params,
      metrics: clean(s.metrics),
      splits: a.splitRows[t]!.map((r) => clean(r)),
    })),
  };
}
