/**
 * The S&P 500 daily panel (`sp500_all_stocks_5yr`, DATA.md §1) through the project's
 * `ingest.ohlcv`, as bars for market breadth (router/breadth.ts).
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { ArtifactStore } from '../../artifacts/store.ts';
import { loadDatasetContract } from '../../data/contract.ts';
import { ingestOhlcv } from '../../data/ingest/ohlcv.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { dataRoot, PROJECT_ROOT } from '../../lib/paths.ts';
import type { PanelBar } from '../router/breadth.ts';

/** Ingests `dataset` (default the S&P 500 panel) into a throw-away store and returns its bars. */
export async function loadEquityPanel(dataset = 'sp500_all_stocks_5yr', root: string = dataRoot()): Promise<PanelBar[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trademl-equities-'));
  try {
    const store = new ArtifactStore(path.join(dir, 'artifacts'));
    const r = await ingestOhlcv(loadDatasetContract(PROJECT_ROOT, dataset), { store, dataRoot: root });
    const file = store.path(r.table);
    return await withDuckDB((con) =>
      queryRows<PanelBar>(con, `SELECT strftime(date, '%Y-%m-%d') AS date, symbol, close, volume FROM read_parquet(${sqlString(file)}) ORDER BY symbol, date`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
