/**
 * `trademl schedules …`: Temporal Schedules from every pipeline's `schedule:` in pipelines.yaml.
 *   sync [--dry-run]                                   create / update / delete to match the file
 *   backfill <pipeline> --from <date> --to <date>      one run per scheduled time in the range
 */
import type { Command } from 'commander';
import { UserError } from '../../lib/errors.ts';
import { loadSpec } from '../../spec/compile.ts';
import { connectClient } from '../../temporal/client.ts';
import { temporalSettingsFromEnv } from '../../temporal/config.ts';
import { scheduleId } from '../../temporal/queues.ts';
import { applySync, backfillSchedule, desiredSchedules, diffSchedules, existingSchedules } from '../../temporal/schedules.ts';

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
      const settings = temporalSettingsFromEnv();
      const desired = await desiredSchedules(spec, settings);
      const { client, connection } = await connectClient(settings);
      try {
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
    .requiredOption('--from <date>', 'start (ISO date or date-time, e.g. 2025-01-01)')
    .requiredOption('--to <date>', 'end (exclusive)')
    .option('--overlap <policy>', 'overlap policy for the backfilled runs: skip|buffer_one|buffer_all|cancel_other|terminate_other|allow_all', 'buffer_all')
    .action(async (pipeline: string, o: { from: string; to: string; overlap: string }) => {
      const from = parseDate(o.from, '--from');
      const to = parseDate(o.to, '--to');
      if (!(from < to)) throw new UserError(`--from must be before --to (got ${o.from} .. ${o.to})`);
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
      process.stdout.write(`backfill requested on ${id}: ${from.toISOString()} .. ${to.toISOString()} (overlap ${o.overlap}); runs appear as ${pipeline}-<scheduled time>\n`);
    });
}

function parseDate(v: string, flag: string): Date {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(d.getTime())) throw new UserError(`${flag}: "${v}" is not a date — use YYYY-MM-DD or an ISO date-time`);
  return d;
}
