import path from 'node:path';
import { queryRows, withDuckDB } from '../../lib/duckdb.ts';
import { StepError, UserError } from '../../lib/errors.ts';
import { expandGlobs, resolveFiles, type KlinesContract, type LoadedContract } from '../contract.ts';
import { InputFileError, normalizeHeaderName, scanDelimitedFile, type ScannedFile } from '../scan.ts';
import {
  checkAbort, countByRule, dedupeByKey, loadRawCsv, nullable, PendingArtifacts, positional,
  QUARANTINE_COLUMNS, rawJson, sourcesOf, toDouble, wrapIngestError, type IngestEnv, type TableIngestResult,
} from './common.ts';

/** Small JSON result of `ingest.klines`. */
export interface KlinesIngestResult extends TableIngestResult {
  symbols: number;
  rows_by_symbol: Record<string, number>;
  unique_bars_by_symbol: Record<string, number>;
  first_ts: string | null;
  last_ts: string | null;
  superseded: number;
}

/**
 * Ingests exchange klines (contract kind `klines`, e.g. Binance spot exports) into the canonical
 * table `ts TIMESTAMP (bar open, UTC), date DATE (UTC), symbol VARCHAR, open, high, low, close DOUBLE
 * (quote currency), volume DOUBLE (base units), quote_volume DOUBLE, trades BIGINT (NULL when the
 * export lacks it), interval VARCHAR`, sorted by (symbol, ts).
 * Epoch values above `epoch_ms_threshold` are milliseconds, else seconds (two export vintages are
 * stacked in one file); the `date` text column is ignored (it disagrees with `unix` on some old
 * rows). Duplicated bars: the newer (millisecond) vintage wins, the other goes to the quarantine
 * as `duplicate_superseded`; same-vintage exact duplicates collapse; conflicting ones are
 * quarantined. Quarantine rules also: `unparseable`, `missing_required`, `non_positive_price`,
 * `high_below_low`, `implausible_bar` (open and close of one bar differ by more than the factor
 * max_open_close_ratio, e.g. the bogus first bar of the Binance exports).
 */
