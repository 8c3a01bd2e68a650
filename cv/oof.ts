/**
 * The one writer of out-of-fold signals (contract `signals.oof`, contracts/research.ts), shared by
 * every CPCV fit and by the stacker: Parquet with columns date, symbol, path, split, test_group,
 * score, label?, ret, t1, prob_up?, rows ordered by (path, date, symbol), unique on
 * (date, symbol, path). Paths 1..φ come from the CPCV path table; the walk-forward reference is
 * path 0. Identical inputs give identical bytes.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ArtifactRef, ArtifactStore } from '../artifacts/store.ts';
import { sqlString } from '../lib/duckdb.ts';
import { appendColumns, type ColumnData } from './columns.ts';

/**
 * The DuckDB table holding the rows the scores refer to: columns row_id (0..n−1), date, symbol,
 * t1, ret and, when `label` is true, label.
 */
export interface OofSource {
  table: string;
  label: boolean;
}

/** OOF rows by position: each array has one entry per written row (NaN scores become NULL). */
export interface OofRows {
  rowId: ArrayLike<number>;
  path: ArrayLike<number>;
  split: ArrayLike<number>;
  testGroup: ArrayLike<number>;
  score: ArrayLike<number>;
  probUp?: ArrayLike<number>;
}

/**
 * Every row on every CPCV path: path p (1..φ) holds `scores[p−1][i]` for every source row i, from the
 * split `table[g−1][p−1]` of the row's group g.
 */
export function cpcvOofRows(groupOfRow: Int32Array, table: number[][], scores: ArrayLike<number>[], probs?: ArrayLike<number>[]): OofRows {
  const n = groupOfRow.length, phi = scores.length;
  const rowId = new Int32Array(n * phi), path = new Int32Array(n * phi), split = new Int32Array(n * phi), testGroup = new Int32Array(n * phi);
  const score = new Float64Array(n * phi);
  const probUp = probs ? new Float64Array(n * phi) : undefined;
  let m = 0;
  for (let p = 0; p < phi; p++) {
    const sc = scores[p]!;
    for (let i = 0; i < n; i++) {
      const g = groupOfRow[i]!;
      rowId[m] = i;
      path[m] = p + 1;
      testGroup[m] = g;
      split[m] = table[g - 1]![p]!;
      score[m] = sc[i]!;
      if (probUp) probUp[m] = probs![p]![i]!;
      m++;
    }
  }
  return { rowId, path, split, testGroup, score, ...(probUp ? { probUp } : {}) };
}

/** The walk-forward path 0: the rows with a (non-NaN) score, their fold and group. */
export function walkForwardOofRows(groupOfRow: Int32Array, score: ArrayLike<number>, splitOfRow: ArrayLike<number>, prob?: ArrayLike<number>): OofRows {
  const idx: number[] = [];
  for (let i = 0; i < score.length; i++) if (!Number.isNaN(score[i]!)) idx.push(i);
  return {
    rowId: idx,
    path: new Int32Array(idx.length),
    split: idx.map((i) => splitOfRow[i]!),
    testGroup: idx.map((i) => groupOfRow[i]!),
    score: idx.map((i) => score[i]!),
    ...(prob ? { probUp: idx.map((i) => prob[i]!) } : {}),
  };
}

/** Writes `rows` joined to `src` as one signals.oof Parquet artifact named `name`. */
export async function writeOofParquet(con: DuckDBConnection, store: ArtifactStore, src: OofSource, rows: OofRows, name: string): Promise<ArtifactRef> {
  const table = 'oof_rows';
  const cols: ColumnData[] = [
    { name: 'row_id', type: 'INTEGER', values: rows.rowId },
    { name: 'path', type: 'INTEGER', values: rows.path },
    { name: 'split', type: 'INTEGER', values: rows.split },
    { name: 'test_group', type: 'INTEGER', values: rows.testGroup },
    { name: 'score', type: 'DOUBLE', values: rows.score },
    ...(rows.probUp ? [{ name: 'prob_up', type: 'DOUBLE' as const, values: rows.probUp }] : []),
  ];
  await appendColumns(con, table, cols);
  const file = store.tempPath(name);
  const label = src.label ? ', p.label' : '';
  const prob = rows.probUp ? ', o.prob_up' : '';
  await con.run(`COPY (SELECT p.date, p.symbol, o.path, o.split, o.test_group, o.score${label}, p.ret, p.t1${prob}
    FROM ${table} o JOIN ${src.table} p USING (row_id) ORDER BY o.path, p.date, p.symbol) TO ${sqlString(file)} (FORMAT parquet)`);
  await con.run(`DROP TABLE ${table}`);
  return store.putFile(file, { name });
}

/**
 * Both artifacts of a signal: the CPCV paths (`<prefix>.parquet`) and the walk-forward path 0
 * (`<prefix>_walk_forward.parquet`), each joined to its source table.
 */
export async function writeSignal(
  con: DuckDBConnection,
  store: ArtifactStore,
  parts: { paths: { src: OofSource; rows: OofRows }; walkForward: { src: OofSource; rows: OofRows } },
  prefix: string,
): Promise<{ oof: ArtifactRef; walk_forward: ArtifactRef }> {
  const oof = await writeOofParquet(con, store, parts.paths.src, parts.paths.rows, `${prefix}.parquet`);
  const walk_forward = await writeOofParquet(con, store, parts.walkForward.src, parts.walkForward.rows, `${prefix}_walk_forward.parquet`);
  return { oof, walk_forward };
}
