import path from 'node:path';
import type { ArtifactRef } from '../../artifacts/store.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { StepError, UserError } from '../../lib/errors.ts';
import { expandGlobs, resolveFiles, type LoadedContract, type LobContract } from '../contract.ts';
import { InputFileError, scanDelimitedFile, type ScannedFile } from '../scan.ts';
import { checkAbort, countByRule, loadRawCsv, PendingArtifacts, QUARANTINE_COLUMNS, sourcesOf, wrapIngestError, type IngestEnv, type IngestResultBase } from './common.ts';

/** Small JSON result of `ingest.lob`. */
export interface LobIngestResult extends IngestResultBase {
  messages: ArtifactRef;
  book: ArtifactRef;
  sessions: { symbol: string; date: string; levels: number; events: number }[];
  events: number;
  book_rows: number;
}

/** UTC offset in minutes of `timeZone` at the given UTC instant (Intl, no dependency). */
export function utcOffsetMinutes(timeZone: string, utcMs: number): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    .formatToParts(new Date(utcMs))
    .reduce<Record<string, string>>((o, p) => ((o[p.type] = p.value), o), {});
  const asUtc = Date.UTC(+parts.year!, +parts.month! - 1, +parts.day!, +parts.hour!, +parts.minute!, +parts.second!);
  return Math.round((asUtc - utcMs) / 60_000);
}

/** LOBSTER's placeholder prices for empty book levels (±9999999999). */
const EMPTY_LEVEL = 9_999_999_999;

/**
 * Ingests LOBSTER-style limit order book samples (contract kind `lob`): pairs each message file
 * with its order book file by (symbol, date, levels) from `file_pattern`, checks both have the
 * same number of events (row k of the book is the state after message k), and writes
 * `messages`: symbol, date DATE, seq INTEGER (1-based event number), ts TIMESTAMP (UTC),
 * time_s DOUBLE (seconds after local midnight, as delivered), type INTEGER, order_id BIGINT,
 * size DOUBLE (shares), price DOUBLE (currency units = raw / price_scale), direction INTEGER;
 * `book` (long form): symbol, date, seq, level INTEGER, ask_price, ask_size, bid_price, bid_size
 * (prices in currency units, empty levels NULL). Quarantine rules: `unparseable`,
 * `non_positive_price` (message price ≤ 0 outside halts), `crossed_book` (best ask ≤ best bid).
 * Throws InputFileError when a pair is incomplete or the counts differ.
 */
