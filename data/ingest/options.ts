import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { StepError, UserError } from '../../lib/errors.ts';
import { expandGlobs, type LoadedContract, type OptionsContract } from '../contract.ts';
import { InputFileError, normalizeHeaderName } from '../scan.ts';
import {
  checkAbort, countByRule, dedupeByKey, loadRawCsv, nullable, PendingArtifacts, positional,
  QUARANTINE_COLUMNS, rawJson, sourcesOf, toDouble, wrapIngestError, type IngestEnv, type TableIngestResult,
} from './common.ts';
import { scanSources } from './ohlcv.ts';

/** Small JSON result of `ingest.options_chain`. */
export interface OptionsIngestResult extends TableIngestResult {
  dates: number;
  expiries: number;
  underlying_filled: number;
}

const NUMERIC = ['open', 'high', 'low', 'close', 'ltp', 'settle', 'contracts', 'turnover', 'premium_turnover', 'open_interest', 'oi_change', 'underlying_value'] as const;

/**
 * Ingests an exchange option-chain export (contract kind `options_chain`) into the canonical table
 * `date DATE, underlying VARCHAR, expiry DATE, option_type VARCHAR ('C'|'P'), strike DOUBLE,
 * open, high, low, close, ltp, settle DOUBLE (currency units), contracts DOUBLE (contracts traded),
 * turnover, premium_turnover DOUBLE (currency units: file unit × turnover_multiplier),
 * open_interest, oi_change DOUBLE (as delivered: NSE reports units of the underlying, not contracts),
 * underlying_value DOUBLE (filled from another row of the same date when missing)`,
 * sorted by (date, expiry, option_type, strike). Missing markers (`null_values`, e.g. `-`) → NULL.
 * Quarantine rules: `unparseable`, `missing_required` (date, expiry, type, strike),
 * `unknown_option_type`, `non_positive_price` (strike ≤ 0 or a negative price), `high_below_low`,
 * `conflicting_duplicate`; exact duplicates collapse and are counted.
 */
