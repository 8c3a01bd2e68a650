/**
 * The local tracker's writes of run records (tracking/local.ts): several runs' params, tags,
 * metrics, lineage inputs, artifacts, creation and end in one DuckDB transaction, each table's rows
 * in one statement. New keys are the common case, so rows go in as plain INSERTs; when a primary
 * key refuses a row already held, the whole transaction is rolled back and written again carefully.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { insertRows, rows } from './localDb.ts';
import { TrackerError, type Metric, type RunStatus } from './types.ts';

/** One run's rows for {@link writeRuns}, checked and normalised by the caller. */
export interface RunRows {
  runId: string;
  /** Set for a run to create: its row (status and end already final when the write ends it). */
  create?: { experimentId: string; runName: string; status: RunStatus; startTime: number; endTime: number | null };
  params: Map<string, string>;
  tags: Map<string, string>;
  metrics: Metric[];
  /** (name, digest, source_type, source, tags_json), unique by (name, digest). */
  inputs: DuckDBValue[][];
  /** (path, uri, bytes), unique by path. */
  artifacts: DuckDBValue[][];
  /** Ends an existing run. */
  end?: { status: RunStatus; endTime: number | null };
}

/**
 * Last metric `seq` committed on a tracker file's connection, shared by every LocalTracker of the
 * process (they share the file's one connection: LocalDb). Valid while the connection is open:
 * DuckDB lets one process at a time open the file read-write, so no one else appends meanwhile; a
 * new connection (the file reopened) reads max(seq) again.
 */
const lastSeq = new WeakMap<DuckDBConnection, number>();

/**
 * Appends metric rows (run_id, key, value, ts, step, seq) to `metrics` through DuckDB's appender,
 * in the connection's open transaction; seq numbers continue from `seq`. ±Infinity is stored as
 * ±Number.MAX_VALUE (MLflow's convention); callers reject NaN.
 */
async function appendMetrics(con: DuckDBConnection, metrics: Array<[runId: string, m: Metric]>, seq: number): Promise<void> {
  const app = await con.createAppender('metrics');
  try {
    for (const [runId, m] of metrics) {
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

/** The params of `runs` not held yet; throws a TrackerError when one held has another value (params are immutable). */
async function newParams(con: DuckDBConnection, runs: RunRows[]): Promise<DuckDBValue[][]> {
  const out: DuckDBValue[][] = [];
  for (const r of runs) {
    if (!r.params.size) continue;
    const held = r.create ? new Map<string, string>() : new Map((await rows(con, 'SELECT key, value FROM params WHERE run_id = $1', [r.runId])).map((x) => [String(x.key), String(x.value)]));
    for (const [k, v] of r.params) {
      const old = held.get(k);
      if (old !== undefined && old !== v) throw new TrackerError(`param "${k}" of run ${r.runId} is already "${old}"; params are immutable (tried "${v}")`, 'INVALID_PARAMETER_VALUE');
      if (old === undefined) out.push([r.runId, k, v]);
    }
  }
  return out;
}

/** One attempt of {@link writeRuns}: `careful` reads held params back and replaces held tags, inputs and artifacts. */
async function writeOnce(con: DuckDBConnection, runs: RunRows[], careful: boolean): Promise<void> {
  const all = <T>(f: (r: RunRows) => T[]): T[] => runs.flatMap(f);
  await con.run('BEGIN TRANSACTION');
  try {
    await insertRows(con, 'INSERT INTO runs', all((r) => (r.create ? [[r.runId, r.create.experimentId, r.create.runName, r.create.status, r.create.startTime, r.create.endTime]] : [])));
    const params = careful ? await newParams(con, runs) : all((r) => [...r.params].map(([k, v]) => [r.runId, k, v]));
    await insertRows(con, 'INSERT INTO params', params);
    const replace = careful ? 'INSERT OR REPLACE INTO' : 'INSERT INTO';
    await insertRows(con, `${replace} tags`, all((r) => [...r.tags].map(([k, v]) => [r.runId, k, v])));
    await insertRows(con, `${replace} inputs`, all((r) => r.inputs.map((i) => [r.runId, ...i])));
    await insertRows(con, `${replace} artifacts`, all((r) => r.artifacts.map((a) => [r.runId, ...a])));
    const metrics = all((r) => r.metrics.map((m): [string, Metric] => [r.runId, m]));
    let seq = lastSeq.get(con);
    if (metrics.length) {
      if (seq === undefined) {
        const [{ s }] = (await rows(con, 'SELECT coalesce(max(seq), 0) AS s FROM metrics')) as [{ s: bigint | number }];
        seq = Number(s);
      }
      await appendMetrics(con, metrics, seq);
      seq += metrics.length;
    }
    for (const r of runs) if (r.end) await con.run('UPDATE runs SET status = $2, end_time = coalesce($3, end_time) WHERE run_id = $1', [r.runId, r.end.status, r.end.endTime]);
    await con.run('COMMIT');
    if (seq !== undefined) lastSeq.set(con, seq);
  } catch (err) {
    await con.run('ROLLBACK');
    throw err;
  }
}

/**
 * Writes `runs` in one transaction: rows created, params, tags, inputs and artifacts inserted,
 * metrics appended (seq continuing from the last committed), existing runs ended. When a primary
 * key refuses a held row (a re-logged param, tag, input or artifact), the transaction is written
 * again: held params read back (the same value kept, another refused with a TrackerError), tags,
 * inputs and artifacts replaced. Nothing of a refused write is kept.
 */
export async function writeRuns(con: DuckDBConnection, runs: RunRows[]): Promise<void> {
  try {
    await writeOnce(con, runs, false);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    await writeOnce(con, runs, true);
  }
}
