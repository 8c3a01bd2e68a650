/**
 * The modelling panel of the CPCV protocol: features ⋈ labels on (date, symbol), in memory, rows
 * sorted by (date, symbol), with each row's bar index over the panel's sorted unique dates (the
 * bars of its calendar that the data has: index i+1 is the next session present).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { NYSE_DAILY, type TradingCalendar } from '../calendar/calendar.ts';
import { forEachNumericChunk, sqlString } from '../lib/duckdb.ts';
import { StepError } from '../lib/errors.ts';
import { dateBlocks, LabelRanks } from './metrics.ts';

/**
 * A modelling panel in memory, rows sorted by (date, symbol): features as a row-major float32
 * matrix (NaN = missing), label interval, label and realised forward return. The DuckDB table
 * `panel` (row_id, date, symbol, t1, label, ret) stays in the connection for writing artifacts.
 */
export interface Panel {
  n: number;
  nFeatures: number;
  featureNames: string[];
  /** Sorted unique dates (days since 1970-01-01). */
  uniqueDates: Int32Array;
  /** Per row: index into uniqueDates. */
  dateIdx: Int32Array;
  /** Per row: date and t1 as days since 1970-01-01. */
  date: Int32Array;
  t1: Int32Array;
  label: Float64Array;
  ret: Float64Array;
  /** ret divided by the label's length in bars (≥ 1): realised return per bar held. */
  retDaily: Float64Array;
  /** Row-major n × nFeatures. */
  X: Float32Array;
  /** blocks[d]..blocks[d+1] = rows of date d. */
  blocks: Int32Array;
  /** Calendar of the bars (annualisation; calendar days past the last bar → bars). */
  calendar: TradingCalendar;
}

const q = (id: string): string => `"${id.replace(/"/g, '""')}"`;

/**
 * Joins the features and labels Parquet files on (date, symbol), loads the rows and features into
 * JS and leaves the temp table `panel` (row_id, date, symbol, t1, label, ret; row_id numbers the
 * rows in (date, symbol) order) in `con`. Rows without a label/ret/t1,
 * or with every feature NULL (warm-up), are dropped. A label's length in bars is the number of
 * panel bars from its date to t1; past the last bar, the calendar converts the remaining calendar
 * days to bars (`barsInCalendarDays`). `calendar` is the inputs' calendar (default NYSE daily, the
 * calendar of the S&P fixtures). Throws a non-retryable StepError naming missing columns, an empty
 * join, a repeated (date, symbol) row or a t1 before its date.
 */
