/**
 * The local tracker's DuckDB file: one read-write opener per file and process (calls queue up), the
 * file closed after a short idle window so other processes can open it, a lock held elsewhere
 * retried with backoff.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { DuckDBInstance } from '../lib/duckdb_api.ts';
import { TrackerError, VALUE_LIMITS, type KeyValue } from './types.ts';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS experiments (experiment_id VARCHAR PRIMARY KEY, name VARCHAR UNIQUE NOT NULL, created BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR PRIMARY KEY, experiment_id VARCHAR NOT NULL, run_name VARCHAR NOT NULL, status VARCHAR NOT NULL, start_time BIGINT NOT NULL, end_time BIGINT);
CREATE TABLE IF NOT EXISTS params (run_id VARCHAR NOT NULL, key VARCHAR NOT NULL, value VARCHAR NOT NULL, PRIMARY KEY (run_id, key));
CREATE TABLE IF NOT EXISTS tags (run_id VARCHAR NOT NULL, key VARCHAR NOT NULL, value VARCHAR NOT NULL, PRIMARY KEY (run_id, key));
CREATE TABLE IF NOT EXISTS metrics (run_id VARCHAR NOT NULL, key VARCHAR NOT NULL, value DOUBLE NOT NULL, ts BIGINT NOT NULL, step BIGINT NOT NULL, seq BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (run_id VARCHAR NOT NULL, name VARCHAR NOT NULL, digest VARCHAR NOT NULL, source_type VARCHAR NOT NULL, source VARCHAR NOT NULL, tags_json VARCHAR NOT NULL, PRIMARY KEY (run_id, name, digest));
CREATE TABLE IF NOT EXISTS artifacts (run_id VARCHAR NOT NULL, path VARCHAR NOT NULL, uri VARCHAR NOT NULL, bytes BIGINT NOT NULL, PRIMARY KEY (run_id, path));
CREATE TABLE IF NOT EXISTS registered_models (name VARCHAR PRIMARY KEY, description VARCHAR NOT NULL, created BIGINT NOT NULL, updated BIGINT NOT NULL, tags_json VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS model_versions (name VARCHAR NOT NULL, version INTEGER NOT NULL, source VARCHAR NOT NULL, run_id VARCHAR NOT NULL, description VARCHAR NOT NULL, created BIGINT NOT NULL, tags_json VARCHAR NOT NULL, PRIMARY KEY (name, version));
CREATE TABLE IF NOT EXISTS aliases (name VARCHAR NOT NULL, alias VARCHAR NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (name, alias));
`;

/** Per-file promise chain: DuckDB allows one read-write opener per file, so calls in a process queue up. */
const queues = new Map<string, Promise<unknown>>();
/** Open handles by file, closed after {@link IDLE_CLOSE_MS} without use. */
const handles = new Map<string, { db: DuckDBInstance; con: DuckDBConnection; timer: NodeJS.Timeout | undefined }>();
const IDLE_CLOSE_MS = 300;

