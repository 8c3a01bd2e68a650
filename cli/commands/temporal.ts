/**
 * `trademl temporal …`: run pipelines on a Temporal cluster and operate them.
 *   run <pipeline> [--param k=v] [--wait]        start a run (workflow id `<pipeline>-<date>-<hex>`)
 *   status <workflow-id>                         the DAG (Query `status`) + live progress (heartbeats)
 *   approve|reject <workflow-id> --by NAME       decide an approval step (Update, validated)
 *   retry|skip|abort <workflow-id> [--step id]   operator decisions after a failed step (retry --from <step>)
 *   rerun <workflow-id> [--from <step>]          a new run seeded with a closed run's succeeded outputs
 * Operator commands follow a run that handed off to its continuation (scheduled runs parked on an
 * approval or an operator). Connection from Temporal's standard env / profiles (docs/temporal.md).
 */
import path from 'node:path';
import { WorkflowFailedError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { Command } from 'commander';
import { ArtifactStore } from '../../artifacts/store.ts';
import { formatDuration } from '../../lib/duration.ts';
import { UserError, errorMessage } from '../../lib/errors.ts';
import { stateHome } from '../../lib/paths.ts';
import { compilePlan, loadSpec, parseParamArgs } from '../../spec/compile.ts';
import { connectClient } from '../../temporal/client.ts';
import { describeSettings } from '../../temporal/config.ts';
import { startPipelineRun } from '../../temporal/runs.ts';
import { followHandOff, startRerun } from '../../temporal/rerun.ts';
import {
  abortSignal,
  abortUpdate,
  approveUpdate,
  rejectUpdate,
  retrySignal,
  retryUpdate,
  skipSignal,
  skipUpdate,
  statusQuery,
  type PipelineStatus,
  type StepView,
} from '../../temporal/workflow/api.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Registers `trademl temporal` and its subcommands. */
export function register(program: import('commander').Command): void {
  const t = program.command('temporal').description('run and operate pipelines on Temporal (see docs/temporal.md)');

  t.command('run')
    .description('start a pipeline run on Temporal (workers: npx tsx temporal/cpu-worker.ts, temporal/gpu-worker.ts)')
    .argument('<pipeline>')
    .option('-f, --file <file>', 'spec file', 'pipelines.yaml')
    .option('-p, --param <k=v>', 'override a param (repeatable)', collect)
    .option('--id <workflow-id>', 'workflow id (default <pipeline>-<yyyymmdd-hhmmss>-<hex>)')
    .option('--no-cache', 'ignore cached step results')
    .option('--as-of <time>', 'data cut-off (ISO date or time): steps see params.as_of')
    .option('--hand-off', 'hand off to a continuation workflow when parked on an approval or an operator (what schedules do)')
    .option('--wait', 'wait for the run to end and print its final status')
    .option('--json', 'machine-readable output')
    .action(async (pipeline: string, o: { file: string; param?: string[]; id?: string; cache: boolean; asOf?: string; handOff?: boolean; wait?: boolean; json?: boolean }, cmd: Command) => {
      const plan = compilePlan(loadSpec(o.file), pipeline, { params: parseParamArgs(o.param) });
      const home = homeOf(cmd);
      if (o.asOf && Number.isNaN(Date.parse(o.asOf))) throw new UserError(`--as-of: "${o.asOf}" is not a date or date-time`);
      await withClient(async (client, settingsLine, settings) => {
        const handle = await startPipelineRun(client, plan, settings, { workflowId: o.id, noCache: !o.cache, store: new ArtifactStore(path.join(home, 'artifacts')), ...(o.asOf ? { asOf: new Date(o.asOf).toISOString() } : {}), handOff: o.handOff });
        if (!o.wait) {
          out(!!o.json, { workflowId: handle.workflowId, pipeline, planDigest: plan.digest }, () =>
            [`started ${handle.workflowId} (${settingsLine})`, `  watch:   trademl temporal status ${handle.workflowId}`, `  web UI:  ${uiHint(settings.namespace, handle.workflowId)}`].join('\n'),
          );
          return;
        }
        const final = await awaitResult(handle);
        out(!!o.json, final, () => renderStatus(handle.workflowId, final));
        process.exitCode = final.status === 'succeeded' ? 0 : 1;
      });
    });

  t.command('status')
    .description("a run's DAG: every step's state, attempts, outputs, live progress")
    .argument('<workflow-id>')
    .option('--json', 'machine-readable output')
    .action(async (given: string, o: { json?: boolean }) => {
      await withClient(async (client) => {
        const id = await followHandOff(client, given);
        const handle = client.workflow.getHandle(id);
        const [status, desc] = await Promise.all([handle.query(statusQuery), handle.describe()]);
        const progress: Record<string, string> = {};
        for (const a of desc.raw.pendingActivities ?? []) {
          const details = a.heartbeatDetails?.payloads?.[0];
          if (!details?.data) continue;
          try {
            const d = JSON.parse(Buffer.from(details.data).toString('utf8')) as { step?: string; fraction?: number; message?: string };
            if (d.step) progress[d.step] = [d.fraction !== undefined ? `${Math.round(d.fraction * 100)}%` : '', d.message ?? ''].filter(Boolean).join(' ');
          } catch {
            /* not our heartbeat format */
          }
        }
        out(!!o.json, { ...status, workflowStatus: desc.status.name, progress }, () => renderStatus(id, status, desc.status.name, progress));
      });
    });

  for (const [name, approved] of [['approve', true], ['reject', false]] as const) {
    t.command(name)
      .description(`${name} a step waiting for approval (Temporal Update \`${name}\`)`)
      .argument('<workflow-id>')
      .option('--step <id>', 'the approval step (default: the one waiting)')
      .requiredOption('--by <name>', 'who decides (recorded)')
      .option('--comment <text>', 'why')
      .option('--json', 'machine-readable output')
      .action(async (given: string, o: { step?: string; by: string; comment?: string; json?: boolean }) => {
        await withClient(async (client) => {
          const id = await followHandOff(client, given);
          const st = await update(client.workflow.getHandle(id), approved ? approveUpdate : rejectUpdate, { stepId: o.step, by: o.by, comment: o.comment });
          out(!!o.json, st, () => `${approved ? 'approved' : 'rejected'}; run is ${st.status}\n` + renderStatus(id, st));
        });
      });
  }

  const ops = [
    ['retry', 're-run a failed step (default: every failed step) and its dependents, reusing all other outputs', retryUpdate, retrySignal],
    ['skip', 'give up on a failed step and let its dependents run', skipUpdate, skipSignal],
    ['abort', 'cancel running steps and end the run', abortUpdate, abortSignal],
  ] as const;
  for (const [name, description, upd, sig] of ops) {
    t.command(name)
      .description(description)
      .argument('<workflow-id>')
      .option('--step <id>', name === 'abort' ? 'unused' : 'the failed step')
      .option('--from <id>', name === 'retry' ? 're-run this step (even if it succeeded) and its dependents' : 'retry only')
      .option('--by <name>', 'operator name (recorded)', process.env.TRADEML_USER ?? process.env.USER ?? 'cli')
      .option('--reason <text>', 'why (recorded)')
      .option('--signal', 'send a Signal instead of an Update (no validation, no reply; what the UI sends)')
      .option('--json', 'machine-readable output')
      .action(async (given: string, o: { step?: string; from?: string; by: string; reason?: string; signal?: boolean; json?: boolean }) => {
        if (o.from && name !== 'retry') throw new UserError(`--from applies to retry only, not ${name}`);
        await withClient(async (client) => {
          const id = await followHandOff(client, given);
          const handle = client.workflow.getHandle(id);
          const req = o.from ? { stepId: o.from, from: true, by: o.by, reason: o.reason } : { stepId: o.step, by: o.by, reason: o.reason };
          if (o.signal) {
            await handle.signal(sig, req);
            out(!!o.json, { signalled: name, workflowId: id }, () => `sent signal ${name} to ${id}; check: trademl temporal status ${id}`);
            return;
          }
          const st = await update(handle, upd, req);
          out(!!o.json, st, () => `${name}: run is ${st.status}\n` + renderStatus(id, st));
        });
      });
  }
  registerRerun(t);
}

/** `trademl temporal rerun <workflow-id> [--from <step>]`. */
function registerRerun(t: Command): void {
  t.command('rerun')
    .description('re-run a closed run (failed, aborted, cancelled, terminated, or past its operator window) from a step: a new workflow reusing every other succeeded output')
    .argument('<workflow-id>')
    .option('--from <step>', 're-run this step and what depends on it (repeatable; default: every step that did not succeed)', collect)
    .option('--id <workflow-id>', 'id of the new run (default <pipeline>-<yyyymmdd-hhmmss>-<hex>)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { from?: string[]; id?: string; json?: boolean }) => {
      await withClient(async (client, _line, settings) => {
        const r = await startRerun(client, settings, id, { from: o.from, newWorkflowId: o.id });
        out(!!o.json, { workflowId: r.workflowId, from: id, rerun: r.seed.rerun }, () =>
          [`started ${r.workflowId}: re-run of ${id}; runs again: ${r.seed.rerun.join(', ')} (every other step keeps its outputs)`, `  watch:   trademl temporal status ${r.workflowId}`].join('\n'),
        );
      });
    });
}

