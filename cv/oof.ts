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
 * An OOF signal's rows as consecutive parts (cv/oof.ts writes them in turn): rows within a part in
 * any order, every row of a part after every row of the parts before it in (path, row_id) order.
 */
export type OofParts = Iterable<OofRows>;

/**
 * Every row on every CPCV path, one part per path: path p (1..φ) holds `scores[p−1][i]` for every
 * source row i, from the split `table[g−1][p−1]` of the row's group g. A part's score (and P(up))
 * is the caller's array itself and its other columns are built when the writer reaches it, so only
 * one path's columns exist at a time (not φ × n rows).
 */
export function* cpcvOofRows(groupOfRow: Int32Array, table: number[][], scores: ArrayLike<number>[], probs?: ArrayLike<number>[]): Generator<OofRows> {
  const n = groupOfRow.length;
  const rowId = Int32Array.from({ length: n }, (_, i) => i);
  for (let p = 0; p < scores.length; p++) {
    const split = new Int32Array(n);
    for (let i = 0; i < n; i++) split[i] = table[groupOfRow[i]! - 1]![p]!;
    yield { rowId, path: new Int32Array(n).fill(p + 1), split, testGroup: groupOfRow, score: scores[p]!, ...(probs ? { probUp: probs[p]! } : {}) };
  }
}

/** The walk-forward path 0 (one part): the rows with a (non-NaN) score, their fold and group. */
export function walkForwardOofRows(groupOfRow: Int32Array, score: ArrayLike<number>, splitOfRow: ArrayLike<number>, prob?: ArrayLike<number>): OofParts {
  let m = 0;
  for (let i = 0; i < score.length; i++) if (!Number.isNaN(score[i]!)) m++;
  const rowId = new Int32Array(m);
  for (let i = 0, k = 0; i < score.length; i++) if (!Number.isNaN(score[i]!)) rowId[k++] = i;
  const gather = <A extends Int32Array | Float64Array>(out: A, from: ArrayLike<number>): A => {
    for (let k = 0; k < m; k++) out[k] = from[rowId[k]!]!;
    return out;
  };
  return [{
    rowId,
    path: new Int32Array(m),
    split: gather(new Int32Array(m), splitOfRow),
    testGroup: gather(new Int32Array(m), groupOfRow),
    score: gather(new Float64Array(m), score),
    ...(prob ? { probUp: gather(new Float64Array(m), prob) } : {}),
  }];
}

/** Rows gathered per block while streaming (a few MB of typed arrays). */
const BLOCK = 1 << 16;

/**
 * Writes `parts` with their `src` row's date, symbol, label, ret and t1 as one signals.oof Parquet
 * artifact named `name`, ordered by (path, date, symbol). A part's rows come in any order (sorted
 * here when not already by path, row_id). Throws a RangeError on a row_id outside `src`, a repeated
 * (path, row_id) or a part that does not follow the one before it, and readSourceRows' errors.
 */
export async function writeOofParquet(con: DuckDBConnection, store: ArtifactStore, src: OofSource, parts: OofParts, name: string): Promise<ArtifactRef> {
  const s = await readSourceRows(con, src.table, src.label);
  const file = store.tempPath(name);
  let stream: ParquetRowStream | undefined;
  let block: Float64Array[] = [];
  let last = -1;
  try {
    for (const rows of parts) {
      const prob = rows.probUp;
      if (!stream) {
        const names = ['day', 'sym', 'path', 'split', 'test_group', 'score', ...(src.label ? ['label'] : []), 'ret', 't1', ...(prob ? ['prob_up'] : [])];
        stream = new ParquetRowStream(
          con, file, names.map((c) => ({ name: c, type: ['score', 'label', 'ret', 'prob_up'].includes(c) ? 'DOUBLE' : 'INTEGER' })),
          `${dateSql('day')} AS date, ${symbolSql('sym')} AS symbol, path, split, test_group, score${src.label ? ', label' : ''}, ret, ${dateSql('t1')} AS t1${prob ? ', prob_up' : ''}`,
        );
        block = names.map(() => new Float64Array(BLOCK));
      }
      if (block.length !== 8 + (src.label ? 1 : 0) + (prob ? 1 : 0)) throw new RangeError(`OOF part after row key ${last}: P(up) given in some parts and not in others`);
      const order = pathRowOrder(rows, s.n, last);
      if (order.length) last = rows.path[order[order.length - 1]!]! * s.n + rows.rowId[order[order.length - 1]!]!;
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
    }
    if (!stream) throw new RangeError(`OOF signal ${name}: no part to write`);
    await stream.close();
  } catch (e) {
    stream?.removeParts();
    throw e;
  }
  return store.putFile(file, { name });
}

/**
 * Indices of `rows` in (path, row_id) order: the identity when they already are (the CPCV and
 * walk-forward builders' order), else a sort. Throws a RangeError on a row_id outside 0..n−1, a
 * repeated (path, row_id), or a row whose key path·n + row_id is not above `after` (the previous
 * part's last key; −1 for the first part).
 */
export function pathRowOrder(rows: OofRows, n: number, after = -1): Int32Array {
  const m = rows.rowId.length;
  const key = (k: number): number => rows.path[k]! * n + rows.rowId[k]!;
  let sorted = true;
  for (let k = 0; k < m; k++) {
    const r = rows.rowId[k]!;
    if (!(r >= 0 && r < n && Number.isInteger(r))) throw new RangeError(`OOF row ${k}: row_id ${r} is outside the source's 0..${n - 1}`);
    if (k > 0 && key(k) <= key(k - 1)) sorted = false;
  }
  const order = Int32Array.from({ length: m }, (_, k) => k);
  if (!sorted) {
    order.sort((a, b) => key(a) - key(b));
    for (let j = 1; j < m; j++) {
      if (key(order[j]!) === key(order[j - 1]!)) throw new RangeError(`OOF rows repeat (path ${rows.path[order[j]!]}, row_id ${rows.rowId[order[j]!]})`);
    }
  }
  if (m && key(order[0]!) <= after) throw new RangeError(`OOF part's first row (path ${rows.path[order[0]!]}, row_id ${rows.rowId[order[0]!]}) does not follow the previous part's rows: parts must come in (path, row_id) order`);
  return order;
}

/**
 * Both artifacts of a signal: the CPCV paths (`<prefix>.parquet`) and the walk-forward path 0
 * (`<prefix>_walk_forward.parquet`), each with its source table's row columns.
 */
export async function writeSignal(
  con: DuckDBConnection,
  store: ArtifactStore,
  parts: { paths: { src: OofSource; rows: OofParts }; walkForward: { src: OofSource; rows: OofParts } },
  prefix: string,
): Promise<{ oof: ArtifactRef; walk_forward: ArtifactRef }> {
  const oof = await writeOofParquet(con, store, parts.paths.src, parts.paths.rows, `${prefix}.parquet`);
  const walk_forward = await writeOofParquet(con, store, parts.walkForward.src, parts.walkForward.rows, `${prefix}_walk_forward.parquet`);
  return { oof, walk_forward };
}
