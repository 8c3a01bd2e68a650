/**
 * Schedules on the real Temporal server: `schedules sync` creates and updates them (ids with the
 * task-queue prefix) and keeps an operator's pause; a backfill covers the server's range
 * (start exclusive, end inclusive) and each backfilled run's data cut-off is its scheduled time;
 * a run waiting for approval hands off and does not hold the schedule (overlap skip).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Spec } from '../../spec/schema.ts';
import { validateSpecText } from '../../spec/validate.ts';
import { applySync, backfillRange, backfillSchedule, desiredSchedules, diffSchedules, existingSchedules } from '../../temporal/schedules.ts';
import { scheduleId } from '../../temporal/queues.ts';
import type { PipelineStatus } from '../../temporal/workflow/api.ts';
import { trademl } from './support/cli.ts';
import { HAS_SERVERS, eventually, historyEvents, scheduledSteps, skipLine, startLive, waitStatus, type LiveEnv } from './support/live.ts';

skipLine('test/temporal/schedules.live.test.ts');

const SPEC = (dailyCron: string) => `
version: 1
defaults: { retry: { maximum_attempts: 1 } }
pipelines:
  daily:
    schedule: { cron: "${dailyCron}", timezone: UTC }
    steps: { a: { uses: noop } }
  bf:
    schedule: { cron: "0 0 * * *", timezone: UTC, paused: true }
    steps: { a: { uses: noop } }
  gated:
    schedule: { cron: "0 6 1 1 *", timezone: UTC, overlap: skip }
    steps:
      gate: { uses: noop, with: { outputs: { passed: true } } }
      approve: { uses: approval, needs: [gate], with: { timeout: 1h } }
      promote: { uses: noop, needs: [approve] }
`;

describe.skipIf(!HAS_SERVERS)('schedules on the real Temporal server', () => {
  let env: LiveEnv;
  const spec = (cron: string): Spec => validateSpecText(SPEC(cron), 'schedules.yaml').spec!;
  const sync = async (s: Spec) => {
    const desired = await desiredSchedules(s, env.settings);
    const changes = diffSchedules(desired, await existingSchedules(env.client, env.settings.taskQueuePrefix, desired.map((d) => d.scheduleId)));
    return applySync(env.client, desired, changes);
  };
  const runsOf = async (sched: string) => {
    const out: { workflowId: string; scheduledAt: string }[] = [];
    for await (const wf of env.client.workflow.list({ query: `TemporalScheduledById = '${sched}'` })) {
      const at = wf.typedSearchAttributes.get({ name: 'TemporalScheduledStartTime', type: 'DATETIME' }) as Date | undefined;
      out.push({ workflowId: wf.workflowId, scheduledAt: at?.toISOString() ?? '' });
    }
    return out.sort((a, b) => a.scheduledAt.localeCompare(b.scheduledAt));
  };

  beforeAll(async () => {
    env = await startLive('sched');
    const created = await sync(spec('0 3 * * *'));
    expect(created.map((c) => `${c.action} ${c.scheduleId}`)).toEqual(['create t17-sched-' + process.pid + '-bf', 'create t17-sched-' + process.pid + '-daily', 'create t17-sched-' + process.pid + '-gated']);
  }, 120_000);
  afterAll(async () => {
    if (!env) return;
    const existing = await existingSchedules(env.client, env.settings.taskQueuePrefix, []);
    await applySync(env.client, [], diffSchedules([], existing));
    for await (const wf of env.client.workflow.list({ query: `TaskQueue = '${env.settings.taskQueuePrefix}-cpu' AND ExecutionStatus = 'Running'` })) await env.client.workflow.getHandle(wf.workflowId).terminate('test cleanup').catch(() => {});
    await env.close();
  }, 60_000);

  it('sync names schedules and runs with the prefix, updates a changed schedule and keeps an operator pause', async () => {
    const id = scheduleId(env.settings.taskQueuePrefix, 'daily');
    const handle = env.client.schedule.getHandle(id);
    const d0 = await handle.describe();
    expect(d0.action).toMatchObject({ type: 'startWorkflow', workflowId: id, workflowType: 'pipelineWorkflow' });
    expect(d0.state.paused).toBe(false);
    await handle.pause('paused by the on-call: vendor outage');
    const changes = await sync(spec('30 3 * * *'));
    expect(changes.find((c) => c.scheduleId === id)!.action).toBe('update');
    const d1 = await handle.describe();
    expect(d1.spec.calendars?.[0] ?? d1.spec).toBeDefined();
    expect(JSON.stringify(d1.spec)).toContain('30');
    expect(d1.state).toMatchObject({ paused: true, note: 'paused by the on-call: vendor outage' });
    expect((await sync(spec('30 3 * * *'))).map((c) => c.action)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect((await handle.describe()).state.paused).toBe(true);
  });

  it('backfill: the server range includes both ends; a date range covers both days; each run is cut off at its scheduled time', async () => {
    const id = scheduleId(env.settings.taskQueuePrefix, 'bf');
    // exact boundaries: runs scheduled exactly at the start and exactly at the end are both started
    await backfillSchedule(env.client, id, new Date('2017-06-05T00:00:00Z'), new Date('2017-06-07T00:00:00Z'), 'ALLOW_ALL');
    // date-only CLI range: both days included
    const cli = await trademl(['schedules', 'backfill', 'bf', '--from', '2017-06-12', '--to', '2017-06-13', '--overlap', 'allow_all'], { TRADEML_TASK_QUEUE_PREFIX: env.settings.taskQueuePrefix });
    expect(cli.code).toBe(0);
    expect(backfillRange('2017-06-12', '2017-06-13')).toEqual({ from: new Date('2017-06-12T00:00:00.000Z'), to: new Date('2017-06-13T23:59:59.999Z') });
    const want = ['2017-06-05T00:00:00.000Z', '2017-06-06T00:00:00.000Z', '2017-06-07T00:00:00.000Z', '2017-06-12T00:00:00.000Z', '2017-06-13T00:00:00.000Z'];
    const runs = await eventually(async () => {
      const r = await runsOf(id);
      return r.length >= 5 && r;
    }, 60_000, 'five backfilled runs');
    expect(runs.map((r) => r.scheduledAt)).toEqual(want);
    for (const r of runs) {
      expect(r.workflowId.startsWith(`${id}-`)).toBe(true);
      const h = env.client.workflow.getHandle(r.workflowId);
      const final = (await h.result()) as PipelineStatus;
      expect(final.params.as_of).toBe(r.scheduledAt);
      expect(scheduledSteps(await historyEvents(h)).map((s) => s.params.as_of)).toEqual([r.scheduledAt]);
    }
  });

  it('a run waiting for approval hands off and does not hold the schedule: the next scheduled run starts', async () => {
    const id = scheduleId(env.settings.taskQueuePrefix, 'gated');
    const handle = env.client.schedule.getHandle(id);
    await handle.trigger();
    const [first] = await eventually(async () => {
      const r = await runsOf(id);
      return r.length === 1 && r;
    }, 30_000, 'first scheduled run');
    const parent = env.client.workflow.getHandle(first!.workflowId);
    const parked = (await parent.result()) as PipelineStatus;
    expect(parked).toMatchObject({ status: 'waiting_approval', handedOff: { workflowId: `${first!.workflowId}-approval`, waitingFor: 'approval' } });
    const cont = env.client.workflow.getHandle(parked.handedOff!.workflowId);
    await waitStatus(cont, (s) => s.status === 'waiting_approval');
    // scheduled workflow ids carry the scheduled time to the second: a second action within the same
    // second would reuse the first run's id (and CLI commands by id would reach that run), so wait it out
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(first!.scheduledAt) + 1_500 - Date.now())));
    await handle.trigger(); // overlap skip: would be skipped if the waiting candidate held the schedule
    const runs = await eventually(async () => {
      const r = await runsOf(id);
      return r.length === 2 && r;
    }, 30_000, 'second scheduled run started while the first candidate waits');
    expect(new Set(runs.map((r) => r.workflowId)).size).toBe(2);
    const info = (await handle.describe()).info;
    expect(info.numActionsSkippedOverlap).toBe(0);
    // the operator acts on the id the schedule started; the CLI follows the hand-off
    const cli = await trademl(['temporal', 'approve', first!.workflowId, '--by', 'Jane Doe'], { TRADEML_TASK_QUEUE_PREFIX: env.settings.taskQueuePrefix });
    expect(cli.code, cli.stderr + cli.stdout).toBe(0);
    const final = (await cont.result()) as PipelineStatus;
    expect(final).toMatchObject({ status: 'succeeded', runId: first!.workflowId, params: { as_of: first!.scheduledAt } });
    expect(final.steps.find((s) => s.id === 'gate')).toMatchObject({ status: 'succeeded', attempts: 1 });
    // the continuation ran only what followed the approval
    expect(scheduledSteps(await historyEvents(cont)).map((s) => s.step)).toEqual(['promote']);
    expect(runs[1]!.workflowId).not.toBe(first!.workflowId);
  });
});
