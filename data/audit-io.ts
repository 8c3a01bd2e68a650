import type { DuckDBConnection } from '@duckdb/node-api';
import { calendarDates, isoDate, parseIsoDate } from '../calendar/sessions.ts';
import { forEachNumericChunk, queryRows, sqlString } from '../lib/duckdb.ts';
import { StepError } from '../lib/errors.ts';
import type { AuditConfig } from './audit-config.ts';
import type { AuditCoreResult, PanelColumns } from './audit-core.ts';
import type { ResolvedCalendar } from './calendars.ts';
import type { Neutralisation } from './corporate-actions.ts';
import type { PendingArtifacts } from './ingest/common.ts';

/**
 * DuckDB side of the audit: the panel read into column arrays, the calendar's session days, and
 * the flags and curated-view Parquet written from the core's results.
 */

const DAY_MS = 86_400_000;

/** Reads table `t` sorted by (symbol, date) into column arrays (NULL → NaN). */
export async function loadPanel(con: DuckDBConnection): Promise<PanelColumns> {
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
  let pos = 0;
  // each chunk's vectors copied whole (lib/duckdb.ts), no getItem per value
  await forEachNumericChunk(con, `SELECT (date - DATE '1970-01-01')::INTEGER AS d, open, high, low, close, volume FROM t ORDER BY symbol, date`, ['int', 'double', 'double', 'double', 'double', 'double'], (c, m) => {
    day.set(c[0]!, pos);
    for (let k = 0; k < 5; k++) cols[k]!.set(c[k + 1]!, pos);
    pos += m;
  });
  if (pos !== total) throw new StepError({ message: `audit: read ${pos} rows, expected ${total}`, type: 'AuditError' });
  return { symbols: bounds.map((b) => b.symbol), start, end, day, open: cols[0]!, high: cols[1]!, low: cols[2]!, close: cols[3]!, volume: cols[4]! };
}

/**
 * Session days (days since epoch) of the dataset's calendar over [lo, hi]: the rule's sessions
 * (holidays removed, special sessions added), or for `inferred` the dates on which at least
 * `minFraction` of the live symbols traded (plus `extraDays`: dates of per-date files the ingest
 * quarantined, which the data cannot show), minus declared holidays, plus special sessions.
 */
export async function sessionDays(con: DuckDBConnection, cal: ResolvedCalendar, lo: string, hi: string, extraDays: readonly string[] = []): Promise<Int32Array> {
  const toDay = (d: string) => parseIsoDate(d) / DAY_MS;
  if (cal.kind !== 'inferred') {
    const rule = cal.kind === 'nyse' ? 'nyse' : cal.kind === '24x7' ? '24x7' : 'weekdays';
    return Int32Array.from(calendarDates(rule, lo, hi, cal.holidays, cal.specialSessions.map((s) => s.date)).map(toDay));
  }
  const rows = await queryRows<{ d: number }>(con, `
    WITH life AS (SELECT symbol, min(date) AS first, max(date) AS last FROM t GROUP BY symbol),
         d AS (SELECT date, count(*) AS n FROM t GROUP BY date),
         a AS (SELECT d.date, count(*) AS alive FROM d JOIN life l ON d.date BETWEEN l.first AND l.last GROUP BY d.date)
    SELECT (d.date - DATE '1970-01-01')::INTEGER AS d FROM d JOIN a USING (date) WHERE d.n >= ${cal.minFraction} * a.alive ORDER BY 1`);
  const closed = new Set(cal.holidays.map(toDay));
  const days = new Set(rows.map((r) => r.d).filter((d) => !closed.has(d)));
  for (const s of [...cal.specialSessions.map((x) => x.date), ...extraDays]) if (s >= lo && s <= hi) days.add(toDay(s));
  return Int32Array.from([...days].sort((a, b) => a - b));
}

/** Binary search: the symbol index owning panel row `r`. */
function symOfRow(p: PanelColumns, r: number): number {
  let lo = 0;
  let hi = p.symbols.length - 1;
  while (lo < hi) {
    const m = (lo + hi + 1) >> 1;
    if (p.start[m]! <= r) lo = m;
    else hi = m - 1;
  }
  return lo;
}

/**
 * Writes the flags Parquet (date, symbol, rule, action, value, detail) and the curated view
 * (table `t` with the curation plan applied: drops, repairs, inserted bars; then the corporate
 * actions in `neutral` back-adjusted, see {@link neutralisedSql}) as pending artifacts
 * `flags.parquet` and `curated.parquet`. `names` maps flag symbol indices to names.
 */