export async function ingestKlines(loaded: LoadedContract, env: IngestEnv): Promise<KlinesIngestResult> {
  const c = loaded.contract as KlinesContract;
  if (c.source.header === false) throw new UserError(`${loaded.file}: source.header must list the column names for kind klines`);
  const pattern = c.file_pattern ? new RegExp(c.file_pattern) : null;
  const abs = resolveFiles(env.dataRoot, expandGlobs(c.source.files), (m) => {
    throw new InputFileError(m);
  });
  const files: ScannedFile[] = [];
  let header: string[] = [];
  for (const f of abs) {
    checkAbort(env.signal, 'scan');
    const base = pattern?.exec(path.basename(f))?.groups?.base;
    if (c.source.header.some((h) => h.includes('{base}')) && !base) {
      throw new InputFileError(`source file ${f}: its name does not match file_pattern ${c.file_pattern} (needed for the {base} placeholder)`);
    }
    header = c.source.header.map((h) => normalizeHeaderName(h.replaceAll('{base}', base ?? '')));
    files.push(scanDelimitedFile(f, env.dataRoot, { delimiter: c.source.delimiter, expectedHeader: header }));
  }
  const generic = c.source.header.map((h) => normalizeHeaderName(h));
  const col = (k: keyof KlinesContract['columns']) => {
    const name = c.columns[k];
    if (name === undefined) return 'NULL';
    const i = generic.indexOf(normalizeHeaderName(name));
    if (i < 0) throw new UserError(`${loaded.file}: columns.${k} = "${name}" is not in source.header`);
    return nullable(`c${i}`, c.source.null_values);
  };
  const rowsIn = files.reduce((s, f) => s + f.rows, 0);
  if (rowsIn === 0) throw new InputFileError(`dataset ${c.name}: the source files hold no data rows`);
  const pending = new PendingArtifacts(env.store);
  try {
    return await withDuckDB(async (con) => {
      await loadRawCsv(con, 'raw', files, { delimiter: c.source.delimiter, header: true, nColumns: generic.length });
      const strip = c.symbol_strip.replace(/[\]\\^-]/g, '\\$&');
      await con.run(`CREATE TEMP TABLE parsed AS SELECT src, line, ${rawJson(generic, positional(generic.length))} AS raw,
          regexp_replace(${col('symbol')}, '[${strip}]', '', 'g') AS symbol,
          ${col('ts')} AS ts_s0, ${toDouble(col('ts'))} AS epoch,
          ${toDouble(col('open'))} AS open, ${toDouble(col('high'))} AS high, ${toDouble(col('low'))} AS low, ${toDouble(col('close'))} AS close,
          ${toDouble(col('volume'))} AS volume, ${toDouble(col('quote_volume'))} AS quote_volume, ${toDouble(col('trades'))} AS trades,
          ${col('open')} AS open_s, ${col('high')} AS high_s, ${col('low')} AS low_s, ${col('close')} AS close_s,
          ${col('volume')} AS volume_s, ${col('quote_volume')} AS quote_volume_s, ${col('trades')} AS trades_s
        FROM raw`);
      await con.run(`CREATE TEMP TABLE ruled AS SELECT *,
          epoch > ${c.epoch_ms_threshold} AS is_ms,
          make_timestamp(CAST(round(CASE WHEN epoch > ${c.epoch_ms_threshold} THEN epoch / 1000 ELSE epoch END) AS BIGINT) * 1000000) AS ts,
          ts_s0 AS date_s,
          CASE
            WHEN (ts_s0 IS NOT NULL AND epoch IS NULL) OR (open_s IS NOT NULL AND open IS NULL) OR (high_s IS NOT NULL AND high IS NULL)
              OR (low_s IS NOT NULL AND low IS NULL) OR (close_s IS NOT NULL AND close IS NULL) OR (volume_s IS NOT NULL AND volume IS NULL)
              OR (quote_volume_s IS NOT NULL AND quote_volume IS NULL) OR (trades_s IS NOT NULL AND trades IS NULL) THEN 'unparseable'
            WHEN epoch IS NULL OR symbol IS NULL OR open IS NULL OR high IS NULL OR low IS NULL OR close IS NULL THEN 'missing_required'
            WHEN open <= 0 OR high <= 0 OR low <= 0 OR close <= 0 OR volume < 0 THEN 'non_positive_price'
            WHEN high < low THEN 'high_below_low'
            WHEN greatest(open, close) / least(open, close) > ${c.max_open_close_ratio} THEN 'implausible_bar'
          END AS rule
        FROM parsed`);
      await con.run(`CREATE TEMP TABLE quarantine (${QUARANTINE_COLUMNS})`);
      await con.run(`INSERT INTO quarantine SELECT rule, src, line, symbol, date_s, raw,
          CASE rule WHEN 'implausible_bar' THEN format('open/close ratio {:.3f} > {} within one bar', greatest(open, close) / least(open, close), ${c.max_open_close_ratio}) END
        FROM ruled WHERE rule IS NOT NULL`);
      // Unique bars before quality rules (what the exchange delivered), per symbol.
      const unique = await queryRows<{ symbol: string; n: number }>(con, `SELECT symbol, count(DISTINCT ts)::INTEGER AS n FROM ruled WHERE ts IS NOT NULL GROUP BY symbol ORDER BY symbol`);
      // Older vintage superseded by the newer (millisecond) rows of the same bar.
      await con.run(`CREATE TEMP TABLE vint AS SELECT *, bool_or(is_ms) OVER (PARTITION BY symbol, ts) AS has_ms FROM ruled WHERE rule IS NULL`);
      await con.run(`INSERT INTO quarantine SELECT 'duplicate_superseded', src, line, symbol, date_s, raw, 'older export vintage (epoch seconds) of a bar also present in the newer vintage'
        FROM vint WHERE has_ms AND NOT is_ms`);
      await con.run(`CREATE TEMP TABLE vint2 AS SELECT * EXCLUDE (has_ms) FROM vint WHERE is_ms OR NOT has_ms`);
      const duplicates = await dedupeByKey(con, 'vint2', 'keyed', ['symbol', 'ts'], ['open', 'high', 'low', 'close', 'volume', 'quote_volume', 'trades']);
      checkAbort(env.signal, `ingest ${c.name}`);
      await con.run(`CREATE TEMP TABLE canon AS SELECT ts, ts::DATE AS date, symbol, open, high, low, close, volume, quote_volume,
          CAST(trades AS BIGINT) AS trades, '${c.interval}' AS interval FROM keyed`);
      const per = await queryRows<{ symbol: string; n: number }>(con, `SELECT symbol, count(*)::INTEGER AS n FROM canon GROUP BY symbol ORDER BY symbol`);
      const span = (await queryRows<{ a: string | null; b: string | null }>(con, `SELECT strftime(min(ts), '%Y-%m-%dT%H:%M:%SZ') AS a, strftime(max(ts), '%Y-%m-%dT%H:%M:%SZ') AS b FROM canon`))[0]!;
      const rows = per.reduce((s, p) => s + p.n, 0);
      if (!rows) throw new StepError({ message: `dataset ${c.name}: no usable rows after the contract checks`, type: 'IngestError', nonRetryable: true });
      await pending.parquet(con, `SELECT * FROM canon ORDER BY symbol, ts`, 'klines.parquet');
      await pending.parquet(con, `SELECT * FROM quarantine ORDER BY source_file, line, rule`, 'quarantine.parquet');
      const byRule = await countByRule(con, 'quarantine');
      const quarantined = Object.values(byRule).reduce((s, v) => s + v, 0);
      const rowsBySymbol = Object.fromEntries(per.map((p) => [p.symbol, p.n]));
      const uniqueBySymbol = Object.fromEntries(unique.map((p) => [p.symbol, p.n]));
      const manifest = {
        dataset: c.name,
        kind: c.kind,
        schema: 'klines/1: ts TIMESTAMP (UTC bar open), date DATE, symbol, open, high, low, close, volume (base), quote_volume, trades, interval; sorted by (symbol, ts)',
        contract: { file: `configs/data/${c.name}.yml`, digest: loaded.digest, units: c.units, interval: c.interval },
        sources: sourcesOf(files),
        rows_in: rowsIn,
        unique_bars_by_symbol: uniqueBySymbol,
        rows_out: rows,
        rows_by_symbol: rowsBySymbol,
        duplicates_collapsed: duplicates,
        quarantined,
        quarantined_by_rule: byRule,
        first_ts: span.a,
        last_ts: span.b,
      };
      const refs = await pending.commit();
      const manifestRef = await env.store.putJson(manifest, 'manifest.json');
      return {
        dataset: c.name, table: refs['klines.parquet']!, quarantine: refs['quarantine.parquet']!, manifest: manifestRef,
        rows, rows_in: rowsIn, symbols: per.length, rows_by_symbol: rowsBySymbol, unique_bars_by_symbol: uniqueBySymbol,
        first_ts: span.a, last_ts: span.b, quarantined, quarantined_by_rule: byRule, duplicates, superseded: byRule.duplicate_superseded ?? 0,
      };
    });
  } catch (e) {
    pending.discard();
    throw wrapIngestError(c.name, e);
  }
}
