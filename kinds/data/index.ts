import { z } from 'zod';
import { artifactRefSchema, defineStepKind, type StepContext, type StepKind } from '../types.ts';
import { UserError } from '../../lib/errors.ts';
import { loadDatasetContract, type DatasetKind } from '../../data/contract.ts';
import type { IngestEnv } from '../../data/ingest/common.ts';
import { ingestOhlcv } from '../../data/ingest/ohlcv.ts';
import { ingestOptionsChain } from '../../data/ingest/options.ts';
import { ingestKlines } from '../../data/ingest/klines.ts';
import { ingestLob } from '../../data/ingest/lob.ts';
import { ingestIndex } from '../../data/ingest/index-daily.ts';
import { auditIngested } from '../../data/pipeline.ts';
import { findUpstreamIngest } from '../../data/upstream.ts';
import { datasetFingerprint } from '../../data/fingerprint.ts';

/** Cache inputs of an ingest step: its dataset contract file and its source files' fingerprint. */
const ingestCache = {
  configFiles: (w: { dataset: string }) => [`configs/data/${w.dataset}.yml`],
  fingerprint: (w: { dataset: string }, env: { projectRoot: string; dataRoot: string }) => datasetFingerprint(env.projectRoot, env.dataRoot, w.dataset),
};

const datasetWith = z.object({
  /** Name of a dataset contract in configs/data/ (without .yml). */
  dataset: z.string().min(1),
});

const counts = z.record(z.string(), z.number().int());

/** Outputs every ingest kind returns: dataset, quarantine + manifest artifacts, quarantine counts. */
const ingestOutputs = z.object({
  dataset: z.string(),
  quarantine: artifactRefSchema,
  manifest: artifactRefSchema,
  quarantined: z.number().int(),
  quarantined_by_rule: counts,
});

/** Outputs of the ingest kinds that produce one canonical table. */
const tableIngestOutputs = ingestOutputs.extend({
  table: artifactRefSchema,
  rows: z.number().int(),
  rows_in: z.number().int(),
});

function envOf(ctx: StepContext): IngestEnv {
  return { store: ctx.artifacts, dataRoot: ctx.dataRoot, signal: ctx.signal, progress: (p) => ctx.progress(p) };
}

function contractOf(ctx: StepContext, dataset: string, kind: DatasetKind, uses: string) {
  const loaded = loadDatasetContract(ctx.projectRoot, dataset);
  if (loaded.contract.kind !== kind) {
    throw new UserError(`${uses}: dataset ${dataset} is kind ${loaded.contract.kind} (configs/data/${dataset}.yml), expected ${kind}; use ingest.${loaded.contract.kind === 'options_chain' ? 'options_chain' : loaded.contract.kind}`);
  }
  return loaded;
}

export const ingestOhlcvKind = defineStepKind({
  uses: 'ingest.ohlcv',
  version: '1',
  description: 'Ingest a daily OHLCV dataset (configs/data/<dataset>.yml) into canonical Parquet with quarantine and manifest',
  with: datasetWith,
  outputs: tableIngestOutputs.extend({
    symbols: z.number().int(),
    dates: z.number().int(),
    first_date: z.string().nullable(),
    last_date: z.string().nullable(),
    duplicates: z.number().int(),
    calendar: z.unknown(),
  }),
  ...ingestCache,
  run: async (ctx, w) => ingestOhlcv(contractOf(ctx, w.dataset, 'ohlcv', 'ingest.ohlcv'), envOf(ctx)),
});

export const ingestOptionsKind = defineStepKind({
  uses: 'ingest.options_chain',
  version: '1',
  description: 'Ingest an option-chain EOD dataset into canonical Parquet (C/P, strikes, settle, OI, underlying)',
  with: datasetWith,
  outputs: tableIngestOutputs.extend({
    dates: z.number().int(),
    expiries: z.number().int(),
    duplicates: z.number().int(),
    underlying_filled: z.number().int(),
  }),
  ...ingestCache,
  run: async (ctx, w) => ingestOptionsChain(contractOf(ctx, w.dataset, 'options_chain', 'ingest.options_chain'), envOf(ctx)),
});

