/**
 * Shared plumbing of the execution kinds: the order-book inputs, reading a LOB session, hourly bars
 * or a daily signal panel from the upstream artifacts, and storing a study's JSON. Heavy modules
 * (DuckDB readers) are imported inside the functions, so importing a kind stays cheap.
 */
import { z } from 'zod';
import type { ArtifactStore } from '../../artifacts/store.ts';
import { orderbookMessages, orderbookSnapshots } from '../../contracts/market.ts';
import type { ContractValue } from '../../contracts/define.ts';
import type { SignalPanel } from '../../decisions/panel.ts';
import { InputError } from '../../lib/errors.ts';
import type { LobSession } from '../../lob/types.ts';
import type { Bars } from '../../marketmaking/klines.ts';

/** The order-book inputs every LOB study consumes (nearest `ingest.lob` upstream). */
export const lobInputs = {
  messages: { contract: orderbookMessages, description: 'LOB event messages (ingest.lob)' },
  book: { contract: orderbookSnapshots, description: 'LOB book snapshots after every message (ingest.lob)' },
};

/** `with.symbol` of a LOB study. */
export const symbolField = z.string().min(1).default('GOOG').describe('symbol of the LOB session to study (the dataset holds one session per symbol and date)');

/** An optional positive integer `with` field (bootstrap replicates). */
export const repsField = z.number().int().min(20).optional().describe('bootstrap replicates of every block-bootstrap interval (default: each estimator\'s own, 200–500)');

/**
 * Every LOB session of the upstream `ingest.lob` artifacts (lob/load.ts readLobArtifacts; prices
 * converted to the simulator's LOBSTER units, 10,000 per USD, whatever the source's scale).
 */
export async function readLobSessions(store: ArtifactStore, messages: ContractValue<typeof orderbookMessages>, book: ContractValue<typeof orderbookSnapshots>): Promise<LobSession[]> {
  const { readLobArtifacts } = await import('../../lob/load.ts');
  const { PRICE_UNITS_PER_USD } = await import('../../lob/types.ts');
  return readLobArtifacts(store.path(messages), store.path(book), PRICE_UNITS_PER_USD);
}

/**
 * The one session of `symbol` among the upstream LOB artifacts. Throws an InputError naming the
 * sessions present when there is none, or more than one (several dates), of the symbol.
 */
export async function readLobSession(store: ArtifactStore, messages: ContractValue<typeof orderbookMessages>, book: ContractValue<typeof orderbookSnapshots>, symbol: string, uses: string): Promise<LobSession> {
  const all = await readLobSessions(store, messages, book);
  const mine = all.filter((s) => s.symbol === symbol);
  const present = all.map((s) => `${s.symbol} ${s.date}`).join(', ') || 'none';
  if (mine.length !== 1) {
    throw new InputError({ message: `${uses}: dataset ${messages.dataset} holds ${mine.length} sessions of ${symbol} (sessions: ${present}); set with.symbol to one of them` });
  }
  return mine[0]!;
}

/** Hourly bars of `symbol` from an upstream `bars.intraday` Parquet; InputError listing the symbols present otherwise. */
export async function readBars(path: string, symbol: string, uses: string): Promise<Bars> {
  const { readKlines } = await import('../../marketmaking/klines.ts');
  const all = await readKlines(path);
  const b = all.find((x) => x.symbol === symbol);
  if (!b) throw new InputError({ message: `${uses}: no bars of ${symbol} upstream; symbols: ${all.map((x) => x.symbol).join(', ') || 'none'} — set with.symbol` });
  return b;
}

/**
 * The dates × symbols reversal panel (decisions/panel.ts reversalPanel) of an upstream
 * `ohlcv.daily` Parquet: close prices by (date, symbol), NaN where a name has no row.
 */
export async function readReversalPanel(path: string, lookback: number): Promise<SignalPanel> {
  const { queryRows, sqlString, withDuckDB } = await import('../../lib/duckdb.ts');
  const { reversalPanel } = await import('../../decisions/panel.ts');
  const rows = await withDuckDB((con) => queryRows<{ d: string; symbol: string; close: number }>(con, `SELECT strftime(date, '%Y-%m-%d') AS d, symbol, close FROM read_parquet(${sqlString(path)}) ORDER BY date, symbol`));
  const dates = [...new Set(rows.map((x) => x.d))].sort();
  const symbols = [...new Set(rows.map((x) => x.symbol))].sort();
  const di = new Map(dates.map((d, i) => [d, i]));
  const si = new Map(symbols.map((s, i) => [s, i]));
  const close = new Float64Array(dates.length * symbols.length).fill(NaN);
  for (const x of rows) close[di.get(x.d)! * symbols.length + si.get(x.symbol)!] = x.close;
  return reversalPanel(dates, symbols, close, lookback);
}
