/**
 * Test/bench fixture: a small REAL feature panel and labels built with DuckDB SQL straight from the
 * S&P 500 CSVs (via writeSp500Slice), shaped like the `features.equities` and `labels.*` contracts
 * of docs/contracts.md, stored in an ArtifactStore (test/fit/upstream.ts hands them to fit kinds as
 * contract-shaped upstream steps). Free of the step-kind layer: the learner tests (test/models) use it.
 *
 * Features (per symbol, information ≤ date; then cross-sectional rank per date → [−0.5, 0.5], NULL
 * during warm-up): mom_5/20/60 (close/close[t−h] − 1), rev_1 (1-day return), vol_20 (stdev of daily
 * log returns, 20 rows), hl_20 (mean (high−low)/close, 20 rows), volu_20 (log volume / 20-row mean),
 * dist_hi_60 (close / 60-row max close − 1).
 * Horizon labels from the fill (as labels.horizon's default entry next_open): ret =
 * ln(open[t+1+h]/open[t+1]), t1 = date h+1 rows ahead, label = ret.
 * Three-class labels (fixture of the triple-barrier shape, vertical barrier only): +1 when
 * ret > 0.5·vol_20_raw·√h, −1 when ret < −0.5·vol_20_raw·√h, else 0.
 */
import path from 'node:path';
import type { ArtifactRef, ArtifactStore } from '../../artifacts/store.ts';
import { withDuckDB, sqlString } from '../../lib/duckdb.ts';
import { writeSp500Slice } from '../support/sp500.ts';

export const FIXTURE_FEATURES = ['mom_5', 'mom_20', 'mom_60', 'rev_1', 'vol_20', 'hl_20', 'volu_20', 'dist_hi_60'];

export interface FixturePanel {
  features: ArtifactRef;
  featureNames: string[];
  horizonLabels: ArtifactRef;
  classLabels: ArtifactRef;
  registry: ArtifactRef;
  /** A small audit report JSON (the data.quality contract references one). */
  auditReport: ArtifactRef;
}

/**
 * Writes features, horizon labels and 3-class labels for `symbols` (optionally a date window).
 * `leak: true` adds a feature `leak_fwd` = the cross-sectional rank of the label itself (a
 * deliberate look-ahead); `shuffleSeed` permutes (label, ret) across all rows (keeps t1).
 */