export async function loadPanel(con: DuckDBConnection, featuresPath: string, labelsPath: string, featureNames: string[], calendar: TradingCalendar = NYSE_DAILY): Promise<Panel> {
  const fcols = (await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(featuresPath)})`)).getRowObjectsJS().map((r) => String(r.column_name));
  const missing = ['date', 'symbol', ...featureNames].filter((c) => !fcols.includes(c));
  if (missing.length) throw new StepError({ message: `features Parquet lacks column(s) ${missing.join(', ')} (has ${fcols.join(', ')})`, type: 'BadInput', nonRetryable: true });
  const lcols = (await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(labelsPath)})`)).getRowObjectsJS().map((r) => String(r.column_name));
  const lmissing = ['date', 'symbol', 't1', 'label', 'ret'].filter((c) => !lcols.includes(c));
  if (lmissing.length) throw new StepError({ message: `labels Parquet lacks column(s) ${lmissing.join(', ')} (has ${lcols.join(', ')}); see docs/contracts.md`, type: 'BadInput', nonRetryable: true });
  if (featureNames.length === 0) throw new StepError({ message: 'no features to train on (feature_names is empty)', type: 'BadInput', nonRetryable: true });
  const allNull = featureNames.map((f) => `f.${q(f)} IS NULL`).join(' AND ');
  const joined = `FROM read_parquet(${sqlString(featuresPath)}) f
    JOIN read_parquet(${sqlString(labelsPath)}) l ON CAST(l.date AS DATE) = CAST(f.date AS DATE) AND l.symbol = f.symbol
    WHERE l.label IS NOT NULL AND isfinite(l.label) AND l.ret IS NOT NULL AND isfinite(l.ret) AND l.t1 IS NOT NULL
      AND NOT (${allNull})`;
  await con.run(`CREATE OR REPLACE TEMP TABLE panel AS
    SELECT (row_number() OVER (ORDER BY f.date, f.symbol) - 1)::INTEGER AS row_id,
           CAST(f.date AS DATE) AS date, f.symbol, CAST(l.t1 AS DATE) AS t1,
           CAST(l.label AS DOUBLE) AS label, CAST(l.ret AS DOUBLE) AS ret
    ${joined}`);
  const [nRows, nKeys] = (await con.runAndReadAll('SELECT count(*)::INTEGER, count(DISTINCT (date, symbol))::INTEGER FROM panel')).getRows()[0]!.map(Number) as [number, number];
  if (nRows === 0) throw new StepError({ message: 'features ⋈ labels on (date, symbol) is empty: do the two steps cover the same dates and symbols?', type: 'BadInput', nonRetryable: true });
  if (nKeys !== nRows) throw new StepError({ message: `features ⋈ labels has ${nRows - nKeys} repeated (date, symbol) row(s): the features and the labels must each hold one row per date and symbol`, type: 'BadInput', nonRetryable: true });
  const n = nRows;
  const F = featureNames.length;
  const date = new Int32Array(n), t1 = new Int32Array(n);
  const label = new Float64Array(n), ret = new Float64Array(n);
  const X = new Float32Array(n * F);
  // The row columns from the panel table, then the features streamed from the join again in the same
  // (date, symbol) order (unique keys, so the same rows in the same order): the features never sit in
  // a DuckDB table, and the window sorts only the row columns (the full S&P panel: peak RSS of the
  // load ≈ 440 vs ≈ 560 MB, 0.9 vs 1.2 s). Each chunk's vectors are copied whole (lib/duckdb.ts).
  let off = 0;
  await forEachNumericChunk(
    con,
    `SELECT (date - DATE '1970-01-01')::INTEGER AS d, (t1 - DATE '1970-01-01')::INTEGER AS t1d, label, ret FROM panel ORDER BY row_id`,
    ['int', 'int', 'double', 'double'],
    (cols, m) => {
      date.set(cols[0]!, off);
      t1.set(cols[1]!, off);
      label.set(cols[2]!, off);
      ret.set(cols[3]!, off);
      off += m;
    },
  );
  if (off !== n) throw new StepError({ message: `panel read ${off} rows, expected ${n}`, type: 'InternalError', nonRetryable: false });
  off = 0;
  await forEachNumericChunk(
    con,
    `SELECT ${featureNames.map((c) => `CAST(f.${q(c)} AS DOUBLE)`).join(', ')} ${joined} ORDER BY f.date, f.symbol`,
    featureNames.map(() => 'double' as const),
    (cols, m) => {
      for (let j = 0; j < F; j++) {
        const v = cols[j]!;
        for (let i = 0; i < m; i++) X[(off + i) * F + j] = v[i]!;
      }
      off += m;
    },
  );
  if (off !== n) throw new StepError({ message: `panel read ${off} feature rows, expected ${n}`, type: 'InternalError', nonRetryable: false });
  const { uniqueDates, dateIdx } = barIndex(date);
  const retDaily = perBarReturns(date, t1, ret, uniqueDates, dateIdx, calendar);
  return { n, nFeatures: F, featureNames, uniqueDates, dateIdx, date, t1, label, ret, retDaily, X, blocks: dateBlocks(dateIdx, uniqueDates.length), calendar };
}

