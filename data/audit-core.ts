import type { AuditAction, AuditConfig, AuditRuleName } from './audit-config.ts';

/**
 * Pure, in-memory core of the OHLCV data-quality audit (no I/O): rules, date status and the
 * curation plan, over column arrays sorted by (symbol, date). Dates are integer days since
 * 1970-01-01; missing prices/volumes are NaN.
 */

export type DateStatus = 'GREEN' | 'AMBER' | 'RED';

export interface PanelColumns {
  /** Symbol names, sorted; rows of symbol s are [start[s], end[s]) */
  symbols: string[];
  start: Int32Array;
  end: Int32Array;
  day: Int32Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

export interface Flag {
  /** Row index, or -1 for a missing (symbol, day). */
  row: number;
  sym: number;
  day: number;
  rule: AuditRuleName;
  value: number;
  detail: string;
}

export interface SessionStat {
  day: number;
  onCalendar: boolean;
  alive: number;
  present: number;
  flagged: number;
  status: DateStatus;
  reasons: string[];
}

export interface CurationPlan {
  /** Rows dropped from the curated view. */
  drops: number[];
  /** Rows repaired (forward-filled) with their new prices. */
  repairs: { row: number; open: number; high: number; low: number; close: number }[];
  /** Rows inserted for missing sessions (flat bar at the previous close, volume 0). */
  inserts: { sym: number; day: number; close: number }[];
}

export interface AuditCoreResult {
  flags: Flag[];
  sessions: SessionStat[];
  redReasons: { rule: string; count: number }[];
  plan: CurationPlan;
  /** Rules whose flags count towards a date's flagged fraction. */
  statusRules: AuditRuleName[];
}

export const RULE_ORDER: AuditRuleName[] = [
  'missing_day', 'return_outlier', 'bad_print', 'corporate_action', 'stale_price',
  'open_outside_range', 'close_outside_range', 'missing_ohlc', 'zero_volume', 'off_calendar', 'ingest_quarantine',
];

/** What the ingest knows beyond the table: symbols it lost and (symbol, day) keys it quarantined. */
export interface CoreExtras {
  /** Expected symbols with no row at all (indices p.symbols.length + k), alive over sessions in [first, last] (days). */
  lost?: { first: number; last: number }[];
  /** True when the ingest quarantined symbol `sym`'s row on `day` (or its whole file). */
  quarantined?: (sym: number, day: number) => boolean;
}
const STATUS_RANK: Record<DateStatus, number> = { GREEN: 0, AMBER: 1, RED: 2 };
const SEVERITY: Record<AuditAction, number> = { flag: 1, ffill: 2, drop: 3 };

/** Median of the first `n` values of `buf` (sorts them in place). NaN when n = 0. */
function medianInPlace(buf: Float64Array, n: number): number {
  if (n === 0) return NaN;
  const a = buf.subarray(0, n).sort();
  return n % 2 ? a[(n - 1) >> 1]! : (a[n / 2 - 1]! + a[n / 2]!) / 2;
}

const fmt = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const px = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(10))) : 'NULL');

/**
 * Runs every audit rule over a panel.
 * `sessions` = sorted session days of the calendar within the data's range.
 * Hampel filter (Hampel 1974): a return r_t is an outlier when |r_t − med_w| > n_sigma·1.4826·MAD_w,
 * med_w/MAD_w over the centred window of `window` rows of the same symbol (1.4826·MAD estimates σ
 * for normal data). Returns are log close-to-close, minus the date's cross-sectional median when
 * `market_adjust` (so market-wide days are not flagged). Only returns with |r| ≥ min_abs_return
 * are tested (the statistic is computed for them alone, which keeps the audit fast).
 */
