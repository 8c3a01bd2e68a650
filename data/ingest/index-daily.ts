import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { StepError } from '../../lib/errors.ts';
import { resolveFiles, type IndexContract, type LoadedContract } from '../contract.ts';
import { InputFileError, normalizeHeaderName, scanDelimitedFile, type ScannedFile } from '../scan.ts';
import { checkAbort, countByRule, dedupeByKey, loadRawCsv, nullable, PendingArtifacts, positional, QUARANTINE_COLUMNS, rawJson, sourcesOf, toDouble, wrapIngestError, type IngestEnv, type TableIngestResult } from './common.ts';

/** Small JSON result of `ingest.index`. */
export interface IndexIngestResult extends TableIngestResult {
  symbols: number;
  rows_by_symbol: Record<string, number>;
  dates: number;
  superseded: number;
}

/**
 * Ingests daily index levels (contract kind `index`) from several files, each declaring its
 * symbol, header, column mapping, date format and `priority`, into the canonical daily OHLCV
 * table (`date, symbol, open, high, low, close, volume` — index points, volume NULL when the source
 * has none) plus `source VARCHAR` (the file that supplied the row); sorted by (symbol, date).
 * Where files overlap on (symbol, date) the lowest priority number wins; the others are counted as
 * `superseded` (not quarantined: they are valid rows of a less preferred source) and their largest
 * relative close difference is recorded in the manifest. Quarantine rules: `unparseable`,
 * `missing_required` (date or close), `non_positive_price` (any price ≤ 0, e.g. zero opens),
 * `high_below_low`, `conflicting_duplicate` (within one file).
 */
