import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore } from '../artifacts/store.ts';
import { loadDatasetContract } from '../data/contract.ts';
import { ingestOhlcv } from '../data/ingest/ohlcv.ts';
import { queryRows, sqlString, withDuckDB } from '../lib/duckdb.ts';
import { dataRoot, PROJECT_ROOT } from '../lib/paths.ts';

/**
 * A dates × symbols panel of a trading signal and next-day returns, the input of the exit MDP.
 * Row-major [T × N]; NaN where missing. `fwdRet[t]` = ln(C_{t+1}/C_t): the return a position held
 * from the close of t earns by the close of t+1 (known only at t+1); `signal[t]` uses data ≤ t.
 */
export interface SignalPanel {
  dates: string[];
  symbols: string[];
  T: number;
  N: number;
  signal: Float64Array;
  fwdRet: Float64Array;
}

/**
 * Builds a panel from closes with the short-term reversal signal s_t = −ln(C_t / C_{t−k})
 * (Jegadeesh 1990; Lehmann 1990), k = `lookback` trading rows of the symbol. Throws for k < 1.
 */
export function reversalPanel(dates: string[], symbols: string[], close: Float64Array, lookback = 5): SignalPanel {
  if (!(lookback >= 1)) throw new RangeError(`reversal lookback must be ≥ 1 day, got ${lookback}`);
  const T = dates.length;
  const N = symbols.length;
  const signal = new Float64Array(T * N).fill(NaN);
  const fwdRet = new Float64Array(T * N).fill(NaN);
  for (let i = 0; i < N; i++) {
    for (let t = 0; t < T; t++) {
      const c = close[t * N + i]!;
      if (t >= lookback) {
        const c0 = close[(t - lookback) * N + i]!;
        if (c > 0 && c0 > 0) signal[t * N + i] = -Math.log(c / c0);
      }
      if (t + 1 < T) {
        const c1 = close[(t + 1) * N + i]!;
        if (c > 0 && c1 > 0) fwdRet[t * N + i] = Math.log(c1 / c);
      }
    }
  }
  return { dates, symbols, T, N, signal, fwdRet };
}

/**
 * Ingests an OHLCV dataset (default `sp500_subset`, 60 names) with `ingest.ohlcv` into a throw-away
 * store, reads the canonical table (docs/contracts.md) and returns the reversal panel. Missing
 * (symbol, date) cells are NaN.
 */
export async function loadReversalPanel(dataset = 'sp500_subset', lookback = 5, root = dataRoot()): Promise<SignalPanel> {
  const loaded = loadDatasetContract(PROJECT_ROOT, dataset);
  if (loaded.contract.kind !== 'ohlcv') throw new RangeError(`dataset ${dataset} is of kind ${loaded.contract.kind}, not ohlcv`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trademl-ohlcv-'));
  try {
    const store = new ArtifactStore(dir);
    const r = await ingestOhlcv(loaded, { store, dataRoot: root });
    const rows = await withDuckDB((con) => queryRows<{ d: string; symbol: string; close: number }>(con,
      `SELECT strftime(date, '%Y-%m-%d') AS d, symbol, close FROM read_parquet(${sqlString(store.path(r.table))}) ORDER BY date, symbol`));
    const dates = [...new Set(rows.map((x) => x.d))].sort();
    const symbols = [...new Set(rows.map((x) => x.symbol))].sort();
    const di = new Map(dates.map((d, i) => [d, i]));
    const si = new Map(symbols.map((s, i) => [s, i]));
    const close = new Float64Array(dates.length * symbols.length).fill(NaN);
    for (const x of rows) close[di.get(x.d)! * symbols.length + si.get(x.symbol)!] = x.close;
    return reversalPanel(dates, symbols, close, lookback);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
