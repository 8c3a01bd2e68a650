import type { ArtifactRef, ArtifactStore } from '../artifacts/store.ts';
import { parseIsoDate } from '../calendar/sessions.ts';
import { queryRows, sqlString, withDuckDB } from '../lib/duckdb.ts';
import { StepError } from '../lib/errors.ts';
import { adjustedPanelSql } from './adjust.ts';
import type { AuditConfig } from './audit-config.ts';
import { RULE_ORDER, runAuditCore, type DateStatus } from './audit-core.ts';
import { dayIso, loadPanel, quarantinedKeys, sessionDays, writeFlagsAndCurated } from './audit-io.ts';
import { redHint } from './audit-policy.ts';
import { buildReport, type DateReport, type Survivorship } from './audit-report.ts';
import { calendarWarnings, type ResolvedCalendar } from './calendars.ts';
import type { CalendarSpec } from './contract.ts';
import { detectCorporateActions, neutralisations } from './corporate-actions.ts';
import { checkAbort, PendingArtifacts } from './ingest/common.ts';
import type { QuarantinedFile } from './ingest/ohlcv.ts';
import type { LostSymbol } from './ingest/universe.ts';

export type { DateStatus } from './audit-core.ts';
export type { DateReport } from './audit-report.ts';

const DAY_MS = 86_400_000;

/** Small JSON result of an audit (the `qc.audit` step outputs). */
export interface AuditResult {
  dataset: string;
  status: DateStatus;
  red_dates: string[];
  amber_dates: string[];
  red_reasons: { rule: string; count: number }[];
  /** One line per RED reason: the rule and the switch that governs it. */
  red_hints: string[];
  curated: ArtifactRef;
  flags: ArtifactRef;
  report: ArtifactRef;
  dates: number;
  green: number;
  amber: number;
  red: number;
  rows_in: number;
  rows_curated: number;
  rows_dropped: number;
  rows_repaired: number;
  rows_inserted: number;
  symbols: number;
  /** Expected symbols the ingest lost (counted missing on their dates). */
  lost_symbols: string[];
  /** Files the ingest quarantined whole. */
  quarantined_files: string[];
  min_coverage: number;
  flags_by_rule: Record<string, number>;
  /** Corporate actions back-adjusted in the curated view (symbol, ex-date, kind, price divisor). */
  corporate_actions_neutralised: string[];
  /** What the universe says about survivorship bias (data/audit-report.ts `survivorshipOf`). */
  survivorship: Survivorship;
}

/** What the audit reads: the canonical table, the ingest's quarantine and manifest facts, calendar and config. */
export interface AuditInput {
  dataset: string;
  /** Local path of the canonical daily OHLCV Parquet. */
  tablePath: string;
  /** Local path of the ingest quarantine Parquet (labels missing days that were quarantined). */
  quarantinePath?: string;
  /** Upstream quarantine counts by rule (copied into the report). */
  quarantinedByRule?: Record<string, number>;
  calendar: CalendarSpec;
  config: AuditConfig;
  /** The calendar resolved with its holiday lists (default: `calendar` without listed holidays). */
  resolvedCalendar?: ResolvedCalendar;
  /** Expected symbols with no usable row (ingest manifest `lost_symbols`). */
  lostSymbols?: LostSymbol[];
  /** Dates of per-date files the ingest quarantined (sessions the data cannot show). */
  lostDates?: string[];
  /** Files the ingest quarantined whole. */
  quarantinedFiles?: QuarantinedFile[];
  /** Price adjustment: the table's adj_close column and/or a factor table Parquet. */
  adjustment?: { adjClose: boolean; factorsPath?: string; info?: unknown };
}

function defaultCalendar(c: CalendarSpec): ResolvedCalendar {
  const o = typeof c === 'string' ? { kind: c, holidays: [] as string[], special_sessions: [], min_fraction: 0.5 } : c;
  return { kind: o.kind, holidays: o.holidays, specialSessions: o.special_sessions.map((s) => (typeof s === 'string' ? { date: s, name: '' } : s)), minFraction: o.min_fraction };
}