export async function ingestLob(loaded: LoadedContract, env: IngestEnv): Promise<LobIngestResult> {
  const c = loaded.contract as LobContract;
  const re = new RegExp(c.source.file_pattern);
  const fail = (m: string): never => {
    throw new InputFileError(m);
  };
  const msgFiles = resolveFiles(env.dataRoot, expandGlobs(c.source.messages), fail);
  const bookFiles = resolveFiles(env.dataRoot, expandGlobs(c.source.orderbook), fail);
  const keyOf = (f: string) => {
    const g = re.exec(path.basename(f))?.groups;
    if (!g?.symbol || !g.date || !g.levels) throw new UserError(`${loaded.file}: file_pattern does not match ${path.basename(f)} (needs named groups symbol, date, levels)`);
    return { symbol: g.symbol, date: g.date, levels: Number(g.levels), key: `${g.symbol}|${g.date}|${g.levels}` };
  };
  const books = new Map(bookFiles.map((f) => [keyOf(f).key, f]));
  const pairs: { symbol: string; date: string; levels: number; msg: ScannedFile; book: ScannedFile }[] = [];
  for (const m of msgFiles) {
    checkAbort(env.signal, 'scan');
    const k = keyOf(m);
    const b = books.get(k.key);
    if (!b) fail(`message file ${m} has no order book file for ${k.symbol} ${k.date} level ${k.levels}`);
    const msg = scanDelimitedFile(m, env.dataRoot, { delimiter: c.source.delimiter, expectedHeader: false, expectedFields: 6 });
    const book = scanDelimitedFile(b!, env.dataRoot, { delimiter: c.source.delimiter, expectedHeader: false, expectedFields: 4 * k.levels });
    if (msg.rows !== book.rows) fail(`LOB pair ${k.symbol} ${k.date}: ${msg.rel} has ${msg.rows} events but ${book.rel} has ${book.rows} book rows; they must match row for row`);
    pairs.push({ symbol: k.symbol, date: k.date, levels: k.levels, msg, book });
    books.delete(k.key);
  }
  if (books.size) fail(`order book file(s) without a message file: ${[...books.values()].join(', ')}`);
  const pending = new PendingArtifacts(env.store);
  const scale = c.price_scale;
  try {
    return await withDuckDB(async (con) => {
      await con.run(`CREATE TEMP TABLE messages (symbol VARCHAR, date DATE, seq INTEGER, ts TIMESTAMP, time_s DOUBLE, type INTEGER, order_id BIGINT, size DOUBLE, price DOUBLE, direction INTEGER)`);
      await con.run(`CREATE TEMP TABLE book (symbol VARCHAR, date DATE, seq INTEGER, level INTEGER, ask_price DOUBLE, ask_size DOUBLE, bid_price DOUBLE, bid_size DOUBLE)`);
      await con.run(`CREATE TEMP TABLE quarantine (${QUARANTINE_COLUMNS})`);
      for (const p of pairs) {
        checkAbort(env.signal, `ingest ${c.name}`);
        const midnightUtcMs = Date.parse(`${p.date}T00:00:00Z`);
        const offsetMin = utcOffsetMinutes(c.timezone, midnightUtcMs + 12 * 3_600_000);
        await loadRawCsv(con, 'rm', [p.msg], { delimiter: c.source.delimiter, header: false, nColumns: 6 });
        await con.run(`CREATE OR REPLACE TEMP TABLE pm AS SELECT src, line, c0, c1, c2, c3, c4, c5,
            TRY_CAST(c0 AS DOUBLE) AS time_s, TRY_CAST(c1 AS INTEGER) AS type, TRY_CAST(c2 AS BIGINT) AS order_id,
            TRY_CAST(c3 AS DOUBLE) AS size, TRY_CAST(c4 AS DOUBLE) AS price_raw, TRY_CAST(c5 AS INTEGER) AS direction FROM rm`);
        await con.run(`INSERT INTO quarantine SELECT CASE WHEN time_s IS NULL OR type IS NULL OR order_id IS NULL OR size IS NULL OR price_raw IS NULL OR direction IS NULL THEN 'unparseable' ELSE 'non_positive_price' END,
            src, line, ${sqlString(p.symbol)}, ${sqlString(p.date)}, concat_ws(',', c0, c1, c2, c3, c4, c5), NULL
          FROM pm WHERE time_s IS NULL OR type IS NULL OR order_id IS NULL OR size IS NULL OR price_raw IS NULL OR direction IS NULL OR (price_raw <= 0 AND type <> 7)`);
        await con.run(`INSERT INTO messages SELECT ${sqlString(p.symbol)}, DATE ${sqlString(p.date)}, line::INTEGER,
            make_timestamp(CAST(round((${midnightUtcMs / 1000} + time_s - ${offsetMin * 60}) * 1000000) AS BIGINT)),
            time_s, type, order_id, size, price_raw / ${scale}, direction
          FROM pm WHERE time_s IS NOT NULL AND type IS NOT NULL AND order_id IS NOT NULL AND size IS NOT NULL AND price_raw IS NOT NULL AND direction IS NOT NULL AND (price_raw > 0 OR type = 7)`);
        await loadRawCsv(con, 'rb', [p.book], { delimiter: c.source.delimiter, header: false, nColumns: 4 * p.levels });
        const lv = (x: string) => `CASE WHEN abs(TRY_CAST(${x} AS DOUBLE)) >= ${EMPTY_LEVEL} THEN NULL ELSE TRY_CAST(${x} AS DOUBLE) END`;
        const levels = Array.from({ length: p.levels }, (_, i) =>
          `SELECT line, ${i + 1} AS level, ${lv(`c${4 * i}`)} / ${scale} AS ask_price, TRY_CAST(c${4 * i + 1} AS DOUBLE) AS ask_size,
                  ${lv(`c${4 * i + 2}`)} / ${scale} AS bid_price, TRY_CAST(c${4 * i + 3} AS DOUBLE) AS bid_size FROM rb`).join(' UNION ALL ');
        await con.run(`CREATE OR REPLACE TEMP TABLE pb AS ${levels}`);
        await con.run(`INSERT INTO quarantine SELECT 'crossed_book', rb.src, rb.line, ${sqlString(p.symbol)}, ${sqlString(p.date)}, NULL,
            format('best ask {} <= best bid {}', pb.ask_price, pb.bid_price)
          FROM pb JOIN rb USING (line) WHERE pb.level = 1 AND pb.ask_price <= pb.bid_price`);
        await con.run(`INSERT INTO book SELECT ${sqlString(p.symbol)}, DATE ${sqlString(p.date)}, line::INTEGER, level, ask_price, ask_size, bid_price, bid_size FROM pb`);
      }
      const events = Number((await queryRows<{ n: number }>(con, `SELECT count(*)::INTEGER AS n FROM messages`))[0]!.n);
      const bookRows = Number((await queryRows<{ n: number }>(con, `SELECT count(*)::INTEGER AS n FROM book`))[0]!.n);
      if (!events) throw new StepError({ message: `dataset ${c.name}: no usable events`, type: 'IngestError', nonRetryable: true });
      await pending.parquet(con, `SELECT * FROM messages ORDER BY symbol, date, seq`, 'lob_messages.parquet');
      await pending.parquet(con, `SELECT * FROM book ORDER BY symbol, date, seq, level`, 'lob_book.parquet');
      await pending.parquet(con, `SELECT * FROM quarantine ORDER BY source_file, line, rule`, 'quarantine.parquet');
      const byRule = await countByRule(con, 'quarantine');
      const quarantined = Object.values(byRule).reduce((s, v) => s + v, 0);
      const sessions = pairs.map((p) => ({ symbol: p.symbol, date: p.date, levels: p.levels, events: p.msg.rows }));
      const manifest = {
        dataset: c.name,
        kind: c.kind,
        schema: 'lob/1: messages(symbol, date, seq, ts UTC, time_s, type, order_id, size, price, direction); book(symbol, date, seq, level, ask_price, ask_size, bid_price, bid_size)',
        contract: { file: `configs/data/${c.name}.yml`, digest: loaded.digest, units: c.units, timezone: c.timezone, price_scale: scale },
        sources: sourcesOf(pairs.flatMap((p) => [p.msg, p.book])),
        sessions,
        events,
        book_rows: bookRows,
        quarantined,
        quarantined_by_rule: byRule,
      };
      const refs = await pending.commit();
      const manifestRef = await env.store.putJson(manifest, 'manifest.json');
      return {
        dataset: c.name, messages: refs['lob_messages.parquet']!, book: refs['lob_book.parquet']!, quarantine: refs['quarantine.parquet']!, manifest: manifestRef,
        sessions, events, book_rows: bookRows, quarantined, quarantined_by_rule: byRule,
      };
    });
  } catch (e) {
    pending.discard();
    throw wrapIngestError(c.name, e);
  }
}
