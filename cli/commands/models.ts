import path from 'node:path';
import type { Command } from 'commander';
import { stateHome } from '../../lib/paths.ts';
import { openTracker } from '../../tracking/index.ts';
import { ALIAS, ModelRegistry, TAG } from '../../tracking/registry.ts';
import type { ModelVersion } from '../../tracking/types.ts';

/** State home from the global `--home` option (or TRADEML_HOME / ./.trademl). */
export function homeOption(cmd: Command): string {
  const o = cmd.optsWithGlobals() as { home?: string };
  return path.resolve(o.home ?? stateHome());
}

/** Runs `fn` with a model registry on the process's tracker (MLflow when MLFLOW_TRACKING_URI is set, else local). */
export async function withRegistry<T>(cmd: Command, fn: (reg: ModelRegistry) => Promise<T>): Promise<T> {
  const tracker = openTracker({ home: homeOption(cmd) });
  try {
    return await fn(new ModelRegistry(tracker));
  } finally {
    await tracker.close();
  }
}

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n');
const when = (ms: number) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '—');

function versionLine(v: ModelVersion): string {
  const t = v.tags;
  const metrics = Object.entries(t)
    .filter(([k]) => k.startsWith('trademl.metric.'))
    .map(([k, x]) => `${k.slice('trademl.metric.'.length)}=${x}`)
    .join(' ');
  const approval = t[TAG.approval] ? `${t[TAG.approval]} by ${t[TAG.approvedBy]} ${t[TAG.approvedAt] ?? ''}${t[TAG.approvalComment] ? ` "${t[TAG.approvalComment]}"` : ''}` : 'no decision';
  return `  v${v.version.padEnd(4)} ${(v.aliases.join(',') || '-').padEnd(28)} run ${(t[TAG.runId] ?? v.runId).padEnd(26)} ${when(v.creationTimestamp)}  ${approval}${metrics ? `  ${metrics}` : ''}`;
}

/** `trademl models list|show|rollback`. */
export function register(program: Command): void {
  const models = program.command('models').description('registered models and their champion / previous-champion / challenger aliases');

  models
    .command('list')
    .description('list registered models with their aliases')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withRegistry(cmd, async (reg) => {
        const list = await reg.list();
        if (o.json) return out(JSON.stringify(list.map((m) => ({ name: m.name, aliases: Object.fromEntries(m.aliases.map((a) => [a.alias, a.version])), updated: m.lastUpdatedTimestamp })), null, 2));
        if (!list.length) return out(`no registered models yet (tracker: ${reg.tracker.kind} ${reg.tracker.location}); a run registers one when its gate passes`);
        const a = (m: (typeof list)[number], alias: string) => {
          const v = m.aliases.find((x) => x.alias === alias)?.version;
          return v ? `v${v}` : '-';
        };
        out(`${'model'.padEnd(24)} ${'champion'.padEnd(9)} ${'previous'.padEnd(9)} ${'challenger'.padEnd(10)} updated`);
        for (const m of list) out(`${m.name.padEnd(24)} ${a(m, ALIAS.champion).padEnd(9)} ${a(m, ALIAS.previous).padEnd(9)} ${a(m, ALIAS.challenger).padEnd(10)} ${when(m.lastUpdatedTimestamp)}`);
      });
    });

  models
    .command('show <name>')
    .description('show a model: champion, previous-champion, challenger and every version with its approval and metrics')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { json?: boolean }, cmd: Command) => {
      await withRegistry(cmd, async (reg) => {
        const s = await reg.show(name);
        if (o.json) {
          return out(JSON.stringify({ name, champion: s.champion ?? null, previous_champion: s.previousChampion ?? null, challenger: s.challenger ?? null, versions: s.versions }, null, 2));
        }
        out(`model ${name}  (tracker: ${reg.tracker.kind} ${reg.tracker.location})`);
        out(`  champion:          ${s.champion ? `v${s.champion.version} (run ${s.champion.tags[TAG.runId] ?? s.champion.runId})` : 'none'}`);
        out(`  previous-champion: ${s.previousChampion ? `v${s.previousChampion.version} (run ${s.previousChampion.tags[TAG.runId] ?? s.previousChampion.runId})` : 'none'}`);
        out(`  challenger:        ${s.challenger ? `v${s.challenger.version} (run ${s.challenger.tags[TAG.runId] ?? s.challenger.runId}, awaiting approval)` : 'none'}`);
        out('versions:');
        for (const v of s.versions) out(versionLine(v));
      });
    });

  models
    .command('rollback <name>')
    .description('move champion back to previous-champion (the rolled-back version becomes previous-champion)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { json?: boolean }, cmd: Command) => {
      await withRegistry(cmd, async (reg) => {
        const r = await reg.rollback(name);
        if (o.json) return out(JSON.stringify({ name, champion: r.champion, previous_champion: r.previousChampion }));
        out(`${name}: champion is now v${r.champion} (previous-champion v${r.previousChampion})`);
      });
    });
}
