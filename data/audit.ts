import type { ArtifactRef, ArtifactStore } from '../artifacts/store.ts';
import { queryRows, sqlString, withDuckDB } from '../lib/duckdb.ts';
import { StepError } from '../lib/errors.ts';
import type { AuditAction, AuditConfig, AuditRuleName } from './audit-config.ts';
import { calendarDates } from './calendar.ts';
import type { CalendarSpec } from './contract.ts';
import { checkAbort, PendingArtifacts } from './ingest/common.ts';

export type DateStatus = 'GREEN' | 'AMBER' | 'RED';

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
  flags_by_rule: Record<string, number>;
}

export interface AuditInput {
  dataset: string;
  /** Local path of the canonical daily OHLCV Parquet. */
  tablePath: string;
  /** Local path of the ingest quarantine Parquet (optional: labels missing days that were quarantined). */
  quarantinePath?: string;
  /** Upstream quarantine counts by rule (copied into the report). */
  quarantinedByRule?: Record<string, number>;
  calendar: CalendarSpec;
  config: AuditConfig;
}

const RULE_ORDER: AuditRuleName[] = [
  'missing_day', 'return_outlier', 'bad_print', 'corporate_action', 'stale_price',
  'open_outside_range', 'close_outside_range', 'missing_ohlc', 'zero_volume', 'off_calendar',
];
const SEVERITY: Record<AuditAction, number> = { flag: 1, ffill: 2, drop: 3 };

function calendarKind(c: CalendarSpec): { kind: string; holidays: string[]; minFraction: number } {
  return typeof c === 'string' ? { kind: c, holidays: [], minFraction: 0.5 } : { kind: c.kind, holidays: c.holidays, minFraction: c.min_fraction };
}

function num(x: unknown): number {
  return typeof x === 'bigint' ? Number(x) : (x as number);
}

/**
 * Data-quality audit of a canonical daily OHLCV table (DuckDB SQL over Parquet).
 *
 * Rules (thresholds and actions from `AuditConfig`, see configs/data/audit.yml):
 * - coverage per session date = rows present / symbols alive (alive = between the symbol's first
 *   and last date), sessions from the dataset calendar (`nyse`/`weekdays` by rule, or `inferred`:
 *   dates where ≥ min_fraction of alive symbols have a row); `missing_day` per (symbol, date).
 * - `return_outlier`: Hampel filter — |r − median_w(r)| > n_sigma · 1.4826 · MAD_w(r) on log
 *   close-to-close returns r, market-adjusted by the date's cross-sectional median return, over a
 *   centred window of `window` rows (Hampel 1974; Pearson 2002 for the 1.4826·MAD scale).
 * - `bad_print`: an outlier whose next return is also an outlier of the opposite sign and at least
 *   `reversal_ratio` of its size (spike-and-revert); `corporate_action`: |close/prev − 1| ≥ min_move
 *   that is not a bad print, labelled persisted/reverted after `persist_days`.
 * - `stale_price`, `open_outside_range`, `close_outside_range`, `missing_ohlc`, `zero_volume`, `off_calendar`.
 * Each date: RED/AMBER/GREEN from coverage and the share of alive symbols flagged by rules that
 * `affects_status`. Curated view: canonical OHLCV after each row's most severe action
 * (drop > ffill > flag; ffill repairs the rule's fields from the previous usable close, at most
 * `ffill_limit` consecutive rows, else drops). Note: bad prints and corporate actions are
 * classified with the next rows (an audit of history, not a point-in-time signal).
 * Artifacts: curated Parquet, flags Parquet (date, symbol, rule, action, value, detail), report JSON.
 * Throws StepError when the table is empty or unreadable.
 */
