/**
 * The one writer of out-of-fold signals (contract `signals.oof`, contracts/research.ts), shared by
 * every CPCV fit and by the stacker: Parquet with columns date, symbol, path, split, test_group,
 * score, label?, ret, t1, prob_up?, rows ordered by (path, date, symbol), unique on
 * (date, symbol, path). Paths 1..φ come from the CPCV path table; the walk-forward reference is
 * path 0. Identical inputs give identical bytes.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ArtifactRef, ArtifactStore } from '../artifacts/store.ts';
import { ParquetRowStream } from '../lib/parquet_stream.ts';
import { dateSql, readSourceRows, symbolSql } from './source_rows.ts';

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

/** Rows gathered per block while streaming (a few MB of typed arrays). */
const BLOCK = 1 << 16;

/**
 * Writes `rows` with their `src` row's date, symbol, label, ret and t1 as one signals.oof Parquet
 * artifact named `name`, ordered by (path, date, symbol). Rows come in any order (sorted here when
 * not already by path, row_id). Throws a RangeError on a row_id outside `src` or a repeated
 * (path, row_id), and readSourceRows' errors.
 */
export async function writeOofParquet(con: DuckDBConnection, store: ArtifactStore, src: OofSource, rows: OofRows, name: string): Promise<ArtifactRef> {
  const s = await readSourceRows(con, src.table, src.label);
  const order = pathRowOrder(rows, s.n);
  const prob = rows.probUp;
  const file = store.tempPath(name);
  const names = ['day', 'sym', 'path', 'split', 'test_group', 'score', ...(src.label ? ['label'] : []), 'ret', 't1', ...(prob ? ['prob_up'] : [])];
  const stream = new ParquetRowStream(
    con, file, names.map((c) => ({ name: c, type: ['score', 'label', 'ret', 'prob_up'].includes(c) ? 'DOUBLE' : 'INTEGER' })),
    `${dateSql('day')} AS date, ${symbolSql('sym')} AS symbol, path, split, test_group, score${src.label ? ', label' : ''}, ret, ${dateSql('t1')} AS t1${prob ? ', prob_up' : ''}`,
  );
  const block = names.map(() => new Float64Array(BLOCK));
  for (let k0 = 0; k0 < order.length; k0 += BLOCK) {
    const m = Math.min(BLOCK, order.length - k0);
    for (let j = 0; j < m; j++) {
      const k = order[k0 + j]!, r = rows.rowId[k]!;
      let c = 0;
      block[c++]![j] = s.day[r]!;
      block[c++]![j] = s.sym[r]!;
      block[c++]![j] = rows.path[k]!;
      block[c++]![j] = rows.split[k]!;
      block[c++]![j] = rows.testGroup[k]!;
      block[c++]![j] = rows.score[k]!;
      if (s.label) block[c++]![j] = s.label[r]!;
      block[c++]![j] = s.ret[r]!;
      block[c++]![j] = s.t1[r]!;
      if (prob) block[c++]![j] = prob[k]!;
    }
    await stream.write(block, m);
  }
  await stream.close();
  return store.putFile(file, { name });
}

/**
 * Indices of `rows` in (path, row_id) order: the identity when they already are (the CPCV and
 * walk-forward builders' order), else a sort. Throws a RangeError on a row_id outside 0..n−1 or
 * a repeated (path, row_id).
 */
export function pathRowOrder(rows: OofRows, n: number): Int32Array {
  const m = rows.rowId.length;
  const key = (k: number): number => rows.path[k]! * n + rows.rowId[k]!;
  let sorted = true;
  for (let k = 0; k < m; k++) {
    const r = rows.rowId[k]!;
    if (!(r >= 0 && r < n && Number.isInteger(r))) throw new RangeError(`OOF row ${k}: row_id ${r} is outside the source's 0..${n - 1}`);
    if (k > 0 && key(k) <= key(k - 1)) sorted = false;
  }
  const order = Int32Array.from({ length: m }, (_, k) => k);
  if (sorted) return order;
  order.sort((a, b) => key(a) - key(b));
  for (let j = 1; j < m; j++) {
    if (key(order[j]!) === key(order[j - 1]!)) throw new RangeError(`OOF rows repeat (path ${rows.path[order[j]!]}, row_id ${rows.rowId[order[j]!]})`);
  }
  return order;
}

/**
 * Both artifacts of a signal: the CPCV paths (`<prefix>.parquet`) and the walk-forward path 0
 * (`<prefix>_walk_forward.parquet`), each with its source table's row columns.
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
