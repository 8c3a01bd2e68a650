/**
 * The run journal (embedded/store.ts): a run-state file of the earlier three-table layout is moved
 * into the journal the first time it is opened, with every state, attempt and event kept; a tick
 * writes one row per step event, carrying the step's state and attempt.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { RunStore } from '../../embedded/store.ts';
import { tempDir } from '../support/context.ts';
import { planFromYaml } from '../support/specs.ts';

const OLD_LAYOUT = `
CREATE TABLE runs (run_id VARCHAR PRIMARY KEY, pipeline VARCHAR, plan_json VARCHAR, plan_digest VARCHAR, status VARCHAR,
  created_at BIGINT, updated_at BIGINT, ended_at BIGINT, owner_pid INTEGER, heartbeat_at BIGINT);
CREATE TABLE step_states (run_id VARCHAR, step_id VARCHAR, seq BIGINT, status VARCHAR, attempt INTEGER, started_at BIGINT, ended_at BIGINT,
  retry_at BIGINT, cache_hit BOOLEAN, cache_key VARCHAR, outputs_json VARCHAR, error_json VARCHAR, skip_reason VARCHAR);
CREATE TABLE attempt_events (run_id VARCHAR, step_id VARCHAR, attempt INTEGER, seq BIGINT, started_at BIGINT, ended_at BIGINT, status VARCHAR, error VARCHAR);
CREATE TABLE events (run_id VARCHAR, ts BIGINT, step_id VARCHAR, type VARCHAR, data_json VARCHAR);
CREATE TABLE decisions (run_id VARCHAR, step_id VARCHAR, action VARCHAR, decided_by VARCHAR, comment VARCHAR, ts BIGINT, consumed BOOLEAN);
`;

describe('run journal', () => {
  it('moves a run-state file of the earlier layout into the journal: states, attempts and events as they were', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const plan = planFromYaml('version: 1\npipelines:\n  p:\n    steps:\n      a: { uses: noop }\n      b: { uses: noop, needs: [a] }\n', 'p');
    mkdirSync(home);
    // what the earlier store wrote for a run killed while b ran its second attempt (a succeeded, b's first attempt failed)
    const db = await DuckDBInstance.create(path.join(home, 'state.duckdb'));
    const c = await db.connect();
    await c.run(OLD_LAYOUT);
    const t = 1_764_000_000_000;
    await c.run('INSERT INTO runs VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $7)', ['r1', 'p', JSON.stringify(plan), plan.digest, 'running', t, t + 30]);
    const st = (id: string, seq: number, status: string, attempt: number, extra: Record<string, unknown> = {}) =>
      c.run('INSERT INTO step_states VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, false, $8, $9, $10, NULL)', ['r1', id, seq, status, attempt, (extra.started as number) ?? null, (extra.ended as number) ?? null, (extra.key as string) ?? null, (extra.outputs as string) ?? null, (extra.error as string) ?? null]);
    await st('a', t * 1000, 'pending', 0);
    await st('b', t * 1000, 'pending', 0);
    await st('a', t * 1000 + 10_000, 'running', 1, { started: t + 10 });
    await st('a', t * 1000 + 20_000, 'succeeded', 1, { started: t + 10, ended: t + 20, key: 'sha256:k', outputs: '{"x":1}' });
    await st('b', t * 1000 + 20_000, 'running', 1, { started: t + 20 });
    await st('b', t * 1000 + 25_000, 'running', 2, { started: t + 25, error: '{"message":"boom","type":"Error"}' });
    const at = (id: string, attempt: number, seq: number, started: number | null, ended: number | null, status: string, error: string | null = null) =>
      c.run('INSERT INTO attempt_events VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', ['r1', id, attempt, seq, started, ended, status, error]);
    await at('a', 1, t * 1000 + 10_000, t + 10, null, 'running');
    await at('a', 1, t * 1000 + 20_001, null, t + 20, 'succeeded');
    await at('b', 1, t * 1000 + 20_000, t + 20, null, 'running');
    await at('b', 1, t * 1000 + 25_001, null, t + 24, 'failed', 'boom');
    await at('b', 2, t * 1000 + 25_000, t + 25, null, 'running');
    for (const [ts, step, type] of [[t, null, 'run_created'], [t + 10, 'a', 'started'], [t + 20, 'a', 'succeeded'], [t + 20, 'b', 'started'], [t + 24, 'b', 'failed'], [t + 25, 'b', 'started']] as const) {
      await c.run('INSERT INTO events VALUES ($1, $2, $3, $4, NULL)', ['r1', ts, step, type]);
    }
    c.closeSync();
    db.closeSync();

    const store = new RunStore(home);
    const { state, cacheKeys } = await store.getState('r1');
    expect(state.steps.a).toMatchObject({ status: 'succeeded', attempt: 1, outputs: { x: 1 } });
    expect(cacheKeys.a).toBe('sha256:k');
    expect(state.steps.b).toMatchObject({ status: 'running', attempt: 2, error: { message: 'boom' } });
    expect((await store.attempts('r1')).map((a) => [a.step_id, a.attempt, a.status, a.error])).toEqual([
      ['a', 1, 'succeeded', null], ['b', 1, 'failed', 'boom'], ['b', 2, 'running', null],
    ]);
    expect((await store.events('r1')).map((e) => `${e.step_id ?? '-'}:${e.type}`)).toEqual(['-:run_created', 'a:started', 'a:succeeded', 'b:started', 'b:failed', 'b:started']);
    store.close();

    // the old tables are gone; the run resumes from the journal: a is not re-run, b's third attempt runs
    const check = await DuckDBInstance.create(path.join(home, 'state.duckdb'));
    const cc = await check.connect();
    const tables = (await cc.runAndReadAll("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1")).getRows().map((r) => r[0]);
    cc.closeSync();
    check.closeSync();
    expect(tables).toEqual(['decisions', 'journal', 'runs']);
    const out = await new EmbeddedRuntime({ home }).resume('r1');
    expect(out.status).toBe('succeeded');
    const after = new RunStore(home);
    const attempts = await after.attempts('r1');
    after.close();
    expect(attempts.map((a) => [a.step_id, a.attempt, a.status])).toEqual([['a', 1, 'succeeded'], ['b', 1, 'failed'], ['b', 2, 'interrupted'], ['b', 3, 'succeeded']]);
  });

  it('a tick writes one row per step event: the state and the attempt go on the row of the event that made them', async () => {
    const home = path.join(tempDir(), 'home');
    const ids = Array.from({ length: 8 }, (_, i) => `s${i}`);
    const plan = planFromYaml(`version: 1\npipelines:\n  p:\n    steps:\n${ids.map((id, i) => `      ${id}: { uses: sleep, with: { duration: ${10 + i}ms } }`).join('\n')}\n`, 'p', { concurrency: 8 });
    const out = await new EmbeddedRuntime({ home }).start(plan, 'rows-1');
    expect(out.status).toBe('succeeded');
    const db = await DuckDBInstance.create(path.join(home, 'state.duckdb'));
    const c = await db.connect();
    const rows = (await c.runAndReadAll('SELECT step_id, type, status, attempt_no, attempt_status FROM journal WHERE run_id = $1 ORDER BY seq', ['rows-1'])).getRowObjectsJS();
    c.closeSync();
    db.closeSync();
    // the run's creation is its event alone (a step without a state row is pending); then each step's start and end, one row each
    expect(rows.filter((r) => r.type === 'run_created')).toHaveLength(1);
    expect(rows.filter((r) => r.type === null)).toEqual([]);
    for (const id of ids) {
      expect(rows.filter((r) => r.step_id === id && r.type !== null).map((r) => [r.type, r.status, r.attempt_no, r.attempt_status])).toEqual([
        ['started', 'running', 1, 'running'],
        ['succeeded', 'succeeded', 1, 'succeeded'],
      ]);
    }
    expect(rows).toHaveLength(1 + 16);
  });
});