export async function auditOhlcv(input: AuditInput, env: { store: ArtifactStore; signal?: AbortSignal; progress?: (p: { fraction?: number; message?: string }) => void }): Promise<AuditResult> {
  const cfg = input.config;
  const R = cfg.rules;
  const progress = env.progress ?? (() => {});
  const pending = new PendingArtifacts(env.store);
  try {
    return await withDuckDB(async (con) => {
      progress({ fraction: 0, message: `auditing ${input.dataset}` });
      await con.run(`CREATE TEMP TABLE t AS SELECT date, symbol, open, high, low, close, volume FROM read_parquet(${sqlString(input.tablePath)})`);
      const b = (await queryRows<{ n: number; lo: string | null; hi: string | null; s: number }>(con,
        `SELECT count(*)::INTEGER AS n, strftime(min(date), '%Y-%m-%d') AS lo, strftime(max(date), '%Y-%m-%d') AS hi, count(DISTINCT symbol)::INTEGER AS s FROM t`))[0]!;
      if (!b.n || !b.lo || !b.hi) throw new StepError(`audit of ${input.dataset}: the ingested table is empty`, 'DataQualityError', true);
      await con.run(`CREATE TEMP TABLE life AS SELECT symbol, min(date) AS first, max(date) AS last, count(*)::INTEGER AS n FROM t GROUP BY symbol`);
      const cal = calendarKind(input.calendar);
      if (cal.kind === 'inferred') {
        await con.run(`CREATE TEMP TABLE cal0 AS
          WITH d AS (SELECT date, count(*) AS n FROM t GROUP BY date),
               a AS (SELECT d.date, count(*) AS alive FROM d JOIN life l ON d.date BETWEEN l.first AND l.last GROUP BY d.date)
          SELECT d.date FROM d JOIN a USING (date) WHERE d.n >= ${cal.minFraction} * a.alive`);
        if (cal.holidays.length) await con.run(`DELETE FROM cal0 WHERE date IN (${cal.holidays.map((h) => `DATE ${sqlString(h)}`).join(', ')})`);
      } else {
        const rule = cal.kind === 'nyse' ? 'nyse' : cal.kind === '24x7' ? '24x7' : 'weekdays';
        const days = calendarDates(rule, b.lo, b.hi, cal.holidays);
        await con.run(`CREATE TEMP TABLE cal0 AS SELECT unnest([${days.map(sqlString).join(',')}]::DATE[]) AS date`);
      }
      await con.run(`CREATE TEMP TABLE cal AS SELECT date, (row_number() OVER (ORDER BY date))::INTEGER AS ci FROM cal0`);
      checkAbort(env.signal, 'audit');

      // Row features: returns, Hampel statistics, reversal, stale runs.
      const ro = R.return_outlier;
      const k = Math.floor(ro.window / 2);
      const adjust = ro.market_adjust ? `CASE WHEN m.n >= ${cfg.market_adjust_min_symbols} THEN m.m ELSE 0 END` : '0';
      await con.run(`CREATE TEMP TABLE r0 AS SELECT t.*, c.ci, (c.ci IS NULL) AS off_cal,
          lag(close) OVER w AS prev_close, ln(close / lag(close) OVER w) AS ret,
          lead(close, ${R.corporate_action.persist_days}) OVER w AS close_later
        FROM t LEFT JOIN cal c USING (date) WINDOW w AS (PARTITION BY symbol ORDER BY date)`);
      await con.run(`CREATE TEMP TABLE mkt AS SELECT date, median(ret) AS m, count(ret) AS n FROM r0 GROUP BY date`);
      await con.run(`CREATE TEMP TABLE r1 AS SELECT *,
          median(adj) OVER hw AS hmed, mad(adj) OVER hw AS hmad
        FROM (SELECT r0.*, r0.ret - ${adjust} AS adj FROM r0 JOIN mkt m USING (date))
        WINDOW hw AS (PARTITION BY symbol ORDER BY date ROWS BETWEEN ${k} PRECEDING AND ${k} FOLLOWING)`);
      await con.run(`CREATE TEMP TABLE r2 AS SELECT *,
          coalesce(abs(adj - hmed) > ${ro.n_sigma} * 1.4826 * hmad AND abs(adj) >= ${ro.min_abs_return}, false) AS outlier
        FROM r1`);
      await con.run(`CREATE TEMP TABLE rf AS SELECT *,
          coalesce(outlier AND lead(outlier) OVER w AND sign(adj) <> sign(lead(adj) OVER w)
                   AND abs(lead(ret) OVER w) >= ${R.bad_print.reversal_ratio} * abs(ret), false) AS bad_print,
          sum(CASE WHEN close = prev_close THEN 0 ELSE 1 END) OVER (w ROWS UNBOUNDED PRECEDING) AS stale_grp
        FROM r2 WINDOW w AS (PARTITION BY symbol ORDER BY date)`);
      await con.run(`CREATE TEMP TABLE rg AS SELECT *,
          coalesce(lag(bad_print) OVER w, false) AS reversal_of_bad_print,
          (row_number() OVER (PARTITION BY symbol, stale_grp ORDER BY date) - 1)::INTEGER AS unchanged_days
        FROM rf WINDOW w AS (PARTITION BY symbol ORDER BY date)`);
      checkAbort(env.signal, 'audit');
      progress({ fraction: 0.4, message: 'flagging rows' });

      // Flags: one row per (date, symbol, rule).
      await con.run(`CREATE TEMP TABLE flags (date DATE, symbol VARCHAR, rule VARCHAR, value DOUBLE, detail VARCHAR)`);
      const ins = (rule: AuditRuleName, sql: string) => (R[rule].enabled ? con.run(`INSERT INTO flags ${sql}`) : Promise.resolve());
      await ins('missing_day', `SELECT c.date, l.symbol, 'missing_day', NULL,
          CASE WHEN q.rule IS NOT NULL THEN 'quarantined at ingest: ' || q.rule END
        FROM life l JOIN cal c ON c.date BETWEEN l.first AND l.last
        ANTI JOIN t ON t.symbol = l.symbol AND t.date = c.date
        LEFT JOIN ${input.quarantinePath ? `(SELECT symbol, TRY_CAST(date AS DATE) AS date, min(rule) AS rule FROM read_parquet(${sqlString(input.quarantinePath)}) GROUP BY ALL)` : `(SELECT NULL::VARCHAR AS symbol, NULL::DATE AS date, NULL::VARCHAR AS rule)`} q
          ON q.symbol = l.symbol AND q.date = c.date`);
      await ins('return_outlier', `SELECT date, symbol, 'return_outlier', ret,
          format('log return {:.4f} (adjusted {:.4f}) vs window median {:.4f}, MAD {:.5f}', ret, adj, hmed, hmad)
        FROM rg WHERE outlier AND NOT bad_print AND NOT reversal_of_bad_print`);
      await ins('bad_print', `SELECT date, symbol, 'bad_print', close,
          format('close {} after {}, reverted next row (log returns {:.3f} then {:.3f})', close, prev_close, ret, lead_ret)
        FROM (SELECT *, lead(ret) OVER (PARTITION BY symbol ORDER BY date) AS lead_ret FROM rg) WHERE bad_print`);
      await ins('corporate_action', `SELECT date, symbol, 'corporate_action', close / prev_close - 1,
          format('one-day move {:+.1f}% ({} -> {}), {}', 100 * (close / prev_close - 1), prev_close, close,
            CASE WHEN close_later IS NULL THEN 'too recent to classify'
                 WHEN abs(ln(close_later / prev_close)) < 0.5 * abs(ret) THEN 'reverted within ${R.corporate_action.persist_days} rows'
                 ELSE 'persisted ${R.corporate_action.persist_days} rows (suspected split/spin-off/special dividend)' END)
        FROM rg WHERE abs(close / prev_close - 1) >= ${R.corporate_action.min_move} AND NOT bad_print AND NOT reversal_of_bad_print`);
      await ins('stale_price', `SELECT date, symbol, 'stale_price', unchanged_days, format('close {} unchanged for {} rows with volume {}', close, unchanged_days, volume)
        FROM rg WHERE unchanged_days >= ${R.stale_price.days} AND volume > 0`);
      await ins('open_outside_range', `SELECT date, symbol, 'open_outside_range', open, format('open {} outside [low {}, high {}]', open, low, high)
        FROM rg WHERE open < low OR open > high`);
      await ins('close_outside_range', `SELECT date, symbol, 'close_outside_range', close, format('close {} outside [low {}, high {}]', close, low, high)
        FROM rg WHERE close < low OR close > high`);
      await ins('missing_ohlc', `SELECT date, symbol, 'missing_ohlc', NULL,
          concat_ws(', ', CASE WHEN open IS NULL THEN 'open' END, CASE WHEN high IS NULL THEN 'high' END, CASE WHEN low IS NULL THEN 'low' END) || ' missing'
        FROM rg WHERE open IS NULL OR high IS NULL OR low IS NULL`);
      await ins('zero_volume', `SELECT date, symbol, 'zero_volume', volume, format('volume 0 with close {}', close) FROM rg WHERE volume = 0`);
      await ins('off_calendar', `SELECT date, symbol, 'off_calendar', NULL, 'row on a date that is not a session of the ${cal.kind} calendar' FROM rg WHERE off_cal`);
      checkAbort(env.signal, 'audit');
      progress({ fraction: 0.6, message: 'date status' });

      // Per-date status.
      const statusRules = RULE_ORDER.filter((r) => R[r].enabled && R[r].affects_status && r !== 'missing_day' && r !== 'off_calendar');
      const S = cfg.status;
      const inList = (xs: string[]) => (xs.length ? xs.map(sqlString).join(', ') : `''`);
      await con.run(`CREATE TEMP TABLE per_date AS
        WITH alive AS (SELECT c.date, count(l.symbol)::INTEGER AS alive FROM cal c LEFT JOIN life l ON c.date BETWEEN l.first AND l.last GROUP BY c.date),
             present AS (SELECT date, count(*)::INTEGER AS present FROM t GROUP BY date),
             fl AS (SELECT date, count(DISTINCT symbol)::INTEGER AS flagged FROM flags WHERE rule IN (${inList(statusRules)}) GROUP BY date),
             base AS (
               SELECT a.date, true AS on_cal, a.alive, coalesce(p.present, 0) AS present, coalesce(fl.flagged, 0) AS flagged
               FROM alive a LEFT JOIN present p USING (date) LEFT JOIN fl USING (date)
               UNION ALL
               SELECT p.date, false, 0, p.present, coalesce(fl.flagged, 0) FROM present p LEFT JOIN fl USING (date) ANTI JOIN cal c ON c.date = p.date)
        SELECT *, CASE WHEN alive > 0 THEN present / alive ELSE 1.0 END AS coverage,
                  CASE WHEN alive > 0 THEN flagged / alive ELSE 0.0 END AS ff FROM base`);
      await con.run(`ALTER TABLE per_date ADD COLUMN status VARCHAR`);
      await con.run(`UPDATE per_date SET status = CASE
          WHEN NOT on_cal THEN ${sqlString(S.off_calendar)}
          WHEN coverage < ${S.amber_coverage} OR ff >= ${S.red_flagged_fraction} THEN 'RED'
          WHEN coverage < ${S.green_coverage} OR ff >= ${S.amber_flagged_fraction} THEN 'AMBER'
          ELSE 'GREEN' END`);
      const ruleCounts = await queryRows<{ date: string; rule: string; n: number }>(con,
        `SELECT strftime(f.date, '%Y-%m-%d') AS date, f.rule, count(*)::INTEGER AS n FROM flags f JOIN per_date p ON p.date = f.date AND p.status <> 'GREEN' GROUP BY ALL`);
      const dateRows = await queryRows<{ date: string; on_cal: boolean; alive: number; present: number; flagged: number; coverage: number; ff: number; status: DateStatus }>(con,
        `SELECT strftime(date, '%Y-%m-%d') AS date, on_cal, alive, present, flagged, coverage, ff, status FROM per_date ORDER BY date`);
      const countsByDate = new Map<string, Map<string, number>>();
      for (const rc of ruleCounts) {
        if (!countsByDate.has(rc.date)) countsByDate.set(rc.date, new Map());
        countsByDate.get(rc.date)!.set(rc.rule, rc.n);
      }
      const perDate: DateReport[] = dateRows.map((d) => {
        const reasons: string[] = [];
        const rc = countsByDate.get(d.date);
        if (!d.on_cal) reasons.push('off_calendar');
        if (d.on_cal && d.coverage < S.green_coverage) reasons.push(`missing_day: ${d.alive - d.present} of ${d.alive} symbols (coverage ${d.coverage.toFixed(4)})`);
        if (d.on_cal && d.ff >= S.amber_flagged_fraction) {
          for (const r of statusRules) if (rc?.get(r)) reasons.push(`${r}: ${rc.get(r)}`);
        }
        return {
          date: d.date,
          status: d.status,
          alive: d.alive,
          present: d.present,
          coverage: Number(d.coverage.toFixed(6)),
          flagged: d.flagged,
          flagged_fraction: Number(d.ff.toFixed(6)),
          on_calendar: d.on_cal,
          reasons,
        };
      });
      const redDates = perDate.filter((d) => d.status === 'RED');
      const amberDates = perDate.filter((d) => d.status === 'AMBER');
      const redReasonMap = new Map<string, number>();
      for (const d of redDates) {
        if (d.on_calendar && d.coverage < S.amber_coverage) redReasonMap.set('missing_day', (redReasonMap.get('missing_day') ?? 0) + (d.alive - d.present));
        if (!d.on_calendar) redReasonMap.set('off_calendar', (redReasonMap.get('off_calendar') ?? 0) + d.present);
        if (d.flagged_fraction >= S.red_flagged_fraction) {
          const rc = countsByDate.get(d.date);
          for (const r of statusRules) if (rc?.get(r)) redReasonMap.set(r, (redReasonMap.get(r) ?? 0) + rc.get(r)!);
        }
      }
      const redReasons = [...redReasonMap.entries()].map(([rule, count]) => ({ rule, count })).sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule));
      const status: DateStatus = redDates.length ? 'RED' : amberDates.length ? 'AMBER' : 'GREEN';
      checkAbort(env.signal, 'audit');
      progress({ fraction: 0.75, message: 'curating' });

      // Curated view: per-row most severe action, ffill repairs with limits, optional missing-day fill.
      const actionOf = (r: AuditRuleName) => (R[r].enabled ? R[r].action : 'flag');
      const sevCase = RULE_ORDER.filter((r) => r !== 'missing_day').map((r) => `WHEN ${sqlString(r)} THEN ${SEVERITY[actionOf(r)]}`).join(' ');
      const limCase = RULE_ORDER.filter((r) => r !== 'missing_day').map((r) => `WHEN ${sqlString(r)} THEN ${R[r].ffill_limit}`).join(' ');
      const ffRule = (r: AuditRuleName) => `bool_or(rule = ${sqlString(r)} AND ${SEVERITY[actionOf(r)]} = 2)`;
      await con.run(`CREATE TEMP TABLE act AS SELECT date, symbol, max(CASE rule ${sevCase} ELSE 1 END) AS sev,
          min(CASE WHEN (CASE rule ${sevCase} ELSE 1 END) = 2 THEN (CASE rule ${limCase} ELSE 0 END) END) AS lim,
          ${ffRule('bad_print')} OR ${ffRule('close_outside_range')} OR ${ffRule('return_outlier')} OR ${ffRule('corporate_action')} OR ${ffRule('stale_price')} OR ${ffRule('zero_volume')} AS fix_close,
          ${ffRule('open_outside_range')} OR ${ffRule('return_outlier')} OR ${ffRule('corporate_action')} OR ${ffRule('stale_price')} OR ${ffRule('zero_volume')} AS fix_open,
          ${ffRule('missing_ohlc')} AS fix_missing
        FROM flags WHERE rule <> 'missing_day' GROUP BY date, symbol`);
      await con.run(`CREATE TEMP TABLE cur0 AS SELECT t.*, coalesce(a.sev, 0) AS sev, a.lim, coalesce(a.fix_close, false) AS fix_close,
          coalesce(a.fix_open, false) AS fix_open, coalesce(a.fix_missing, false) AS fix_missing
        FROM t LEFT JOIN act a USING (date, symbol) WHERE coalesce(a.sev, 0) < 3`);
      await con.run(`CREATE TEMP TABLE cur1 AS SELECT *,
          last_value(CASE WHEN sev < 2 THEN close END IGNORE NULLS) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS last_good,
          sum(CASE WHEN sev = 2 THEN 0 ELSE 1 END) OVER (w ROWS UNBOUNDED PRECEDING) AS run_grp
        FROM cur0 WINDOW w AS (PARTITION BY symbol ORDER BY date)`);
      await con.run(`CREATE TEMP TABLE cur2 AS SELECT *, CASE WHEN sev = 2 THEN row_number() OVER (PARTITION BY symbol, run_grp ORDER BY date) - 1 ELSE 0 END AS run_pos FROM cur1`);
      // run_pos counts repaired rows since the last kept row (the kept row itself is position 0).
      await con.run(`CREATE TEMP TABLE curated AS
        WITH fixed AS (
          SELECT date, symbol, sev, volume,
            CASE WHEN sev = 2 AND (fix_open OR (fix_missing AND open IS NULL)) THEN last_good ELSE open END AS o,
            CASE WHEN sev = 2 AND fix_close THEN last_good ELSE close END AS c,
            high AS h0, low AS l0, fix_missing
          FROM cur2 WHERE sev < 2 OR (last_good IS NOT NULL AND run_pos <= lim))
        SELECT date, symbol, o AS open,
          CASE WHEN sev = 2 THEN greatest(coalesce(h0, o, c), o, c) ELSE h0 END AS high,
          CASE WHEN sev = 2 THEN least(coalesce(l0, o, c), o, c) ELSE l0 END AS low,
          c AS close, volume, sev = 2 AS repaired, false AS inserted
        FROM fixed`);
      if (R.missing_day.enabled && R.missing_day.action === 'ffill' && R.missing_day.ffill_limit > 0) {
        await con.run(`INSERT INTO curated
          WITH miss AS (SELECT f.symbol, f.date, c.ci FROM flags f JOIN cal c USING (date) WHERE f.rule = 'missing_day'),
               g AS (SELECT *, ci - row_number() OVER (PARTITION BY symbol ORDER BY ci) AS gap FROM miss),
               p AS (SELECT *, row_number() OVER (PARTITION BY symbol, gap ORDER BY ci) AS pos FROM g)
          SELECT p.date, p.symbol, x.close, x.close, x.close, x.close, 0, false, true
          FROM p JOIN LATERAL (SELECT close FROM curated cu WHERE cu.symbol = p.symbol AND cu.date < p.date ORDER BY cu.date DESC LIMIT 1) x ON true
          WHERE p.pos <= ${R.missing_day.ffill_limit}`);
      }
      checkAbort(env.signal, 'audit');
      progress({ fraction: 0.85, message: 'writing artifacts' });
      const actionCase = RULE_ORDER.map((r) => `WHEN ${sqlString(r)} THEN ${sqlString(actionOf(r))}`).join(' ');
      await pending.parquet(con, `SELECT date, symbol, open, high, low, close, volume FROM curated ORDER BY symbol, date`, 'curated.parquet');
      await pending.parquet(con, `SELECT date, symbol, rule, CASE rule ${actionCase} END AS action, value, detail FROM flags ORDER BY date, symbol, rule`, 'flags.parquet');
      const cstats = (await queryRows<{ n: number; rep: number; ins: number }>(con,
        `SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE repaired)::INTEGER AS rep, count(*) FILTER (WHERE inserted)::INTEGER AS ins FROM curated`))[0]!;
      const byRule = Object.fromEntries(
        (await queryRows<{ rule: string; n: number }>(con, `SELECT rule, count(*)::INTEGER AS n FROM flags GROUP BY rule ORDER BY rule`)).map((r) => [r.rule, r.n]),
      );

      // Report.
      const exampleRows = cfg.examples_per_rule
        ? await queryRows<{ rule: string; date: string; symbol: string; value: number | null; detail: string | null }>(con,
            `SELECT rule, strftime(date, '%Y-%m-%d') AS date, symbol, value, detail FROM flags
             QUALIFY row_number() OVER (PARTITION BY rule ORDER BY abs(coalesce(value, 0)) DESC, date, symbol) <= ${cfg.examples_per_rule}
             ORDER BY rule, date, symbol`)
        : [];
      const examples: Record<string, { date: string; symbol: string; value: number | null; detail: string | null }[]> = {};
      for (const e of exampleRows) (examples[e.rule] ??= []).push({ date: e.date, symbol: e.symbol, value: e.value, detail: e.detail });
      const worstSymbols = await queryRows<{ symbol: string; flags: number; missing_days: number; rules: string }>(con,
        `SELECT symbol, count(*)::INTEGER AS flags, count(*) FILTER (WHERE rule = 'missing_day')::INTEGER AS missing_days,
                string_agg(DISTINCT rule, ',' ORDER BY rule) AS rules
         FROM flags WHERE rule IN (${inList([...statusRules, 'missing_day'])}) GROUP BY symbol ORDER BY flags DESC, symbol LIMIT ${cfg.worst_offenders}`);
      const universe = await queryRows<{ symbol: string; first: string; last: string; n: number; entry: boolean; exit: boolean }>(con,
        `SELECT symbol, strftime(first, '%Y-%m-%d') AS first, strftime(last, '%Y-%m-%d') AS last, n,
                first > DATE ${sqlString(b.lo)} AS entry, last < DATE ${sqlString(b.hi)} AS exit
         FROM life WHERE first > DATE ${sqlString(b.lo)} OR last < DATE ${sqlString(b.hi)} ORDER BY symbol`);
      const worstDates = [...perDate]
        .sort((x, y) => SEV_ORDER[y.status] - SEV_ORDER[x.status] || x.coverage - y.coverage || y.flagged_fraction - x.flagged_fraction || x.date.localeCompare(y.date))
        .slice(0, cfg.worst_offenders);
      const report = {
        dataset: input.dataset,
        status,
        calendar: { kind: cal.kind, sessions: perDate.filter((d) => d.on_calendar).length, first: b.lo, last: b.hi },
        thresholds: cfg.status,
        rules: cfg.rules,
        summary: {
          dates: perDate.length,
          green: perDate.filter((d) => d.status === 'GREEN').length,
          amber: amberDates.length,
          red: redDates.length,
          symbols: b.s,
          rows_in: b.n,
          rows_curated: cstats.n,
          rows_repaired: cstats.rep,
          rows_inserted: cstats.ins,
          rows_dropped: b.n - (cstats.n - cstats.ins),
          min_coverage: Math.min(...perDate.filter((d) => d.on_calendar).map((d) => d.coverage)),
        },
        red_reasons: redReasons,
        rule_counts: byRule,
        quarantined_at_ingest: input.quarantinedByRule ?? {},
        worst_offenders: { symbols: worstSymbols, dates: worstDates },
        universe: {
          entries: universe.filter((u) => u.entry).map((u) => ({ symbol: u.symbol, first_date: u.first, rows: u.n })),
          exits: universe.filter((u) => u.exit).map((u) => ({ symbol: u.symbol, last_date: u.last, rows: u.n })),
        },
        examples,
        per_date: perDate,
      };
      const refs = await pending.commit();
      const reportRef = await env.store.putJson(report, 'audit_report.json');
      progress({ fraction: 1, message: `${status}: ${redDates.length} RED, ${amberDates.length} AMBER dates` });
      return {
        dataset: input.dataset,
        status,
        red_dates: redDates.map((d) => d.date),
        amber_dates: amberDates.map((d) => d.date),
        red_reasons: redReasons,
        curated: refs['curated.parquet']!,
        flags: refs['flags.parquet']!,
        report: reportRef,
        dates: perDate.length,
        green: report.summary.green,
        amber: amberDates.length,
        red: redDates.length,
        rows_in: b.n,
        rows_curated: cstats.n,
        rows_dropped: report.summary.rows_dropped,
        rows_repaired: cstats.rep,
        rows_inserted: cstats.ins,
        symbols: b.s,
        flags_by_rule: byRule,
      };
    });
  } catch (e) {
    pending.discard();
    if (e instanceof StepError) throw e;
    throw new StepError(`audit of dataset ${input.dataset} failed: ${e instanceof Error ? e.message : String(e)}`, 'AuditError', false);
  }
}

const SEV_ORDER: Record<DateStatus, number> = { GREEN: 0, AMBER: 1, RED: 2 };
