import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore } from '../artifacts/store.ts';
import { loadDatasetContract } from '../data/contract.ts';
import { ingestKlines } from '../data/ingest/klines.ts';
import { queryRows, sqlString, withDuckDB } from '../lib/duckdb.ts';
import { dataRoot, PROJECT_ROOT } from '../lib/paths.ts';

/** Hourly bars of one symbol as columns; `ts` = bar open, epoch seconds UTC; prices in quote currency (USDT). */
export interface Bars {
  symbol: string;
  ts: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  /** Base-asset volume. */
  volume: Float64Array;
}

/** Reads the canonical `ingest.klines` table (docs/contracts.md) Parquet into {@link Bars} per symbol, sorted by ts. */
export async function readKlines(parquet: string): Promise<Bars[]> {
  return withDuckDB(async (con) => {
    const rows = await queryRows<{ symbol: string; t: number; open: number; high: number; low: number; close: number; volume: number | null }>(con,
      `SELECT symbol, epoch(ts)::DOUBLE AS t, open, high, low, close, volume FROM read_parquet(${sqlString(parquet)}) ORDER BY symbol, ts`);
    const by = new Map<string, typeof rows>();
    for (const r of rows) {
      let a = by.get(r.symbol);
      if (!a) by.set(r.symbol, (a = []));
      a.push(r);
    }
    return [...by.entries()].map(([symbol, rs]) => ({
      symbol,
      ts: Float64Array.from(rs, (r) => r.t), open: Float64Array.from(rs, (r) => r.open), high: Float64Array.from(rs, (r) => r.high),
      low: Float64Array.from(rs, (r) => r.low), close: Float64Array.from(rs, (r) => r.close), volume: Float64Array.from(rs, (r) => r.volume ?? 0),
    }));
  });
}

const cache = new Map<string, Promise<Bars[]>>();

/**
 * Ingests a `klines` dataset (default `crypto_binance_spot_1h`) with `ingest.klines` into a throw-away
 * store and reads it back (deduplicated vintages, bogus first bar quarantined by the ingest). Memoised.
 */
export function loadKlines(dataset = 'crypto_binance_spot_1h', root = dataRoot()): Promise<Bars[]> {
  const key = `${dataset}|${root}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const loaded = loadDatasetContract(PROJECT_ROOT, dataset);
      if (loaded.contract.kind !== 'klines') throw new RangeError(`dataset ${dataset} is of kind ${loaded.contract.kind}, not klines`);
      const dir = mkdtempSync(path.join(os.tmpdir(), 'trademl-klines-'));
      try {
        const store = new ArtifactStore(dir);
        const r = await ingestKlines(loaded, { store, dataRoot: root });
        return await readKlines(store.path(r.table));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    })();
    cache.set(key, p);
  }
  return p;
}

/** Bars of `symbol` (e.g. BTCUSDT); throws listing the symbols present otherwise. */
export async function loadBars(symbol: string, dataset = 'crypto_binance_spot_1h'): Promise<Bars> {
  const all = await loadKlines(dataset);
  const b = all.find((x) => x.symbol === symbol);
  if (!b) throw new RangeError(`no bars for ${symbol} in ${dataset}; symbols: ${all.map((x) => x.symbol).join(', ')}`);
  return b;
}