export const ingestKlinesKind = defineStepKind({
  uses: 'ingest.klines',
  version: '1',
  description: 'Ingest exchange klines (intraday bars) into canonical Parquet with UTC timestamps, vintage-aware dedupe',
  with: datasetWith,
  outputs: tableIngestOutputs.extend({
    symbols: z.number().int(),
    rows_by_symbol: counts,
    unique_bars_by_symbol: counts,
    first_ts: z.string().nullable(),
    last_ts: z.string().nullable(),
    duplicates: z.number().int(),
    superseded: z.number().int(),
  }),
  ...ingestCache,
  run: async (ctx, w) => ingestKlines(contractOf(ctx, w.dataset, 'klines', 'ingest.klines'), envOf(ctx)),
});

export const ingestLobKind = defineStepKind({
  uses: 'ingest.lob',
  version: '1',
  description: 'Ingest LOBSTER-style order book + message files into canonical messages and long-form book Parquet',
  with: datasetWith,
  outputs: ingestOutputs.extend({
    messages: artifactRefSchema,
    book: artifactRefSchema,
    sessions: z.array(z.object({ symbol: z.string(), date: z.string(), levels: z.number().int(), events: z.number().int() })),
    events: z.number().int(),
    book_rows: z.number().int(),
  }),
  ...ingestCache,
  run: async (ctx, w) => ingestLob(contractOf(ctx, w.dataset, 'lob', 'ingest.lob'), envOf(ctx)),
});

export const ingestIndexKind = defineStepKind({
  uses: 'ingest.index',
  version: '1',
  description: 'Ingest daily index levels from several prioritised sources into canonical daily OHLCV (+ source)',
  with: datasetWith,
  outputs: tableIngestOutputs.extend({
    symbols: z.number().int(),
    rows_by_symbol: counts,
    dates: z.number().int(),
    duplicates: z.number().int(),
    superseded: z.number().int(),
  }),
  ...ingestCache,
  run: async (ctx, w) => ingestIndex(contractOf(ctx, w.dataset, 'index', 'ingest.index'), envOf(ctx)),
});

const fraction = z.number().min(0).max(1);

export const qcAuditKind = defineStepKind({
  uses: 'qc.audit',
  version: '1',
  description: 'Data-quality audit of the upstream daily OHLCV ingest: per-date GREEN/AMBER/RED, flags, curated view, report',
  with: z.object({
    /** Which upstream ingest to audit when there are several (matched on its `dataset` output). */
    dataset: z.string().optional(),
    green_coverage: fraction.optional(),
    amber_coverage: fraction.optional(),
    amber_flagged_fraction: fraction.optional(),
    red_flagged_fraction: fraction.optional(),
    /** Per-rule overrides of configs/data/audit.yml `rules:` (e.g. { bad_print: { action: drop } }). */
    rules: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  }),
  outputs: z.object({
    dataset: z.string(),
    status: z.enum(['GREEN', 'AMBER', 'RED']),
    red_dates: z.array(z.string()),
    amber_dates: z.array(z.string()),
    red_reasons: z.array(z.object({ rule: z.string(), count: z.number().int() })),
    curated: artifactRefSchema,
    flags: artifactRefSchema,
    report: artifactRefSchema,
    dates: z.number().int(),
    green: z.number().int(),
    amber: z.number().int(),
    red: z.number().int(),
    rows_in: z.number().int(),
    rows_curated: z.number().int(),
    rows_dropped: z.number().int(),
    rows_repaired: z.number().int(),
    rows_inserted: z.number().int(),
    symbols: z.number().int(),
    min_coverage: z.number(),
    flags_by_rule: counts,
  }),
  configFiles: () => ['configs/data/audit.yml'],
  run: async (ctx, w) => {
    const up = findUpstreamIngest(ctx, w.dataset);
    const { dataset: _d, ...overrides } = w;
    return auditIngested(ctx.projectRoot, up.outputs as Parameters<typeof auditIngested>[1], { store: ctx.artifacts, signal: ctx.signal, progress: (p) => ctx.progress(p) }, overrides);
  },
});

/** Step kinds of this concern, registered in kinds/registry.ts. */
export const kinds: StepKind[] = [ingestOhlcvKind, ingestOptionsKind, ingestKlinesKind, ingestLobKind, ingestIndexKind, qcAuditKind] as unknown as StepKind[];
