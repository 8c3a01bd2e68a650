import path from 'node:path';
import { withDuckDB, sqlString } from '../../lib/duckdb.ts';
import { dataRoot } from '../../lib/paths.ts';

/** Folder of the per-ticker S&P 500 CSVs in the shared data. */
export const SP500_DIR = () => path.join(dataRoot(), 'sp500_all_stocks_5yr', 'individual_stocks_5yr');

/**
 * Test fixture: writes a canonical daily OHLCV Parquet (date DATE, symbol VARCHAR,
 * open/high/low/close DOUBLE, volume DOUBLE; sorted by symbol, date) for `symbols` straight from the
 * raw S&P CSVs, bypassing ingest (so tests of later stages do not depend on ingest).
 * Rows with a NULL/non-positive close are left out.
 */
export async function writeSp500Slice(outPath: string, symbols: string[], opts: { from?: string; to?: string } = {}): Promise<string> {
  const files = symbols.map((s) => sqlString(path.join(SP500_DIR(), `${s}_data.csv`))).join(', ');
  const where = [`close > 0`, opts.from ? `date >= DATE ${sqlString(opts.from)}` : '', opts.to ? `date <= DATE ${sqlString(opts.to)}` : '']
    .filter(Boolean)
    .join(' AND ');
  await withDuckDB(async (con) => {
    await con.run(`COPY (
      SELECT date, Name AS symbol, open, high, low, close, CAST(volume AS DOUBLE) AS volume
      FROM read_csv([${files}], header=true,
        columns={'date':'DATE','open':'DOUBLE','high':'DOUBLE','low':'DOUBLE','close':'DOUBLE','volume':'BIGINT','Name':'VARCHAR'})
      WHERE ${where}
      ORDER BY symbol, date
    ) TO ${sqlString(outPath)} (FORMAT parquet)`);
  });
  return outPath;
}

/** A fixed, diverse 30-symbol slice used across tests (sectors, a late starter, the LNT bad print). */
export const TEST_SYMBOLS = [
  'AAPL', 'MSFT', 'AMZN', 'JPM', 'XOM', 'JNJ', 'PG', 'KO', 'PFE', 'WMT',
  'BAC', 'CVX', 'GE', 'INTC', 'CSCO', 'T', 'VZ', 'MRK', 'DIS', 'HD',
  'MCD', 'NKE', 'LNT', 'BAX', 'EBAY', 'NFLX', 'AMD', 'GS', 'PYPL', 'F',
];
