/**
 * The run store's tables (embedded/store.ts) and the layout of its journal: which rows a tick's
 * records become, and how they are appended.
 */
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import type { StepState } from '../engine/scheduler.ts';

/** What one write records of a tick: changed step states, events, attempts started and ended (times epoch ms). */
export interface TickRecords {
  steps?: Record<string, StepState & { cache_key?: string }>;
  events?: { at: number; step_id: string | null; type: string; data?: unknown }[];
  attemptsStarted?: { step_id: string; attempt: number; at: number }[];
  attemptsEnded?: { step_id: string; attempt: number; at: number; status: string; error?: string }[];
}

/** The run store's tables: runs, the journal, operator decisions (created when missing). */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  run_id VARCHAR PRIMARY KEY, pipeline VARCHAR, plan_json VARCHAR, plan_digest VARCHAR, status VARCHAR,
  created_at BIGINT, updated_at BIGINT, ended_at BIGINT, owner_pid INTEGER, heartbeat_at BIGINT);
-- the run journal, append-only (DuckDB's upserts on keyed tables cost several ms each, appends
-- almost nothing). A row records what one tick did to one step, or one run-level event: the event
-- (type, data_json; NULL when the row only records a state or an attempt), the step's state after
-- the tick (status ... skip_reason; NULL when unchanged), and the attempt it started or ended
-- (attempt_no, attempt_status 'running' when started; NULL when none). A step's state is its
-- latest row with a status, by seq.
CREATE TABLE IF NOT EXISTS journal (
  run_id VARCHAR, seq BIGINT, ts BIGINT, step_id VARCHAR, type VARCHAR, data_json VARCHAR,
  status VARCHAR, attempt INTEGER, started_at BIGINT, ended_at BIGINT, retry_at BIGINT, cache_hit BOOLEAN,
  cache_key VARCHAR, outputs_json VARCHAR, error_json VARCHAR, skip_reason VARCHAR,
  attempt_no INTEGER, attempt_status VARCHAR, attempt_error VARCHAR);
CREATE TABLE IF NOT EXISTS decisions (
  run_id VARCHAR, step_id VARCHAR, action VARCHAR, decided_by VARCHAR, comment VARCHAR, ts BIGINT, consumed BOOLEAN);
`;

/**
 * Run-state files written before the journal kept step states, attempts and events in three
 * tables (step_states, attempt_events, events): their rows move into the journal, once, in one
 * transaction, the first time such a file is opened.
 */
export const MIGRATE_TO_JOURNAL = `
BEGIN;
INSERT INTO journal (run_id, seq, ts, step_id, status, attempt, started_at, ended_at, retry_at, cache_hit, cache_key, outputs_json, error_json, skip_reason)
  SELECT run_id, seq, seq // 1000, step_id, status, attempt, started_at, ended_at, retry_at, cache_hit, cache_key, outputs_json, error_json, skip_reason FROM step_states;
INSERT INTO journal (run_id, seq, ts, step_id, attempt_no, attempt_status, attempt_error)
  SELECT run_id, seq, coalesce(started_at, ended_at), step_id, attempt, status, error FROM attempt_events;
INSERT INTO journal (run_id, seq, ts, step_id, type, data_json) SELECT run_id, ts * 1000, ts, step_id, type, data_json FROM events;
DROP TABLE step_states; DROP TABLE attempt_events; DROP TABLE events;
COMMIT;
`;

type Cell = string | number | boolean | null;
type Column = 'varchar' | 'bigint' | 'integer' | 'boolean';

const JOURNAL_COLUMNS: readonly Column[] = [
  'varchar', 'bigint', 'bigint', 'varchar', 'varchar', 'varchar',
  'varchar', 'integer', 'bigint', 'bigint', 'bigint', 'boolean', 'varchar', 'varchar', 'varchar', 'varchar',
  'integer', 'varchar', 'varchar',
];

/** Up to this many rows a journal-only write is one auto-committed appender flush (DuckDB's appender flushes by itself only far beyond it). */
export const AUTOCOMMIT_ROWS = 10_000;

/** One journal row before its run id and seq: an event, a step's state, an attempt, or several of these for one step. */
export interface JournalRow {
  ts: number;
  step_id: string | null;
  type?: string;
  data?: unknown;
  state?: StepState & { cache_key?: string };
  attempt?: { attempt: number; status: string; error?: string };
}

/**
 * The rows of one write: a row per event, in order; each attempt started or ended goes on the row
 * of its step's event at the same time (`started`, `succeeded`, `failed`, `interrupted`), each
 * changed step's state on the last row of that step; what finds no such row gets a row of its own.
 * A tick that starts 8 steps and finishes 8 is 16 rows.
 */
export function journalRows(w: TickRecords, at: number): JournalRow[] {
  const rows: JournalRow[] = (w.events ?? []).map((e) => ({ ts: e.at, step_id: e.step_id, type: e.type, ...(e.data === undefined ? {} : { data: e.data }) }));
  const byStep = new Map<string, number[]>();
  rows.forEach((r, i) => r.step_id !== null && (byStep.get(r.step_id) ?? byStep.set(r.step_id, []).get(r.step_id)!).push(i));
  const attach = (stepId: string, ts: number, attempt: NonNullable<JournalRow['attempt']>) => {
    const i = (byStep.get(stepId) ?? []).find((j) => rows[j]!.ts === ts && !rows[j]!.attempt && (attempt.status === 'running') === (rows[j]!.type === 'started'));
    if (i !== undefined) rows[i]!.attempt = attempt;
    else rows.push({ ts, step_id: stepId, attempt });
  };
  for (const a of w.attemptsStarted ?? []) attach(a.step_id, a.at, { attempt: a.attempt, status: 'running' });
  for (const a of w.attemptsEnded ?? []) attach(a.step_id, a.at, { attempt: a.attempt, status: a.status, ...(a.error !== undefined ? { error: a.error } : {}) });
  for (const [id, state] of Object.entries(w.steps ?? {})) {
    const own = byStep.get(id);
    const last = own?.length ? rows[own[own.length - 1]!]! : undefined;
    if (last && !last.state) last.state = state;
    else rows.push({ ts: at, step_id: id, state });
  }
  return rows;
}

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

/** Appends journal rows for `runId`, numbered `firstSeq`, `firstSeq + 1`, … in order, with DuckDB's appender. */
export async function appendJournal(c: DuckDBConnection, runId: string, firstSeq: number, rows: JournalRow[]): Promise<void> {
  await appendRows(c, 'journal', JOURNAL_COLUMNS, rows.map((r, i) => {
    const s = r.state;
    const a = r.attempt;
    return [
      runId, firstSeq + i, r.ts, r.step_id, r.type ?? null, r.data === undefined ? null : JSON.stringify(r.data),
      s ? s.status : null, s ? s.attempt : null, s?.startedAt ?? null, s?.endedAt ?? null, s?.retryAt ?? null, s ? (s.cacheHit ?? false) : null, s?.cache_key ?? null,
      s?.outputs ? JSON.stringify(s.outputs) : null, s?.error ? JSON.stringify(s.error) : null, s?.skipReason ?? null,
      a ? a.attempt : null, a ? a.status : null, a?.error ?? null,
    ];
  }));
}
