import path from 'node:path';
import type { Command } from 'commander';
import { ArtifactStore } from '../../artifacts/store.ts';
import { UserError } from '../../lib/errors.ts';
import { dataRoot, PROJECT_ROOT, stateHome } from '../../lib/paths.ts';
import type { AuditResult, DateReport } from '../../data/audit.ts';
import { listDatasets, loadDatasetContract } from '../../data/contract.ts';
import type { OhlcvIngestResult } from '../../data/ingest/ohlcv.ts';
import { checkDataset, renderCheck } from '../../data/check.ts';
import { draftContract, writeDraft } from '../../data/init/index.ts';
import { auditIngested, ingestDataset } from '../../data/pipeline.ts';
import { InputFileError } from '../../data/scan.ts';

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n');

function storeOf(cmd: Command): ArtifactStore {
  const o = cmd.optsWithGlobals() as { home?: string };
  return new ArtifactStore(path.join(path.resolve(o.home ?? stateHome()), 'artifacts'));
}

/** Bad input files are the user's to fix: report them as usage errors (exit 2, no stack trace). */
async function asUserErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof InputFileError) throw new UserError(e.message);
    throw e;
  }
}

function fraction(v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0 || x > 1) throw new UserError(`expected a fraction between 0 and 1, got "${v}"`);
  return x;
}

function pad(s: string | number, n: number): string {
  return String(s).padEnd(n);
}

/** Human-readable audit report (the `--json` flag prints the full report JSON instead). */
export function renderAudit(res: AuditResult, report: {
  per_date: DateReport[]; rule_counts: Record<string, number>; quarantined_at_ingest: Record<string, number>;
  worst_offenders: { symbols: { symbol: string; flags: number; missing_days: number; rules: string[] }[] };
  universe: { entries: { symbol: string; first_date: string }[]; exits: { symbol: string; last_date: string }[]; lost?: { symbol: string; reasons: string[] }[] };
  examples: Record<string, { date: string; symbol: string; detail: string }[]>;
  quarantined_files?: { path: string; code: string }[]; red_hints?: string[];
  policies?: { rule: string; status_effect: string }[];
}): string {
  const lines: string[] = [];
  lines.push(`dataset ${res.dataset}: ${res.status}  (${res.green} GREEN, ${res.amber} AMBER, ${res.red} RED of ${res.dates} dates; min coverage ${res.min_coverage.toFixed(4)})`);
  lines.push(`rows ${res.rows_in} in, ${res.rows_curated} curated (${res.rows_dropped} dropped, ${res.rows_repaired} repaired, ${res.rows_inserted} inserted), ${res.symbols} symbols`);
  if (res.red_dates.length) {
    lines.push(`RED dates: ${res.red_dates.slice(0, 20).join(', ')}${res.red_dates.length > 20 ? ` … (+${res.red_dates.length - 20})` : ''}`);
    lines.push(`RED reasons: ${res.red_reasons.map((r) => `${r.rule}: ${r.count}`).join('; ')}`);
    for (const h of report.red_hints ?? []) lines.push(`  hint: ${h}`);
  }
  for (const f of report.quarantined_files ?? []) lines.push(`file quarantined at ingest (${f.code}): ${f.path}`);
  for (const l of report.universe.lost ?? []) lines.push(`symbol lost at ingest: ${l.symbol} (${l.reasons.join(', ') || 'no rows'}) — its dates count as missing`);
  lines.push('', 'rule                  count');
  for (const [rule, n] of Object.entries(report.rule_counts)) lines.push(`  ${pad(rule, 20)}${n}`);
  const q = Object.entries(report.quarantined_at_ingest);
  if (q.length) lines.push(`  quarantined at ingest: ${q.map(([r, n]) => `${r} ${n}`).join(', ')}`);
  const bad = report.per_date.filter((d) => d.status !== 'GREEN');
  const worst = (bad.length ? bad : [...report.per_date].sort((a, b) => a.coverage - b.coverage)).slice(0, 15);
  lines.push('', `${bad.length ? 'non-GREEN dates' : 'lowest-coverage dates'}:`, '  date        status  alive  present  coverage  flagged  reasons');
  for (const d of worst) lines.push(`  ${d.date}  ${pad(d.status, 6)}  ${pad(d.alive, 5)}  ${pad(d.present, 7)}  ${pad(d.coverage.toFixed(4), 8)}  ${pad(d.flagged, 7)}  ${d.reasons.join('; ')}`);
  lines.push('', 'worst symbols:');
  for (const s of report.worst_offenders.symbols.slice(0, 10)) lines.push(`  ${pad(s.symbol, 8)} ${pad(s.flags, 4)} flags, ${s.missing_days} missing days  (${s.rules.join(', ')})`);
  lines.push('', `universe: ${report.universe.entries.length} entries, ${report.universe.exits.length} exits` +
    (report.universe.entries.length ? ` (e.g. ${report.universe.entries.slice(0, 5).map((e) => `${e.symbol} from ${e.first_date}`).join(', ')})` : ''));
  for (const rule of ['bad_print', 'corporate_action', 'open_outside_range', 'close_outside_range', 'missing_ohlc']) {
    const ex = report.examples[rule];
    if (!ex?.length) continue;
    lines.push('', `${rule}:`);
    for (const e of ex.slice(0, 8)) lines.push(`  ${e.date} ${pad(e.symbol, 6)} ${e.detail}`);
  }
  if (report.policies?.length) {
    lines.push('', 'policies (what each rule does to date status):');
    for (const p of report.policies) lines.push(`  ${pad(p.rule, 20)}${p.status_effect}`);
  }
  return lines.join('\n');
}

