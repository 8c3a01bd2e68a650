import type { ArtifactStore } from '../artifacts/store.ts';
import { UserError } from '../lib/errors.ts';
import { auditOhlcv, type AuditResult } from './audit.ts';
import { resolveAuditConfig, type AuditOverrides } from './audit-config.ts';
import { loadDatasetContract, type LoadedContract } from './contract.ts';
import type { IngestEnv } from './ingest/common.ts';
import { ingestIndex } from './ingest/index-daily.ts';
import { ingestKlines } from './ingest/klines.ts';
import { ingestLob } from './ingest/lob.ts';
import { ingestOhlcv, type OhlcvIngestResult } from './ingest/ohlcv.ts';
import { ingestOptionsChain } from './ingest/options.ts';

/** Step kind that ingests each contract kind. */
export const INGEST_KIND_OF: Record<string, string> = {
  ohlcv: 'ingest.ohlcv',
  options_chain: 'ingest.options_chain',
  klines: 'ingest.klines',
  lob: 'ingest.lob',
  index: 'ingest.index',
};

/**
 * Ingests any dataset by its contract kind (used by the CLI and benchmarks; step kinds call the
 * per-kind functions). Returns the kind's small JSON result.
 */
export async function ingestDataset(loaded: LoadedContract, env: IngestEnv): Promise<Record<string, unknown>> {
  switch (loaded.contract.kind) {
    case 'ohlcv':
      return { ...(await ingestOhlcv(loaded, env)) };
    case 'options_chain':
      return { ...(await ingestOptionsChain(loaded, env)) };
    case 'klines':
      return { ...(await ingestKlines(loaded, env)) };
    case 'lob':
      return { ...(await ingestLob(loaded, env)) };
    case 'index':
      return { ...(await ingestIndex(loaded, env)) };
  }
}

/**
 * Audits the output of an OHLCV-like ingest (`ohlcv` or `index` contracts) with the dataset's
 * audit configuration (configs/data/audit.yml ← contract `audit:` ← `overrides`).
 * Throws UserError for other dataset kinds.
 */
export async function auditIngested(
  projectRoot: string,
  ingest: Pick<OhlcvIngestResult, 'dataset' | 'table'> & { quarantine?: OhlcvIngestResult['quarantine']; quarantined_by_rule?: Record<string, number> },
  env: { store: ArtifactStore; signal?: AbortSignal; progress?: IngestEnv['progress'] },
  overrides: AuditOverrides = {},
): Promise<AuditResult> {
  const loaded = loadDatasetContract(projectRoot, ingest.dataset);
  const c = loaded.contract;
  if (c.kind !== 'ohlcv' && c.kind !== 'index') {
    throw new UserError(`qc.audit audits daily OHLCV tables (contract kinds ohlcv, index); dataset ${c.name} is kind ${c.kind}`);
  }
  const config = resolveAuditConfig(projectRoot, c.audit, loaded.file, overrides);
  return auditOhlcv(
    {
      dataset: c.name,
      tablePath: env.store.path(ingest.table),
      quarantinePath: ingest.quarantine ? env.store.path(ingest.quarantine) : undefined,
      quarantinedByRule: ingest.quarantined_by_rule,
      calendar: c.calendar,
      config,
    },
    env,
  );
}
