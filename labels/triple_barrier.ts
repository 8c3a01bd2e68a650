import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString } from '../lib/duckdb.ts';
import { entryPriceColumn, type EntryRule } from './entry.ts';
import { singleThreaded } from './stats.ts';

/**
 * Triple-barrier labelling (López de Prado, *Advances in Financial Machine Learning*, 2018, ch. 3.4),
 * entered at the fill (labels/entry.ts), never at the close the signal was computed from.
 *
 * For the symbol's row i (signal date, information ≤ C_i):
 * - σ_i = sample std (n−1) of the daily log returns ln(C_t/C_{t−1}) over the last `vol_window` rows up
 *   to and including i (daily, not annualised; known at the close of i: it only sets the barrier width).
 * - entry E: the open O_{i+1} (`entry: next_open`, default; s = 0) or the close C_{i+1} (`entry: close`;
 *   s = 1). A missing or non-positive entry price gives no label.
 * - upper barrier u = +tp_sigma·σ_i, lower barrier d = −sl_sigma·σ_i, both in log return from E;
 *   a multiplier of 0 disables that barrier (López de Prado's pt_sl = 0).
 * - the position is held over the `max_h` bars j = i+1+s .. i+max_h+s, read in order from the fill
 *   bar on (next_open: the entry bar's own high/low after its open count; close: from the bar after):
 *   1. the open gaps through a barrier (ln(O_j/E) ≥ u, or ≤ d): that barrier, filled at the open
 *      (ret = ln(O_j/E), beyond the barrier); the entry open itself is ln(E/E) = 0, never a touch;
 *   2. else the high reaches u (ln(H_j/E) ≥ u) and/or the low reaches d (ln(L_j/E) ≤ d): that
 *      barrier, filled at the barrier (ret = u or d). When both are reached on the same day the daily
 *      bar cannot tell which came first: the `tie` rule decides ('sl', the conservative default, or 'tp').
 *   A missing high/low/open inside the window falls back to the close of that day.
 * - first touch → label +1 (tp) / −1 (sl), t1 = that day; no touch → barrier 'vertical', exit at the
 *   close of the last held bar (a market-on-close exit), t1 = date of row i+max_h+s,
 *   ret = ln(C_{i+max_h+s}/E), label 0 (`vertical_label: zero`) or sign(ret) (`vertical_label: sign`).
 * The label interval [date, t1] spans at most max_h+s bars (next_open: max_h, as the vertical
 * barrier's length). Rows without max_h+s later rows, without a full volatility window, or with
 * σ = 0 get no label. holding_days = bars from date to t1.
 * Computed in DuckDB SQL: `lead(·, j)` windows for the held bars, first touch by COALESCE over j.
 */
export interface TripleBarrierParams {
  vol_window: number;
  tp_sigma: number;
  sl_sigma: number;
  max_h: number;
  tie: 'sl' | 'tp';
  vertical_label: 'zero' | 'sign';
  /** Fill rule (labels/entry.ts): next_open (default) or the next session's close. */
  entry?: EntryRule;
}

/** s, the first held bar's offset past row i+1: 0 for next_open (the fill bar itself is read), 1 for close (the bar after the fill). */
const entryShift = (entry: EntryRule | undefined): number => (entryPriceColumn(entry ?? 'next_open') === 'open' ? 0 : 1);

/** Longest label interval of triple-barrier labels in bars (t1 ≤ date + this many bars of the symbol). */
export function tripleBarrierLabelBars(maxH: number, entry?: EntryRule): number {
  return maxH + entryShift(entry);
}

export interface TripleBarrierStats {
  n_rows: number;
  n_symbols: number;
  n_dates: number;
  /** Count of labels −1, 0, +1 (keys "-1", "0", "1"). */
  label_counts: Record<string, number>;
  label_fractions: Record<string, number>;
  barrier_counts: Record<string, number>;
  /** Mean number of trading days (rows) from the signal date to t1. */
  mean_holding_days: number | null;
  ret_mean: number | null;
}

const lnRatio = (a: string, b: string) => `CASE WHEN (${a}) > 0 AND (${b}) > 0 THEN ln((${a}) / (${b})) END`;
const logOf = (a: string) => `CASE WHEN (${a}) > 0 THEN ln(${a}) END`;

