import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../lib/errors.ts';
import { contractsDir, parseWithSchema, readYamlFile } from './contract.ts';

export const AUDIT_ACTIONS = ['drop', 'ffill', 'flag'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

const ruleBase = {
  action: z.enum(AUDIT_ACTIONS).default('flag'),
  ffill_limit: z.number().int().min(0).default(1),
  affects_status: z.boolean().default(true),
  enabled: z.boolean().default(true),
};

/** Schema of the audit configuration (configs/data/audit.yml merged with overrides). */
export const auditConfigSchema = z.object({
  status: z.object({
    green_coverage: z.number().min(0).max(1),
    amber_coverage: z.number().min(0).max(1),
    amber_flagged_fraction: z.number().min(0).max(1),
    red_flagged_fraction: z.number().min(0).max(1),
    off_calendar: z.enum(['GREEN', 'AMBER', 'RED']).default('AMBER'),
  }),
  market_adjust_min_symbols: z.number().int().min(1).default(20),
  worst_offenders: z.number().int().min(1).default(20),
  examples_per_rule: z.number().int().min(0).default(25),
  rules: z.strictObject({
    missing_day: z.strictObject({ ...ruleBase, affects_status: z.boolean().default(false), ffill_limit: z.number().int().min(0).default(0) }),
    return_outlier: z.strictObject({
      ...ruleBase,
      window: z.number().int().min(3),
      n_sigma: z.number().positive(),
      min_abs_return: z.number().min(0).default(0),
      market_adjust: z.boolean().default(true),
    }),
    bad_print: z.strictObject({ ...ruleBase, reversal_ratio: z.number().positive().max(1) }),
    corporate_action: z.strictObject({
      ...ruleBase,
      min_move: z.number().positive(),
      persist_days: z.number().int().min(1),
      /** Corporate-action candidates (report): one-day moves of at least this size are matched against common split/bonus ratios. */
      candidate_min_move: z.number().positive().max(1).default(0.3),
      /** A move matches ratio f when |ln(prev / close) − ln f| ≤ ratio_tolerance. */
      ratio_tolerance: z.number().positive().max(0.5).default(0.03),
      /**
       * Neutralise candidates that are ex-date price-level changes (spin-offs, special/share dividends,
       * splits) in the curated view: prices before the ex-date are back-adjusted (data/corporate-actions.ts
       * `neutralisations`), so labels and P&L do not book the level change (a short's fake gain).
       */
      neutralize: z.boolean().default(true),
      /** The opening gap must carry at least this share of the ex-date's move. */
      neutralize_min_gap_share: z.number().gt(0).max(1).default(0.9),
      /** The ex-date's open→close move must be at most this share of the opening gap. */
      neutralize_max_intraday_share: z.number().min(0).max(1).default(0.15),
    }),
    stale_price: z.strictObject({ ...ruleBase, days: z.number().int().min(1) }),
    open_outside_range: z.strictObject(ruleBase),
    close_outside_range: z.strictObject(ruleBase),
    missing_ohlc: z.strictObject(ruleBase),
    zero_volume: z.strictObject(ruleBase),
    off_calendar: z.strictObject({ ...ruleBase, action: z.enum(AUDIT_ACTIONS).default('drop') }),
    ingest_quarantine: z
      .strictObject({
        ...ruleBase,
        /** A date on which an expected symbol has no row because the ingest quarantined it (or its file) is at least this status. */
        min_status: z.enum(['GREEN', 'AMBER', 'RED']).default('AMBER'),
      })
      .prefault({}),
  }),
});

export type AuditConfig = z.output<typeof auditConfigSchema>;
export type AuditRuleName = keyof AuditConfig['rules'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deep merge of plain objects (arrays and scalars of `over` replace those of `base`). */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}

/** Step-level overrides accepted by `qc.audit` `with:` (shortcuts for the common thresholds). */
export interface AuditOverrides {
  green_coverage?: number;
  amber_coverage?: number;
  amber_flagged_fraction?: number;
  red_flagged_fraction?: number;
  rules?: Record<string, unknown>;
}

/**
 * Resolves the audit configuration: `configs/data/audit.yml` (defaults), then the dataset
 * contract's `audit:` block, then step overrides. Throws UserError naming the file/field on
 * invalid values, or when amber_coverage > green_coverage.
 */
export function resolveAuditConfig(projectRoot: string, contractAudit: Record<string, unknown> | undefined, contractFile: string, overrides: AuditOverrides = {}): AuditConfig {
  const file = path.join(contractsDir(projectRoot), 'audit.yml');
  if (!existsSync(file)) throw new UserError(`missing audit defaults ${file}`);
  const { value, doc, text } = readYamlFile(file);
  parseWithSchema(auditConfigSchema, value, file, doc, text);
  let merged = deepMerge(value, contractAudit ?? {});
  if (contractAudit) parseWithSchema(auditConfigSchema, merged, `${contractFile} (audit:)`);
  const { rules, ...status } = overrides;
  merged = deepMerge(merged, { status: Object.fromEntries(Object.entries(status).filter(([, v]) => v !== undefined)), rules: rules ?? {} });
  const cfg = parseWithSchema(auditConfigSchema, merged, 'qc.audit with:');

  if (cfg.status.amber_coverage > cfg.status.green_coverage) {
    throw new UserError(`audit thresholds: amber_coverage (${cfg.status.amber_coverage}) must be <= green_coverage (${cfg.status.green_coverage})`);
  }
  if (cfg.status.amber_flagged_fraction > cfg.status.red_flagged_fraction) {
    throw new UserError(`audit thresholds: amber_flagged_fraction must be <= red_flagged_fraction`);
  }
  return cfg;
}
