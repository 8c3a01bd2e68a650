import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString } from '../lib/duckdb.ts';
import { singleThreaded } from './stats.ts';

export interface HorizonLabelParams {
  /** k: forward horizon in trading days (rows of the symbol). */
  horizon: number;
  /** Subtract the cross-sectional mean forward return of the date from the label. */
  demean: boolean;
}

export interface HorizonLabelStats {
  n_rows: number;
  n_symbols: number;
  n_dates: number;
  ret_mean: number | null;
  ret_std: number | null;
  label_mean: number | null;
  label_std: number | null;
}

/**
 * SQL of the k-day forward log-return label over the canonical OHLCV Parquet `input`.
 * For the symbol's row i: ret = ln(C_{i+k} / C_i), t1 = date of row i+k (k rows of that symbol later,
 * so t1 ≤ date + k trading days of the symbol and t1 > date). label = ret, or ret minus the mean of
 * ret over all symbols labelled that date when `demean` (a cross-sectionally demeaned / market-neutral
 * target). Rows without k later rows, or with a non-positive close at either end, get no label (left out).
 * Output columns: date, symbol, t1, label, ret; sorted by date, symbol.
 */
export function horizonLabelSql(input: string, p: HorizonLabelParams): string {
  const k = p.horizon;
  return `
WITH b AS (
  SELECT date, symbol, CAST(close AS DOUBLE) AS close,
    CAST(lead(close, ${k}) OVER w AS DOUBLE) AS close_k, lead(date, ${k}) OVER w AS t1
  FROM read_parquet(${sqlString(input)}) WINDOW w AS (PARTITION BY symbol ORDER BY date)
), r AS (
  SELECT date, symbol, t1, ln(close_k / close) AS ret FROM b WHERE t1 IS NOT NULL AND close > 0 AND close_k > 0
)${
    p.demean
      ? `, m AS (SELECT date, avg(ret ORDER BY symbol) AS mret FROM r GROUP BY date)
SELECT date, symbol, t1, ret - mret AS label, ret FROM r JOIN m USING (date)`
      : `
SELECT date, symbol, t1, ret AS label, ret FROM r`
  }
ORDER BY date, symbol`;
}

/** Writes the horizon labels of `input` to the Parquet `output` and returns summary statistics. */
export async function computeHorizonLabels(con: DuckDBConnection, input: string, output: string, p: HorizonLabelParams): Promise<HorizonLabelStats> {
  await con.run(`CREATE OR REPLACE TEMP TABLE lbl_h AS ${horizonLabelSql(input, p)}`);
  await con.run(`COPY lbl_h TO ${sqlString(output)} (FORMAT parquet)`);
  const row = await singleThreaded(con, async () =>
    (
      await con.runAndReadAll(`SELECT count(*), count(DISTINCT symbol), count(DISTINCT date),
        avg(ret), stddev_samp(ret), avg(label), stddev_samp(label) FROM lbl_h`)
    ).getRowsJS()[0]!,
  );
  await con.run('DROP TABLE lbl_h');
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    n_rows: Number(row[0]),
    n_symbols: Number(row[1]),
    n_dates: Number(row[2]),
    ret_mean: num(row[3]),
    ret_std: num(row[4]),
    label_mean: num(row[5]),
    label_std: num(row[6]),
  };
}