export function runAuditCore(p: PanelColumns, sessions: Int32Array, cfg: AuditConfig, extra: CoreExtras = {}): AuditCoreResult {
  const R = cfg.rules;
  const n = p.day.length;
  const S = sessions.length;
  const minDay = S ? sessions[0]! : 0;
  const span = S ? sessions[S - 1]! - minDay + 1 : 0;
  const calPos = new Int32Array(Math.max(span, 0)).fill(-1);
  for (let i = 0; i < S; i++) calPos[sessions[i]! - minDay] = i;
  const ci = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const o = p.day[i]! - minDay;
    ci[i] = o >= 0 && o < span ? calPos[o]! : -1;
  }

  // Returns and the cross-sectional median per session.
  const ret = new Float64Array(n).fill(NaN);
  for (let s = 0; s < p.symbols.length; s++) for (let i = p.start[s]! + 1; i < p.end[s]!; i++) ret[i] = Math.log(p.close[i]! / p.close[i - 1]!);
  const mkt = new Float64Array(S);
  if (R.return_outlier.market_adjust) {
    const cnt = new Int32Array(S + 1);
    for (let i = 0; i < n; i++) if (ci[i]! >= 0 && Number.isFinite(ret[i]!)) cnt[ci[i]! + 1]!++;
    for (let j = 0; j < S; j++) cnt[j + 1]! += cnt[j]!;
    const off = cnt.slice();
    const vals = new Float64Array(cnt[S]!);
    for (let i = 0; i < n; i++) if (ci[i]! >= 0 && Number.isFinite(ret[i]!)) vals[off[ci[i]!]!++] = ret[i]!;
    for (let j = 0; j < S; j++) {
      const m = cnt[j + 1]! - cnt[j]!;
      if (m >= cfg.market_adjust_min_symbols) {
        const seg = vals.subarray(cnt[j]!, cnt[j + 1]!).sort();
        mkt[j] = m % 2 ? seg[(m - 1) >> 1]! : (seg[m / 2 - 1]! + seg[m / 2]!) / 2;
      }
    }
  }
  const adj = new Float64Array(n);
  for (let i = 0; i < n; i++) adj[i] = ret[i]! - (ci[i]! >= 0 ? mkt[ci[i]!]! : 0);

  // Hampel test on candidate rows only.
  const ro = R.return_outlier;
  const k = Math.floor(ro.window / 2);
  const outlier = new Uint8Array(n);
  const med = new Float64Array(n).fill(NaN);
  const mad = new Float64Array(n).fill(NaN);
  const buf = new Float64Array(2 * k + 1);
  for (let s = 0; s < p.symbols.length; s++) {
    const a = p.start[s]!;
    const b = p.end[s]!;
    for (let i = a; i < b; i++) {
      const x = adj[i]!;
      if (!(Math.abs(x) >= ro.min_abs_return)) continue;
      let m = 0;
      for (let j = Math.max(a, i - k); j <= Math.min(b - 1, i + k); j++) if (Number.isFinite(adj[j]!)) buf[m++] = adj[j]!;
      const md = medianInPlace(buf, m);
      for (let j = 0; j < m; j++) buf[j] = Math.abs(buf[j]! - md);
      const d = medianInPlace(buf, m);
      med[i] = md;
      mad[i] = d;
      if (Math.abs(x - md) > ro.n_sigma * 1.4826 * d) outlier[i] = 1;
    }
  }

  const flags: Flag[] = [];
  const on = (r: AuditRuleName) => R[r].enabled;
  const add = (row: number, sym: number, rule: AuditRuleName, value: number, detail: string) => flags.push({ row, sym, day: p.day[row]!, rule, value, detail });
  const alive = new Int32Array(S);
  const present = new Int32Array(S);
  const offCalRows = new Map<number, number>();
  const quarantined = extra.quarantined ?? (() => false);
  const gapRules = on('missing_day') || on('ingest_quarantine');
  /** Flags of an alive symbol without a row on session j: missing_day, and ingest_quarantine when the ingest removed it. */
  const missing = (s: number, j: number) => {
    const day = sessions[j]!;
    if (on('missing_day')) flags.push({ row: -1, sym: s, day, rule: 'missing_day', value: NaN, detail: '' });
    if (on('ingest_quarantine') && quarantined(s, day)) flags.push({ row: -1, sym: s, day, rule: 'ingest_quarantine', value: NaN, detail: 'no row: the ingest quarantined it (or its file)' });
  };
  for (let s = 0; s < p.symbols.length; s++) {
    const a = p.start[s]!;
    const b = p.end[s]!;
    let unchanged = 0;
    let prevCi = -1;
    let prevBad = false;
    // The symbol's life in sessions: first session >= first day .. last session <= last day.
    const lo = lowerBound(sessions, p.day[a]!);
    const hi = upperBound(sessions, p.day[b - 1]!) - 1;
    for (let j = lo; j <= hi; j++) alive[j]!++;
    prevCi = lo - 1;
    for (let i = a; i < b; i++) {
      const c = p.close[i]!;
      const prev = i > a ? p.close[i - 1]! : NaN;
      const bad = outlier[i] === 1 && i + 1 < b && outlier[i + 1] === 1 && Math.sign(adj[i]!) !== Math.sign(adj[i + 1]!) && Math.abs(ret[i + 1]!) >= R.bad_print.reversal_ratio * Math.abs(ret[i]!);
      const isRev = prevBad;
      prevBad = bad;
      if (ci[i]! >= 0) {
        present[ci[i]!]!++;
        if (gapRules) for (let j = prevCi + 1; j < ci[i]!; j++) missing(s, j);
        prevCi = ci[i]!;
      } else if (on('off_calendar')) {
        add(i, s, 'off_calendar', NaN, 'row on a date that is not a session of the calendar');
        offCalRows.set(p.day[i]!, (offCalRows.get(p.day[i]!) ?? 0) + 1);
      }
      if (bad && on('bad_print')) add(i, s, 'bad_print', ret[i]!, `close ${px(c)} after ${px(prev)}, reverted next row (log returns ${fmt(ret[i]!, 3)} then ${fmt(ret[i + 1]!, 3)})`);
      if (outlier[i] && !bad && !isRev && on('return_outlier')) {
        add(i, s, 'return_outlier', ret[i]!, `log return ${fmt(ret[i]!)} (market-adjusted ${fmt(adj[i]!)}) vs window median ${fmt(med[i]!)}, MAD ${fmt(mad[i]!, 5)}`);
      }
      const move = c / prev - 1;
      if (on('corporate_action') && Math.abs(move) >= R.corporate_action.min_move && !bad && !isRev) {
        const later = i + R.corporate_action.persist_days < b ? p.close[i + R.corporate_action.persist_days]! : NaN;
        const cls = !Number.isFinite(later)
          ? 'too recent to classify'
          : Math.abs(Math.log(later / prev)) < 0.5 * Math.abs(ret[i]!)
            ? `reverted within ${R.corporate_action.persist_days} rows`
            : `persisted ${R.corporate_action.persist_days} rows (suspected split/spin-off/special dividend)`;
        add(i, s, 'corporate_action', move, `one-day move ${(100 * move).toFixed(1)}% (${px(prev)} -> ${px(c)}), ${cls}`);
      }
      unchanged = i > a && c === prev ? unchanged + 1 : 0;
      const v = p.volume[i]!;
      if (on('stale_price') && unchanged >= R.stale_price.days && v > 0) add(i, s, 'stale_price', unchanged, `close ${px(c)} unchanged for ${unchanged} rows with volume ${px(v)}`);
      const o = p.open[i]!;
      const h = p.high[i]!;
      const l = p.low[i]!;
      if (on('open_outside_range') && (o < l || o > h)) add(i, s, 'open_outside_range', o, `open ${px(o)} outside [low ${px(l)}, high ${px(h)}]`);
      if (on('close_outside_range') && (c < l || c > h)) add(i, s, 'close_outside_range', c, `close ${px(c)} outside [low ${px(l)}, high ${px(h)}]`);
      if (on('missing_ohlc') && (Number.isNaN(o) || Number.isNaN(h) || Number.isNaN(l))) {
        add(i, s, 'missing_ohlc', NaN, [Number.isNaN(o) && 'open', Number.isNaN(h) && 'high', Number.isNaN(l) && 'low'].filter(Boolean).join(', ') + ' missing');
      }
      if (on('zero_volume') && v === 0) add(i, s, 'zero_volume', v, `volume 0 with close ${px(c)}`);
    }
    if (gapRules) for (let j = prevCi + 1; j <= hi; j++) missing(s, j);
  }
  (extra.lost ?? []).forEach((l, k) => {
    const s = p.symbols.length + k;
    const lo = lowerBound(sessions, l.first);
    const hi = upperBound(sessions, l.last) - 1;
    for (let j = lo; j <= hi; j++) {
      alive[j]!++;
      if (gapRules) missing(s, j);
    }
  });

  // Date status.
  const statusRules = RULE_ORDER.filter((r) => R[r].enabled && R[r].affects_status && r !== 'missing_day' && r !== 'off_calendar');
  const floor = R.ingest_quarantine.enabled ? R.ingest_quarantine.min_status : 'GREEN';
  const statusSet = new Set<AuditRuleName>(statusRules);
  const flaggedSyms: Set<number>[] = Array.from({ length: S }, () => new Set<number>());
  const ruleCount: Map<AuditRuleName, number>[] = Array.from({ length: S }, () => new Map());
  for (const f of flags) {
    const j = f.row >= 0 ? ci[f.row]! : calPos[f.day - minDay]!;
    if (j < 0) continue;
    ruleCount[j]!.set(f.rule, (ruleCount[j]!.get(f.rule) ?? 0) + 1);
    if (statusSet.has(f.rule)) flaggedSyms[j]!.add(f.sym);
  }
  const T = cfg.status;
  const sessionsOut: SessionStat[] = [];
  const redReasons = new Map<string, number>();
  for (let j = 0; j < S; j++) {
    const al = alive[j]!;
    const pr = present[j]!;
    const fl = flaggedSyms[j]!.size;
    const cov = al > 0 ? pr / al : 1;
    const ff = al > 0 ? fl / al : 0;
    let status: DateStatus = cov < T.amber_coverage || ff >= T.red_flagged_fraction ? 'RED' : cov < T.green_coverage || ff >= T.amber_flagged_fraction ? 'AMBER' : 'GREEN';
    const reasons: string[] = [];
    const iq = ruleCount[j]!.get('ingest_quarantine') ?? 0;
    const floored = iq > 0 && STATUS_RANK[floor] > STATUS_RANK[status];
    if (floored) status = floor;
    if (cov < T.green_coverage) reasons.push(`missing_day: ${al - pr} of ${al} symbols (coverage ${cov.toFixed(4)})`);
    if (ff >= T.amber_flagged_fraction) for (const r of statusRules) if (ruleCount[j]!.get(r)) reasons.push(`${r}: ${ruleCount[j]!.get(r)}`);
    if (iq > 0 && !(ff >= T.amber_flagged_fraction && statusSet.has('ingest_quarantine'))) reasons.push(`ingest_quarantine: ${iq} symbol(s) without a row because the ingest quarantined it`);
    if (status === 'RED') {
      if (cov < T.amber_coverage) redReasons.set('missing_day', (redReasons.get('missing_day') ?? 0) + (al - pr));
      if (ff >= T.red_flagged_fraction) for (const r of statusRules) if (ruleCount[j]!.get(r)) redReasons.set(r, (redReasons.get(r) ?? 0) + ruleCount[j]!.get(r)!);
      if (floored) redReasons.set('ingest_quarantine', (redReasons.get('ingest_quarantine') ?? 0) + iq);
    }
    sessionsOut.push({ day: sessions[j]!, onCalendar: true, alive: al, present: pr, flagged: fl, status, reasons });
  }
  for (const [day, count] of offCalRows) {
    const st = T.off_calendar;
    if (st === 'RED') redReasons.set('off_calendar', (redReasons.get('off_calendar') ?? 0) + count);
    sessionsOut.push({ day, onCalendar: false, alive: 0, present: count, flagged: 0, status: st, reasons: [`off_calendar: ${count} row(s)`] });
  }
  sessionsOut.sort((x, y) => x.day - y.day);

  return {
    flags,
    sessions: sessionsOut,
    redReasons: [...redReasons.entries()].map(([rule, count]) => ({ rule, count })).sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule)),
    plan: planCuration(p, flags, ci, sessions, cfg),
    statusRules,
  };
}

