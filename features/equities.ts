import type { DuckDBConnection } from '@duckdb/node-api';
import { nanToNull, readColumns, writeDoubleTable } from './columns.ts';
import { sqlString } from '../lib/duckdb.ts';
import { StepError } from '../lib/errors.ts';
import type { FeatureSpec } from './config.ts';
import { dateBlocks, rankNormalize, zscoreNormalize } from './normalize.ts';
import { crossSectionalMean, rollingBeta, rollingDrawdown, rollingMean, rollingStd, rollingZ } from './rolling.ts';

export interface ComputeFeaturesOptions {
  /** Apply each feature's cross-sectional normalisation (false: raw values, for inspection and tests). */
  normalize: boolean;
  /** |z| cap of the z-score normalisation. */
  zscoreClip: number;
  signal?: AbortSignal;
  progress?: (fraction: number, message: string) => void;
}

export interface FeatureStats {
  n_rows: number;
  n_symbols: number;
  n_dates: number;
  date_min: string | null;
  date_max: string | null;
  /** Fraction of NULL values per feature (warm-up and missing inputs). */
  null_fraction: Record<string, number>;
}

/**
 * SQL of the SQL-computed part of the feature panel over the canonical OHLCV Parquet `input`: the keys
 * (date, symbol), a dense symbol id `sid` (0-based, in symbol order), the per-symbol series the
 * TypeScript features read (close, lr = ln(C_t/C_{t−1}), gap = O_t/C_{t−1} − 1, dv = close·volume) and
 * every feature with a `sql` definition, sorted by (date, symbol). Per-symbol windows are row windows,
 * so a "trading day" is a row of that symbol; every expression reads only rows at or before the current one.
 */
export function baseFeatureSql(input: string, features: FeatureSpec[]): string {
  const sqlFeatures = features.filter((f) => f.sql !== null);
  return `
WITH src AS (
  SELECT date, symbol, CAST(open AS DOUBLE) AS open, CAST(high AS DOUBLE) AS high, CAST(low AS DOUBLE) AS low,
         CAST(close AS DOUBLE) AS close, CAST(volume AS DOUBLE) AS volume
  FROM read_parquet(${sqlString(input)})
), base AS (
  SELECT *,
    CASE WHEN close > 0 AND lag(close) OVER w > 0 THEN ln(close / lag(close) OVER w) END AS lr,
    CASE WHEN open > 0 AND lag(close) OVER w > 0 THEN open / lag(close) OVER w - 1 END AS gap,
    close * volume AS dv
  FROM src WINDOW w AS (PARTITION BY symbol ORDER BY date)
)
SELECT date, symbol, sid, close, lr, gap, dv${sqlFeatures.map((f) => `,\n  CAST(${f.sql} AS DOUBLE) AS "${f.name}"`).join('')}
FROM base JOIN (SELECT symbol, CAST(row_number() OVER (ORDER BY symbol) - 1 AS INTEGER) AS sid FROM (SELECT DISTINCT symbol FROM src)) USING (symbol)
WINDOW w AS (PARTITION BY symbol ORDER BY date)
ORDER BY date, symbol`;
}

const SERIES = ['close', 'lr', 'gap', 'dv'] as const;
type Series = (typeof SERIES)[number];

/**
 * Computes the equities feature panel from the canonical OHLCV Parquet `input` and writes it to
 * `output` (Parquet, `date DATE, symbol VARCHAR, <feature> DOUBLE...` in `features` order, sorted by
 * date then symbol; NULL during warm-up, never 0-filled).
 * Three stages: (1) DuckDB computes the lag/max/calendar features and the per-symbol series;
 * (2) TypeScript computes the trailing-window moments per symbol (rolling.ts) and the cross-sectional
 * normalisation per date (normalize.ts) over typed arrays; (3) the TypeScript columns are appended to
 * DuckDB and joined positionally with stage 1 into the Parquet file. Deterministic (identical inputs give
 * byte-identical output) and point-in-time (tests truncate the data and compare bit for bit).
 * Throws StepError when aborted.
 */
