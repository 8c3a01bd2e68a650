import { DOUBLE, DuckDBDataChunk, type DuckDBConnection, type DuckDBDoubleVector, type DuckDBIntegerVector } from '@duckdb/node-api';
import { sqlString } from '../lib/duckdb.ts';
import { StepError } from '../lib/errors.ts';
import { framesOf, type FeatureSpec } from './config.ts';
import { dateBlocks, rankNormalize, zscoreNormalize } from './normalize.ts';

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
 * SQL of the raw (not yet normalised) feature panel over the canonical OHLCV Parquet `input`:
 * columns date, symbol, then one DOUBLE per feature in `features` order. Per-symbol windows are row
 * windows (`PARTITION BY symbol ORDER BY date ROWS BETWEEN n-1 PRECEDING AND CURRENT ROW`), so a
 * "trading day" is a row of that symbol. Every expression only reads rows at or before the current one,
 * except the universe return `mkt_lr`, which averages the returns of the same date (point-in-time).
 * The universe mean is an ordered aggregate so its floating-point sum is deterministic.
 */
export function rawFeatureSql(input: string, features: FeatureSpec[]): string {
  const frames = framesOf(features);
  const needsMkt = features.some((f) => f.kind === 'beta');
  const windows = [
    `w AS (PARTITION BY symbol ORDER BY date)`,
    ...frames.map((n) => `w${n} AS (PARTITION BY symbol ORDER BY date ROWS BETWEEN ${n - 1} PRECEDING AND CURRENT ROW)`),
  ];
  return `
WITH src AS (
  SELECT date, symbol, CAST(open AS DOUBLE) AS open, CAST(high AS DOUBLE) AS high, CAST(low AS DOUBLE) AS low,
         CAST(close AS DOUBLE) AS close, CAST(volume AS DOUBLE) AS volume
  FROM read_parquet(${sqlString(input)})
), base0 AS (
  SELECT *,
    CASE WHEN close > 0 AND lag(close) OVER w > 0 THEN ln(close / lag(close) OVER w) END AS lr,
    CASE WHEN open > 0 AND lag(close) OVER w > 0 THEN open / lag(close) OVER w - 1 END AS gap,
    close * volume AS dv
  FROM src WINDOW w AS (PARTITION BY symbol ORDER BY date)
)${
    needsMkt
      ? `, mkt AS (
  SELECT date, avg(lr ORDER BY symbol) AS mkt_lr FROM base0 GROUP BY date
), base AS (SELECT base0.*, mkt.mkt_lr FROM base0 JOIN mkt USING (date))`
      : `, base AS (SELECT * FROM base0)`
  }
SELECT date, symbol,
  ${features.map((f) => `CAST(${f.sql} AS DOUBLE) AS "${f.name}"`).join(',\n  ')}
FROM base
WINDOW ${windows.join(',\n  ')}
ORDER BY date, symbol`;
}

