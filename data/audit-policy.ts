import type { AuditConfig, AuditRuleName } from './audit-config.ts';

/**
 * The audit's policies in words: what each rule does to the curated view and to a date's
 * GREEN/AMBER/RED status under the current configuration, and the one-line hint a RED message
 * carries (which rule made the date RED and which switch governs it). Shown in the audit report,
 * by `trademl data audit|check`, and available to the RED-data guard.
 */

/** Policy of one rule under a configuration. */
export interface RulePolicy {
  rule: string;
  enabled: boolean;
  action: string;
  affects_status: boolean;
  /** What the rule does to a date's status, in one sentence. */
  status_effect: string;
  /** What the rule does to the curated view. */
  curation: string;
}

function statusEffect(rule: AuditRuleName, cfg: AuditConfig): string {
  const r = cfg.rules[rule];
  const T = cfg.status;
  if (!r.enabled) return 'disabled: no flags, no effect on status';
  if (rule === 'missing_day') return `coverage = present / alive; a date is AMBER below green_coverage ${T.green_coverage} and RED below amber_coverage ${T.amber_coverage}`;
  if (rule === 'off_calendar') return `a date that has rows but is not a session is ${T.off_calendar} (status.off_calendar)`;
  if (rule === 'ingest_quarantine') {
    const f = cfg.rules.ingest_quarantine;
    return `a date on which an expected symbol has no row because the ingest quarantined it (or its file) is at least ${f.min_status} (rules.ingest_quarantine.min_status)` +
      (f.affects_status ? '; the symbol also counts as flagged' : '');
  }
  if (!r.affects_status) return 'reported only: does not change any date status (affects_status: false)';
  return `counts a flagged symbol towards the date's flagged_fraction: AMBER at ${T.amber_flagged_fraction}, RED at ${T.red_flagged_fraction}`;
}

function curation(rule: AuditRuleName, cfg: AuditConfig): string {
  const r = cfg.rules[rule];
  if (!r.enabled) return 'none';
  if (rule === 'ingest_quarantine') return 'none (the row is already absent)';
  if (rule === 'missing_day') return r.action === 'ffill' && r.ffill_limit > 0 ? `inserts a flat bar at the previous close (volume 0) for up to ${r.ffill_limit} session(s) per gap` : 'none (the gap stays a gap)';
  if (r.action === 'drop') return 'drops the row from the curated view';
  if (r.action === 'ffill') return `repairs the row from the previous usable close (at most ${r.ffill_limit} consecutive row(s), beyond that dropped)`;
  return 'keeps the row as is (flag only)';
}

/** Every rule's policy under `cfg`, in rule order. */
export function rulePolicies(cfg: AuditConfig, order: readonly AuditRuleName[]): RulePolicy[] {
  return order.map((rule) => ({
    rule,
    enabled: cfg.rules[rule].enabled,
    action: cfg.rules[rule].action,
    affects_status: cfg.rules[rule].affects_status,
    status_effect: statusEffect(rule, cfg),
    curation: curation(rule, cfg),
  }));
}

/**
 * One-line hint for a rule that made dates RED: the rule, what it measures and the switch that
 * governs it (e.g. `zero_volume made 3 date(s) RED — a vendor glitch? set rules.zero_volume.affects_status: false in configs/data/audit.yml or the contract's audit: block`).
 */
export function redHint(rule: string, count: number): string {
  const where = "in configs/data/audit.yml, the contract's audit: block or qc.audit with:";
  if (rule === 'missing_day') return `missing_day: ${count} symbol-date(s) missing on RED dates — coverage below status.amber_coverage; backfill the data, or lower status.amber_coverage ${where}`;
  if (rule === 'off_calendar') return `off_calendar: ${count} row(s) on non-session dates — declare the session (calendar.special_sessions) or set status.off_calendar ${where}`;
  if (rule === 'ingest_quarantine') return `ingest_quarantine: ${count} symbol-date(s) quarantined at ingest — fix the files listed in the ingest manifest, or set rules.ingest_quarantine.min_status ${where}`;
  return `${rule}: ${count} flag(s) on RED dates — if this is a vendor glitch rather than bad data, set rules.${rule}.affects_status: false (or rules.${rule}.enabled: false) ${where}`;
}
