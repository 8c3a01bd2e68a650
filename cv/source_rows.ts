/**
 * The rows OOF-shaped artifacts refer to, read once from their DuckDB table (row_id 0..n−1, date,
 * symbol, t1, ret[, label]; the panel of cv/panel.ts, the stacker's table of cv/stack.ts) in
 * row_id order. The writers (cv/oof.ts, cv/ledger.ts) gather date and symbol per row from here and
 * stream rows out in the contract's (…, date, symbol) order: no join, no sort, flat memory.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { readNumericColumns } from '../lib/duckdb.ts';
import { StepError } from '../lib/errors.ts';

/** DuckDB variable holding the table's distinct symbols in VARCHAR order (a 1-based list). */
export const SYMBOLS_VARIABLE = 'oof_symbols';

/** SQL for the symbol name of a 0-based symbol code column `col`. */
export const symbolSql = (col: string): string => `getvariable('${SYMBOLS_VARIABLE}')[${col} + 1]`;

/** SQL for the DATE of a days-since-1970-01-01 column `col`. */
export const dateSql = (col: string): string => `DATE '1970-01-01' + ${col}`;

/** One entry per row_id. Days count from 1970-01-01; NaN stands for NULL. */
export interface SourceRows {
  n: number;
  day: Int32Array;
  /** 0-based rank of the row's symbol in DuckDB's VARCHAR order ({@link symbolSql} names it). */
  sym: Int32Array;
  t1: Float64Array;
  ret: Float64Array;
  label?: Float64Array;
}

/**
 * Reads `table` in row_id order and sets {@link SYMBOLS_VARIABLE} on `con`. Throws a non-retryable
 * InternalError when row_id is not 0..n−1 or its order is not strictly increasing (date, symbol):
 * writers rely on row_id order being the contract's row order.
 */
export async function readSourceRows(con: DuckDBConnection, table: string, withLabel: boolean): Promise<SourceRows> {
  await con.run(`SET VARIABLE ${SYMBOLS_VARIABLE} = (SELECT coalesce(list(symbol ORDER BY symbol), []) FROM (SELECT DISTINCT symbol FROM ${table}))`);
  // every column DOUBLE: copied whole (lib/duckdb.ts), NULL → NaN (a missing date is caught below)
  const { n, cols } = await readNumericColumns(con, `SELECT row_id::DOUBLE, (date - DATE '1970-01-01')::DOUBLE, (dense_rank() OVER (ORDER BY symbol) - 1)::DOUBLE,
      (t1 - DATE '1970-01-01')::DOUBLE, ret::DOUBLE${withLabel ? ', label::DOUBLE' : ''} FROM ${table} ORDER BY row_id`, Array(withLabel ? 6 : 5).fill('double'));
  const day = Int32Array.from(cols[1]!), sym = Int32Array.from(cols[2]!);
  for (let i = 0; i < n; i++) {
    const bad = cols[0]![i] !== i ? `row_id ${cols[0]![i]} at position ${i} (row_id must be 0..n−1)`
      : i > 0 && (day[i]! < day[i - 1]! || (day[i] === day[i - 1] && sym[i]! <= sym[i - 1]!)) ? `row_id ${i} does not follow row_id ${i - 1} in (date, symbol) order`
      : Number.isNaN(cols[1]![i]) ? `row_id ${i} has no date` : '';
    if (bad) throw new StepError({ message: `OOF source table ${table}: ${bad}; its row_id must number the rows in (date, symbol) order`, type: 'InternalError', nonRetryable: true });
  }
  const f64 = (c: Int32Array | Float64Array): Float64Array => c as Float64Array;
  return { n, day, sym, t1: f64(cols[3]!), ret: f64(cols[4]!), ...(withLabel ? { label: f64(cols[5]!) } : {}) };
}
