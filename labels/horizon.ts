import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString } from '../lib/duckdb.ts';
import { entryPriceColumn, type EntryRule } from './entry.ts';
import { singleThreaded } from './stats.ts';

export interface HorizonLabelParams {
  /** k: forward horizon in trading days (rows of the symbol), counted from the fill. */
  horizon: number;
  /** Fill rule (labels/entry.ts): next_open (default) or the next session's close. */
  entry?: EntryRule;
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
 * SQL of the k-bar forward log-return label over the canonical OHLCV Parquet `input`, starting at
 * the fill (labels/entry.ts). For the symbol's row i (signal date t = date_i, information ≤ C_i), with
 * P = open (`entry: next_open`, the default) or close (`entry: close`):
 *   ret = ln(P_{i+1+k} / P_{i+1}),  t1 = date of row i+1+k,
 * i.e. the position filled at P_{i+1} and held k bars, exited at the same price type k rows later
 * (open to open: the k daily open-to-open returns a book filled at the next open earns). The label
 * never reads row i itself, so it shares no print with the features of date t. The label interval
 * [date, t1] spans k+1 bars of the symbol (t1 > date). label = ret, or ret minus the mean of ret over
 * all symbols labelled that date when `demean` (a cross-sectionally demeaned / market-neutral target).
 * Rows without k+1 later rows, or with a missing or non-positive price at entry or exit, get no label.
 * Output columns: date, symbol, t1, label, ret; sorted by date, symbol.
 */
export function horizonLabelSql(input: string, p: HorizonLabelParams): string {
  const k = p.horizon;
  const px = entryPriceColumn(p.entry ?? 'next_open');
  return `
WITH b AS (
  SELECT date, symbol, CAST(lead(${px}, 1) OVER w AS DOUBLE) AS p_in,
    CAST(lead(${px}, ${1 + k}) OVER w AS DOUBLE) AS p_out, lead(date, ${1 + k}) OVER w AS t1
  FROM read_parquet(${sqlString(input)}) WINDOW w AS (PARTITION BY symbol ORDER BY date)
), r AS (
  SELECT date, symbol, t1, ln(p_out / p_in) AS ret FROM b WHERE t1 IS NOT NULL AND p_in > 0 AND p_out > 0
)${
    p.demean
      ? `, m AS (SELECT date, avg(ret ORDER BY symbol) AS mret FROM r GROUP BY date)
SELECT date, symbol, t1, ret - mret AS label, ret FROM r JOIN m USING (date)`
      : `
SELECT date, symbol, t1, ret AS label, ret FROM r`
  }
ORDER BY date, symbol`;
}

/** Longest label interval of horizon labels in bars: t1 is k+1 rows after the signal date. */
export function horizonLabelBars(horizon: number): number {
  return horizon + 1;
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
