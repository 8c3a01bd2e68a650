import type { DuckDBConnection, DuckDBDoubleVector, DuckDBIntegerVector } from '@duckdb/node-api';
import type { ArtifactRef, ArtifactStore } from '../artifacts/store.ts';
import { queryRows, sqlString, withDuckDB } from '../lib/duckdb.ts';
import { StepError } from '../lib/errors.ts';
import type { AuditConfig, AuditRuleName } from './audit-config.ts';
import { runAuditCore, RULE_ORDER, type DateStatus, type PanelColumns } from './audit-core.ts';
import { calendarDates, isoDate, parseIsoDate } from '../calendar/sessions.ts';
import type { CalendarSpec } from './contract.ts';
import { checkAbort, PendingArtifacts } from './ingest/common.ts';

export type { DateStatus } from './audit-core.ts';

const DAY_MS = 86_400_000;

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

/** Small JSON result of an audit (the `qc.audit` step outputs). */
export interface AuditResult {
  dataset: string;
  status: DateStatus;
  red_dates: string[];
  amber_dates: string[];
  red_reasons: { rule: string; count: number }[];
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
  min_coverage: number;
  flags_by_rule: Record<string, number>;
}

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
}

function calendarOf(c: CalendarSpec): { kind: string; holidays: string[]; minFraction: number } {
  return typeof c === 'string' ? { kind: c, holidays: [], minFraction: 0.5 } : { kind: c.kind, holidays: c.holidays, minFraction: c.min_fraction };
}

/** Reads the canonical table sorted by (symbol, date) into column arrays (NULL → NaN). */
async function loadPanel(con: DuckDBConnection): Promise<PanelColumns> {
  const bounds = await queryRows<{ symbol: string; n: number }>(con, `SELECT symbol, count(*)::INTEGER AS n FROM t GROUP BY symbol ORDER BY symbol`);
  const total = bounds.reduce((s, b) => s + b.n, 0);
  const start = new Int32Array(bounds.length);
  const end = new Int32Array(bounds.length);
  let off = 0;
  bounds.forEach((b, i) => {
    start[i] = off;
    off += b.n;
    end[i] = off;
  });
  const day = new Int32Array(total);
  const cols = [new Float64Array(total), new Float64Array(total), new Float64Array(total), new Float64Array(total), new Float64Array(total)];
  const res = await con.run(`SELECT (date - DATE '1970-01-01')::INTEGER AS d, open, high, low, close, volume FROM t ORDER BY symbol, date`);
  let pos = 0;
  for (let chunk = await res.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await res.fetchChunk()) {
    const m = chunk.rowCount;
    const dv = chunk.getColumnVector(0) as DuckDBIntegerVector;
    for (let i = 0; i < m; i++) day[pos + i] = dv.getItem(i) ?? 0;
    for (let c = 0; c < 5; c++) {
      const v = chunk.getColumnVector(c + 1) as DuckDBDoubleVector;
      const out = cols[c]!;
      for (let i = 0; i < m; i++) out[pos + i] = v.getItem(i) ?? NaN;
    }
    pos += m;
  }
  if (pos !== total) throw new StepError({ message: `audit: read ${pos} rows, expected ${total}`, type: 'AuditError' });
  return { symbols: bounds.map((b) => b.symbol), start, end, day, open: cols[0]!, high: cols[1]!, low: cols[2]!, close: cols[3]!, volume: cols[4]! };
}

/** Session days (days since epoch) of the dataset's calendar over [lo, hi]; `inferred` uses the data. */
async function sessionDays(con: DuckDBConnection, cal: ReturnType<typeof calendarOf>, lo: string, hi: string): Promise<Int32Array> {
  if (cal.kind === 'inferred') {
    const rows = await queryRows<{ d: number }>(con, `
      WITH life AS (SELECT symbol, min(date) AS first, max(date) AS last FROM t GROUP BY symbol),
           d AS (SELECT date, count(*) AS n FROM t GROUP BY date),
           a AS (SELECT d.date, count(*) AS alive FROM d JOIN life l ON d.date BETWEEN l.first AND l.last GROUP BY d.date)
      SELECT (d.date - DATE '1970-01-01')::INTEGER AS d FROM d JOIN a USING (date) WHERE d.n >= ${cal.minFraction} * a.alive ORDER BY 1`);
    const closed = new Set(cal.holidays.map((h) => parseIsoDate(h) / DAY_MS));
    return Int32Array.from(rows.map((r) => r.d).filter((d) => !closed.has(d)));
  }
  const rule = cal.kind === 'nyse' ? 'nyse' : cal.kind === '24x7' ? '24x7' : 'weekdays';
  return Int32Array.from(calendarDates(rule, lo, hi, cal.holidays).map((d) => parseIsoDate(d) / DAY_MS));
}

