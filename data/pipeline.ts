import { existsSync } from 'node:fs';
import type { ArtifactRef, ArtifactStore } from '../artifacts/store.ts';
import type { AdjustmentInfo } from './adjust.ts';
import { resolveCalendar } from './calendars.ts';
import type { QuarantinedFile } from './ingest/ohlcv.ts';
import type { LostSymbol } from './ingest/universe.ts';
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

/** The manifest fields the audit reads (ohlcv manifests carry all of them; index manifests none). */
interface ManifestFacts {
  lost_symbols?: LostSymbol[];
  lost_dates?: string[];
  quarantined_files?: QuarantinedFile[];
  adjustment?: AdjustmentInfo;
}

/** Reads the ingest manifest when the store has it (absent or unreadable: no facts, the audit still runs). */
function manifestFacts(store: ArtifactStore, ref: ArtifactRef | undefined): ManifestFacts {
  if (!ref || !existsSync(store.path(ref))) return {};
  return store.readJson<ManifestFacts>(ref);
}

/**
 * Audits the output of an OHLCV-like ingest (`ohlcv` or `index` contracts) with the dataset's
 * audit configuration (configs/data/audit.yml ← contract `audit:` ← `overrides`) and calendar
 * (holiday lists from configs/data/calendars/). From the ingest manifest it takes the symbols the
 * ingest lost, the files it quarantined and the price adjustments to apply.
 * Throws UserError for other dataset kinds.
 */
export async function auditIngested(
  projectRoot: string,
  ingest: Pick<OhlcvIngestResult, 'dataset' | 'table'> & { quarantine?: OhlcvIngestResult['quarantine']; quarantined_by_rule?: Record<string, number>; manifest?: ArtifactRef },
  env: { store: ArtifactStore; signal?: AbortSignal; progress?: IngestEnv['progress'] },
  overrides: AuditOverrides = {},
): Promise<AuditResult> {
  const loaded = loadDatasetContract(projectRoot, ingest.dataset);
  const c = loaded.contract;
  if (c.kind !== 'ohlcv' && c.kind !== 'index') {
    throw new UserError(`qc.audit audits daily OHLCV tables (contract kinds ohlcv, index); dataset ${c.name} is kind ${c.kind}`);
  }
  const config = resolveAuditConfig(projectRoot, c.audit, loaded.file, overrides);
  const facts = manifestFacts(env.store, ingest.manifest);
  const factors = facts.adjustment?.factors?.artifact;
  return auditOhlcv(
    {
      dataset: c.name,
      tablePath: env.store.path(ingest.table),
      quarantinePath: ingest.quarantine ? env.store.path(ingest.quarantine) : undefined,
      quarantinedByRule: ingest.quarantined_by_rule,
      calendar: c.calendar,
      resolvedCalendar: resolveCalendar(projectRoot, c.calendar),
      config,
      lostSymbols: facts.lost_symbols,
      lostDates: facts.lost_dates,
      quarantinedFiles: facts.quarantined_files,
      adjustment: facts.adjustment ? { adjClose: facts.adjustment.adj_close, factorsPath: factors ? env.store.path(factors) : undefined, info: facts.adjustment } : undefined,
    },
    env,
  );
}