export async function ingestIndex(loaded: LoadedContract, env: IngestEnv): Promise<IndexIngestResult> {
  const c = loaded.contract as IndexContract;
  const pending = new PendingArtifacts(env.store);
  try {
    return await withDuckDB(async (con) => {
      await con.run(`CREATE TEMP TABLE quarantine (${QUARANTINE_COLUMNS})`);
      await con.run(`CREATE TEMP TABLE allrows (src VARCHAR, line BIGINT, raw VARCHAR, symbol VARCHAR, date_s VARCHAR, date DATE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, priority INTEGER, rule VARCHAR)`);
      const scanned: ScannedFile[] = [];
      for (const f of c.source.files) {
        checkAbort(env.signal, `ingest ${c.name}`);
        const [abs] = resolveFiles(env.dataRoot, [f.path], (m) => {
          throw new InputFileError(m);
        });
        const header = f.header.map(normalizeHeaderName);
        const sf = scanDelimitedFile(abs!, env.dataRoot, { delimiter: c.source.delimiter, expectedHeader: header });
        scanned.push(sf);
        await loadRawCsv(con, 'raw', [sf], { delimiter: c.source.delimiter, header: true, nColumns: header.length });
        const col = (k: keyof typeof f.columns) => {
          const name = f.columns[k];
          if (name === undefined) return 'NULL::VARCHAR';
          const i = header.indexOf(normalizeHeaderName(name));
          if (i < 0) throw new InputFileError(`${loaded.file}: ${f.path} columns.${k} = "${name}" is not in its header`);
          return nullable(`c${i}`, c.source.null_values);
        };
        await con.run(`INSERT INTO allrows SELECT src, line, raw, symbol, date_s, date, open, high, low, close, volume, ${f.priority}, CASE
            WHEN (date_s IS NOT NULL AND date IS NULL) OR (o_s IS NOT NULL AND open IS NULL) OR (h_s IS NOT NULL AND high IS NULL)
              OR (l_s IS NOT NULL AND low IS NULL) OR (c_s IS NOT NULL AND close IS NULL) OR (v_s IS NOT NULL AND volume IS NULL) THEN 'unparseable'
            WHEN date IS NULL OR close IS NULL THEN 'missing_required'
            WHEN close <= 0 OR open <= 0 OR high <= 0 OR low <= 0 OR volume < 0 THEN 'non_positive_price'
            WHEN high < low THEN 'high_below_low'
          END
          FROM (SELECT src, line, ${rawJson(header, positional(header.length))} AS raw, ${sqlString(f.symbol)} AS symbol,
                  ${col('date')} AS date_s, ${col('open')} AS o_s, ${col('high')} AS h_s, ${col('low')} AS l_s, ${col('close')} AS c_s, ${col('volume')} AS v_s,
                  try_strptime(${col('date')}, ${sqlString(f.date_format)})::DATE AS date,
                  ${toDouble(col('open'))} AS open, ${toDouble(col('high'))} AS high, ${toDouble(col('low'))} AS low, ${toDouble(col('close'))} AS close, ${toDouble(col('volume'))} AS volume
                FROM raw)`);
      }
      const rowsIn = scanned.reduce((s, f) => s + f.rows, 0);
      await con.run(`INSERT INTO quarantine SELECT rule, src, line, symbol, date_s, raw, NULL FROM allrows WHERE rule IS NOT NULL`);
      const duplicates = await dedupeByKey(con, 'allrows', 'keyed', ['symbol', 'date', 'src'], ['open', 'high', 'low', 'close', 'volume']);
      await con.run(`CREATE TEMP TABLE ranked AS SELECT *, row_number() OVER (PARTITION BY symbol, date ORDER BY priority, src) AS pr,
          first_value(close) OVER (PARTITION BY symbol, date ORDER BY priority, src) AS best_close FROM keyed`);
      const sup = (await queryRows<{ n: number; maxdiff: number | null }>(con, `SELECT count(*) FILTER (WHERE pr > 1)::INTEGER AS n, max(abs(close / best_close - 1)) FILTER (WHERE pr > 1) AS maxdiff FROM ranked`))[0]!;
      await con.run(`CREATE TEMP TABLE canon AS SELECT date, symbol, open, high, low, close, volume, src AS source FROM ranked WHERE pr = 1`);
      const per = await queryRows<{ symbol: string; n: number }>(con, `SELECT symbol, count(*)::INTEGER AS n FROM canon GROUP BY symbol ORDER BY symbol`);
      const dates = Number((await queryRows<{ n: number }>(con, `SELECT count(DISTINCT date)::INTEGER AS n FROM canon`))[0]!.n);
      const rows = per.reduce((s, p) => s + p.n, 0);
      if (!rows) throw new StepError({ message: `dataset ${c.name}: no usable rows after the contract checks`, type: 'IngestError', nonRetryable: true });
      await pending.parquet(con, `SELECT * FROM canon ORDER BY symbol, date`, 'index_daily.parquet');
      await pending.parquet(con, `SELECT * FROM quarantine ORDER BY source_file, line, rule`, 'quarantine.parquet');
      const byRule = await countByRule(con, 'quarantine');
      const quarantined = Object.values(byRule).reduce((s, v) => s + v, 0);
      const rowsBySymbol = Object.fromEntries(per.map((p) => [p.symbol, p.n]));
      const manifest = {
        dataset: c.name,
        kind: c.kind,
        schema: 'index/1: date DATE, symbol VARCHAR, open/high/low/close DOUBLE (index points), volume DOUBLE (NULL when absent), source VARCHAR; sorted by (symbol, date)',
        contract: { file: `configs/data/${c.name}.yml`, digest: loaded.digest, units: c.units, timezone: c.timezone, calendar: c.calendar },
        sources: sourcesOf(scanned).map((s, i) => ({ ...s, symbol: c.source.files[i]!.symbol, priority: c.source.files[i]!.priority })),
        rows_in: rowsIn,
        rows_out: rows,
        rows_by_symbol: rowsBySymbol,
        duplicates_collapsed: duplicates,
        superseded_by_priority: sup.n,
        superseded_max_rel_close_diff: sup.maxdiff,
        quarantined,
        quarantined_by_rule: byRule,
      };
      const refs = await pending.commit();
      const manifestRef = await env.store.putJson(manifest, 'manifest.json');
      return {
        dataset: c.name, table: refs['index_daily.parquet']!, quarantine: refs['quarantine.parquet']!, manifest: manifestRef,
        rows, rows_in: rowsIn, symbols: per.length, rows_by_symbol: rowsBySymbol, dates, quarantined, quarantined_by_rule: byRule, duplicates, superseded: sup.n,
      };
    });
  } catch (e) {
    pending.discard();
    throw wrapIngestError(c.name, e);
  }
}
