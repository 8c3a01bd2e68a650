/**
 * Loading the canonical option-chain table (`ingest.options_chain`, docs/contracts.md) into plain
 * rows for the options domain modules. The rows keep the table's units: prices and strikes in INR
 * (index points × ₹1), `contracts` in contracts traded, `oi`/`oiChange` in units of the index
 * (contracts × lot size, as NSE reports them), turnover in INR. Missing values stay `null`.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { ArtifactStore } from '../../artifacts/store.ts';
import { loadDatasetContract } from '../../data/contract.ts';
import { ingestOptionsChain } from '../../data/ingest/options.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { dataRoot, PROJECT_ROOT } from '../../lib/paths.ts';

/** Option right: call or put. */
export type OptionType = 'C' | 'P';

/** One contract on one date (a row of the canonical `options_chain/1` table). */
export interface ChainRow {
  /** Trade date, `YYYY-MM-DD` (IST session). */
  date: string;
  /** Expiry date, `YYYY-MM-DD`. */
  expiry: string;
  type: OptionType;
  /** Strike, INR (index points). */
  strike: number;
  open: number | null;
  high: number | null;
  low: number | null;
  close: number | null;
  /** Exchange settlement price, INR per unit of the index. */
  settle: number | null;
  /** Contracts traded that day (contracts, not index units). */
  contracts: number | null;
  /** Notional turnover, INR (strike + premium) × contracts × lot. */
  turnover: number | null;
  /** Premium turnover, INR (premium × contracts × lot). */
  premiumTurnover: number | null;
  /** Open interest in units of the index (contracts × lot size). */
  oi: number | null;
  /** Change in open interest, units of the index. */
  oiChange: number | null;
  /** NIFTY 50 close that day (filled from another row of the date; null on dates without any). */
  underlying: number | null;
}

/** Parquet columns → ChainRow, dates as ISO text. */
const SELECT = `SELECT strftime(date, '%Y-%m-%d') AS date, strftime(expiry, '%Y-%m-%d') AS expiry, option_type AS type, strike,
  open, high, low, close, settle, contracts, turnover, premium_turnover AS "premiumTurnover", open_interest AS oi,
  oi_change AS "oiChange", underlying_value AS underlying`;

/**
 * Reads an `options_chain/1` Parquet file (the `table` artifact of `ingest.options_chain`) into rows,
 * sorted by (date, expiry, type, strike). Throws when the file is missing or lacks a column.
 */
export async function readChainParquet(file: string): Promise<ChainRow[]> {
  return withDuckDB((con) =>
    queryRows<ChainRow>(con, `${SELECT} FROM read_parquet(${sqlString(file)}) ORDER BY date, expiry, option_type, strike`),
  );
}

/**
 * Ingests the shipped NIFTY chains (`configs/data/nse_nifty_options_eod.yml`, DATA.md §2) with the
 * project's ingest into a throw-away artifact store and returns the canonical rows
 * (119,874 on the shipped data). `root` overrides the data folder (default {@link dataRoot}).
 */
export async function loadNiftyChain(root: string = dataRoot()): Promise<ChainRow[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trademl-options-'));
  try {
    const store = new ArtifactStore(path.join(dir, 'artifacts'));
    const loaded = loadDatasetContract(PROJECT_ROOT, 'nse_nifty_options_eod');
    const r = await ingestOptionsChain(loaded, { store, dataRoot: root });
    return await readChainParquet(store.path(r.table));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Rows grouped by date, dates ascending; rows keep their (expiry, type, strike) order. */
export function groupByDate(rows: readonly ChainRow[]): Map<string, ChainRow[]> {
  const out = new Map<string, ChainRow[]>();
  const sorted = [...rows].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  for (const r of sorted) {
    let g = out.get(r.date);
    if (!g) out.set(r.date, (g = []));
    g.push(r);
  }
  return out;
}

/** Rows of one date grouped by expiry, expiries ascending. */
export function groupByExpiry(rows: readonly ChainRow[]): Map<string, ChainRow[]> {
  const out = new Map<string, ChainRow[]>();
  for (const e of [...new Set(rows.map((r) => r.expiry))].sort()) out.set(e, []);
  for (const r of rows) out.get(r.expiry)!.push(r);
  return out;
}

/** Where a contract's price comes from. */
export type PriceSource = 'settle' | 'close' | 'expiry_intrinsic';

/**
 * The option's price (INR per unit of the index): Settle, else Close; null when neither exists.
 * On the expiry date NSE's Settle Price column holds the UNDERLYING's final settlement price, the same
 * on every strike (checked on all 9 expiries of the shipped chains; DATA.md does not mention it), so
 * there the price is the exercise value max(S_final − K, 0) for a call and max(K − S_final, 0) for a put.
 */
export function optionPrice(r: ChainRow): { price: number; source: PriceSource } | null {
  if (r.date === r.expiry && r.settle !== null && Number.isFinite(r.settle)) {
    return { price: Math.max(r.type === 'C' ? r.settle - r.strike : r.strike - r.settle, 0), source: 'expiry_intrinsic' };
  }
  if (r.settle !== null && Number.isFinite(r.settle)) return { price: r.settle, source: 'settle' };
  if (r.close !== null && Number.isFinite(r.close)) return { price: r.close, source: 'close' };
  return null;
}