function lowerBound(a: Int32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (a[m]! < x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

function upperBound(a: Int32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (a[m]! <= x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** Fields a rule's `ffill` action repairs. */
const FIX: Record<AuditRuleName, { open: boolean; close: boolean; missing: boolean }> = {
  missing_day: { open: false, close: false, missing: false },
  return_outlier: { open: true, close: true, missing: false },
  bad_print: { open: false, close: true, missing: false },
  corporate_action: { open: true, close: true, missing: false },
  stale_price: { open: true, close: true, missing: false },
  open_outside_range: { open: true, close: false, missing: false },
  close_outside_range: { open: false, close: true, missing: false },
  missing_ohlc: { open: false, close: false, missing: true },
  zero_volume: { open: true, close: true, missing: false },
  off_calendar: { open: false, close: false, missing: false },
  ingest_quarantine: { open: false, close: false, missing: false },
};

/**
 * Curation policy: each flagged row takes its most severe action (drop > ffill > flag).
 * ffill replaces the rule's fields with the symbol's last usable (unrepaired, kept) close, then
 * widens high/low to contain open and close; at most `ffill_limit` consecutive repaired rows per
 * symbol (the smallest limit among the row's ffill rules), rows beyond it or with no previous
 * close are dropped. `missing_day` with ffill inserts up to `ffill_limit` flat bars per gap.
 */
function planCuration(p: PanelColumns, flags: Flag[], ci: Int32Array, sessions: Int32Array, cfg: AuditConfig): CurationPlan {
  const R = cfg.rules;
  const n = p.day.length;
  const sev = new Uint8Array(n);
  const lim = new Int32Array(n).fill(2 ** 30);
  const fixOpen = new Uint8Array(n);
  const fixClose = new Uint8Array(n);
  const fixMissing = new Uint8Array(n);
  for (const f of flags) {
    if (f.row < 0) continue;
    const action = R[f.rule].action;
    const s = SEVERITY[action];
    if (s > sev[f.row]!) sev[f.row] = s;
    if (action === 'ffill') {
      lim[f.row] = Math.min(lim[f.row]!, R[f.rule].ffill_limit);
      if (FIX[f.rule].open) fixOpen[f.row] = 1;
      if (FIX[f.rule].close) fixClose[f.row] = 1;
      if (FIX[f.rule].missing) fixMissing[f.row] = 1;
    }
  }
  const plan: CurationPlan = { drops: [], repairs: [], inserts: [] };
  const fillGaps = R.missing_day.enabled && R.missing_day.action === 'ffill' && R.missing_day.ffill_limit > 0;
  for (let s = 0; s < p.symbols.length; s++) {
    let lastGood = NaN;
    let lastCurated = NaN;
    let lastCi = -1;
    let run = 0;
    for (let i = p.start[s]!; i < p.end[s]!; i++) {
      if (fillGaps && ci[i]! >= 0) {
        if (lastCi >= 0 && Number.isFinite(lastCurated)) {
          for (let j = lastCi + 1, k = 0; j < ci[i]! && k < R.missing_day.ffill_limit; j++, k++) plan.inserts.push({ sym: s, day: sessions[j]!, close: lastCurated });
        }
      }
      const sv = sev[i]!;
      if (sv === 3) {
        plan.drops.push(i);
        continue;
      }
      if (sv === 2) {
        if (!Number.isFinite(lastGood) || run + 1 > lim[i]!) {
          plan.drops.push(i);
          continue;
        }
        run++;
        const o0 = p.open[i]!;
        const o = fixOpen[i] || (fixMissing[i] && Number.isNaN(o0)) ? lastGood : o0;
        const c = fixClose[i] ? lastGood : p.close[i]!;
        const h0 = p.high[i]!;
        const l0 = p.low[i]!;
        const high = Math.max(Number.isNaN(h0) ? -Infinity : h0, Number.isNaN(o) ? -Infinity : o, c);
        const low = Math.min(Number.isNaN(l0) ? Infinity : l0, Number.isNaN(o) ? Infinity : o, c);
        plan.repairs.push({ row: i, open: o, high, low, close: c });
        lastCurated = c;
      } else {
        run = 0;
        lastGood = p.close[i]!;
        lastCurated = lastGood;
      }
      if (ci[i]! >= 0) lastCi = ci[i]!;
    }
  }
  return plan;
}
