/**
 * Temporal Schedules from every pipeline's `schedule:` in pipelines.yaml. `schedules sync` makes
 * the server match the file: creates missing schedules, updates changed ones (cron, timezone,
 * overlap policy, catch-up window, or the compiled plan), deletes TradeML schedules whose
 * pipeline lost its `schedule:` (only those this prefix created, recognised by their memo).
 *
 * - Ids carry the task-queue prefix: schedule `<prefix>-<pipeline>`, runs `<prefix>-<pipeline>-<scheduled time>`.
 * - `paused:` applies when a schedule is created; afterwards pausing is the operator's call
 *   (`temporal schedule toggle`): an update keeps the server's paused state and note.
 * - Scheduled runs hand off to a continuation when they park on an approval or an operator, so a
 *   waiting candidate does not hold the schedule (temporal/workflow/handoff.ts); their data cut-off
 *   is their scheduled time (`params.as_of`, from TemporalScheduledStartTime).
 */
import { ScheduleNotFoundError, type Client, type ScheduleOptions, type ScheduleOverlapPolicy } from '@temporalio/client';
import type { Plan, PlanSchedule } from '../engine/plan.ts';
import { digestJson } from '../lib/hash.ts';
import { compilePlan } from '../spec/compile.ts';
import type { Spec } from '../spec/schema.ts';
import type { TemporalSettings } from './config.ts';
import { PIPELINE_WORKFLOW_TYPE, scheduleId, taskQueueName } from './queues.ts';
import { pipelineInput, runMemo, startSearchAttributes } from './runs.ts';

const OVERLAP: Record<PlanSchedule['overlap'], ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  buffer_one: 'BUFFER_ONE',
  buffer_all: 'BUFFER_ALL',
  cancel_other: 'CANCEL_OTHER',
  terminate_other: 'TERMINATE_OTHER',
  allow_all: 'ALLOW_ALL',
};

/** Memo key that marks schedules created by `trademl schedules sync`. */
export const MANAGED_BY = 'trademl';

export interface DesiredSchedule {
  scheduleId: string;
  pipeline: string;
  plan: Plan;
  /** Digest of everything sync controls; stored in the action memo to detect changes. */
  fingerprint: string;
  options: ScheduleOptions;
}

export type SyncAction = 'create' | 'update' | 'delete' | 'unchanged';

export interface SyncChange {
  action: SyncAction;
  scheduleId: string;
  pipeline: string;
  detail: string;
}

/** What exists on the server, as far as sync is concerned. */
export interface ExistingSchedule {
  scheduleId: string;
  pipeline?: string;
  fingerprint?: string;
  managed: boolean;
}

/** The schedules the spec asks for (pipelines with `schedule:`), compiled with default params. */
export async function desiredSchedules(spec: Spec, settings: TemporalSettings): Promise<DesiredSchedule[]> {
  const out: DesiredSchedule[] = [];
  for (const name of Object.keys(spec.pipelines).sort()) {
    const p = spec.pipelines[name]!;
    if (!p.schedule) continue;
    const paused = compilePlan(spec, name).schedule!.paused;
    // `paused:` only sets the initial state: the plan the runs get (and the fingerprint) never carry it
    const { paused: _p, ...unpaused } = p.schedule;
    const plan = compilePlan({ ...spec, pipelines: { ...spec.pipelines, [name]: { ...p, schedule: unpaused } } } as Spec, name);
    const s = { ...plan.schedule!, paused };
    const id = scheduleId(settings.taskQueuePrefix, name);
    const input = await pipelineInput(plan, settings, { observe: true, handOff: true });
    const fingerprint = digestJson({ plan: plan.digest, prefix: settings.taskQueuePrefix, sa: settings.searchAttributes, input });
    out.push({
      scheduleId: id,
      pipeline: name,
      plan,
      fingerprint,
      options: {
        scheduleId: id,
        spec: { cronExpressions: [s.cron], timezone: s.timezone },
        action: {
          type: 'startWorkflow',
          workflowType: PIPELINE_WORKFLOW_TYPE,
          // the server appends the scheduled time: `<prefix>-<pipeline>-2025-01-06T07:00:00Z`
          workflowId: id,
          taskQueue: taskQueueName(settings.taskQueuePrefix, 'cpu'),
          args: [input],
          memo: { ...runMemo(plan), trademl_schedule: fingerprint },
          staticSummary: `${name}: scheduled by ${id} (${s.cron} ${s.timezone})`,
          ...(settings.searchAttributes ? { typedSearchAttributes: startSearchAttributes(plan) } : {}),
        },
        policies: { overlap: OVERLAP[s.overlap], catchupWindow: s.catchup_window_ms },
        state: { paused: s.paused, note: `managed by trademl schedules sync (pipelines.yaml, plan ${plan.digest.slice(0, 19)})` },
        memo: { managed_by: MANAGED_BY, task_queue_prefix: settings.taskQueuePrefix, pipeline: name },
      },
    });
  }
  return out;
}

