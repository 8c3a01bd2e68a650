import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore } from '../artifacts/store.ts';
import { loadDatasetContract, type LobContract } from '../data/contract.ts';
import { ingestLob } from '../data/ingest/lob.ts';
import { queryRows, sqlString, withDuckDB } from '../lib/duckdb.ts';
import { dataRoot, PROJECT_ROOT } from '../lib/paths.ts';
import type { LobSession } from './types.ts';

/** NASDAQ tick for stocks priced ≥ $1: $0.01 = 100 LOBSTER price units (SEC Rule 612). */
export const NASDAQ_TICK_UNITS = 100;

/**
 * Reads the canonical `ingest.lob` outputs (docs/contracts.md: `messages` and long-form `book`
 * Parquet files, prices in USD) into one {@link LobSession} per (symbol, date), prices converted
 * back to integer LOBSTER units (round(USD × price_scale)). Sessions are sorted by symbol.
 * Throws when a session's book rows do not cover every (seq, level) or the seqs are not 1..n.
 */
export async function readLobArtifacts(messagesParquet: string, bookParquet: string, priceScale = 10_000): Promise<LobSession[]> {
  return withDuckDB(async (con) => {
    const keys = await queryRows<{ symbol: string; date: string; n: number; levels: number }>(con, `
      SELECT m.symbol, strftime(m.date, '%Y-%m-%d') AS date, m.n::INTEGER AS n, b.levels::INTEGER AS levels
      FROM (SELECT symbol, date, count(*) AS n FROM read_parquet(${sqlString(messagesParquet)}) GROUP BY ALL) m
      JOIN (SELECT symbol, date, max(level) AS levels FROM read_parquet(${sqlString(bookParquet)}) GROUP BY ALL) b USING (symbol, date)
      ORDER BY m.symbol, m.date`);
    const out: LobSession[] = [];
    for (const k of keys) {
      const where = `symbol = ${sqlString(k.symbol)} AND date = DATE ${sqlString(k.date)}`;
      const msgs = await queryRows<{ seq: number; time_s: number; type: number; order_id: bigint; size: number; price: number; direction: number }>(con,
        `SELECT seq, time_s, type, order_id, size, price, direction FROM read_parquet(${sqlString(messagesParquet)}) WHERE ${where} ORDER BY seq`);
      const n = msgs.length;
      const s: LobSession = {
        symbol: k.symbol, date: k.date, levels: k.levels, tick: NASDAQ_TICK_UNITS,
        messages: { n, time: new Float64Array(n), type: new Uint8Array(n), orderId: new Float64Array(n), size: new Int32Array(n), price: new Int32Array(n), direction: new Int8Array(n) },
        book: { n, levels: k.levels, data: new Int32Array(n * k.levels * 4) },
      };
      msgs.forEach((r, i) => {
        if (r.seq !== i + 1) throw new RangeError(`${k.symbol} ${k.date}: message seq ${r.seq} at position ${i + 1}; expected 1..n without gaps`);
        s.messages.time[i] = r.time_s;
        s.messages.type[i] = r.type;
        s.messages.orderId[i] = Number(r.order_id);
        s.messages.size[i] = r.size;
        s.messages.price[i] = Math.round(r.price * priceScale);
        s.messages.direction[i] = r.direction;
      });
      const book = await queryRows<{ seq: number; level: number; ap: number | null; as_: number | null; bp: number | null; bs: number | null }>(con,
        `SELECT seq, level, ask_price AS ap, ask_size AS as_, bid_price AS bp, bid_size AS bs FROM read_parquet(${sqlString(bookParquet)}) WHERE ${where} ORDER BY seq, level`);
      if (book.length !== n * k.levels) throw new RangeError(`${k.symbol} ${k.date}: ${book.length} book rows for ${n} events × ${k.levels} levels`);
      const d = s.book.data;
      for (const r of book) {
        const o = ((r.seq - 1) * k.levels + (r.level - 1)) * 4;
        d[o] = r.ap == null ? 0 : Math.round(r.ap * priceScale);
        d[o + 1] = r.ap == null ? 0 : (r.as_ ?? 0);
        d[o + 2] = r.bp == null ? 0 : Math.round(r.bp * priceScale);
        d[o + 3] = r.bp == null ? 0 : (r.bs ?? 0);
      }
      out.push(s);
    }
    return out;
  });
}

const cache = new Map<string, Promise<LobSession[]>>();

/**
 * Ingests a `lob` dataset (default `lob_lobster_samples`) with `ingest.lob` into a throw-away
 * artifact store and reads it back with {@link readLobArtifacts}. Memoised per (dataset, data root)
 * within the process. Throws what the ingest throws (missing files, count mismatch, …).
 */
export function loadLobSessions(dataset = 'lob_lobster_samples', root = dataRoot()): Promise<LobSession[]> {
  const key = `${dataset}|${root}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const loaded = loadDatasetContract(PROJECT_ROOT, dataset);
      if (loaded.contract.kind !== 'lob') throw new RangeError(`dataset ${dataset} is of kind ${loaded.contract.kind}, not lob`);
      const dir = mkdtempSync(path.join(os.tmpdir(), 'trademl-lob-'));
      try {
        const store = new ArtifactStore(dir);
        const r = await ingestLob(loaded, { store, dataRoot: root });
        return await readLobArtifacts(store.path(r.messages), store.path(r.book), (loaded.contract as LobContract).price_scale);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    })();
    cache.set(key, p);
  }
  return p;
}

/** The session of `symbol` from {@link loadLobSessions}; throws listing the symbols present otherwise. */
export async function loadLobSession(symbol: string, dataset = 'lob_lobster_samples'): Promise<LobSession> {
  const all = await loadLobSessions(dataset);
  const s = all.find((x) => x.symbol === symbol);
  if (!s) throw new RangeError(`no LOB session for ${symbol} in ${dataset}; sessions: ${all.map((x) => x.symbol).join(', ')}`);
  return s;
}
