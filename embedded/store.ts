import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from '../lib/duckdb_api.ts';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Plan } from '../engine/plan.ts';
import type { RunState, RunStatus, StepState } from '../engine/scheduler.ts';
import { UserError } from '../lib/errors.ts';
import { AUTOCOMMIT_ROWS, MIGRATE_TO_JOURNAL, SCHEMA, appendJournal, journalRows, type JournalRow, type TickRecords } from './journal.ts';

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
export interface StateWrite extends TickRecords {
  runId: string;
  runStatus?: RunRow['status'];
  consumedDecisions?: { step_id: string | null; action: DecisionRow['action'] }[];
  heartbeat?: boolean;
  ended?: boolean;
  /** An ended run is re-opened (operator retry/skip): its end time is cleared. */
  reopen?: boolean;
}

const LOCK_RE = /lock|Conflicting|being used/i;

/**
 * Run state in a DuckDB file (`<home>/state.duckdb`): runs, the run journal (step states, attempts
 * and events, append-only) and operator decisions. No SQL is built from values: every value is a
 * bound parameter or a typed cell given to DuckDB's appender, so any text (quotes, NUL bytes, SQL)
 * is stored as is. Every write is one transaction (a crash never leaves half-written state): a
 * tick that only appends to the journal is one appender flush in DuckDB's auto-commit (its own
 * transaction, ≈ 2.5 ms less than BEGIN, appends and COMMIT as round trips on the thread pool). The file is held open
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
        const old = await this.con.runAndReadAll("SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'step_states'");
        if (old.currentRowCount > 0) await this.migrate(this.con);
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

  private async migrate(c: DuckDBConnection): Promise<void> {
    try {
      await c.run(MIGRATE_TO_JOURNAL);
    } catch (e) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw new UserError(`cannot move the run state of ${this.file} into its journal (written by an earlier version): ${String(e).split('\n')[0]}; nothing was changed`);
    }
  }

  private seq = 0;

  /** Monotonic sequence numbers for `n` journal rows: µs since the epoch, strictly increasing, also across processes. */
  private nextSeq(n: number): number {
    const first = Math.max(Date.now() * 1000, this.seq + 1);
    this.seq = first + n - 1;
    return first;
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
    await this.use((c) => this.inTransaction(c, async () => {
      await c.run('INSERT INTO runs VALUES ($1, $2, $3, $4, $5, $6, $6, NULL, $7, $6)', [runId, plan.pipeline, JSON.stringify(plan), plan.digest, 'running', at, process.pid]);
      // no state rows: a step without one is pending (getState reads the steps from the plan)
      await this.appendJournal(c, runId, [{ ts: at, step_id: null, type: 'run_created', data: { plan_digest: plan.digest } }]);
    }));
  }

  /** Commits a batch of state changes atomically. */
  async write(w: StateWrite, at: number): Promise<void> {
    const rows = journalRows(w, at);
    const sets = ['updated_at=$2'];
    const args: (string | number | null)[] = [w.runId, at];
    if (w.runStatus) { args.push(w.runStatus); sets.push(`status=$${args.length}`); }
    if (w.heartbeat) { args.push(process.pid, at); sets.push(`owner_pid=$${args.length - 1}`, `heartbeat_at=$${args.length}`); }
    if (w.ended) { args.push(at); sets.push(`ended_at=$${args.length}`, 'owner_pid=NULL'); }
    if (w.reopen) sets.push('ended_at=NULL');
    const consumed = w.consumedDecisions ?? [];
    // the runs row changes only with status, heartbeat or end (not on every step transition)
    const updatesRun = sets.length > 1;
    await this.use(async (c) => {
      if (!updatesRun && !consumed.length && rows.length <= AUTOCOMMIT_ROWS) {
        if (rows.length) await this.appendJournal(c, w.runId, rows); // one flush: its own transaction
        return;
      }
      await this.inTransaction(c, async () => {
        await this.appendJournal(c, w.runId, rows);
        for (const d of consumed) {
          await c.run('UPDATE decisions SET consumed=true WHERE run_id=$1 AND action=$2 AND step_id IS NOT DISTINCT FROM $3 AND NOT consumed', [w.runId, d.action, d.step_id]);
        }
        if (updatesRun) await c.run(`UPDATE runs SET ${sets.join(', ')} WHERE run_id=$1`, args);
      });
    });
  }

  private async inTransaction(c: DuckDBConnection, fn: () => Promise<void>): Promise<void> {
    await c.run('BEGIN');
    try {
      await fn();
      await c.run('COMMIT');
    } catch (e) {
      await c.run('ROLLBACK');
      throw e;
    }
  }

  /** Appends journal rows, numbered here in order. */
  private appendJournal(c: DuckDBConnection, runId: string, rows: JournalRow[]): Promise<void> {
    return appendJournal(c, runId, this.nextSeq(rows.length), rows);
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

  /** The engine state of a run: each step's latest state in the journal, pending for a step without one (in plan order). */
  async getState(runId: string): Promise<{ state: RunState; cacheKeys: Record<string, string | undefined> }> {
    const rows = await this.use((c) =>
      rowsOf(c, 'SELECT * FROM journal WHERE run_id=$1 AND status IS NOT NULL QUALIFY row_number() OVER (PARTITION BY step_id ORDER BY seq DESC) = 1', [runId]),
    );
    const run = await this.use((c) => rowsOf(c, 'SELECT status, plan_json FROM runs WHERE run_id=$1', [runId]));
    const steps: Record<string, StepState> = {};
    const cacheKeys: Record<string, string | undefined> = {};
    const planned = run[0] ? (JSON.parse(run[0].plan_json as string) as { steps: { id: string }[] }).steps : [];
    for (const s of planned) steps[s.id] = { status: 'pending', attempt: 0 };
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
    return { state: { steps, cancelled: run[0]?.status === 'cancelled' }, cacheKeys };
  }

  async attempts(runId: string): Promise<AttemptRow[]> {
    const rows = await this.use((c) =>
      rowsOf(
        c,
        `SELECT step_id, attempt_no AS attempt, min(ts) FILTER (WHERE attempt_status = 'running') AS started_at,
                max(ts) FILTER (WHERE attempt_status <> 'running') AS ended_at, arg_max(attempt_status, seq) AS status,
                arg_max(attempt_error, seq) FILTER (WHERE attempt_error IS NOT NULL) AS error
         FROM journal WHERE run_id=$1 AND attempt_no IS NOT NULL GROUP BY step_id, attempt_no ORDER BY started_at, step_id, attempt`,
        [runId],
      ),
    );
    return rows.map((r) => ({ step_id: r.step_id as string, attempt: Number(r.attempt), started_at: Number(r.started_at), ended_at: num(r.ended_at) ?? null, status: r.status as string, error: (r.error as string | null) ?? null }));
  }

  async events(runId: string): Promise<{ at: number; step_id: string | null; type: string; data: unknown }[]> {
    const rows = await this.use((c) => rowsOf(c, 'SELECT ts, step_id, type, data_json FROM journal WHERE run_id=$1 AND type IS NOT NULL ORDER BY seq', [runId]));
    return rows.map((r) => ({ at: Number(r.ts), step_id: (r.step_id as string | null) ?? null, type: r.type as string, data: r.data_json ? JSON.parse(r.data_json as string) : null }));
  }

  /** Records an operator decision (approve/reject an approval step, abort the run) for the run loop to pick up. */
  async addDecision(d: Omit<DecisionRow, 'consumed'>): Promise<void> {
    await this.use((c) => this.inTransaction(c, async () => {
      await c.run('INSERT INTO decisions VALUES ($1, $2, $3, $4, $5, $6, false)', [d.run_id, d.step_id, d.action, d.by, d.comment, d.at]);
      await this.appendJournal(c, d.run_id, [{ ts: d.at, step_id: d.step_id, type: `${d.action}_recorded`, data: { by: d.by, comment: d.comment } }]);
    }));
  }

  /** Decisions not yet consumed by the loop, oldest first. */
  async pendingDecisions(runId: string): Promise<DecisionRow[]> {
    const rows = await this.use((c) => rowsOf(c, 'SELECT * FROM decisions WHERE run_id=$1 AND NOT consumed ORDER BY ts', [runId]));
    return rows.map((r) => ({ run_id: r.run_id as string, step_id: (r.step_id as string | null) ?? null, action: r.action as DecisionRow['action'], by: r.decided_by as string, comment: r.comment as string, at: Number(r.ts), consumed: false }));
  }
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
