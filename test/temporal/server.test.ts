/**
 * End to end on a real Temporal server. Runs only when TEMPORAL_ADDRESS is set:
 *   temporal server start-dev            (in another terminal)
 *   TEMPORAL_ADDRESS=localhost:7233 npx vitest run test/temporal/server.test.ts
 * Starts cpu + gpu workers in this process on a unique queue prefix, then: a real pipeline end to
 * end, failure + `retry` Signal, approval Update, the `status` Query, schedule create/trigger/delete.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { validateSpecText } from '../../spec/validate.ts';
import { compilePlan } from '../../spec/compile.ts';
import { connectClient } from '../../temporal/client.ts';
import { temporalSettingsFromEnv, type TemporalSettings } from '../../temporal/config.ts';
import { startPipelineRun } from '../../temporal/runs.ts';
import { applySync, desiredSchedules, diffSchedules, existingSchedules } from '../../temporal/schedules.ts';
import { approveUpdate, retrySignal, statusQuery, type PipelineStatus } from '../../temporal/workflow/api.ts';
import { createWorker } from '../../temporal/worker.ts';

const HAS_SERVER = Boolean(process.env.TEMPORAL_ADDRESS);
if (!HAS_SERVER) {
  console.log('[test/temporal/server.test.ts] SKIPPED: no Temporal server (set TEMPORAL_ADDRESS, e.g. after `temporal server start-dev`)');
}

const SPEC = `
version: 1
defaults: { retry: { maximum_attempts: 2, initial_interval: 200ms }, heartbeat_timeout: 10s }
pipelines:
  e2e:
    schedule: { cron: "0 3 * * *" }
    steps:
      ingest: { uses: noop, with: { outputs: { rows: 3 } } }
      wait: { uses: sleep, needs: [ingest], with: { duration: 300ms } }
      fit: { uses: noop, needs: [wait], queue: gpu, with: { outputs: { rows: "\${{ steps.ingest.outputs.rows }}" } } }
  flaky:
    steps:
      a: { uses: noop }
      b: { uses: fail, needs: [a], with: { times: 2 } }
      c: { uses: noop, needs: [b] }
  gated:
    steps:
      gate: { uses: noop }
      approve: { uses: approval, needs: [gate], with: { timeout: 10m } }
      promote: { uses: noop, needs: [approve] }
`;

describe.skipIf(!HAS_SERVER)('Temporal server end to end', () => {
  const spec = validateSpecText(SPEC, 'server.yaml').spec!;
  let settings: TemporalSettings;
  let client: Client;
  let connection: Connection;
  const workers: { worker: Worker; done: Promise<void>; close: () => Promise<void> }[] = [];
  let home: string;

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'trademl-temporal-e2e-'));
    settings = { ...temporalSettingsFromEnv(), taskQueuePrefix: `trademl-test-${process.pid}` };
    ({ client, connection } = await connectClient(settings));
    for (const queue of ['cpu', 'gpu'] as const) {
      const w = await createWorker({ queue, workflows: queue === 'cpu', maxConcurrentActivities: queue === 'gpu' ? 1 : 4, settings, home, shutdownGraceMs: 2000 });
      workers.push({ worker: w.worker, done: w.worker.run(), close: () => w.connection.close() });
    }
  });

  afterAll(async () => {
    for (const w of workers) w.worker.shutdown();
    for (const w of workers) {
      await w.done.catch(() => {});
      await w.close();
    }
    await connection?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const waitFor = async (h: { query: (q: typeof statusQuery) => Promise<PipelineStatus> }, pred: (s: PipelineStatus) => boolean) => {
    for (let i = 0; i < 200; i++) {
      const s = await h.query(statusQuery);
      if (pred(s)) return s;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('condition not reached');
  };

  it('runs a pipeline end to end across cpu and gpu queues', async () => {
    const h = await startPipelineRun(client, compilePlan(spec, 'e2e'), settings, { observe: false });
    const final = (await h.result()) as PipelineStatus;
    expect(final.status).toBe('succeeded');
    expect(final.steps.find((s) => s.id === 'fit')!.outputs).toEqual({ rows: 3 });
    const desc = await h.describe();
    expect(desc.memo).toMatchObject({ pipeline: 'e2e' });
  });

  it('waits after a failure and resumes on the retry Signal, reusing upstream outputs', async () => {
    const h = await startPipelineRun(client, compilePlan(spec, 'flaky'), settings, { observe: false });
    const waiting = await waitFor(h, (s) => s.status === 'waiting_operator');
    expect(waiting.steps.find((s) => s.id === 'b')).toMatchObject({ status: 'failed', attempts: 2 });
    await h.signal(retrySignal, { stepId: 'b', by: 'e2e' });
    const final = (await h.result()) as PipelineStatus;
    expect(final.status).toBe('succeeded');
    expect(final.steps.find((s) => s.id === 'a')!.attempts).toBe(1);
  });

  it('blocks on approval and continues after the approve Update; the validator refuses a nameless approver', async () => {
    const h = await startPipelineRun(client, compilePlan(spec, 'gated'), settings, { observe: false });
    await waitFor(h, (s) => s.status === 'waiting_approval');
    await expect(h.executeUpdate(approveUpdate, { args: [{ by: '' }] })).rejects.toThrow();
    const after = await h.executeUpdate(approveUpdate, { args: [{ by: 'risk', comment: 'ok' }] });
    expect(after.steps.find((s) => s.id === 'approve')!.status).toBe('succeeded');
    expect(((await h.result()) as PipelineStatus).status).toBe('succeeded');
  });

  it('creates, triggers and deletes a schedule', async () => {
    const desired = (await desiredSchedules(spec, settings)).map((d) => ({ ...d, options: { ...d.options, action: { ...d.options.action, args: [{ ...(d.options.action.args as [object])[0], observe: false }] } } }));
    const changes = diffSchedules(desired, await existingSchedules(client, settings.taskQueuePrefix, desired.map((d) => d.scheduleId)));
    expect(changes.map((c) => c.action)).toEqual(['create']);
    await applySync(client, desired, changes);
    const handle = client.schedule.getHandle(desired[0]!.scheduleId);
    try {
      await handle.trigger();
      let runs = 0;
      for (let i = 0; i < 50 && runs === 0; i++) {
        runs = (await handle.describe()).info.recentActions.length;
        if (!runs) await new Promise((r) => setTimeout(r, 200));
      }
      expect(runs).toBeGreaterThan(0);
    } finally {
      await applySync(client, [], diffSchedules([], [{ scheduleId: desired[0]!.scheduleId, pipeline: 'e2e', managed: true }]));
    }
    await expect(handle.describe()).rejects.toThrow();
  });
});