/**
 * Computes the equities feature panel from the canonical OHLCV Parquet `input` and writes it to
 * `output` (Parquet, `date DATE, symbol VARCHAR, <feature> DOUBLE...`, sorted by date then symbol;
 * NULL during warm-up). Per-symbol time-series features run as DuckDB window functions; the
 * cross-sectional normalisation (rank / z-score per date, see normalize.ts) runs over typed arrays and
 * is appended back to DuckDB, then joined positionally with the raw panel. Deterministic: identical
 * inputs give byte-identical output.
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
    if (opts.signal?.aborted) throw new StepError('feature computation cancelled', 'Cancelled', true);
  };
  await con.run(`CREATE OR REPLACE TEMP TABLE feat_raw AS ${rawFeatureSql(input, features)}`);
  checkAbort();
  progress(0.4, 'time-series features computed');

  const toNormalize = opts.normalize ? features.filter((f) => f.normalize !== 'none') : [];
  if (toNormalize.length > 0) {
    const n = Number((await con.runAndReadAll('SELECT count(*) FROM feat_raw')).getColumns()[0]![0]);
    const days = new Int32Array(n);
    const cols = toNormalize.map(() => new Float64Array(n));
    const res = await con.run(
      `SELECT CAST(date_diff('day', DATE '1970-01-01', date) AS INTEGER) AS d, ${toNormalize.map((f) => `"${f.name}"`).join(', ')} FROM feat_raw`,
    );
    let off = 0;
    for (let ch = await res.fetchChunk(); ch && ch.rowCount > 0; ch = await res.fetchChunk()) {
      const rc = ch.rowCount;
      const dv = ch.getColumnVector(0) as DuckDBIntegerVector;
      for (let i = 0; i < rc; i++) days[off + i] = dv.getItem(i)!;
      for (let c = 0; c < cols.length; c++) {
        const v = ch.getColumnVector(c + 1) as DuckDBDoubleVector;
        const col = cols[c]!;
        for (let i = 0; i < rc; i++) {
          const x = v.getItem(i);
          col[off + i] = x === null ? NaN : x;
        }
      }
      off += rc;
    }
    if (off !== n) throw new StepError(`feature panel read ${off} of ${n} rows`, 'InternalError');
    checkAbort();
    progress(0.55, 'normalising cross-sections');

    const blocks = dateBlocks(days);
    for (let c = 0; c < cols.length; c++) {
      if (toNormalize[c]!.normalize === 'rank') rankNormalize(cols[c]!, blocks);
      else zscoreNormalize(cols[c]!, blocks, opts.zscoreClip);
      checkAbort();
    }
    progress(0.7, 'writing normalised features');

    await con.run(`CREATE OR REPLACE TEMP TABLE feat_norm (${toNormalize.map((f) => `"${f.name}" DOUBLE`).join(', ')})`);
    const app = await con.createAppender('feat_norm');
    const types = toNormalize.map(() => DOUBLE);
    const CH = 2048;
    for (let lo = 0; lo < n; lo += CH) {
      const rc = Math.min(CH, n - lo);
      const chunk = DuckDBDataChunk.create(types, rc);
      for (let c = 0; c < cols.length; c++) {
        const v = chunk.getColumnVector(c) as DuckDBDoubleVector;
        const col = cols[c]!;
        for (let i = 0; i < rc; i++) {
          const x = col[lo + i]!;
          v.setItem(i, x === x ? x : null);
        }
        v.flush();
      }
      app.appendDataChunk(chunk);
    }
    app.closeSync();
    checkAbort();
  }

  // feat_raw was created with ORDER BY date, symbol and DuckDB preserves insertion order on scans, so the
  // positional join lines rows up and the file comes out sorted (tests check both).
  const normalized = new Set(toNormalize.map((f) => f.name));
  const select = features.map((f) => (normalized.has(f.name) ? `n."${f.name}"` : `r."${f.name}"`)).join(', ');
  const from = toNormalize.length > 0 ? 'feat_raw r POSITIONAL JOIN feat_norm n' : 'feat_raw r';
  await con.run(`COPY (SELECT r.date, r.symbol, ${select} FROM ${from}) TO ${sqlString(output)} (FORMAT parquet, COMPRESSION zstd)`);
  progress(0.95, 'features written');

  const statsSql = `SELECT count(*) AS n, count(DISTINCT symbol) AS s, count(DISTINCT date) AS d,
      CAST(min(date) AS VARCHAR) AS dmin, CAST(max(date) AS VARCHAR) AS dmax,
      ${features.map((f, i) => `count("${f.name}") AS c${i}`).join(', ')} FROM feat_raw`;
  const row = (await con.runAndReadAll(statsSql)).getRowsJS()[0]!;
  const nRows = Number(row[0]);
  const nullFraction: Record<string, number> = {};
  features.forEach((f, i) => {
    nullFraction[f.name] = nRows > 0 ? round6(1 - Number(row[5 + i]) / nRows) : 0;
  });
  await con.run('DROP TABLE IF EXISTS feat_raw; DROP TABLE IF EXISTS feat_norm');
  return {
    n_rows: nRows,
    n_symbols: Number(row[1]),
    n_dates: Number(row[2]),
    date_min: (row[3] as string | null) ?? null,
    date_max: (row[4] as string | null) ?? null,
    null_fraction: nullFraction,
  };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