/** Sorted unique dates of date-sorted rows and each row's index into them. */
function barIndex(date: Int32Array): { uniqueDates: Int32Array; dateIdx: Int32Array } {
  const n = date.length;
  const uniq: number[] = [];
  for (let i = 0; i < n; i++) if (i === 0 || date[i] !== date[i - 1]) uniq.push(date[i]!);
  const dateIdx = new Int32Array(n);
  for (let i = 0, d = -1; i < n; i++) {
    if (i === 0 || date[i] !== date[i - 1]) d++;
    dateIdx[i] = d;
  }
  return { uniqueDates: Int32Array.from(uniq), dateIdx };
}

/**
 * Each row's label length h in bars (≥ 0): panel bars from date to t1, plus, for a t1 after the last
 * bar, the calendar's bars in the remaining calendar days. Throws StepError when t1 < date.
 */
function labelBarsOf(date: Int32Array, t1: Int32Array, uniqueDates: Int32Array, dateIdx: Int32Array, calendar: TradingCalendar): Int32Array {
  const n = date.length;
  const last = uniqueDates.length - 1;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (t1[i]! < date[i]!) throw new StepError({ message: `labels: t1 precedes date for row ${i} (day ${date[i]}); t1 must be ≥ date`, type: 'BadInput', nonRetryable: true });
    const j = lowerBound(uniqueDates, t1[i]!);
    out[i] = j <= last ? j - dateIdx[i]! : last - dateIdx[i]! + calendar.barsInCalendarDays(t1[i]! - uniqueDates[last]!);
  }
  return out;
}

/** ret / h per row, h = the label's length in bars (at least 1; {@link labelBarsOf}). */
function perBarReturns(date: Int32Array, t1: Int32Array, ret: Float64Array, uniqueDates: Int32Array, dateIdx: Int32Array, calendar: TradingCalendar): Float64Array {
  const h = labelBarsOf(date, t1, uniqueDates, dateIdx, calendar);
  return Float64Array.from(ret, (r, i) => r / Math.max(1, h[i]!));
}

/**
 * The longest label interval in rows of its symbol: max over rows of the DuckDB table `table`
 * (date, symbol, t1) of the number of the symbol's rows after its date up to t1 — the unit labels
 * are defined in (labels.panel `max_horizon_bars`: t1 ≤ date + that many rows of the symbol), and
 * the purging horizon the embargo must cover (AFML ch. 7.4.2). Rows whose t1 is not a date of a row
 * of the same symbol (t1 past the symbol's last labelled row) are left out. A symbol's missing
 * sessions make its labels span more panel bars than rows; purging by label intervals covers those
 * exactly (cv/cpcv.ts). 0 for an empty table.
 */
export async function maxLabelRows(con: DuckDBConnection, table: string): Promise<number> {
  const r = await con.runAndReadAll(`WITH r AS (SELECT symbol, date, t1, row_number() OVER (PARTITION BY symbol ORDER BY date) AS rn FROM ${table})
    SELECT coalesce(max(b.rn - a.rn), 0)::INTEGER FROM r a JOIN r b ON a.symbol = b.symbol AND b.date = a.t1`);
  return Number(r.getRows()[0]![0]);
}

/** First index i with arr[i] ≥ v (arr ascending). */
export function lowerBound(arr: Int32Array, v: number): number {
  let lo = 0, hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const labelRanksOfPanel = new WeakMap<object, LabelRanks>();

/** The label's ranks on every date of `panel` (cv/metrics.ts LabelRanks), built on first use; a panel's label never changes once loaded. */
export function panelLabelRanks(panel: Pick<Panel, 'blocks' | 'label'>): LabelRanks {
  let r = labelRanksOfPanel.get(panel);
  if (!r || r.blocks !== panel.blocks || r.label !== panel.label) {
    r = new LabelRanks(panel.blocks, panel.label);
    labelRanksOfPanel.set(panel, r);
  }
  return r;
}