/** SQL of the triple-barrier labels (columns date, symbol, t1, label, ret, barrier, sigma, holding_days; sorted by date, symbol). */
export function tripleBarrierSql(input: string, p: TripleBarrierParams): string {
  const sh = entryShift(p.entry);
  const H = p.max_h + sh;
  const VW = p.vol_window;
  const js = Array.from({ length: p.max_h }, (_, i) => i + 1 + sh);
  const entryLog = sh === 0 ? 'lop' : 'lc';
  // Log prices once per row (a missing high/low/open falls back to the close; the entry open does
  // not); the forward log returns from the entry are plain differences of leads, no per-lead guards.
  const fwd = js
    .map((j) => [`lead(lh, ${j}) OVER w - le AS h${j}`, `lead(ll, ${j}) OVER w - le AS l${j}`, `lead(lo, ${j}) OVER w - le AS o${j}`, `lead(date, ${j}) OVER w AS d${j}`].join(', '))
    .join(',\n    ');
  const hasTp = p.tp_sigma > 0;
  const hasSl = p.sl_sigma > 0;
  // First touch encoded as an integer 4·j + type (type 0 = tp at the open, 1 = sl at the open,
  // 2 = tp intraday, 3 = sl intraday); COALESCE over the held bars j picks the earliest day.
  const touch = (j: number) => {
    const whens: string[] = [];
    if (hasTp) whens.push(`WHEN o${j} >= up THEN ${4 * j}`);
    if (hasSl) whens.push(`WHEN o${j} <= dn THEN ${4 * j + 1}`);
    const tpBar = hasTp ? `WHEN h${j} >= up THEN ${4 * j + 2}` : '';
    const slBar = hasSl ? `WHEN l${j} <= dn THEN ${4 * j + 3}` : '';
    // Order of the intraday WHENs is the tie rule: the first listed wins when both are touched.
    whens.push(...(p.tie === 'sl' ? [slBar, tpBar] : [tpBar, slBar]).filter(Boolean));
    return whens.length > 0 ? `CASE ${whens.join(' ')} END` : 'CAST(NULL AS INTEGER)';
  };
  const pick = (col: string) => `CASE hit // 4 ${js.map((j) => `WHEN ${j} THEN ${col}${j}`).join(' ')} END`;
  const verticalLabel = p.vertical_label === 'sign' ? 'CAST(sign(ret_h) AS DOUBLE)' : '0.0';
  return `
WITH src AS (
  SELECT date, symbol, CAST(open AS DOUBLE) AS open, CAST(high AS DOUBLE) AS high, CAST(low AS DOUBLE) AS low,
         CAST(close AS DOUBLE) AS close
  FROM read_parquet(${sqlString(input)})
), r AS (
  SELECT date, symbol,
    ${logOf('close')} AS lc,
    ${logOf('coalesce(high, close)')} AS lh,
    ${logOf('coalesce(low, close)')} AS ll,
    ${logOf('coalesce(open, close)')} AS lo,
    ${logOf('open')} AS lop,
    ${lnRatio('close', 'lag(close) OVER w')} AS lr
  FROM src WINDOW w AS (PARTITION BY symbol ORDER BY date)
), s AS (
  SELECT *, CASE WHEN count(lr) OVER wv = ${VW} THEN stddev_samp(lr) OVER wv END AS sigma, lead(${entryLog}, 1) OVER w AS le
  FROM r WINDOW wv AS (PARTITION BY symbol ORDER BY date ROWS BETWEEN ${VW - 1} PRECEDING AND CURRENT ROW),
    w AS (PARTITION BY symbol ORDER BY date)
), fw AS (
  SELECT date, symbol, sigma, ${p.tp_sigma} * sigma AS up, -${p.sl_sigma} * sigma AS dn,
    ${fwd},
    lead(lc, ${H}) OVER w - le AS ret_h
  FROM s WINDOW w AS (PARTITION BY symbol ORDER BY date)
), ev AS (
  SELECT *, ${js.length === 1 ? touch(js[0]!) : `coalesce(${js.map(touch).join(',\n      ')})`} AS hit
  FROM fw WHERE sigma > 0 AND d${H} IS NOT NULL AND ret_h IS NOT NULL
)
SELECT date, symbol,
  CASE WHEN hit IS NULL THEN d${H} ELSE ${pick('d')} END AS t1,
  CASE WHEN hit IS NULL THEN ${verticalLabel} WHEN hit % 2 = 0 THEN 1.0 ELSE -1.0 END AS label,
  CASE WHEN hit IS NULL THEN ret_h WHEN hit % 4 < 2 THEN ${pick('o')} WHEN hit % 4 = 2 THEN up ELSE dn END AS ret,
  CASE WHEN hit IS NULL THEN 'vertical' WHEN hit % 2 = 0 THEN 'tp' ELSE 'sl' END AS barrier,
  sigma,
  CAST(coalesce(hit // 4, ${H}) AS INTEGER) AS holding_days
FROM ev
ORDER BY date, symbol`;
}

/** Writes the triple-barrier labels of `input` to the Parquet `output`; returns the label distribution. */
export async function computeTripleBarrierLabels(
  con: DuckDBConnection,
  input: string,
  output: string,
  p: TripleBarrierParams,
): Promise<TripleBarrierStats> {
  await con.run(`CREATE OR REPLACE TEMP TABLE lbl_tb AS ${tripleBarrierSql(input, p)}`);
  await con.run(`COPY lbl_tb TO ${sqlString(output)} (FORMAT parquet)`);
  const [tot, byLabel, byBarrier] = await singleThreaded(con, async () => [
    (await con.runAndReadAll(`SELECT count(*), count(DISTINCT symbol), count(DISTINCT date), avg(holding_days), avg(ret) FROM lbl_tb`)).getRowsJS()[0]!,
    (await con.runAndReadAll(`SELECT CAST(label AS INTEGER), count(*) FROM lbl_tb GROUP BY 1 ORDER BY 1`)).getRowsJS(),
    (await con.runAndReadAll(`SELECT barrier, count(*) FROM lbl_tb GROUP BY 1 ORDER BY 1`)).getRowsJS(),
  ] as const);
  await con.run('DROP TABLE lbl_tb');
  const n = Number(tot![0]);
  const labelCounts: Record<string, number> = { '-1': 0, '0': 0, '1': 0 };
  for (const [l, c] of byLabel) labelCounts[String(l)] = Number(c);
  const barrierCounts: Record<string, number> = { tp: 0, sl: 0, vertical: 0 };
  for (const [b, c] of byBarrier) barrierCounts[String(b)] = Number(c);
  const frac = Object.fromEntries(Object.entries(labelCounts).map(([k, c]) => [k, n > 0 ? Math.round((c / n) * 1e6) / 1e6 : 0]));
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    n_rows: n,
    n_symbols: Number(tot![1]),
    n_dates: Number(tot![2]),
    label_counts: labelCounts,
    label_fractions: frac,
    barrier_counts: barrierCounts,
    mean_holding_days: num(tot![3]),
    ret_mean: num(tot![4]),
  };
}