export async function writeFlagsAndCurated(con: DuckDBConnection, p: PanelColumns, names: string[], core: AuditCoreResult, cfg: AuditConfig, pending: PendingArtifacts, neutral: readonly Neutralisation[] = []): Promise<void> {
  await con.run(`CREATE TEMP TABLE fl (d INTEGER, symbol VARCHAR, rule VARCHAR, action VARCHAR, value DOUBLE, detail VARCHAR)`);
  const fa = await con.createAppender('fl');
  for (const f of core.flags) {
    fa.appendInteger(f.day);
    fa.appendVarchar(names[f.sym]!);
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
  const { plan } = core;
  for (const r of plan.drops) row(p.day[r]!, p.symbols[symOfRow(p, r)]!, true, NaN, NaN, NaN, NaN, NaN, false);
  for (const r of plan.repairs) row(p.day[r.row]!, p.symbols[symOfRow(p, r.row)]!, false, r.open, r.high, r.low, r.close, p.volume[r.row]!, false);
  for (const r of plan.inserts) row(r.day, p.symbols[r.sym]!, false, r.close, r.close, r.close, r.close, 0, true);
  xa.closeSync();
  const curated = `
    SELECT t.date, t.symbol,
           CASE WHEN x.symbol IS NULL THEN t.open ELSE x.open END AS open,
           CASE WHEN x.symbol IS NULL THEN t.high ELSE x.high END AS high,
           CASE WHEN x.symbol IS NULL THEN t.low ELSE x.low END AS low,
           CASE WHEN x.symbol IS NULL THEN t.close ELSE x.close END AS close,
           t.volume
    FROM t LEFT JOIN (SELECT DATE '1970-01-01' + d AS date, * EXCLUDE (d) FROM fix WHERE NOT ins) x USING (symbol, date)
    WHERE x.symbol IS NULL OR NOT x.drop
    UNION ALL
    SELECT DATE '1970-01-01' + d, symbol, open, high, low, close, volume FROM fix WHERE ins`;
  await pending.parquet(con, await neutralisedSql(con, curated, neutral), 'curated.parquet');
  await pending.parquet(con, `SELECT DATE '1970-01-01' + d AS date, symbol, rule, action, value, detail FROM fl ORDER BY date, symbol, rule`, 'flags.parquet');
}

/**
 * SQL of the curated rows `curated` (a SELECT of date, symbol, open, high, low, close, volume) with
 * the neutralised corporate actions back-adjusted: for each row, P(t) / ∏ price_factor(d) and
 * V(t) · ∏ volume_factor(d) over the symbol's ex-dates d > t (prices from the ex-date on are
 * unchanged). Without neutralisations the SQL is `curated` as is (same bytes as before), ordered
 * by (symbol, date).
 */
async function neutralisedSql(con: DuckDBConnection, curated: string, neutral: readonly Neutralisation[]): Promise<string> {
  if (!neutral.length) return `${curated}\n    ORDER BY symbol, date`;
  await con.run(`CREATE OR REPLACE TEMP TABLE _neutral (symbol VARCHAR, d INTEGER, pf DOUBLE, vf DOUBLE)`);
  const a = await con.createAppender('_neutral');
  for (const n of neutral) {
    a.appendVarchar(n.symbol);
    a.appendInteger(n.day);
    a.appendDouble(n.price_factor);
    a.appendDouble(n.volume_factor);
    a.endRow();
  }
  a.closeSync();
  return `WITH cur AS (${curated}),
      fs AS (SELECT symbol, DATE '1970-01-01' + d AS date,
               product(pf) OVER (PARTITION BY symbol ORDER BY d DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS kp,
               product(vf) OVER (PARTITION BY symbol ORDER BY d DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS kv FROM _neutral)
    SELECT cur.date, cur.symbol, cur.open / coalesce(fs.kp, 1) AS open, cur.high / coalesce(fs.kp, 1) AS high, cur.low / coalesce(fs.kp, 1) AS low,
           cur.close / coalesce(fs.kp, 1) AS close, cur.volume * coalesce(fs.kv, 1) AS volume
    FROM cur ASOF LEFT JOIN fs ON cur.symbol = fs.symbol AND cur.date < fs.date
    ORDER BY cur.symbol, cur.date`;
}

/** Quarantined (symbol, date) keys of an ingest quarantine Parquet, as `symbol|YYYY-MM-DD` → first rule. */
export async function quarantinedKeys(con: DuckDBConnection, quarantinePath: string): Promise<Map<string, string>> {
  const q = await queryRows<{ k: string; rule: string }>(con, `SELECT symbol || '|' || date AS k, min(rule) AS rule FROM read_parquet(${sqlString(quarantinePath)})
    WHERE symbol IS NOT NULL AND date IS NOT NULL GROUP BY ALL`);
  return new Map(q.map((r) => [r.k, r.rule]));
}

/** `YYYY-MM-DD` of a day number. */
export const dayIso = (d: number): string => isoDate(d * DAY_MS);