function isLockError(err: unknown): boolean {
  const m = err instanceof Error ? err.message : String(err);
  return /lock|Conflicting lock|already open|used by another process/i.test(m);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A row as DuckDB returns it to JS. */
export type Row = Record<string, unknown>;

/** Runs a query with positional values and returns its rows as plain objects. */
export async function rows(con: DuckDBConnection, sql: string, values: DuckDBValue[] = []): Promise<Row[]> {
  const r = await con.runAndReadAll(sql, values);
  return r.getRowObjectsJS() as Row[];
}

/**
 * Inserts `rows` (each the full column tuple, in table order) with `verb` (e.g. `INSERT INTO params`,
 * `INSERT OR REPLACE INTO tags`) as multi-row VALUES statements of up to 200 rows: one round trip
 * per 200 rows instead of one per row. A REPLACE statement must not hold one key twice (DuckDB
 * refuses to update a row twice in one statement): callers dedupe.
 */
export async function insertRows(con: DuckDBConnection, verb: string, rows: DuckDBValue[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += 200) {
    const part = rows.slice(i, i + 200);
    const values: DuckDBValue[] = [];
    const tuples = part.map((r) => {
      const b = values.length;
      values.push(...r);
      return `(${r.map((_, j) => `$${b + j + 1}`).join(', ')})`;
    });
    await con.run(`${verb} VALUES ${tuples.join(', ')}`, values);
  }
}

/** The serialised, idle-closing connection to one local tracker DB file. */
export class LocalDb {
  private initialised = false;

  constructor(readonly dbFile: string) {}

  /** Runs `fn` on the file's connection after every call queued before it (schema created on first use). */
  async withDb<T>(fn: (con: DuckDBConnection) => Promise<T>): Promise<T> {
    const key = path.resolve(this.dbFile);
    const prev = queues.get(key) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.openAndRun(fn));
    queues.set(key, next.catch(() => undefined));
    return next;
  }

  private async openAndRun<T>(fn: (con: DuckDBConnection) => Promise<T>): Promise<T> {
    const key = path.resolve(this.dbFile);
    let h = handles.get(key);
    if (h) clearTimeout(h.timer);
    else {
      h = { ...(await this.open()), timer: undefined };
      handles.set(key, h);
    }
    const handle = h;
    try {
      if (!this.initialised) {
        await handle.con.run(SCHEMA);
        this.initialised = true;
      }
      return await fn(handle.con);
    } finally {
      // Keep the file open for a short idle window (bursts of calls share one open), then release
      // the lock so other processes (the CLI, another worker) can open it.
      handle.timer = setTimeout(() => {
        if (handles.get(key) === handle) handles.delete(key);
        handle.con.closeSync();
        handle.db.closeSync();
      }, IDLE_CLOSE_MS);
      handle.timer.unref();
    }
  }

  private async open(): Promise<{ db: DuckDBInstance; con: DuckDBConnection }> {
    mkdirSync(path.dirname(path.resolve(this.dbFile)), { recursive: true });
    let delay = 50;
    for (let attempt = 1; ; attempt++) {
      try {
        const db = await DuckDBInstance.create(this.dbFile, { threads: '1' });
        return { db, con: await db.connect() };
      } catch (err) {
        if (isLockError(err) && attempt < 12) {
          await sleep(delay);
          delay = Math.min(delay * 2, 2000);
          continue;
        }
        const msg = err instanceof Error ? err.message : String(err);
        if (isLockError(err)) throw new TrackerError(`cannot open the local tracker DB ${this.dbFile}: ${msg}; another process holds it (retry when it is done)`, 'LOCKED');
        throw new TrackerError(`cannot open the local tracker DB ${this.dbFile}: ${msg}; the file is damaged or not a DuckDB file this version reads: move it aside to start a new tracker (runs, artifacts and reports do not depend on it)`, 'DB_UNOPENABLE');
      }
    }
  }

  /** Waits for queued calls and closes the file now (releasing DuckDB's lock). */
  async close(): Promise<void> {
    const key = path.resolve(this.dbFile);
    await (queues.get(key) ?? Promise.resolve());
    const h = handles.get(key);
    if (h) {
      clearTimeout(h.timer);
      handles.delete(key);
      h.con.closeSync();
      h.db.closeSync();
    }
  }
}

/** `a/b/c` with no leading slash, no `..`, no empty segments. */
export function normaliseArtifactPath(p: string): string {
  const parts = p.split(/[\\/]+/).filter((s) => s && s !== '.');
  if (!parts.length || parts.includes('..')) throw new TrackerError(`bad artifact path "${p}": use a relative path like model/model.onnx`, 'INVALID_PARAMETER_VALUE');
  return parts.join('/');
}

/** Throws a TrackerError for a key MLflow would refuse. */
export function checkKey(key: string): void {
  if (!key || key.length > VALUE_LIMITS.key || !/^[\w.\- /]+$/.test(key)) {
    throw new TrackerError(`invalid key "${key}": use letters, digits, '_', '-', '.', '/', ' ' (≤ ${VALUE_LIMITS.key} chars)`, 'INVALID_PARAMETER_VALUE');
  }
}

/** Throws a TrackerError for a param/tag MLflow would refuse (key, string value, length). */
export function checkKv(kv: KeyValue, maxValue: number, what: string): void {
  checkKey(kv.key);
  if (typeof kv.value !== 'string') throw new TrackerError(`${what} ${kv.key} must be a string`, 'INVALID_PARAMETER_VALUE');
  if (kv.value.length > maxValue) throw new TrackerError(`${what} ${kv.key} is ${kv.value.length} chars; the limit is ${maxValue}`, 'INVALID_PARAMETER_VALUE');
}
