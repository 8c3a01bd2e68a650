/**
 * The local tracker's DuckDB file: one read-write opener per file and process (calls queue up), the
 * file closed after a short idle window so other processes can open it, a lock held elsewhere
 * retried with backoff.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { TrackerError, VALUE_LIMITS, type KeyValue, type Metric } from './types.ts';

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

/**
 * Appends metric rows (run_id, key, value, ts, step, seq) to the `metrics` table through DuckDB's
 * appender, in the connection's open transaction; seq numbers continue from `lastSeq`. ±Infinity is
 * stored as ±Number.MAX_VALUE (MLflow's convention); callers reject NaN.
 */
export async function appendMetrics(con: DuckDBConnection, runId: string, metrics: Metric[], lastSeq: number): Promise<void> {
  const app = await con.createAppender('metrics');
  try {
    let seq = lastSeq;
    for (const m of metrics) {
      app.appendVarchar(runId);
      app.appendVarchar(m.key);
      app.appendDouble(Number.isFinite(m.value) ? m.value : m.value > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE);
      app.appendBigInt(BigInt(Math.round(m.timestamp)));
      app.appendBigInt(BigInt(Math.round(m.step)));
      app.appendBigInt(BigInt(++seq));
      app.endRow();
    }
    app.flushSync();
  } finally {
    app.closeSync();
  }
}

/** Whether a DuckDB error is a primary-key violation (a row with that key is already held). */
export function isDuplicateKey(err: unknown): boolean {
  return err instanceof Error && /Duplicate key .* violates primary key constraint/i.test(err.message);
}

/**
 * Last metric `seq` committed on a tracker file's connection, shared by every LocalTracker of the
 * process (they share the file's one connection: LocalDb). Valid while the connection is open:
 * DuckDB lets one process at a time open the file read-write, so no one else appends meanwhile; a
 * new connection (the file reopened) reads max(seq) again.
 */
const lastSeq = new WeakMap<DuckDBConnection, number>();

/**
 * Writes `rows` into `table` as plain INSERTs, and only when the primary key refuses
 * one already held, as INSERT OR REPLACE: a new key is the common case and costs half as much.
 */
export async function insertOrReplace(con: DuckDBConnection, table: 'inputs' | 'artifacts', rows: DuckDBValue[][]): Promise<void> {
  try {
    await insertRows(con, `INSERT INTO ${table}`, rows);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    await insertRows(con, `INSERT OR REPLACE INTO ${table}`, rows);
  }
}

/**
 * One transaction writing a batch to run `runId`: params and tags as plain INSERTs, metrics through
 * the appender with `seq` continuing from the last committed one. `careful` (after a duplicate-key
 * refusal): the held params are read back (same value kept, a change refused with a TrackerError)
 * and the tags replaced. Rolls back on any error; nothing of a refused batch is written.
 */
export async function writeBatch(con: DuckDBConnection, runId: string, params: Map<string, string>, tags: Map<string, string>, metrics: Metric[], careful: boolean): Promise<void> {
  await con.run('BEGIN TRANSACTION');
  try {
    let newParams = [...params];
    if (careful && newParams.length) {
      const held = new Map((await rows(con, 'SELECT key, value FROM params WHERE run_id = $1', [runId])).map((r) => [String(r.key), String(r.value)]));
      for (const [k, v] of newParams) {
        const old = held.get(k);
        if (old !== undefined && old !== v) throw new TrackerError(`param "${k}" of run ${runId} is already "${old}"; params are immutable (tried "${v}")`, 'INVALID_PARAMETER_VALUE');
      }
      newParams = newParams.filter(([k]) => !held.has(k));
    }
    await insertRows(con, 'INSERT INTO params', newParams.map(([k, v]) => [runId, k, v]));
    await insertRows(con, careful ? 'INSERT OR REPLACE INTO tags' : 'INSERT INTO tags', [...tags].map(([k, v]) => [runId, k, v]));
    let seq = lastSeq.get(con);
    if (metrics.length) {
      if (seq === undefined) {
        const [{ s }] = (await rows(con, 'SELECT coalesce(max(seq), 0) AS s FROM metrics')) as [{ s: bigint | number }];
        seq = Number(s);
      }
      await appendMetrics(con, runId, metrics, seq);
      seq += metrics.length;
    }
    await con.run('COMMIT');
    if (seq !== undefined) lastSeq.set(con, seq);
  } catch (err) {
    await con.run('ROLLBACK');
    throw err;
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
        throw new TrackerError(`cannot open the local tracker DB ${this.dbFile}: ${(err as Error).message}; another process may hold it (retry when it is done)`, 'LOCKED');
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