/** Pure diff: what sync must do to make `existing` match `desired`. Unmanaged schedules are never touched. */
export function diffSchedules(desired: Pick<DesiredSchedule, 'scheduleId' | 'pipeline' | 'fingerprint' | 'plan'>[], existing: ExistingSchedule[]): SyncChange[] {
  const have = new Map(existing.map((e) => [e.scheduleId, e]));
  const changes: SyncChange[] = [];
  for (const d of desired) {
    const e = have.get(d.scheduleId);
    const cron = `${d.plan.schedule!.cron} ${d.plan.schedule!.timezone}`;
    if (!e) changes.push({ action: 'create', scheduleId: d.scheduleId, pipeline: d.pipeline, detail: cron });
    else if (!e.managed) changes.push({ action: 'unchanged', scheduleId: d.scheduleId, pipeline: d.pipeline, detail: 'exists but was not created by trademl; left alone' });
    else if (e.fingerprint !== d.fingerprint) changes.push({ action: 'update', scheduleId: d.scheduleId, pipeline: d.pipeline, detail: `${cron} (plan ${d.plan.digest.slice(0, 19)})` });
    else changes.push({ action: 'unchanged', scheduleId: d.scheduleId, pipeline: d.pipeline, detail: cron });
  }
  const want = new Set(desired.map((d) => d.scheduleId));
  for (const e of existing) {
    if (e.managed && !want.has(e.scheduleId)) changes.push({ action: 'delete', scheduleId: e.scheduleId, pipeline: e.pipeline ?? '?', detail: 'pipeline has no schedule: any more' });
  }
  return changes;
}

/** Reads the TradeML schedules of this prefix from the server (plus any desired id that exists). */
export async function existingSchedules(client: Client, prefix: string, desiredIds: string[]): Promise<ExistingSchedule[]> {
  const found = new Map<string, ExistingSchedule>();
  for await (const s of client.schedule.list()) {
    const memo = s.memo ?? {};
    if (memo.managed_by === MANAGED_BY && memo.task_queue_prefix === prefix) found.set(s.scheduleId, { scheduleId: s.scheduleId, pipeline: String(memo.pipeline ?? ''), managed: true });
  }
  // list() is eventually consistent and has no action memo: describe each schedule we care about
  for (const id of new Set([...desiredIds, ...found.keys()])) {
    try {
      const d = await client.schedule.getHandle(id).describe();
      const memo = d.memo ?? {};
      const managed = memo.managed_by === MANAGED_BY && memo.task_queue_prefix === prefix;
      const fingerprint = (d.action.memo as Record<string, unknown> | undefined)?.trademl_schedule;
      found.set(id, { scheduleId: id, pipeline: typeof memo.pipeline === 'string' ? memo.pipeline : undefined, managed, fingerprint: typeof fingerprint === 'string' ? fingerprint : undefined });
    } catch (e) {
      if (e instanceof ScheduleNotFoundError) found.delete(id);
      else throw e;
    }
  }
  return [...found.values()];
}

/** Applies a diff (create / update / delete). Returns the changes applied. */
export async function applySync(client: Client, desired: DesiredSchedule[], changes: SyncChange[]): Promise<SyncChange[]> {
  const byId = new Map(desired.map((d) => [d.scheduleId, d]));
  for (const c of changes) {
    if (c.action === 'create') await client.schedule.create(byId.get(c.scheduleId)!.options);
    else if (c.action === 'update') {
      const { scheduleId: _id, memo: _memo, state: _state, ...rest } = byId.get(c.scheduleId)!.options;
      // the operator's pause (and its note) stay as they are on the server
      await client.schedule.getHandle(c.scheduleId).update((prev) => ({ ...rest, state: { paused: prev.state.paused, note: prev.state.note } }));
    } else if (c.action === 'delete') await client.schedule.getHandle(c.scheduleId).delete();
  }
  return changes;
}

/**
 * One run per scheduled time in [`from`, `to`] — the server's range, both ends included (checked
 * live against Temporal Server 1.32: a time exactly at `from` and one exactly at `to` both run;
 * some SDK docs call the start exclusive, the server does not) — with overlap BUFFER_ALL by
 * default (one after the other). Each run's data cut-off is its scheduled time.
 */
export async function backfillSchedule(client: Client, id: string, from: Date, to: Date, overlap: ScheduleOverlapPolicy = 'BUFFER_ALL'): Promise<void> {
  if (!(from < to)) throw new Error(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`);
  await client.schedule.getHandle(id).backfill({ start: from, end: to, overlap });
}

/**
 * The server range of a CLI backfill: a date (YYYY-MM-DD) means the whole UTC day — `--from D` is
 * D 00:00:00.000, `--to D` is D 23:59:59.999 — so `--from 2025-01-06 --to 2025-01-08` covers
 * every time scheduled on those three days; a date-time is passed as it is (both ends included).
 */
export function backfillRange(fromArg: string, toArg: string): { from: Date; to: Date } {
  const day = /^\d{4}-\d{2}-\d{2}$/;
  const parse = (v: string, flag: string, end: boolean): Date => {
    const d = day.test(v) ? new Date(Date.parse(`${v}T00:00:00Z`) + (end ? 86_400_000 - 1 : 0)) : new Date(v);
    if (Number.isNaN(d.getTime())) throw new Error(`${flag}: "${v}" is not a date — use YYYY-MM-DD or an ISO date-time`);
    return d;
  };
  const from = parse(fromArg, '--from', false);
  const to = parse(toArg, '--to', true);
  if (!(from < to)) throw new Error(`--from must be before --to (got ${fromArg} .. ${toArg})`);
  return { from, to };
}
