import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Plan } from '../engine/plan.ts';
import type { RunState, RunStatus, StepState } from '../engine/scheduler.ts';
import { UserError } from '../lib/errors.ts';

/** A run as stored. Times are epoch ms. */
export interface RunRow {
  run_id: string;
  pipeline: string;
  plan: Plan;
  status: RunStatus | 'interrupted';
  created_at: number;
  updated_at: number;
  ended_at: number | null;
  owner_pid: number | null;
  heartbeat_at: number | null;
}

export interface StepRow extends StepState {
  step_id: string;
  cache_key?: string;
}

/** An operator decision recorded by a CLI process, consumed by the process driving the run. */
export interface DecisionRow {
  run_id: string;
  /** The approval step decided (null for abort). */
  step_id: string | null;
  action: 'approve' | 'reject' | 'abort';
  by: string;
  comment: string;
  at: number;
  consumed: boolean;
}

/** One row of the step-attempt history (for `trademl status` and the report). */
export interface AttemptRow {
  step_id: string;
  attempt: number;
  started_at: number;
  ended_at: number | null;
  status: string;
  error: string | null;
}

/** A batch of changes committed in one transaction. */
export interface StateWrite {
  runId: string;
  runStatus?: RunRow['status'];
  steps?: Record<string, StepState & { cache_key?: string }>;
  events?: { at: number; step_id: string | null; type: string; data?: unknown }[];
  attemptsStarted?: { step_id: string; attempt: number; at: number }[];
  attemptsEnded?: { step_id: string; attempt: number; at: number; status: string; error?: string }[];
  consumedDecisions?: { step_id: string | null; action: DecisionRow['action'] }[];
  heartbeat?: boolean;
  ended?: boolean;
  /** An ended run is re-opened (operator retry/skip): its end time is cleared. */
  reopen?: boolean;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  run_id VARCHAR PRIMARY KEY, pipeline VARCHAR, plan_json VARCHAR, plan_digest VARCHAR, status VARCHAR,
  created_at BIGINT, updated_at BIGINT, ended_at BIGINT, owner_pid INTEGER, heartbeat_at BIGINT);
-- step states and attempts are append-only (a new row per change, latest by seq): DuckDB's
-- upserts on keyed tables cost several ms each, appends almost nothing
CREATE TABLE IF NOT EXISTS step_states (
  run_id VARCHAR, step_id VARCHAR, seq BIGINT, status VARCHAR, attempt INTEGER, started_at BIGINT, ended_at BIGINT,
  retry_at BIGINT, cache_hit BOOLEAN, cache_key VARCHAR, outputs_json VARCHAR, error_json VARCHAR, skip_reason VARCHAR);
CREATE TABLE IF NOT EXISTS attempt_events (
  run_id VARCHAR, step_id VARCHAR, attempt INTEGER, seq BIGINT, started_at BIGINT, ended_at BIGINT, status VARCHAR, error VARCHAR);
CREATE TABLE IF NOT EXISTS events (run_id VARCHAR, ts BIGINT, step_id VARCHAR, type VARCHAR, data_json VARCHAR);
CREATE TABLE IF NOT EXISTS decisions (
  run_id VARCHAR, step_id VARCHAR, action VARCHAR, decided_by VARCHAR, comment VARCHAR, ts BIGINT, consumed BOOLEAN);
