/**
 * `trademl schedules …`: Temporal Schedules from every pipeline's `schedule:` in pipelines.yaml.
 *   sync [--dry-run]                                   create / update / delete to match the file
 *   backfill <pipeline> --from <date> --to <date>      one run per scheduled time in the range, both
 *                                                      ends included (as the server treats them)
 * Schedule ids carry the task-queue prefix (`<prefix>-<pipeline>`); sync keeps an operator's pause.
 */
import type { Command } from 'commander';
import { UserError } from '../../lib/errors.ts';
import { loadSpec } from '../../spec/compile.ts';
import { connectClient } from '../../temporal/client.ts';
import { temporalSettingsFromEnv } from '../../temporal/config.ts';
import { scheduleId } from '../../temporal/queues.ts';
import { applySync, backfillRange, backfillSchedule, desiredSchedules, diffSchedules, existingSchedules } from '../../temporal/schedules.ts';

/** Registers `trademl schedules sync|backfill`. */
export function register(program: import('commander').Command): void {
  const s = program.command('schedules').description('Temporal Schedules from pipelines.yaml `schedule:` (see docs/temporal.md)');

  s.command('sync')
    .description('create, update and delete Temporal Schedules so they match every pipeline\'s schedule:')
    .option('-f, --file <file>', 'spec file', 'pipelines.yaml')
    .option('--dry-run', 'print what would change, change nothing')
    .option('--json', 'machine-readable output')
    .action(async (o: { file: string; dryRun?: boolean; json?: boolean }) => {
      const spec = loadSpec(o.file);
      const { client, connection, settings } = await connectClient(temporalSettingsFromEnv());
      try {
        const desired = await desiredSchedules(spec, settings);
        const existing = await existingSchedules(client, settings.taskQueuePrefix, desired.map((d) => d.scheduleId));
        const changes = diffSchedules(desired, existing);
        if (!o.dryRun) await applySync(client, desired, changes);
        if (o.json) process.stdout.write(JSON.stringify({ dryRun: !!o.dryRun, changes }, null, 2) + '\n');
        else {
          const verb = o.dryRun ? 'would ' : '';
          const lines = changes.map((c) => `  ${c.action === 'unchanged' ? 'unchanged' : verb + c.action}  ${c.scheduleId}  (${c.pipeline}: ${c.detail})`);
          process.stdout.write(`${changes.length ? lines.join('\n') : '  no pipeline has a schedule:'}\n${o.dryRun ? 'dry run: nothing changed' : 'schedules in sync'}\n`);
        }
      } finally {
        await connection.close();
      }
    });

  s.command('backfill')
    .description('start the runs a pipeline\'s schedule would have started between --from and --to')
    .argument('<pipeline>')
    .requiredOption('--from <date>', 'first day (YYYY-MM-DD, included) or a date-time (included)')
    .requiredOption('--to <date>', 'last day (YYYY-MM-DD, included) or a date-time (included)')
    .option('--overlap <policy>', 'overlap policy for the backfilled runs: skip|buffer_one|buffer_all|cancel_other|terminate_other|allow_all', 'buffer_all')
    .action(async (pipeline: string, o: { from: string; to: string; overlap: string }) => {
      let range: { from: Date; to: Date };
      try {
        range = backfillRange(o.from, o.to);
      } catch (e) {
        throw new UserError(e instanceof Error ? e.message : String(e));
      }
      const { from, to } = range;
      const overlaps = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'];
      if (!overlaps.includes(o.overlap)) throw new UserError(`--overlap must be one of ${overlaps.join(', ')}`);
      const settings = temporalSettingsFromEnv();
      const id = scheduleId(settings.taskQueuePrefix, pipeline);
      const { client, connection } = await connectClient(settings);
      try {
        await backfillSchedule(client, id, from, to, o.overlap.toUpperCase() as never);
      } finally {
        await connection.close();
      }
      process.stdout.write(`backfill requested on ${id}: every time scheduled from ${from.toISOString()} to ${to.toISOString()}, both included (overlap ${o.overlap}); runs appear as ${id}-<scheduled time>, each with params.as_of = its scheduled time\n`);
    });
}
