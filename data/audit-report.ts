import { isoDate } from '../calendar/sessions.ts';
import type { AuditConfig, AuditRuleName } from './audit-config.ts';
import { RULE_ORDER, type AuditCoreResult, type DateStatus, type PanelColumns } from './audit-core.ts';
import { redHint, rulePolicies } from './audit-policy.ts';
import type { CorporateActionCandidate } from './corporate-actions.ts';
import { factorTableCsv, type Neutralisation } from './corporate-actions.ts';
import type { QuarantinedFile } from './ingest/ohlcv.ts';
import type { LostSymbol } from './ingest/universe.ts';

/**
 * The audit report JSON (artifact `audit_report.json`): status per date with coverage and
 * reasons, per-rule counts and examples, worst offenders, universe entries/exits and losses
 * (symbols lost at ingest, files quarantined whole) with the survivorship statement, corporate-action
 * candidates with a draft factor table and which were neutralised in the curated view (and why the
 * others were kept), the calendar used, and every rule's policy with the RED hints.
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
  /** Candidates neutralised in the curated view and those kept (data/corporate-actions.ts `neutralisations`). */
  neutralised?: { applied: Neutralisation[]; kept: { symbol: string; day: number; reason: string }[] };
  adjustment: unknown;
}

/** The universe's survivorship statement (issue 14, item 10): shown by the report next to the data verdict. */
export interface Survivorship {
  /** `likely`: no symbol leaves before the last date (a survivors-only universe); `unknown`: exits exist, the constituent history cannot be told from prices. */
  bias: 'likely' | 'unknown';
  symbols: number;
  /** Symbols whose last row is before the dataset's last date (delistings, removals, mergers). */
  exits: number;
  /** Symbols whose first row is after the dataset's first date. */
  entries: number;
  statement: string;
}

/** Survivorship bias of a universe from its symbols' first and last dates. */
export function survivorshipOf(symbols: number, entries: number, exits: number, last: string): Survivorship {
  const statement =
    exits === 0
      ? `survivorship bias likely: all ${symbols} symbols trade until the last date ${last} and none leaves the universe, so it is the set of names that survived to the end (e.g. today's index members); names delisted, acquired or dropped before then are missing and backtest returns are biased upward`
      : `${exits} of ${symbols} symbols stop before the last date ${last}: the data includes exits, but whether the universe is point-in-time (free of survivorship bias) cannot be told from prices; state the constituent source`;
  return { bias: exits === 0 ? 'likely' : 'unknown', symbols, exits, entries, statement };
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
    universe: { entries: u.entries, exits: u.exits, lost: x.lost, survivorship: survivorshipOf(x.panel.symbols.length, u.entries.length, u.exits.length, day(u.last)) },
    corporate_actions: {
      candidates: x.corporateActions.map((c) => ({ ...c, day: undefined, date: day(c.day) })),
      factor_table_csv: factorTableCsv(x.corporateActions, day),
      neutralised: (x.neutralised?.applied ?? []).map((n) => ({ ...n, day: undefined, date: day(n.day) })),
      kept: (x.neutralised?.kept ?? []).map((k) => ({ symbol: k.symbol, date: day(k.day), reason: k.reason })),
    },
    adjustment: x.adjustment,
    examples: examplesOf(x),
    per_date: x.perDate,
  };
}

/** The report JSON's type. */
export type AuditReport = ReturnType<typeof buildReport>;