export async function ingestOptionsChain(loaded: LoadedContract, env: IngestEnv): Promise<OptionsIngestResult> {
  const c = loaded.contract as OptionsContract;
  if (c.source.header === false) throw new UserError(`${loaded.file}: source.header must list the column names for kind options_chain`);
  const header = c.source.header.map(normalizeHeaderName);
  const col = (k: keyof OptionsContract['columns']) => {
    const i = header.indexOf(normalizeHeaderName(c.columns[k]));
    if (i < 0) throw new UserError(`${loaded.file}: columns.${k} = "${c.columns[k]}" is not in source.header`);
    return nullable(`c${i}`, c.source.null_values);
  };
  const files = scanSources(env.dataRoot, expandGlobs(c.source.files), { delimiter: c.source.delimiter, expectedHeader: header }, env.signal);
  const rowsIn = files.reduce((s, f) => s + f.rows, 0);
  if (rowsIn === 0) throw new InputFileError(`dataset ${c.name}: the source files hold no data rows`);
  const pending = new PendingArtifacts(env.store);
  try {
    return await withDuckDB(async (con) => {
      await loadRawCsv(con, 'raw', files, { delimiter: c.source.delimiter, header: true, nColumns: header.length });
      checkAbort(env.signal, `ingest ${c.name}`);
      const typeCase = Object.entries(c.option_types).map(([k, v]) => `WHEN ${sqlString(k.toUpperCase())} THEN ${sqlString(v)}`).join(' ');
      await con.run(`CREATE TEMP TABLE parsed AS SELECT src, line, ${rawJson(header, positional(header.length))} AS raw,
          ${col('underlying')} AS symbol, ${col('date')} AS date_s, ${col('expiry')} AS expiry_s, ${col('option_type')} AS type_s, ${col('strike')} AS strike_s,
          try_strptime(${col('date')}, ${sqlString(c.date_format)})::DATE AS date,
          try_strptime(${col('expiry')}, ${sqlString(c.date_format)})::DATE AS expiry,
          CASE upper(${col('option_type')}) ${typeCase} END AS option_type,
          ${toDouble(col('strike'))} AS strike,
          ${NUMERIC.map((k) => `${col(k)} AS ${k}_s, ${toDouble(col(k))} AS ${k}`).join(',\n          ')}
        FROM raw`);
      const unparseable = NUMERIC.map((k) => `(${k}_s IS NOT NULL AND ${k} IS NULL)`).join(' OR ');
      await con.run(`CREATE TEMP TABLE ruled AS SELECT *, CASE
          WHEN (date_s IS NOT NULL AND date IS NULL) OR (expiry_s IS NOT NULL AND expiry IS NULL) OR (strike_s IS NOT NULL AND strike IS NULL) OR ${unparseable} THEN 'unparseable'
          WHEN date IS NULL OR expiry IS NULL OR type_s IS NULL OR strike IS NULL OR symbol IS NULL THEN 'missing_required'
          WHEN option_type IS NULL THEN 'unknown_option_type'
          WHEN strike <= 0 OR open < 0 OR high < 0 OR low < 0 OR close < 0 OR ltp < 0 OR settle < 0 THEN 'non_positive_price'
          WHEN high < low THEN 'high_below_low'
        END AS rule FROM parsed`);
      await con.run(`CREATE TEMP TABLE quarantine (${QUARANTINE_COLUMNS})`);
      await con.run(`INSERT INTO quarantine SELECT rule, src, line, symbol, date_s, raw, NULL FROM ruled WHERE rule IS NOT NULL`);
      const duplicates = await dedupeByKey(con, 'ruled', 'keyed', ['symbol', 'date', 'expiry', 'option_type', 'strike'], [...NUMERIC]);
      const mult = c.turnover_multiplier;
      await con.run(`CREATE TEMP TABLE canon AS SELECT date, symbol AS underlying, expiry, option_type, strike,
          open, high, low, close, ltp, settle, contracts, turnover * ${mult} AS turnover, premium_turnover * ${mult} AS premium_turnover,
          open_interest, oi_change,
          coalesce(underlying_value, max(underlying_value) OVER (PARTITION BY symbol, date)) AS underlying_value,
          underlying_value IS NULL AS uv_missing
        FROM keyed`);
      const st = (await queryRows<{ rows: number; dates: number; expiries: number; filled: number; still: number }>(con,
        `SELECT count(*)::INTEGER AS rows, count(DISTINCT date)::INTEGER AS dates, count(DISTINCT expiry)::INTEGER AS expiries,
                count(*) FILTER (WHERE uv_missing AND underlying_value IS NOT NULL)::INTEGER AS filled,
                count(*) FILTER (WHERE underlying_value IS NULL)::INTEGER AS still FROM canon`))[0]!;
      if (!st.rows) throw new StepError({ message: `dataset ${c.name}: no usable rows after the contract checks`, type: 'IngestError', nonRetryable: true });
      await pending.parquet(con, `SELECT * EXCLUDE (uv_missing) FROM canon ORDER BY date, expiry, option_type, strike, underlying`, 'options_chain.parquet');
      await pending.parquet(con, `SELECT * FROM quarantine ORDER BY source_file, line, rule`, 'quarantine.parquet');
      const byRule = await countByRule(con, 'quarantine');
      const quarantined = Object.values(byRule).reduce((s, v) => s + v, 0);
      const manifest = {
        dataset: c.name,
        kind: c.kind,
        schema: 'options_chain/1: date, underlying, expiry, option_type C|P, strike, open, high, low, close, ltp, settle, contracts, turnover, premium_turnover, open_interest, oi_change, underlying_value; sorted by (date, expiry, option_type, strike)',
        contract: { file: `configs/data/${c.name}.yml`, digest: loaded.digest, units: c.units, timezone: c.timezone },
        sources: sourcesOf(files),
        rows_in: rowsIn,
        rows_out: st.rows,
        duplicates_collapsed: duplicates,
        quarantined,
        quarantined_by_rule: byRule,
        underlying_value_filled: st.filled,
        underlying_value_missing: st.still,
        dates: st.dates,
        expiries: st.expiries,
      };
      const refs = await pending.commit();
      const manifestRef = await env.store.putJson(manifest, 'manifest.json');
      return {
        dataset: c.name, table: refs['options_chain.parquet']!, quarantine: refs['quarantine.parquet']!, manifest: manifestRef,
        rows: st.rows, rows_in: rowsIn, dates: st.dates, expiries: st.expiries, quarantined, quarantined_by_rule: byRule, duplicates, underlying_filled: st.filled,
      };
    });
  } catch (e) {
    pending.discard();
    throw wrapIngestError(c.name, e);
  }
}
