import { isoDate } from '../calendar/sessions.ts';
import type { AuditConfig, AuditRuleName } from './audit-config.ts';
import { RULE_ORDER, type AuditCoreResult, type DateStatus, type PanelColumns } from './audit-core.ts';
import { redHint, rulePolicies } from './audit-policy.ts';
import type { CorporateActionCandidate } from './corporate-actions.ts';
import { factorTableCsv } from './corporate-actions.ts';
import type { QuarantinedFile } from './ingest/ohlcv.ts';
import type { LostSymbol } from './ingest/universe.ts';

/**
 * The audit report JSON (artifact `audit_report.json`): status per date with coverage and
 * reasons, per-rule counts and examples, worst offenders, universe entries/exits and losses
 * (symbols lost at ingest, files quarantined whole), corporate-action candidates with a draft
 * factor table, the calendar used, and every rule's policy with the RED hints.
 */

const DAY_MS = 86_400_000;
const SEV_ORDER: Record<DateStatus, number> = { GREEN: 0, AMBER: 1, RED: 2 };

/** Per-date line of the audit report. */
export interface DateReport {
  date: string;
  status: DateStatus;
  alive: number;
  present: number;
  coverage: number;
  flagged: number;
  flagged_fraction: number;
  on_calendar: boolean;
  reasons: string[];
}

/** What the report shows beyond the core's results. */
export interface ReportContext {
  dataset: string;
  cfg: AuditConfig;
  panel: PanelColumns;
  /** Symbol names by flag index (panel symbols, then lost symbols). */
  names: string[];
  core: AuditCoreResult;
  perDate: DateReport[];
  rowsIn: number;
  status: DateStatus;
  calendar: { kind: string; source?: string; special_sessions: { date: string; name: string }[]; warnings: string[] };
  quarantinedByRule: Record<string, number>;
  lost: LostSymbol[];
  quarantinedFiles: QuarantinedFile[];
  corporateActions: CorporateActionCandidate[];
  adjustment: unknown;
}

const day = (d: number) => isoDate(d * DAY_MS);

function examplesOf(x: ReportContext) {
  const grouped = new Map<AuditRuleName, AuditCoreResult['flags']>();
  for (const f of x.core.flags) grouped.set(f.rule, [...(grouped.get(f.rule) ?? []), f]);
  const examples: Record<string, { date: string; symbol: string; value: number | null; detail: string }[]> = {};
  for (const [rule, list] of grouped) {
    const top = [...list]
      .sort((a, b) => Math.abs(Number.isFinite(b.value) ? b.value : 0) - Math.abs(Number.isFinite(a.value) ? a.value : 0) || a.day - b.day || a.sym - b.sym)
      .slice(0, x.cfg.examples_per_rule)
      .sort((a, b) => a.day - b.day || a.sym - b.sym);
    examples[rule] = top.map((f) => ({ date: day(f.day), symbol: x.names[f.sym]!, value: Number.isFinite(f.value) ? f.value : null, detail: f.detail }));
  }
  return examples;
}

function worstSymbols(x: ReportContext) {
  const statusish = new Set<string>([...x.core.statusRules, 'missing_day']);
  const perSym = new Map<number, { flags: number; missing: number; rules: Set<string> }>();
  for (const f of x.core.flags) {
    if (!statusish.has(f.rule)) continue;
    const e = perSym.get(f.sym) ?? { flags: 0, missing: 0, rules: new Set<string>() };
    e.flags++;
    if (f.rule === 'missing_day') e.missing++;
    e.rules.add(f.rule);
    perSym.set(f.sym, e);
  }
  return [...perSym.entries()]
    .sort((a, b) => b[1].flags - a[1].flags || x.names[a[0]]!.localeCompare(x.names[b[0]]!))
    .slice(0, x.cfg.worst_offenders)
    .map(([s, e]) => ({ symbol: x.names[s]!, flags: e.flags, missing_days: e.missing, rules: [...e.rules].sort() }));
}

function universeOf(p: PanelColumns) {
  const first = Math.min(...Array.from(p.start, (a) => p.day[a]!));
  const last = Math.max(...Array.from(p.end, (b) => p.day[b - 1]!));
  const entries: { symbol: string; first_date: string; rows: number }[] = [];
  const exits: { symbol: string; last_date: string; rows: number }[] = [];
  p.symbols.forEach((s, i) => {
    const a = p.start[i]!;
    const b = p.end[i]!;
    if (p.day[a]! > first) entries.push({ symbol: s, first_date: day(p.day[a]!), rows: b - a });
    if (p.day[b - 1]! < last) exits.push({ symbol: s, last_date: day(p.day[b - 1]!), rows: b - a });
  });
  return { first, last, entries, exits };
}

/** Builds the report JSON of one audit. */
export function buildReport(x: ReportContext) {
  const byRule: Record<string, number> = {};
  for (const f of x.core.flags) byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
  const worstDates = [...x.perDate]
    .sort((a, b) => SEV_ORDER[b.status] - SEV_ORDER[a.status] || a.coverage - b.coverage || b.flagged_fraction - a.flagged_fraction || a.date.localeCompare(b.date))
    .slice(0, x.cfg.worst_offenders);
  const u = universeOf(x.panel);
  const onCal = x.perDate.filter((d) => d.on_calendar);
  const { plan } = x.core;
  const count = (s: DateStatus) => x.perDate.filter((d) => d.status === s).length;
  return {
    dataset: x.dataset,
    status: x.status,
    calendar: { kind: x.calendar.kind, source: x.calendar.source ?? null, sessions: onCal.length, first: day(u.first), last: day(u.last),
      special_sessions: x.calendar.special_sessions.filter((s) => s.date >= day(u.first) && s.date <= day(u.last)), warnings: x.calendar.warnings },
    thresholds: x.cfg.status,
    rules: x.cfg.rules,
    policies: rulePolicies(x.cfg, RULE_ORDER),
    summary: {
      dates: x.perDate.length, green: count('GREEN'), amber: count('AMBER'), red: count('RED'), symbols: x.panel.symbols.length,
      symbols_lost_at_ingest: x.lost.length, files_quarantined_at_ingest: x.quarantinedFiles.length,
      rows_in: x.rowsIn, rows_dropped: plan.drops.length, rows_repaired: plan.repairs.length, rows_inserted: plan.inserts.length,
      rows_curated: x.rowsIn - plan.drops.length + plan.inserts.length,
      min_coverage: onCal.length ? Math.min(...onCal.map((d) => d.coverage)) : 1,
    },
    red_reasons: x.core.redReasons,
    red_hints: x.core.redReasons.map((r) => redHint(r.rule, r.count)),
    rule_counts: byRule,
    quarantined_at_ingest: x.quarantinedByRule,
    quarantined_files: x.quarantinedFiles,
    worst_offenders: { symbols: worstSymbols(x), dates: worstDates },
    universe: { entries: u.entries, exits: u.exits, lost: x.lost },
    corporate_actions: {
      candidates: x.corporateActions.map((c) => ({ ...c, day: undefined, date: day(c.day) })),
      factor_table_csv: factorTableCsv(x.corporateActions, day),
    },
    adjustment: x.adjustment,
    examples: examplesOf(x),
    per_date: x.perDate,
  };
}

/** The report JSON's type. */
export type AuditReport = ReturnType<typeof buildReport>;
