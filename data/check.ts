import type { ArtifactStore } from '../artifacts/store.ts';
import { queryRows, sqlString, withDuckDB } from '../lib/duckdb.ts';
import { UserError } from '../lib/errors.ts';
import type { AuditResult } from './audit.ts';
import type { AuditReport } from './audit-report.ts';
import { loadDatasetContract } from './contract.ts';
import type { OhlcvIngestResult } from './ingest/ohlcv.ts';
import { auditIngested, ingestDataset } from './pipeline.ts';

/**
 * `trademl data check <name>`: ingests and audits a dataset and lists its first problems, most
 * severe first: files quarantined whole, symbols lost, rows quarantined (rule, file:line),
 * RED/AMBER dates with their reasons and the switches that govern them, corporate-action
 * candidates. Used after `trademl data init` to see whether a draft contract fits its files.
 */

/** One problem line: its severity and text. */
export interface Problem {
  severity: 'error' | 'warning' | 'info';
  text: string;
}

/** The result of a check: the ingest and audit results and the problems found. */
export interface CheckResult {
  ingest: OhlcvIngestResult;
  audit: AuditResult;
  problems: Problem[];
}

/** First quarantined rows (rule, file:line, detail) of an ingest quarantine Parquet. */
async function firstQuarantined(path: string, limit: number): Promise<{ rule: string; source_file: string; line: bigint | null; detail: string | null }[]> {
  return withDuckDB((con) => queryRows(con, `SELECT rule, source_file, line, detail FROM read_parquet(${sqlString(path)}) WHERE rule <> 'file_quarantined' ORDER BY source_file, line LIMIT ${limit}`));
}

/** Ingests and audits dataset `name` (kinds ohlcv and index) and collects its first `limit` problems of each sort. */
export async function checkDataset(projectRoot: string, dataRoot: string, store: ArtifactStore, name: string, limit = 10): Promise<CheckResult> {
  const loaded = loadDatasetContract(projectRoot, name);
  if (loaded.contract.kind !== 'ohlcv' && loaded.contract.kind !== 'index') {
    throw new UserError(`data check ingests and audits daily OHLCV datasets (kinds ohlcv, index); ${name} is kind ${loaded.contract.kind} — use \`trademl data ingest ${name}\``);
  }
  const ingest = (await ingestDataset(loaded, { store, dataRoot })) as unknown as OhlcvIngestResult;
  const audit = await auditIngested(projectRoot, ingest, { store });
  const report = store.readJson<AuditReport>(audit.report);
  const problems: Problem[] = [];
  for (const f of (ingest.quarantined_files ?? []).slice(0, limit)) problems.push({ severity: 'error', text: `file quarantined (${f.code}): ${f.reason}` });
  for (const l of report.universe.lost.slice(0, limit)) problems.push({ severity: 'error', text: `symbol ${l.symbol} lost at ingest (${l.reasons.join(', ') || 'no rows in any file'}); its dates count as missing` });
  for (const h of audit.red_hints) problems.push({ severity: 'error', text: `RED: ${h}` });
  for (const q of await firstQuarantined(store.path(ingest.quarantine), limit)) {
    problems.push({ severity: 'warning', text: `row quarantined (${q.rule}): ${q.source_file}${q.line !== null ? `:${q.line}` : ''}${q.detail ? ` — ${q.detail}` : ''}` });
  }
  for (const d of report.per_date.filter((x) => x.status !== 'GREEN').slice(0, limit)) problems.push({ severity: d.status === 'RED' ? 'error' : 'warning', text: `${d.date} ${d.status}: ${d.reasons.join('; ')}` });
  for (const w of report.calendar.warnings) problems.push({ severity: 'warning', text: w });
  for (const c of report.corporate_actions.candidates.slice(0, limit)) {
    problems.push({ severity: 'info', text: `corporate-action candidate ${c.symbol} ${c.date}: ${(100 * c.move).toFixed(1)}% (${c.label}; factor ${Number(c.factor.toPrecision(6))})` });
  }
  return { ingest, audit, problems };
}

/** Human-readable check output. */
export function renderCheck(name: string, r: CheckResult): string {
  const lines = [
    `dataset ${name}: ${r.audit.status} — ${r.ingest.rows} rows, ${r.ingest.symbols} symbols, ${r.ingest.dates} dates (${r.ingest.first_date}..${r.ingest.last_date}); ` +
      `${r.ingest.quarantined} rows and ${(r.ingest.quarantined_files ?? []).length} files quarantined; ${r.audit.red} RED, ${r.audit.amber} AMBER dates`,
  ];
  if (!r.problems.length) lines.push('no problems found');
  for (const p of r.problems) lines.push(`  ${p.severity.padEnd(7)} ${p.text}`);
  return lines.join('\n');
}
