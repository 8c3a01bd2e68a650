/**
 * Daily index closes (NIFTY 50, INDIA VIX) from the `india_indices` dataset through the project's
 * `ingest.index` (data/ingest/index-daily.ts, priority rules of configs/data/india_indices.yml).
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { ArtifactStore } from '../../artifacts/store.ts';
import { loadDatasetContract } from '../../data/contract.ts';
import { ingestIndex } from '../../data/ingest/index-daily.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { dataRoot, PROJECT_ROOT } from '../../lib/paths.ts';

/** A daily close, index points (VIX: annualised vol in percent). */
export interface DailyClose {
  date: string;
  close: number;
}

/** Closes per symbol, each ascending by date. */
export type IndexSeries = Record<string, DailyClose[]>;

/**
 * Ingests `india_indices` into a throw-away store and returns the closes of `symbols`
 * (default NIFTY 50 and INDIA VIX). Throws when a symbol is absent from the dataset.
 */
export async function loadIndiaIndices(symbols: string[] = ['NIFTY 50', 'INDIA VIX'], root: string = dataRoot()): Promise<IndexSeries> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trademl-indices-'));
  try {
    const store = new ArtifactStore(path.join(dir, 'artifacts'));
    const r = await ingestIndex(loadDatasetContract(PROJECT_ROOT, 'india_indices'), { store, dataRoot: root });
    const file = store.path(r.table);
    const rows = await withDuckDB((con) =>
      queryRows<{ symbol: string; date: string; close: number }>(con,
        `SELECT symbol, strftime(date, '%Y-%m-%d') AS date, close FROM read_parquet(${sqlString(file)})
         WHERE symbol IN (${symbols.map(sqlString).join(', ')}) ORDER BY symbol, date`),
    );
    const out: IndexSeries = {};
    for (const s of symbols) {
      out[s] = rows.filter((x) => x.symbol === s).map((x) => ({ date: x.date, close: x.close }));
      if (out[s]!.length === 0) throw new Error(`india_indices has no rows for symbol "${s}" (known: NIFTY 50, NIFTY BANK, INDIA VIX)`);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Close on `date` or null; `series` ascending by date (binary search). */
export function closeOn(series: readonly DailyClose[], date: string): number | null {
  let lo = 0;
  let hi = series.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const d = series[mid]!.date;
    if (d === date) return series[mid]!.close;
    if (d < date) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}

/** The closes with date ≤ `date` (a point-in-time prefix; `series` ascending). */
export function upTo(series: readonly DailyClose[], date: string): DailyClose[] {
  let lo = 0;
  let hi = series.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (series[mid]!.date <= date) lo = mid + 1;
    else hi = mid;
  }
  return series.slice(0, lo);
}