`;

const LOCK_RE = /lock|Conflicting|being used/i;

/**
 * Run state in a DuckDB file (`<home>/state.duckdb`): runs, step states and attempt events
 * (append-only), events, approvals. No SQL is built from values: every value is a bound parameter
 * or a typed cell given to DuckDB's appender, so any text (quotes, NUL bytes, SQL) is stored as is.
 * Every write is one transaction (a crash never leaves half-written state). The file is held open
 * only while in use and released after `idleMs`, so other `trademl` processes (status, approve)
 * can get in; opening retries while another process holds the lock.
 */
export class RunStore {
  private db?: DuckDBInstance;
  private con?: DuckDBConnection;
  private idleTimer?: NodeJS.Timeout;
  private queue: Promise<unknown> = Promise.resolve();
  readonly file: string;

  constructor(home: string, private readonly idleMs = 250) {
    mkdirSync(home, { recursive: true });
    this.file = path.join(home, 'state.duckdb');
  }

  /** Runs `fn` with an open connection, serialised with other calls on this store. */
  private use<T>(fn: (con: DuckDBConnection) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      clearTimeout(this.idleTimer);
      const con = await this.open();
      try {
        return await fn(con);
      } finally {
        this.idleTimer = setTimeout(() => this.close(), this.idleMs);
        this.idleTimer.unref();
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async open(): Promise<DuckDBConnection> {
    if (this.con) return this.con;
    const deadline = Date.now() + 60_000;
    for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
      try {
        this.db = await DuckDBInstance.create(this.file, { threads: '1' });
        this.con = await this.db.connect();
        await this.con.run(SCHEMA);
        return this.con;
      } catch (e) {
        this.db = undefined;
        this.con = undefined;
        if (!LOCK_RE.test(String(e)) || Date.now() > deadline) {
          throw new UserError(`cannot open run state ${this.file}: ${String(e).split('\n')[0]}`);
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private seq = 0;

  /** Monotonic sequence for append-only rows: µs since the epoch, strictly increasing, also across processes. */
  private nextSeq(): number {
    this.seq = Math.max(Date.now() * 1000, this.seq + 2);
    return this.seq;
  }

  /** Releases the file now (other processes may open it). */
  close(): void {
    clearTimeout(this.idleTimer);
    if (this.con) this.con.closeSync();
    if (this.db) this.db.closeSync();
    this.con = undefined;
    this.db = undefined;
  }

  async createRun(runId: string, plan: Plan, at: number): Promise<void> {
    await this.use(async (c) => {
      await c.run('BEGIN');
      try {
        await c.run('INSERT INTO runs VALUES ($1, $2, $3, $4, $5, $6, $6, NULL, $7, $6)', [runId, plan.pipeline, JSON.stringify(plan), plan.digest, 'running', at, process.pid]);
        const seq = this.nextSeq();
        await appendRows(c, 'step_states', STEP_COLUMNS, plan.steps.map((s) => [runId, s.id, seq, 'pending', 0, null, null, null, false, null, null, null, null]));
        await c.run('INSERT INTO events VALUES ($1, $2, NULL, $3, $4)', [runId, at, 'run_created', JSON.stringify({ plan_digest: plan.digest })]);
        await c.run('COMMIT');
      } catch (e) {
        await c.run('ROLLBACK');
        throw e;
      }
    });
  }

  /** Commits a batch of state changes atomically. */
  async write(w: StateWrite, at: number): Promise<void> {
    await this.use(async (c) => {
      await c.run('BEGIN');
      try {
        // the append-only tables go through DuckDB's appender (typed cells, part of this
        // transaction): binding hundreds of parameters one by one costs more than the commit
        const seq = this.nextSeq();
        const steps = Object.entries(w.steps ?? {});
        await appendRows(c, 'step_states', STEP_COLUMNS, steps.map(([id, s]) => [
          w.runId, id, seq, s.status, s.attempt, s.startedAt ?? null, s.endedAt ?? null, s.retryAt ?? null, s.cacheHit ?? false, s.cache_key ?? null,
          s.outputs ? JSON.stringify(s.outputs) : null, s.error ? JSON.stringify(s.error) : null, s.skipReason ?? null,
        ]));
        await appendRows(c, 'attempt_events', ATTEMPT_COLUMNS, [
          ...(w.attemptsStarted ?? []).map((a) => [w.runId, a.step_id, a.attempt, seq, a.at, null, 'running', null]),
          ...(w.attemptsEnded ?? []).map((a) => [w.runId, a.step_id, a.attempt, seq + 1, null, a.at, a.status, a.error ?? null]),
        ]);
        await appendRows(c, 'events', EVENT_COLUMNS, (w.events ?? []).map((e) => [w.runId, e.at, e.step_id, e.type, e.data === undefined ? null : JSON.stringify(e.data)]));
        for (const d of w.consumedDecisions ?? []) {
          await c.run('UPDATE decisions SET consumed=true WHERE run_id=$1 AND action=$2 AND step_id IS NOT DISTINCT FROM $3 AND NOT consumed', [w.runId, d.action, d.step_id]);
        }
        const sets = ['updated_at=$2'];
        const args: (string | number | null)[] = [w.runId, at];
        if (w.runStatus) { args.push(w.runStatus); sets.push(`status=$${args.length}`); }
        if (w.heartbeat) { args.push(process.pid, at); sets.push(`owner_pid=$${args.length - 1}`, `heartbeat_at=$${args.length}`); }
        if (w.ended) { args.push(at); sets.push(`ended_at=$${args.length}`, 'owner_pid=NULL'); }
        if (w.reopen) sets.push('ended_at=NULL');
        // the runs row changes only with status, heartbeat or end (not on every step transition)
        if (sets.length > 1) await c.run(`UPDATE runs SET ${sets.join(', ')} WHERE run_id=$1`, args);
        await c.run('COMMIT');
      } catch (e) {
        await c.run('ROLLBACK');
        throw e;
      }
    });
  }

  async getRun(runId: string): Promise<RunRow> {
    const rows = await this.use((c) => rowsOf(c, 'SELECT * FROM runs WHERE run_id=$1', [runId]));
    if (!rows.length) throw new UserError(`no run "${runId}" in ${this.file} — list runs with: trademl runs`);
    return toRun(rows[0]!);
  }

  async listRuns(limit = 20, pipeline?: string): Promise<RunRow[]> {
    const rows = await this.use((c) =>
      pipeline
        ? rowsOf(c, 'SELECT * FROM runs WHERE pipeline=$1 ORDER BY created_at DESC LIMIT $2', [pipeline, limit])
        : rowsOf(c, 'SELECT * FROM runs ORDER BY created_at DESC LIMIT $1', [limit]),
    );
    return rows.map(toRun);
  }

  /** The engine state of a run, rebuilt from the steps table. */
  async getState(runId: string): Promise<{ state: RunState; cacheKeys: Record<string, string | undefined> }> {
    const rows = await this.use((c) =>
      rowsOf(c, 'SELECT * FROM step_states WHERE run_id=$1 QUALIFY row_number() OVER (PARTITION BY step_id ORDER BY seq DESC) = 1', [runId]),
    );
    const steps: Record<string, StepState> = {};
    const cacheKeys: Record<string, string | undefined> = {};
    for (const r of rows) {
      steps[r.step_id as string] = {
        status: r.status as StepState['status'],
        attempt: Number(r.attempt),
        startedAt: num(r.started_at),
        endedAt: num(r.ended_at),
        retryAt: num(r.retry_at),
        cacheHit: Boolean(r.cache_hit),
        outputs: r.outputs_json ? JSON.parse(r.outputs_json as string) : undefined,
        error: r.error_json ? JSON.parse(r.error_json as string) : undefined,
        skipReason: (r.skip_reason as StepState['skipReason']) ?? undefined,
      };
      cacheKeys[r.step_id as string] = (r.cache_key as string | null) ?? undefined;
    }
    const run = await this.use((c) => rowsOf(c, 'SELECT status FROM runs WHERE run_id=$1', [runId]));
    return { state: { steps, cancelled: run[0]?.status === 'cancelled' }, cacheKeys };
  }

  async attempts(runId: string): Promise<AttemptRow[]> {
    const rows = await this.use((c) =>
      rowsOf(
        c,
        `SELECT step_id, attempt, min(started_at) AS started_at, max(ended_at) AS ended_at, arg_max(status, seq) AS status,
                arg_max(error, seq) FILTER (WHERE error IS NOT NULL) AS error
         FROM attempt_events WHERE run_id=$1 GROUP BY step_id, attempt ORDER BY started_at, step_id, attempt`,
        [runId],
      ),
    );
    return rows.map((r) => ({ step_id: r.step_id as string, attempt: Number(r.attempt), started_at: Number(r.started_at), ended_at: num(r.ended_at) ?? null, status: r.status as string, error: (r.error as string | null) ?? null }));
  }

  async events(runId: string): Promise<{ at: number; step_id: string | null; type: string; data: unknown }[]> {
    const rows = await this.use((c) => rowsOf(c, 'SELECT * FROM events WHERE run_id=$1 ORDER BY ts', [runId]));
    return rows.map((r) => ({ at: Number(r.ts), step_id: (r.step_id as string | null) ?? null, type: r.type as string, data: r.data_json ? JSON.parse(r.data_json as string) : null }));
  }

  /** Records an operator decision (approve/reject an approval step, abort the run) for the run loop to pick up. */
  async addDecision(d: Omit<DecisionRow, 'consumed'>): Promise<void> {
    await this.use(async (c) => {
      await c.run('BEGIN');
      try {
        await c.run('INSERT INTO decisions VALUES ($1, $2, $3, $4, $5, $6, false)', [d.run_id, d.step_id, d.action, d.by, d.comment, d.at]);
        await c.run('INSERT INTO events VALUES ($1, $2, $3, $4, $5)', [d.run_id, d.at, d.step_id, `${d.action}_recorded`, JSON.stringify({ by: d.by, comment: d.comment })]);
        await c.run('COMMIT');
      } catch (e) {
        await c.run('ROLLBACK');
        throw e;
      }
    });
  }

  /** Decisions not yet consumed by the loop, oldest first. */
  async pendingDecisions(runId: string): Promise<DecisionRow[]> {
    const rows = await this.use((c) => rowsOf(c, 'SELECT * FROM decisions WHERE run_id=$1 AND NOT consumed ORDER BY ts', [runId]));
    return rows.map((r) => ({ run_id: r.run_id as string, step_id: (r.step_id as string | null) ?? null, action: r.action as DecisionRow['action'], by: r.decided_by as string, comment: r.comment as string, at: Number(r.ts), consumed: false }));
  }
}

type Cell = string | number | boolean | null;
type Column = 'varchar' | 'bigint' | 'integer' | 'boolean';

const STEP_COLUMNS: readonly Column[] = ['varchar', 'varchar', 'bigint', 'varchar', 'integer', 'bigint', 'bigint', 'bigint', 'boolean', 'varchar', 'varchar', 'varchar', 'varchar'];
const ATTEMPT_COLUMNS: readonly Column[] = ['varchar', 'varchar', 'integer', 'bigint', 'bigint', 'bigint', 'varchar', 'varchar'];
const EVENT_COLUMNS: readonly Column[] = ['varchar', 'bigint', 'varchar', 'varchar', 'varchar'];

/**
 * Appends rows to `table` with DuckDB's appender, inside the connection's open transaction (a
 * rollback drops them). Cells are typed by `columns`; a non-finite number is stored as NULL.
 */
async function appendRows(c: DuckDBConnection, table: string, columns: readonly Column[], rows: readonly (readonly Cell[])[]): Promise<void> {
  if (!rows.length) return;
  const ap = await c.createAppender(table);
  try {
    for (const row of rows) {
      if (row.length !== columns.length) throw new Error(`run store: a row for ${table} has ${row.length} values, the table ${columns.length} columns`);
      row.forEach((v, i) => appendCell(ap, columns[i]!, v));
      ap.endRow();
    }
    ap.flushSync();
  } finally {
    ap.closeSync();
  }
}

function appendCell(ap: DuckDBAppender, column: Column, v: Cell): void {
  if (v === null || (typeof v === 'number' && !Number.isFinite(v))) ap.appendNull();
  else if (column === 'varchar') ap.appendVarchar(String(v));
  else if (column === 'boolean') ap.appendBoolean(Boolean(v));
  else if (column === 'integer') ap.appendInteger(Math.trunc(Number(v)));
  else ap.appendBigInt(BigInt(Math.trunc(Number(v))));
}

async function rowsOf(c: DuckDBConnection, sql: string, args: (string | number | null)[] = []): Promise<Record<string, unknown>[]> {
  const r = await c.runAndReadAll(sql, args);
  return r.getRowObjectsJS() as Record<string, unknown>[];
}

function num(v: unknown): number | undefined {
  return v === null || v === undefined ? undefined : Number(v);
}

function toRun(r: Record<string, unknown>): RunRow {
  return {
    run_id: r.run_id as string,
    pipeline: r.pipeline as string,
    plan: JSON.parse(r.plan_json as string) as Plan,
    status: r.status as RunRow['status'],
    created_at: Number(r.created_at),
    updated_at: Number(r.updated_at),
    ended_at: num(r.ended_at) ?? null,
    owner_pid: r.owner_pid === null ? null : Number(r.owner_pid),
    heartbeat_at: num(r.heartbeat_at) ?? null,
  };
}