/** `trademl data list | ingest <dataset> | audit <dataset> | init <folder> | check <dataset>`. */
export function register(program: Command): void {
  const data = program.command('data').description('market datasets: contracts, ingest, data-quality audit');

  data
    .command('list')
    .description('dataset contracts in configs/data/')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const rows = listDatasets(PROJECT_ROOT).map((name) => {
        const { contract } = loadDatasetContract(PROJECT_ROOT, name);
        return { name, kind: contract.kind, description: contract.description };
      });
      if (opts.json) out(JSON.stringify(rows, null, 2));
      else for (const r of rows) out(`${pad(r.name, 26)} ${pad(r.kind, 14)} ${r.description}`);
    });

  data
    .command('ingest <dataset>')
    .description('ingest a dataset (or re-ingest = backfill) into the artifact store; prints counts and artifact refs')
    .option('--json', 'print JSON')
    .action(async (dataset: string, opts: { json?: boolean }, cmd: Command) => {
      const store = storeOf(cmd);
      const res = await asUserErrors(() => ingestDataset(loadDatasetContract(PROJECT_ROOT, dataset), { store, dataRoot: dataRoot() }));
      if (opts.json) out(JSON.stringify(res, null, 2));
      else {
        for (const [k, v] of Object.entries(res)) {
          const ref = v as { uri?: string };
          out(`${pad(k, 22)} ${ref && typeof ref === 'object' && ref.uri ? ref.uri : JSON.stringify(v)}`);
        }
      }
    });

  data
    .command('audit <dataset>')
    .description('ingest (content-addressed: unchanged files cost nothing new) and audit a daily OHLCV dataset; exit 1 when RED')
    .option('--json', 'print the full report JSON')
    .option('--green-coverage <x>', 'override the GREEN coverage threshold', fraction)
    .option('--amber-coverage <x>', 'override the AMBER coverage threshold', fraction)
    .action(async (dataset: string, opts: { json?: boolean; greenCoverage?: number; amberCoverage?: number }, cmd: Command) => {
      const store = storeOf(cmd);
      const loaded = loadDatasetContract(PROJECT_ROOT, dataset);
      if (loaded.contract.kind !== 'ohlcv' && loaded.contract.kind !== 'index') {
        throw new UserError(`data audit checks daily OHLCV datasets (kinds ohlcv, index); ${dataset} is kind ${loaded.contract.kind} — use \`trademl data ingest ${dataset}\``);
      }
      const ing = (await asUserErrors(() => ingestDataset(loaded, { store, dataRoot: dataRoot() }))) as unknown as OhlcvIngestResult;
      const res = await auditIngested(PROJECT_ROOT, ing, { store }, { green_coverage: opts.greenCoverage, amber_coverage: opts.amberCoverage });
      const report = store.readJson<Parameters<typeof renderAudit>[1] & Record<string, unknown>>(res.report);
      if (opts.json) out(JSON.stringify({ ...report, artifacts: { table: ing.table, curated: res.curated, flags: res.flags, report: res.report } }, null, 2));
      else out(renderAudit(res, report));
      if (res.status === 'RED') process.exitCode = 1;
    });

  data
    .command('init <folder>')
    .description('draft a dataset contract (configs/data/<name>.yml) from a sample of the files in <folder> (under the data root, or absolute)')
    .option('--name <name>', 'dataset name (default: the folder name)')
    .option('--force', 'overwrite an existing contract of that name')
    .option('--print', 'print the draft instead of writing it')
    .action(async (folder: string, opts: { name?: string; force?: boolean; print?: boolean }) => {
      if (opts.name !== undefined && !/^[a-z0-9_]+$/.test(opts.name)) throw new UserError(`--name ${JSON.stringify(opts.name.slice(0, 60))}: use lower-case letters, digits and _ only`);
      const d = await draftContract({ projectRoot: PROJECT_ROOT, dataRoot: dataRoot(), folder, name: opts.name });
      if (opts.print) {
        out(d.yaml);
        return;
      }
      const file = writeDraft(PROJECT_ROOT, d, opts.force);
      out(`wrote ${path.relative(process.cwd(), file)} (${d.files} files)`);
      for (const n of d.notes) out(`  ${n}`);
      for (const e of d.excluded) out(`  left out ${e.file}: ${e.reason}`);
      out(`next: trademl data check ${d.name}`);
    });

  data
    .command('check <dataset>')
    .description('ingest and audit a dataset and print its first problems (quarantined files and rows, lost symbols, RED/AMBER dates, corporate actions); exit 1 when RED')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'problems shown per sort', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UserError(`--limit: expected an integer 1..1000, got ${JSON.stringify(v.slice(0, 20))}`);
      return n;
    }, 10)
    .action(async (dataset: string, opts: { json?: boolean; limit: number }, cmd: Command) => {
      const r = await asUserErrors(() => checkDataset(PROJECT_ROOT, dataRoot(), storeOf(cmd), dataset, opts.limit));
      if (opts.json) out(JSON.stringify({ status: r.audit.status, problems: r.problems, ingest: r.ingest, audit: r.audit }, null, 2));
      else out(renderCheck(dataset, r));
      if (r.audit.status === 'RED') process.exitCode = 1;
    });
}
