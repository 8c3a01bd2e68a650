/**
 * `options.chain_audit`: GREEN/AMBER/RED per date of an option chain (options/audit/chain-audit.ts:
 * zero or crossed prices, vertical arbitrage, stale settles, put–call parity breaches, strike grid,
 * expiry consistency and settlement, OI units, lot size) with the lot size inferred per (date,
 * expiry). Provides `options.audit` (tables) and `data.quality` (the verdict training kinds check).
 */
import { z } from 'zod';
import { dataQuality, optionsChain } from '../../contracts/index.ts';
import { optionsAudit } from '../../contracts/options.ts';
import { artifactRefSchema, defineStepKind } from '../types.ts';
import { auditConfigSchema, loadOptionsConfig } from './config.ts';

const counts = z.record(z.string(), z.number().int());

/** Inputs of options.chain_audit. */
export const chainAuditConsumes = { chain: { contract: optionsChain, description: 'the ingested option chain to audit' } };

/** Outputs of options.chain_audit. */
export const chainAuditOutputs = z.object({
  audit: optionsAudit.schema,
  quality: dataQuality.schema,
  status: z.enum(['GREEN', 'AMBER', 'RED']).describe('worst date status'),
  dates: z.number().int().describe('dates audited'),
  green: z.number().int().describe('GREEN dates'),
  amber: z.number().int().describe('AMBER dates'),
  red: z.number().int().describe('RED dates'),
  findings_by_rule: counts.describe('dates on which each rule was not GREEN'),
  lots_by_expiry: z.record(z.string(), z.array(z.number())).describe('distinct integer lots inferred per expiry'),
  report: artifactRefSchema.describe('audit report JSON'),
});

export const optionsChainAudit = defineStepKind({
  uses: 'options.chain_audit',
  version: '1',
  description: 'Audit an option chain per date (zero/crossed prices, stale settles, parity breaches, strike grid, expiry consistency, OI units) and infer the lot size per expiry',
  with: z.strictObject({
    config: z.string().default('configs/options/audit.yml').describe('audit thresholds config, relative to the project root'),
  }),
  consumes: chainAuditConsumes,
  provides: { audit: optionsAudit, quality: dataQuality },
  outputs: chainAuditOutputs,
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const { runChainAudit } = await import('./audit_run.ts');
    return runChainAudit(ctx, loadOptionsConfig(ctx.projectRoot, w.config, auditConfigSchema), w.config);
  },
});

/** Audit outputs (the kind's output schema, input side). */
export type ChainAuditOutputs = z.input<typeof chainAuditOutputs>;

