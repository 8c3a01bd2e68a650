/**
 * The body of `options.chain_audit` (imported lazily): read the chain, audit every date, write the
 * per-date and lot tables and the report, and build the `data.quality` verdict.
 */
import type { z } from 'zod';
import { readChainParquet } from '../../options/data/chain.ts';
import { auditChain, type DateAudit } from '../../options/audit/chain-audit.ts';
import type { AuditLevel } from '../../options/audit/rules.ts';
import type { StepContext } from '../types.ts';
import type { chainAuditConsumes, ChainAuditOutputs } from './audit.ts';
import { auditThresholds, type auditConfigSchema } from './config.ts';
import { finRecord, writeParquet } from './tables.ts';

type Ctx = StepContext<typeof chainAuditConsumes>;

const RANK: Record<AuditLevel, number> = { GREEN: 0, AMBER: 1, RED: 2 };

/** The worst RED rule of a date (the rule its RED status comes from), or null. */
function redRule(a: DateAudit): string | null {
  return a.findings.find((f) => f.level === 'RED')?.rule ?? null;
}

/** Runs the audit and writes its artifacts. */
export async function runChainAudit(ctx: Ctx, cfg: z.output<typeof auditConfigSchema>, configFile: string): Promise<ChainAuditOutputs> {
  const chain = ctx.input('chain').value;
  ctx.progress({ fraction: 0, message: `reading ${chain.dataset}` });
  const rows = await readChainParquet(ctx.artifacts.path(chain));
  const th = auditThresholds(cfg);
  ctx.progress({ fraction: 0.2, message: `auditing ${rows.length} contracts` });
  const audits = auditChain(rows, th);
  const status = audits.reduce<AuditLevel>((w, a) => (RANK[a.status] > RANK[w] ? a.status : w), 'GREEN');
  const by = (s: AuditLevel) => audits.filter((a) => a.status === s).map((a) => a.date);
  const findingsByRule: Record<string, number> = {};
  for (const a of audits) for (const f of a.findings) if (f.level !== 'GREEN') findingsByRule[f.rule] = (findingsByRule[f.rule] ?? 0) + 1;
  const lotsByExpiry: Record<string, number[]> = {};
  for (const a of audits) for (const [e, l] of Object.entries(a.lots)) if (Number.isInteger(l.lot) && !(lotsByExpiry[e] ??= []).includes(l.lot)) lotsByExpiry[e]!.push(l.lot);
  ctx.progress({ fraction: 0.7, message: 'writing audit tables' });
  const dates = await writeParquet(ctx.artifacts, 'options_audit_dates.parquet', [
    { name: 'date', type: 'DATE', values: audits.map((a) => a.date) },
    { name: 'status', type: 'VARCHAR', values: audits.map((a) => a.status) },
    { name: 'spot', type: 'DOUBLE', values: audits.map((a) => a.spot) },
    { name: 'reasons', type: 'VARCHAR', values: audits.map((a) => a.reasons.join('; ')) },
  ], ['date']);
  const lotRows = audits.flatMap((a) => Object.entries(a.lots).map(([e, l]) => ({ date: a.date, expiry: e, l, step: a.strikeSteps[e] ?? NaN })));
  const lots = await writeParquet(ctx.artifacts, 'options_lots.parquet', [
    { name: 'date', type: 'DATE', values: lotRows.map((r) => r.date) },
    { name: 'expiry', type: 'DATE', values: lotRows.map((r) => r.expiry) },
    { name: 'lot', type: 'DOUBLE', values: lotRows.map((r) => r.l.lot) },
    { name: 'lot_from_oi', type: 'DOUBLE', values: lotRows.map((r) => r.l.lotFromOi) },
    { name: 'rows', type: 'INTEGER', values: lotRows.map((r) => r.l.rows) },
    { name: 'spread', type: 'DOUBLE', values: lotRows.map((r) => r.l.spread) },
    { name: 'strike_step', type: 'DOUBLE', values: lotRows.map((r) => r.step) },
  ], ['date', 'expiry']);
  const report = await ctx.artifacts.putJson(
    {
      dataset: chain.dataset, config: configFile, thresholds: th, status,
      per_date: audits.map((a) => ({ date: a.date, status: a.status, spot: Number.isFinite(a.spot) ? a.spot : null, reasons: a.reasons, findings: a.findings.map((f) => finRecord(f)) })),
    },
    'options_audit_report.json',
  );
  const red = by('RED');
  const redRules = new Map<string, number>();
  for (const a of audits) {
    const r = redRule(a);
    if (r) redRules.set(r, (redRules.get(r) ?? 0) + 1);
  }
  const red_reasons = [...redRules].map(([rule, count]) => ({ rule, count })).sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule));
  const quality = {
    dataset: chain.dataset, status, red_dates: red, amber_dates: by('AMBER'), red_reasons,
    red_hints: red_reasons.map((r) => `${r.rule}: ${r.count} RED date(s) — its [amber, red] fractions are levels.${r.rule} in ${configFile}`),
    lost_symbols: [], quarantined_files: [], report,
  };
  ctx.progress({ fraction: 1, message: `${audits.length} dates: ${status}` });
  return {
    audit: { dataset: chain.dataset, calendar: 'nse', status, dates, lots, report },
    quality, status, dates: audits.length, green: by('GREEN').length, amber: quality.amber_dates.length, red: red.length,
    findings_by_rule: findingsByRule, lots_by_expiry: lotsByExpiry, report,
  };
}