export async function buildFixturePanel(
  store: ArtifactStore,
  dir: string,
  symbols: string[],
  opts: { from?: string; to?: string; horizon?: number; leak?: boolean; shuffleSeed?: number } = {},
): Promise<FixturePanel> {
  const h = opts.horizon ?? 5;
  const ohlcv = await writeSp500Slice(path.join(dir, 'ohlcv.parquet'), symbols, { from: opts.from, to: opts.to });
  const fPath = path.join(dir, `features${opts.leak ? '_leak' : ''}.parquet`);
  const lPath = path.join(dir, `labels_h${opts.shuffleSeed ?? ''}.parquet`);
  const cPath = path.join(dir, 'labels_c.parquet');
  const names = [...FIXTURE_FEATURES, ...(opts.leak ? ['leak_fwd'] : [])];
  const rank = (c: string): string =>
    `CASE WHEN ${c} IS NULL OR NOT isfinite(${c}) THEN NULL ELSE (rank() OVER (PARTITION BY date ORDER BY ${c} NULLS LAST) - 1)::DOUBLE / NULLIF(count(${c}) OVER (PARTITION BY date) - 1, 0) - 0.5 END`;
  await withDuckDB(async (con) => {
    await con.run(`CREATE TABLE px AS SELECT * FROM read_parquet(${sqlString(ohlcv)})`);
    await con.run(`CREATE TABLE raw AS
      SELECT date, symbol, close,
        CASE WHEN n >= 6 THEN close / lag(close, 5) OVER w - 1 END AS mom_5,
        CASE WHEN n >= 21 THEN close / lag(close, 20) OVER w - 1 END AS mom_20,
        CASE WHEN n >= 61 THEN close / lag(close, 60) OVER w - 1 END AS mom_60,
        CASE WHEN n >= 2 THEN close / lag(close, 1) OVER w - 1 END AS rev_1,
        CASE WHEN n >= 21 THEN stddev_samp(lr) OVER w20 END AS vol_20,
        CASE WHEN n >= 20 THEN avg((high - low) / close) OVER w20 END AS hl_20,
        CASE WHEN n >= 20 AND volume > 0 THEN ln(volume / NULLIF(avg(volume) OVER w20, 0)) END AS volu_20,
        CASE WHEN n >= 60 THEN close / max(close) OVER w60 - 1 END AS dist_hi_60,
        ln(lead(open, ${h + 1}) OVER w / lead(open, 1) OVER w) AS fwd,
        lead(date, ${h + 1}) OVER w AS t1
      FROM (SELECT *, ln(close / lag(close) OVER (PARTITION BY symbol ORDER BY date)) AS lr,
                   row_number() OVER (PARTITION BY symbol ORDER BY date) AS n FROM px)
      WINDOW w AS (PARTITION BY symbol ORDER BY date),
             w20 AS (PARTITION BY symbol ORDER BY date ROWS BETWEEN 19 PRECEDING AND CURRENT ROW),
             w60 AS (PARTITION BY symbol ORDER BY date ROWS BETWEEN 59 PRECEDING AND CURRENT ROW)`);
    const leakCol = opts.leak ? `, ${rank('fwd')} AS leak_fwd` : '';
    await con.run(`COPY (SELECT date, symbol, ${FIXTURE_FEATURES.map((f) => `${rank(f)} AS ${f}`).join(', ')}${leakCol}
      FROM raw ORDER BY date, symbol) TO ${sqlString(fPath)} (FORMAT parquet)`);
    if (opts.shuffleSeed !== undefined) {
      await con.run(`SELECT setseed(${(opts.shuffleSeed % 1000) / 1000})`);
      await con.run(`CREATE TABLE lab AS
        WITH base AS (SELECT date, symbol, t1, fwd, row_number() OVER (ORDER BY date, symbol) AS rn FROM raw WHERE fwd IS NOT NULL),
             perm AS (SELECT fwd, row_number() OVER (ORDER BY hash(rn + ${opts.shuffleSeed}), rn) AS rn FROM base)
        SELECT b.date, b.symbol, b.t1, p.fwd AS label, p.fwd AS ret FROM base b JOIN perm p USING (rn)`);
    } else {
      await con.run(`CREATE TABLE lab AS SELECT date, symbol, t1, fwd AS label, fwd AS ret FROM raw WHERE fwd IS NOT NULL`);
    }
    await con.run(`COPY (SELECT * FROM lab ORDER BY date, symbol) TO ${sqlString(lPath)} (FORMAT parquet)`);
    await con.run(`COPY (
      SELECT date, symbol, t1,
        CASE WHEN fwd > 0.5 * vol_20 * sqrt(${h}) THEN 1.0 WHEN fwd < -0.5 * vol_20 * sqrt(${h}) THEN -1.0 ELSE 0.0 END AS label,
        fwd AS ret, 'vertical' AS barrier
      FROM raw WHERE fwd IS NOT NULL AND vol_20 IS NOT NULL ORDER BY date, symbol) TO ${sqlString(cPath)} (FORMAT parquet)`);
  });
  const registry = await store.putJson(
    { version: 'fixture-1', features: names.map((n) => ({ name: n, source: 'test/fit/panel.ts', normalisation: 'cross-sectional rank per date' })) },
    'registry.json',
  );
  return {
    features: await store.putFile(fPath, { name: 'features.parquet', move: false }),
    featureNames: names,
    horizonLabels: await store.putFile(lPath, { name: 'labels.parquet', move: false }),
    classLabels: await store.putFile(cPath, { name: 'labels.parquet', move: false }),
    registry,
    auditReport: await store.putJson({ fixture: 'test/fit/panel.ts', symbols }, 'audit_report.json'),
  };
}