/** Per-date lines of the report from the core's session statistics. */
function perDateOf(core: ReturnType<typeof runAuditCore>): DateReport[] {
  return core.sessions.map((s) => ({
    date: dayIso(s.day), status: s.status, alive: s.alive, present: s.present,
    coverage: s.alive > 0 ? Number((s.present / s.alive).toFixed(6)) : 1,
    flagged: s.flagged, flagged_fraction: s.alive > 0 ? Number((s.flagged / s.alive).toFixed(6)) : 0,
    on_calendar: s.onCalendar, reasons: s.reasons,
  }));
}

/** Labels the missing_day flags with why the row is absent (quarantined at ingest, a lost symbol, or just missing). */
function labelMissing(core: ReturnType<typeof runAuditCore>, names: string[], nPanel: number, qLabel: Map<string, string>, wholeLoss: Set<number>): void {
  for (const f of core.flags) {
    if (f.rule !== 'missing_day') continue;
    const rule = qLabel.get(`${names[f.sym]}|${dayIso(f.day)}`) ?? (wholeLoss.has(f.sym) ? 'file or all rows quarantined' : undefined);
    f.detail = rule ? `no row; quarantined at ingest (${rule})` : f.sym >= nPanel ? 'no row: an expected symbol the ingest found no usable row for' : 'no row for an alive symbol on a session date';
  }
}

/** Creates table `t`: the canonical panel, adjusted by the factor table / adj_close when the ingest recorded them. */
async function createPanelTable(con: Parameters<typeof loadPanel>[0], input: AuditInput): Promise<void> {
  const src = `read_parquet(${sqlString(input.tablePath)})`;
  const adjusted = adjustedPanelSql(src, input.adjustment?.adjClose ?? false, input.adjustment?.factorsPath);
  await con.run(`CREATE TEMP TABLE t AS ${adjusted ?? `SELECT date, symbol, open, high, low, close, volume FROM ${src}`}`);
}

/**
 * Data-quality audit of a canonical daily OHLCV table: reads the Parquet with DuckDB (adjusted by
 * the ingest's factor table or adjusted close when there is one), runs the rules of
 * `runAuditCore` (coverage against each symbol's listed life and against the symbols the ingest
 * lost, ingest quarantines, Hampel/MAD return outliers, bad prints, suspected corporate actions,
 * stale prices, open/close outside [low, high], missing O/H/L, zero volume, off-calendar rows),
 * grades each date GREEN/AMBER/RED by `config.status`, lists corporate-action candidates, and
 * writes three artifacts: the curated canonical OHLCV (policy per rule: drop / ffill with a
 * limit / flag; ex-date corporate actions back-adjusted, data/corporate-actions.ts `neutralisations`),
 * the flags Parquet and the report JSON (see data/audit-report.ts). Nothing
 * reaches the store unless all three are complete. Throws StepError when the table is empty or
 * unreadable.
 */
