/**
 * The baseline books (rl/env.ts PathBook) as one Parquet, so that a step downstream of rl.dataset
 * (rl.ope's exact replay of the baseline) reads the books the dataset was logged on instead of
 * rebuilding them from the 4.8M weight rows. Every number is stored as the DOUBLE it is, so a book
 * read back is the written one bit for bit.
 *
 * Layout, one row per (path, t), ordered by (path, t): `path` INTEGER, `t` INTEGER (decision-date
 * index within the path), `date` VARCHAR (ISO yyyy-mm-dd), `gross_next`, `short_exp`, the path's cost
 * rates `cost_linear`, `cost_impact`, `cost_borrow` (the same on every row of a path) and
 * `cost_source` VARCHAR, then `exo_<name>` for each of rl/env.ts EXO_FEATURES and `turn_<j>_<k>`, the
 * traded notional from action j to action k (j, k < A), all DOUBLE.
 */
import { appendColumns, type ColumnData } from '../lib/append.ts';
import { readNumericColumns, sqlString, withDuckDB } from '../lib/duckdb.ts';
import { StepError } from '../lib/errors.ts';
import { EXO_FEATURES, N_EXO, type CostRates, type PathBook } from './env.ts';

const turnColumns = (A: number): string[] => Array.from({ length: A * A }, (_, i) => `turn_${Math.floor(i / A)}_${i % A}`);
const NUMERIC = ['gross_next', 'short_exp', 'cost_linear', 'cost_impact', 'cost_borrow', ...EXO_FEATURES.map((f) => `exo_${f}`)];

/**
 * Writes `books` (each with A·A traded-notional entries per date, `actions` = A) to Parquet at
 * `file`. Throws a RangeError when a book's arrays do not match its date count.
 */
export async function writeBooksParquet(books: readonly PathBook[], actions: number, file: string): Promise<void> {
  const A = actions;
  const rows = books.reduce((a, b) => a + b.dates.length, 0);
  const num = (n: number) => new Float64Array(n);
  const path = new Int32Array(rows);
  const t = new Int32Array(rows);
  const date: string[] = new Array(rows);
  const source: string[] = new Array(rows);
  const cols = NUMERIC.map(() => num(rows));
  const turn = turnColumns(A).map(() => num(rows));
  let r = 0;
  for (const b of books) {
    const T = b.dates.length;
    if (b.grossNext.length !== T || b.shortExp.length !== T || b.exo.length !== T * N_EXO || b.turn.length !== T * A * A) {
      throw new RangeError(`writeBooksParquet: book of path ${b.path} has arrays that do not match its ${T} dates and ${A} actions`);
    }
    for (let i = 0; i < T; i++, r++) {
      path[r] = b.path;
      t[r] = i;
      date[r] = b.dates[i]!;
      source[r] = b.costs.source;
      cols[0]![r] = b.grossNext[i]!;
      cols[1]![r] = b.shortExp[i]!;
      cols[2]![r] = b.costs.linear;
      cols[3]![r] = b.costs.impact;
      cols[4]![r] = b.costs.borrow;
      for (let e = 0; e < N_EXO; e++) cols[5 + e]![r] = b.exo[i * N_EXO + e]!;
      for (let k = 0; k < A * A; k++) turn[k]![r] = b.turn[i * A * A + k]!;
    }
  }
  const columns: ColumnData[] = [
    { name: 'path', type: 'INTEGER', values: path },
    { name: 't', type: 'INTEGER', values: t },
    { name: 'date', type: 'VARCHAR', values: date },
    ...NUMERIC.slice(0, 5).map((name, i) => ({ name, type: 'DOUBLE' as const, values: cols[i]! })),
    { name: 'cost_source', type: 'VARCHAR', values: source },
    ...NUMERIC.slice(5).map((name, i) => ({ name, type: 'DOUBLE' as const, values: cols[5 + i]! })),
    ...turnColumns(A).map((name, i) => ({ name, type: 'DOUBLE' as const, values: turn[i]! })),
  ];
  await withDuckDB(async (con) => {
    // one thread: the Parquet writer then cuts the same row groups on every run (same bytes)
    await con.run('SET threads = 1');
    await appendColumns(con, '_books', columns);
    await con.run(`COPY (SELECT * FROM _books) TO ${sqlString(file)} (FORMAT parquet)`);
  });
}

/**
 * Reads the books written by {@link writeBooksParquet}, in path order. Throws a StepError
 * ('RlDataError') when the file lacks a column of the layout for `actions` actions (a book of
 * another action set or an older layout), or when a path's `t` does not run 0, 1, 2, ….
 */
export async function readBooksParquet(file: string, actions: number): Promise<PathBook[]> {
  const A = actions;
  const turnCols = turnColumns(A);
  const want = ['path', 't', 'date', 'cost_source', ...NUMERIC, ...turnCols];
  return withDuckDB(async (con) => {
    const src = `read_parquet(${sqlString(file)})`;
    const have = new Set((await con.runAndReadAll(`SELECT name FROM parquet_schema(${sqlString(file)})`)).getColumnsJS()[0] as string[]);
    const missing = want.filter((c) => !have.has(c));
    if (missing.length) throw new StepError({ message: `rl: the books Parquet ${file} lacks ${missing.join(', ')} (written for another action count than ${A}, or by an older version: rebuild the rl.dataset step)`, type: 'RlDataError', nonRetryable: true });
    const order = 'ORDER BY path, t';
    const { n, cols } = await readNumericColumns(con, `SELECT path, t, ${[...NUMERIC, ...turnCols].map((c) => `"${c}"`).join(', ')} FROM ${src} ${order}`, ['int', 'int', ...NUMERIC.map(() => 'double' as const), ...turnCols.map(() => 'double' as const)]);
    const text = (await con.runAndReadAll(`SELECT date, cost_source FROM ${src} ${order}`)).getColumnsJS() as string[][];
    const [path, t] = cols as [Int32Array, Int32Array];
    const books: PathBook[] = [];
    for (let a = 0; a < n; ) {
      let b = a;
      while (b < n && path[b] === path[a]) b++;
      const T = b - a;
      for (let i = 0; i < T; i++) if (t[a + i] !== i) throw new StepError({ message: `rl: the books Parquet ${file}: path ${path[a]} has t ${t[a + i]} at its row ${i}`, type: 'RlDataError', nonRetryable: true });
      const col = (j: number) => cols[2 + j] as Float64Array;
      const exo = new Float64Array(T * N_EXO);
      const turn = new Float64Array(T * A * A);
      for (let i = 0; i < T; i++) {
        for (let e = 0; e < N_EXO; e++) exo[i * N_EXO + e] = col(5 + e)[a + i]!;
        for (let k = 0; k < A * A; k++) turn[i * A * A + k] = col(5 + N_EXO + k)[a + i]!;
      }
      const costs: CostRates = { linear: col(2)[a]!, impact: col(3)[a]!, borrow: col(4)[a]!, source: text[1]![a] as CostRates['source'] };
      books.push({ path: path[a]!, dates: text[0]!.slice(a, b), grossNext: col(0).slice(a, b), shortExp: col(1).slice(a, b), turn, exo, costs });
      a = b;
    }
    return books;
  });
}
