import { InputError } from '../lib/errors.ts';
import { queryRows, sqlString } from '../lib/duckdb.ts';
import type { DuckDBConnection } from '@duckdb/node-api';

const REQUIRED = ['date', 'symbol', 'open', 'high', 'low', 'close', 'volume'];

/**
 * Checks that the Parquet at `file` has the canonical OHLCV columns (date DATE, symbol VARCHAR, numeric
 * prices and volume) and unique (symbol, date) keys. Throws a non-retryable StepError naming what is wrong.
 */
export async function checkOhlcvParquet(con: DuckDBConnection, file: string, who: string): Promise<{ rows: number }> {
  const cols = await queryRows<{ column_name: string; column_type: string }>(con, `DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
  const types = new Map(cols.map((c) => [c.column_name, c.column_type]));
  const missing = REQUIRED.filter((c) => !types.has(c));
  if (missing.length > 0) {
    throw new InputError({ message: `${who}: input OHLCV ${file} lacks column(s) ${missing.join(', ')} (has ${[...types.keys()].join(', ')}); see docs/contracts.md` });
  }
  if (types.get('date') !== 'DATE') throw new InputError({ message: `${who}: input column date is ${types.get('date')}, expected DATE` });
  for (const c of ['open', 'high', 'low', 'close', 'volume']) {
    const t = types.get(c)!;
    if (!/^(DOUBLE|FLOAT|REAL|DECIMAL.*|BIGINT|INTEGER|HUGEINT|SMALLINT|UBIGINT|UINTEGER)$/.test(t)) {
      throw new InputError({ message: `${who}: input column ${c} is ${t}, expected a numeric type (DOUBLE)` });
    }
  }
  const [r] = await queryRows<{ n: bigint; k: bigint }>(
    con,
    `SELECT count(*) AS n, count(DISTINCT (symbol, date)) AS k FROM read_parquet(${sqlString(file)})`,
  );
  const n = Number(r!.n);
  if (Number(r!.k) !== n) {
    throw new InputError({ message: `${who}: input OHLCV has ${n - Number(r!.k)} duplicate (symbol, date) rows; the audit/ingest step must deduplicate` });
  }
  return { rows: n };
}