export async function auditOhlcv(
  input: AuditInput,
  env: { store: ArtifactStore; signal?: AbortSignal; progress?: (p: { fraction?: number; message?: string }) => void },
): Promise<AuditResult> {
  const cfg = input.config;
  const progress = env.progress ?? (() => {});
  const pending = new PendingArtifacts(env.store);
  try {
    return await withDuckDB(async (con) => {
      progress({ fraction: 0, message: `auditing ${input.dataset}` });
      await createPanelTable(con, input);
      const b = (await queryRows<{ n: number; lo: string | null; hi: string | null }>(con,
        `SELECT count(*)::INTEGER AS n, strftime(min(date), '%Y-%m-%d') AS lo, strftime(max(date), '%Y-%m-%d') AS hi FROM t`))[0]!;
      if (!b.n || !b.lo || !b.hi) throw new StepError({ message: `audit of ${input.dataset}: the ingested table is empty`, type: 'DataQualityError', nonRetryable: true });
      const cal = input.resolvedCalendar ?? defaultCalendar(input.calendar);
      const sessions = await sessionDays(con, cal, b.lo, b.hi, input.lostDates);
      const panel = await loadPanel(con);
      const lost = input.lostSymbols ?? [];
      const names = [...panel.symbols, ...lost.map((l) => l.symbol)];
      const qLabel = input.quarantinePath ? await quarantinedKeys(con, input.quarantinePath) : new Map<string, string>();
      const wholeLoss = new Set(lost.flatMap((l, k) => (l.quarantined ? [panel.symbols.length + k] : [])));
      checkAbort(env.signal, 'audit');
      progress({ fraction: 0.3, message: 'running rules' });
      const toDay = (d: string | null, dflt: string) => parseIsoDate(d ?? dflt) / DAY_MS;
      const core = runAuditCore(panel, sessions, cfg, {
        lost: lost.map((l) => ({ first: toDay(l.first_date, b.lo!), last: toDay(l.last_date, b.hi!) })),
        quarantined: (sym, day) => wholeLoss.has(sym) || qLabel.has(`${names[sym]}|${dayIso(day)}`),
      });
      const ca = cfg.rules.corporate_action;
      const candidates = ca.enabled ? detectCorporateActions(panel, { min_move: ca.candidate_min_move, persist_days: ca.persist_days, tolerance: ca.ratio_tolerance }) : [];
      const neutral = ca.enabled && ca.neutralize ? neutralisations(panel, candidates, { min_gap_share: ca.neutralize_min_gap_share, max_intraday_share: ca.neutralize_max_intraday_share }) : { applied: [], kept: [] };
      checkAbort(env.signal, 'audit');
      progress({ fraction: 0.6, message: 'writing curated view' });
      labelMissing(core, names, panel.symbols.length, qLabel, wholeLoss);
      await writeFlagsAndCurated(con, panel, names, core, cfg, pending, neutral.applied);
      checkAbort(env.signal, 'audit');
      progress({ fraction: 0.85, message: 'report' });
      const perDate = perDateOf(core);
      const red = perDate.filter((d) => d.status === 'RED');
      const amber = perDate.filter((d) => d.status === 'AMBER');
      const status: DateStatus = red.length ? 'RED' : amber.length ? 'AMBER' : 'GREEN';
      const byRule: Record<string, number> = Object.fromEntries(RULE_ORDER.map((r) => [r, 0]));
      for (const f of core.flags) byRule[f.rule]!++;
      const report = buildReport({
        dataset: input.dataset, cfg, panel, names, core, perDate, rowsIn: b.n, status,
        calendar: { kind: cal.kind, source: cal.source, special_sessions: cal.specialSessions, warnings: calendarWarnings(cal, b.lo, b.hi) },
        quarantinedByRule: input.quarantinedByRule ?? {}, lost, quarantinedFiles: input.quarantinedFiles ?? [], corporateActions: candidates, neutralised: neutral,
        adjustment: input.adjustment?.info ?? null,
      });
      const refs = await pending.commit();
      const reportRef = await env.store.putJson(report, 'audit_report.json');
      const inserted = core.plan.inserts.length;
      progress({ fraction: 1, message: `${status}: ${red.length} RED, ${amber.length} AMBER dates` });
      return {
        dataset: input.dataset, status, red_dates: red.map((d) => d.date), amber_dates: amber.map((d) => d.date),
        red_reasons: core.redReasons, red_hints: core.redReasons.map((r) => redHint(r.rule, r.count)),
        curated: refs['curated.parquet']!, flags: refs['flags.parquet']!, report: reportRef,
        dates: perDate.length, green: perDate.length - red.length - amber.length, amber: amber.length, red: red.length,
        rows_in: b.n, rows_curated: b.n - core.plan.drops.length + inserted, rows_dropped: core.plan.drops.length,
        rows_repaired: core.plan.repairs.length, rows_inserted: inserted, symbols: panel.symbols.length,
        lost_symbols: lost.map((l) => l.symbol), quarantined_files: (input.quarantinedFiles ?? []).map((f) => f.path),
        min_coverage: report.summary.min_coverage, flags_by_rule: byRule,
        corporate_actions_neutralised: neutral.applied.map((n) => `${n.symbol} ${dayIso(n.day)} (${n.kind}, prices before ÷ ${n.price_factor.toPrecision(4)})`),
        survivorship: report.universe.survivorship,
      };
    });
  } catch (e) {
    pending.discard();
    if (e instanceof StepError) throw e;
    throw new StepError({ message: `audit of dataset ${input.dataset} failed: ${e instanceof Error ? e.message : String(e)}`, type: 'AuditError', nonRetryable: false });
  }
}