export async function computeEquityFeatures(
  con: DuckDBConnection,
  input: string,
  output: string,
  features: FeatureSpec[],
  opts: ComputeFeaturesOptions,
): Promise<FeatureStats> {
  const progress = opts.progress ?? (() => {});
  const checkAbort = () => {
    if (opts.signal?.aborted) throw new StepError({ message: 'feature computation cancelled', type: 'Cancelled', nonRetryable: true });
  };
  await con.run(`CREATE OR REPLACE TEMP TABLE feat_base AS ${baseFeatureSql(input, features)}`);
  checkAbort();
  progress(0.35, 'SQL features computed');

  // Columns produced in TypeScript: every ts feature, plus the SQL features to normalise.
  const tsFeatures = features.filter((f) => f.ts !== null);
  const sqlToNormalize = opts.normalize ? features.filter((f) => f.sql !== null && f.normalize !== 'none') : [];
  const jsCols = features.filter((f) => f.ts !== null || sqlToNormalize.includes(f));
  const jsArrays = new Map<string, Float64Array>();
  if (jsCols.length > 0) {
    const needed = new Set<Series>();
    for (const f of tsFeatures) {
      const t = f.ts!;
      needed.add(t.op === 'beta' ? 'lr' : t.input);
    }
    const series = SERIES.filter((c) => needed.has(c));
    const readCols = [...series, ...sqlToNormalize.map((f) => `"${f.name}"`)];
    const n = Number((await con.runAndReadAll('SELECT count(*) FROM feat_base')).getColumns()[0]![0]);
    const read = await readColumns(
      con,
      `SELECT CAST(date_diff('day', DATE '1970-01-01', date) AS INTEGER) AS d, sid${readCols.map((c) => `, ${c}`).join('')} FROM feat_base`,
      ['INTEGER', 'INTEGER', ...readCols.map(() => 'DOUBLE' as const)],
      n,
    );
    const days = read[0] as Int32Array;
    const symIds = read[1] as Int32Array;
    const cols = read.slice(2) as Float64Array[];
    let nSym = 0;
    for (let i = 0; i < n; i++) if (symIds[i]! >= nSym) nSym = symIds[i]! + 1;
    checkAbort();
    progress(0.5, 'rolling-window features');

    // Rows of each symbol in date order (stable counting sort of the date-major rows by symbol id).
    const symStart = new Int32Array(nSym + 1);
    for (let i = 0; i < n; i++) symStart[symIds[i]! + 1]++;
    for (let s = 0; s < nSym; s++) symStart[s + 1] += symStart[s]!;
    const order = new Int32Array(n);
    const fill = symStart.slice(0, nSym);
    for (let i = 0; i < n; i++) order[fill[symIds[i]!]++] = i;
    let maxLen = 0;
    for (let s = 0; s < nSym; s++) maxLen = Math.max(maxLen, symStart[s + 1]! - symStart[s]!);
    const xa = new Float64Array(maxLen);
    const xb = new Float64Array(maxLen);
    const xo = new Float64Array(maxLen);
    const seriesCol = (name: Series) => cols[series.indexOf(name)]!;
    const blocks = dateBlocks(days);
    // Equal-weight universe log return of each row's date (the beta regressor); point-in-time: a date's
    // mean uses only that date's rows.
    const mkt = tsFeatures.some((f) => f.ts!.op === 'beta') ? crossSectionalMean(seriesCol('lr'), blocks) : null;

    const outCols = new Map<string, Float64Array>();
    for (const f of tsFeatures) {
      const t = f.ts!;
      const out = new Float64Array(n);
      const a = seriesCol(t.op === 'beta' ? 'lr' : t.input);
      const b = t.op === 'beta' ? mkt : null;
      for (let s = 0; s < nSym; s++) {
        const lo = symStart[s]!;
        const len = symStart[s + 1]! - lo;
        const x = xa.subarray(0, len);
        const y = xb.subarray(0, len);
        const o = xo.subarray(0, len);
        for (let k = 0; k < len; k++) x[k] = a[order[lo + k]!]!;
        if (b) for (let k = 0; k < len; k++) y[k] = b[order[lo + k]!]!;
        if (t.op === 'std') rollingStd(x, t.window, t.scale, o);
        else if (t.op === 'mean') rollingMean(x, t.window, o, t.log);
        else if (t.op === 'z') rollingZ(x, t.window, t.k, t.population, o);
        else if (t.op === 'drawdown') rollingDrawdown(x, t.window, o);
        else rollingBeta(x, y, t.window, o);
        for (let k = 0; k < len; k++) out[order[lo + k]!] = o[k]!;
      }
      outCols.set(f.name, out);
      checkAbort();
    }
    sqlToNormalize.forEach((f, i) => outCols.set(f.name, cols[series.length + i]!));
    progress(0.65, 'normalising cross-sections');

    if (opts.normalize) {
      for (const f of jsCols) {
        if (f.normalize === 'rank') rankNormalize(outCols.get(f.name)!, blocks);
        else if (f.normalize === 'zscore') zscoreNormalize(outCols.get(f.name)!, blocks, opts.zscoreClip);
        checkAbort();
      }
    }
    progress(0.75, 'writing features');

    const arrays = jsCols.map((f) => outCols.get(f.name)!);
    jsCols.forEach((f, i) => jsArrays.set(f.name, arrays[i]!));
    await writeDoubleTable(con, 'feat_js', jsCols.map((f) => f.name), arrays);
    checkAbort();
  }

  // feat_base was created with ORDER BY date, symbol and DuckDB preserves insertion order on scans, so the
  // positional join lines rows up and the file comes out sorted (tests check both).
  const fromJs = new Set(jsCols.map((f) => f.name));
  const select = features.map((f) => (fromJs.has(f.name) ? `${nanToNull(`j."${f.name}"`)} AS "${f.name}"` : `b."${f.name}"`)).join(', ');
  const from = jsCols.length > 0 ? 'feat_base b POSITIONAL JOIN feat_js j' : 'feat_base b';
  await con.run(`COPY (SELECT b.date, b.symbol, ${select} FROM ${from}) TO ${sqlString(output)} (FORMAT parquet)`);
  progress(0.95, 'features written');

  const sqlOnly = features.filter((f) => !fromJs.has(f.name));
  const row = (
    await con.runAndReadAll(`SELECT count(*), coalesce(max(sid) + 1, 0), count(DISTINCT date), CAST(min(date) AS VARCHAR), CAST(max(date) AS VARCHAR)
      ${sqlOnly.map((f) => `, count("${f.name}")`).join('')} FROM feat_base`)
  ).getRowsJS()[0]!;
  const nRows = Number(row[0]);
  const nullFraction: Record<string, number> = {};
  for (const f of features) {
    const k = sqlOnly.indexOf(f);
    const nulls = k >= 0 ? nRows - Number(row[5 + k]) : countNaN(jsArrays.get(f.name)!);
    nullFraction[f.name] = nRows > 0 ? round6(nulls / nRows) : 0;
  }
  await con.run('DROP TABLE IF EXISTS feat_base; DROP TABLE IF EXISTS feat_js');
  return {
    n_rows: nRows,
    n_symbols: Number(row[1]),
    n_dates: Number(row[2]),
    date_min: (row[3] as string | null) ?? null,
    date_max: (row[4] as string | null) ?? null,
    null_fraction: nullFraction,
  };
}

function countNaN(x: Float64Array): number {
  let k = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== x[i]) k++;
  return k;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