function homeOf(cmd: Command): string {
  const o = cmd.optsWithGlobals() as { home?: string };
  return path.resolve(o.home ?? stateHome());
}

async function withClient(fn: (client: Client, settingsLine: string, settings: Awaited<ReturnType<typeof connectClient>>['settings']) => Promise<void>): Promise<void> {
  const { client, connection, settings } = await connectClient();
  try {
    await fn(client, describeSettings(settings), settings);
  } finally {
    await connection.close();
  }
}

async function update<A>(handle: WorkflowHandle, def: UpdateDefinition<PipelineStatus, [A]>, arg: A): Promise<PipelineStatus> {
  try {
    return await handle.executeUpdate(def, { args: [arg] });
  } catch (e) {
    if (e instanceof WorkflowUpdateFailedError) throw new UserError(`${def.name} refused: ${errorMessage(e.cause ?? e)}`);
    throw e;
  }
}

async function awaitResult(handle: WorkflowHandle): Promise<PipelineStatus> {
  try {
    return (await handle.result()) as PipelineStatus;
  } catch (e) {
    if (e instanceof WorkflowFailedError) {
      const details = (e.cause as { details?: unknown[] } | undefined)?.details?.[0] as PipelineStatus | undefined;
      if (details?.steps) return details;
    }
    throw e;
  }
}