/**
 * Data-quality audit of a canonical daily OHLCV table: reads the Parquet with DuckDB, runs the
 * rules of `runAuditCore` (coverage against each symbol's listed life, Hampel/MAD return
 * outliers, bad prints, suspected corporate actions, stale prices, open/close outside [low, high],
 * missing O/H/L, zero volume, off-calendar rows), grades each date GREEN/AMBER/RED by the
 * thresholds of `config.status`, and writes three artifacts: the curated canonical OHLCV
 * (policy per rule: drop / ffill with a limit / flag), the flags Parquet (date, symbol, rule,
 * action, value, detail) and the report JSON (per-date status and coverage, per-rule counts,
 * worst offenders, universe entries/exits, examples). Nothing reaches the store unless all
 * three are complete. Throws StepError when the table is empty or unreadable.
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
      await con.run(`CREATE TEMP TABLE t AS SELECT date, symbol, open, high, low, close, volume FROM read_parquet(${sqlString(input.tablePath)})`);
      const b = (await queryRows<{ n: number; lo: string | null; hi: string | null }>(con,
        `SELECT count(*)::INTEGER AS n, strftime(min(date), '%Y-%m-%d') AS lo, strftime(max(date), '%Y-%m-%d') AS hi FROM t`))[0]!;
      if (!b.n || !b.lo || !b.hi) throw new StepError({ message: `audit of ${input.dataset}: the ingested table is empty`, type: 'DataQualityError', nonRetryable: true });
      const cal = calendarOf(input.calendar);
      const sessions = await sessionDays(con, cal, b.lo, b.hi);
      const panel = await loadPanel(con);
      checkAbort(env.signal, 'audit');
      progress({ fraction: 0.3, message: 'running rules' });
      const core = runAuditCore(panel, sessions, cfg);
      checkAbort(env.signal, 'audit');
      progress({ fraction: 0.6, message: 'writing curated view' });

      // Quarantined (symbol, date) keys label missing days.
      const qLabel = new Map<string, string>();
      if (input.quarantinePath) {
        const q = await queryRows<{ k: string; rule: string }>(con, `SELECT symbol || '|' || date AS k, min(rule) AS rule FROM read_parquet(${sqlString(input.quarantinePath)}) WHERE symbol IS NOT NULL AND date IS NOT NULL GROUP BY ALL`);
        for (const r of q) qLabel.set(r.k, r.rule);
      }
      for (const f of core.flags) {
        if (f.rule !== 'missing_day') continue;
        const rule = qLabel.get(`${panel.symbols[f.sym]}|${isoDate(f.day * DAY_MS)}`);
        f.detail = rule ? `no row; quarantined at ingest (${rule})` : 'no row for an alive symbol on a session date';
      }

      // Flags and curation plan → DuckDB (appender), then Parquet.
      await con.run(`CREATE TEMP TABLE fl (d INTEGER, symbol VARCHAR, rule VARCHAR, action VARCHAR, value DOUBLE, detail VARCHAR)`);
      const fa = await con.createAppender('fl');
      for (const f of core.flags) {
        fa.appendInteger(f.day);
        fa.appendVarchar(panel.symbols[f.sym]!);
        fa.appendVarchar(f.rule);
        fa.appendVarchar(cfg.rules[f.rule].action);
        if (Number.isFinite(f.value)) fa.appendDouble(f.value);
        else fa.appendNull();
        fa.appendVarchar(f.detail);
        fa.endRow();
      }
      fa.closeSync();
      await con.run(`CREATE TEMP TABLE fix (d INTEGER, symbol VARCHAR, drop BOOLEAN, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, ins BOOLEAN)`);
      const xa = await con.createAppender('fix');
      const row = (d: number, sym: string, drop: boolean, o: number, h: number, l: number, c: number, v: number, ins: boolean) => {
        xa.appendInteger(d);
        xa.appendVarchar(sym);
        xa.appendBoolean(drop);
        for (const x of [o, h, l, c, v]) {
          if (Number.isFinite(x)) xa.appendDouble(x);
          else xa.appendNull();
        }
        xa.appendBoolean(ins);
        xa.endRow();
      };
      const symOfRow = (r: number) => {
        let lo = 0;
        let hi = panel.symbols.length - 1;
        while (lo < hi) {
          const m = (lo + hi + 1) >> 1;
          if (panel.start[m]! <= r) lo = m;
          else hi = m - 1;
        }
        return panel.symbols[lo]!;
      };
      for (const r of core.plan.drops) row(panel.day[r]!, symOfRow(r), true, NaN, NaN, NaN, NaN, NaN, false);
      for (const r of core.plan.repairs) row(panel.day[r.row]!, symOfRow(r.row), false, r.open, r.high, r.low, r.close, panel.volume[r.row]!, false);
      for (const r of core.plan.inserts) row(r.day, panel.symbols[r.sym]!, false, r.close, r.close, r.close, r.close, 0, true);
      xa.closeSync();
      await pending.parquet(con, `
        SELECT t.date, t.symbol,
               CASE WHEN x.symbol IS NULL THEN t.open ELSE x.open END AS open,
               CASE WHEN x.symbol IS NULL THEN t.high ELSE x.high END AS high,
               CASE WHEN x.symbol IS NULL THEN t.low ELSE x.low END AS low,
               CASE WHEN x.symbol IS NULL THEN t.close ELSE x.close END AS close,
               t.volume
        FROM t LEFT JOIN (SELECT DATE '1970-01-01' + d AS date, * EXCLUDE (d) FROM fix WHERE NOT ins) x USING (symbol, date)
        WHERE x.symbol IS NULL OR NOT x.drop
        UNION ALL
        SELECT DATE '1970-01-01' + d, symbol, open, high, low, close, volume FROM fix WHERE ins
        ORDER BY symbol, date`, 'curated.parquet');
      await pending.parquet(con, `SELECT DATE '1970-01-01' + d AS date, symbol, rule, action, value, detail FROM fl ORDER BY date, symbol, rule`, 'flags.parquet');
      checkAbort(env.signal, 'audit');
      progress({ fraction: 0.85, message: 'report' });

      const perDate: DateReport[] = core.sessions.map((s) => ({
        date: isoDate(s.day * DAY_MS),
        status: s.status,
        alive: s.alive,
        present: s.present,
        coverage: s.alive > 0 ? Number((s.present / s.alive).toFixed(6)) : 1,
        flagged: s.flagged,
        flagged_fraction: s.alive > 0 ? Number((s.flagged / s.alive).toFixed(6)) : 0,
        on_calendar: s.onCalendar,
        reasons: s.reasons,
      }));
      const red = perDate.filter((d) => d.status === 'RED');
      const amber = perDate.filter((d) => d.status === 'AMBER');
      const status: DateStatus = red.length ? 'RED' : amber.length ? 'AMBER' : 'GREEN';
      const byRule: Record<string, number> = {};
      for (const r of RULE_ORDER) byRule[r] = 0;
      for (const f of core.flags) byRule[f.rule]!++;
      const report = buildReport(input, cfg, panel, core, perDate, b.n, cal.kind, status);
      const refs = await pending.commit();
      const reportRef = await env.store.putJson(report, 'audit_report.json');
      const inserted = core.plan.inserts.length;
      const curatedRows = b.n - core.plan.drops.length + inserted;
      progress({ fraction: 1, message: `${status}: ${red.length} RED, ${amber.length} AMBER dates` });
      return {
        dataset: input.dataset,
        status,
        red_dates: red.map((d) => d.date),
        amber_dates: amber.map((d) => d.date),
        red_reasons: core.redReasons,
        curated: refs['curated.parquet']!,
        flags: refs['flags.parquet']!,
        report: reportRef,
        dates: perDate.length,
        green: perDate.length - red.length - amber.length,
        amber: amber.length,
        red: red.length,
        rows_in: b.n,
        rows_curated: curatedRows,
        rows_dropped: core.plan.drops.length,
        rows_repaired: core.plan.repairs.length,
        rows_inserted: inserted,
        symbols: panel.symbols.length,
        min_coverage: report.summary.min_coverage,
        flags_by_rule: byRule,
      };
    });
  } catch (e) {
    pending.discard();
    if (e instanceof StepError) throw e;
    throw new StepError({ message: `audit of dataset ${input.dataset} failed: ${e instanceof Error ? e.message : String(e)}`, type: 'AuditError', nonRetryable: false });
  }
}

const SEV_ORDER: Record<DateStatus, number> = { GREEN: 0, AMBER: 1, RED: 2 };

function buildReport(
  input: AuditInput,
  cfg: AuditConfig,
  panel: PanelColumns,
  core: ReturnType<typeof runAuditCore>,
  perDate: DateReport[],
  rowsIn: number,
  calendarKind: string,
  status: DateStatus,
) {
  const day = (d: number) => isoDate(d * DAY_MS);
  const byRule: Record<string, number> = {};
  const examples: Record<string, { date: string; symbol: string; value: number | null; detail: string }[]> = {};
  const grouped = new Map<AuditRuleName, typeof core.flags>();
  for (const f of core.flags) {
    byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
    if (!grouped.has(f.rule)) grouped.set(f.rule, []);
    grouped.get(f.rule)!.push(f);
  }
  for (const [rule, list] of grouped) {
    const top = [...list]
      .sort((a, b) => Math.abs(Number.isFinite(b.value) ? b.value : 0) - Math.abs(Number.isFinite(a.value) ? a.value : 0) || a.day - b.day || a.sym - b.sym)
      .slice(0, cfg.examples_per_rule)
      .sort((a, b) => a.day - b.day || a.sym - b.sym);
    examples[rule] = top.map((f) => ({ date: day(f.day), symbol: panel.symbols[f.sym]!, value: Number.isFinite(f.value) ? f.value : null, detail: f.detail }));
  }
  const statusish = new Set<string>([...core.statusRules, 'missing_day']);
  const perSym = new Map<number, { flags: number; missing: number; rules: Set<string> }>();
  for (const f of core.flags) {
    if (!statusish.has(f.rule)) continue;
    const e = perSym.get(f.sym) ?? { flags: 0, missing: 0, rules: new Set<string>() };
    e.flags++;
    if (f.rule === 'missing_day') e.missing++;
    e.rules.add(f.rule);
    perSym.set(f.sym, e);
  }
  const worstSymbols = [...perSym.entries()]
    .sort((a, b) => b[1].flags - a[1].flags || panel.symbols[a[0]]!.localeCompare(panel.symbols[b[0]]!))
    .slice(0, cfg.worst_offenders)
    .map(([s, e]) => ({ symbol: panel.symbols[s]!, flags: e.flags, missing_days: e.missing, rules: [...e.rules].sort() }));
  const worstDates = [...perDate]
    .sort((x, y) => SEV_ORDER[y.status] - SEV_ORDER[x.status] || x.coverage - y.coverage || y.flagged_fraction - x.flagged_fraction || x.date.localeCompare(y.date))
    .slice(0, cfg.worst_offenders);
  const first = Math.min(...Array.from(panel.start, (a) => panel.day[a]!));
  const last = Math.max(...Array.from(panel.end, (b) => panel.day[b - 1]!));
  const entries: { symbol: string; first_date: string; rows: number }[] = [];
  const exits: { symbol: string; last_date: string; rows: number }[] = [];
  panel.symbols.forEach((s, i) => {
    const a = panel.start[i]!;
    const b = panel.end[i]!;
    if (panel.day[a]! > first) entries.push({ symbol: s, first_date: day(panel.day[a]!), rows: b - a });
    if (panel.day[b - 1]! < last) exits.push({ symbol: s, last_date: day(panel.day[b - 1]!), rows: b - a });
  });
  const onCal = perDate.filter((d) => d.on_calendar);
  return {
    dataset: input.dataset,
    status,
    calendar: { kind: calendarKind, sessions: onCal.length, first: day(first), last: day(last) },
    thresholds: cfg.status,
    rules: cfg.rules,
    summary: {
      dates: perDate.length,
      green: perDate.filter((d) => d.status === 'GREEN').length,
      amber: perDate.filter((d) => d.status === 'AMBER').length,
      red: perDate.filter((d) => d.status === 'RED').length,
      symbols: panel.symbols.length,
      rows_in: rowsIn,
      rows_dropped: core.plan.drops.length,
      rows_repaired: core.plan.repairs.length,
      rows_inserted: core.plan.inserts.length,
      rows_curated: rowsIn - core.plan.drops.length + core.plan.inserts.length,
      min_coverage: onCal.length ? Math.min(...onCal.map((d) => d.coverage)) : 1,
    },
    red_reasons: core.redReasons,
    rule_counts: byRule,
    quarantined_at_ingest: input.quarantinedByRule ?? {},
    worst_offenders: { symbols: worstSymbols, dates: worstDates },
    universe: { entries, exits },
    examples,
    per_date: perDate,
  };
}
