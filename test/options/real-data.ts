/**
 * Real NIFTY chains and India index closes for the options tests, ingested once per machine:
 * the rows are cached as JSON under the OS temp folder, keyed by the sha256 of the source files'
 * names, sizes and mtimes and of the ingest code and contracts that produce them, so a change to
 * the data, the ingest or the contracts re-ingests.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dataRoot, PROJECT_ROOT } from '../../lib/paths.ts';
import { loadNiftyChain, type ChainRow } from '../../options/data/chain.ts';
import { loadIndiaIndices, type IndexSeries } from '../../options/data/index-series.ts';
import { loadEquityPanel } from '../../options/data/equities.ts';
import { breadth, type BreadthRow } from '../../options/router/breadth.ts';

/** True when the shipped NIFTY chains and India indices are present. */
export function hasOptionsData(): boolean {
  return existsSync(path.join(dataRoot(), 'nse_nifty_options_eod')) && existsSync(path.join(dataRoot(), 'india_indices'));
}

function cacheKey(dirs = ['nse_nifty_options_eod', 'india_indices'], code: string[] = []): string {
  const h = createHash('sha256');
  for (const dir of dirs) {
    for (const f of readdirSync(path.join(dataRoot(), dir)).sort()) {
      const s = statSync(path.join(dataRoot(), dir, f));
      h.update(`${dir}/${f}:${s.size}:${s.mtimeMs}\n`);
    }
  }
  for (const f of ['data/ingest/options.ts', 'data/ingest/index-daily.ts', 'data/ingest/common.ts', 'configs/data/nse_nifty_options_eod.yml', 'configs/data/india_indices.yml', 'options/data/chain.ts', 'options/data/index-series.ts', ...code]) {
    h.update(readFileSync(path.join(PROJECT_ROOT, f)));
  }
  return h.digest('hex').slice(0, 24);
}

async function cached<T>(name: string, make: () => Promise<T>, key: string = cacheKey()): Promise<T> {
  const dir = path.join(os.tmpdir(), 'trademl-options-cache');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${key}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as T;
  const v = await make();
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(v));
  renameSync(tmp, file);
  return v;
}

/** The 119,874 canonical chain rows (ingest.options_chain of nse_nifty_options_eod). */
export function realChain(): Promise<ChainRow[]> {
  return cached('chain', () => loadNiftyChain());
}

/** NIFTY 50 and INDIA VIX closes (ingest.index of india_indices). */
export function realIndices(): Promise<IndexSeries> {
  return cached('indices', () => loadIndiaIndices());
}

/** A/D ratio and TRIN of the S&P 500 panel (ingest.ohlcv of sp500_all_stocks_5yr → router/breadth.ts). */
export function realSp500Breadth(): Promise<BreadthRow[]> {
  return cached('sp500-breadth', async () => breadth(await loadEquityPanel()), cacheKey(['sp500_all_stocks_5yr/individual_stocks_5yr'], ['data/ingest/ohlcv.ts', 'configs/data/sp500_all_stocks_5yr.yml', 'options/data/equities.ts', 'options/router/breadth.ts']));
}
