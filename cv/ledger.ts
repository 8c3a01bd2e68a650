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
import { appendColumns } from '../lib/append.ts';
import { ParquetRowStream } from '../lib/parquet_stream.ts';
import { dateSql, readSourceRows, symbolSql } from './source_rows.ts';
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
 * symbol, score FLOAT; rows with a finite score only; ordered by trial_id, path, date, symbol).
 * Rows are the protocol's `panel` table (row_id, date, symbol) in `con`; they are gathered and
 * streamed in that order (lib/parquet_stream.ts), so memory stays at a part of rows whatever the
 * number of trials.
 */
export async function writeTrialScores(con: DuckDBConnection, store: ArtifactStore, summaries: TrialSummary[], table = 'panel'): Promise<ArtifactRef> {
  const src = await readSourceRows(con, table, false);
  // DuckDB orders VARCHAR bytewise; so does Buffer.compare on UTF-8.
  const byId = summaries.map((s, t) => ({ s, t, key: Buffer.from(s.trial_id) })).sort((a, b) => Buffer.compare(a.key, b.key));
  await con.run(`SET VARIABLE trial_ids = [${byId.map((x) => sqlString(x.s.trial_id)).join(', ')}]::VARCHAR[]`);
  const file = store.tempPath('trial_scores.parquet');
  const stream = new ParquetRowStream(
    con, file, ['trial', 'path', 'day', 'sym', 'score'].map((name) => ({ name, type: name === 'score' ? 'DOUBLE' : 'INTEGER' })),
    `getvariable('trial_ids')[trial + 1] AS trial_id, path, ${dateSql('day')} AS date, ${symbolSql('sym')} AS symbol, CAST(score AS FLOAT) AS score`,
  );
  const cols = [0, 1, 2, 3, 4].map(() => new Float64Array(src.n));
  for (const [rank, { s }] of byId.entries()) {
    for (const [p, sc] of s.pathScores.entries()) {
      if (sc.length !== src.n) throw new RangeError(`trial ${s.trial_id} path ${p + 1}: ${sc.length} scores for ${src.n} rows of ${table}`);
      let m = 0;
      for (let i = 0; i < sc.length; i++) if (Number.isFinite(sc[i]!)) {
        cols[0]![m] = rank;
        cols[1]![m] = p + 1;
        cols[2]![m] = src.day[i]!;
        cols[3]![m] = src.sym[i]!;
        cols[4]![m++] = sc[i]!;
      }
      await stream.write(cols, m);
    }
  }
  await stream.close();
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