function out(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human() + '\n');
}

function uiHint(namespace: string, workflowId: string): string {
  const ui = process.env.TEMPORAL_UI_URL ?? 'http://localhost:8233';
  return `${ui}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** Human rendering of a run's status. */
export function renderStatus(workflowId: string, st: PipelineStatus, workflowStatus?: string, progress: Record<string, string> = {}): string {
  const width = Math.max(8, ...st.steps.map((s) => s.id.length));
  const lines = [`${workflowId}: ${st.status}${workflowStatus ? ` (workflow ${workflowStatus})` : ''} — pipeline ${st.pipeline}, plan ${st.planDigest.slice(0, 19)}`];
  for (const s of st.steps) lines.push('  ' + stepLine(s, width, progress[s.id]));
  if (st.waiting?.kind === 'approval') {
    lines.push('', `waiting for approval of ${st.waiting.steps.join(', ')} until ${st.waiting.deadline}:`, `  trademl temporal approve ${workflowId} --step ${st.waiting.steps[0]} --by NAME   |   trademl temporal reject …`);
  } else if (st.waiting?.kind === 'operator') {
    lines.push('', `failed; waiting for an operator decision until ${st.waiting.deadline}:`, `  trademl temporal retry ${workflowId} [--step ${st.waiting.steps[0]}]   |   skip --step ID   |   abort`);
  }
  for (const a of st.actions.slice(-5)) lines.push(`  · ${a.at} ${a.action} ${a.stepIds.join(',')} by ${a.by}${a.detail ? ` — ${a.detail}` : ''}`);
  return lines.join('\n');
}

function stepLine(s: StepView, width: number, progress?: string): string {
  const dur = s.startedAt && s.endedAt ? formatDuration(Date.parse(s.endedAt) - Date.parse(s.startedAt)) : '';
  const bits = [s.id.padEnd(width), s.status.padEnd(16), `attempts ${s.attempts}`, dur, s.cacheHit ? 'cache hit' : '', progress ?? '', s.error ? `${s.error.type}: ${s.error.message.split('\n')[0]}` : '', s.skipReason ? `(${s.skipReason})` : ''];
  return bits.filter(Boolean).join('  ');
}
