import { z } from 'zod';
import { dataQuality, ohlcvDaily, optionsChain, barsIntraday, orderbookMessages, orderbookSnapshots } from '../../contracts/index.ts';
import { artifactRefSchema, defineStepKind, type AnyStepKind, type StepContext } from '../types.ts';
import { UserError } from '../../lib/errors.ts';
import { loadDatasetContract, type DatasetKind } from '../../data/contract.ts';
import type { IngestEnv } from '../../data/ingest/common.ts';
import type { ArtifactRef } from '../../artifacts/store.ts';
import { datasetFingerprint } from '../../data/fingerprint.ts';
// the ingest and audit code is imported when a step runs: a fully cached run does not load it

/** Cache inputs of an ingest step: its dataset contract file and its source files' fingerprint. */
const ingestCache = {
  configFiles: (w: { dataset: string }) => [`configs/data/${w.dataset}.yml`],
  fingerprint: (w: { dataset: string }, env: { projectRoot: string; dataRoot: string }) => datasetFingerprint(env.projectRoot, env.dataRoot, w.dataset),
};

const datasetWith = z.object({
  dataset: z.string().min(1).describe('name of a dataset contract in configs/data/ (without .yml)'),
});

const counts = z.record(z.string(), z.number().int());

/** Outputs every ingest kind returns: dataset, quarantine + manifest artifacts, quarantine counts. */
const ingestOutputs = z.object({
  dataset: z.string().describe('dataset name'),
  quarantine: artifactRefSchema.describe('quarantined rows Parquet (rule, source_file, line, symbol, date, raw, detail)'),
  manifest: artifactRefSchema.describe('manifest JSON: sources with sha256 and bytes, counts (no timestamps)'),
  quarantined: z.number().int().describe('rows quarantined'),
  quarantined_by_rule: counts.describe('quarantined rows per rule'),
});

/** Outputs of the ingest kinds that produce one canonical table. */
const tableIngestOutputs = ingestOutputs.extend({
  rows: z.number().int().describe('rows written'),
  rows_in: z.number().int().describe('rows read from the sources'),
});

/** The calendar name (calendar/calendar.ts) of a dataset contract, at the bar interval of intraday data. */
function calendarName(spec: unknown, interval?: string): string {
  const rule = typeof spec === 'string' ? spec : typeof spec === 'object' && spec && 'kind' in spec ? String((spec as { kind: unknown }).kind) : 'inferred';
  return interval && interval !== '1d' ? `${rule}@${interval}` : rule;
}

/** The contract value of an ingested table: the reference plus dataset, calendar and provenance. */
function ingested<R extends { table: ArtifactRef; dataset: string; quarantine: ArtifactRef; manifest: ArtifactRef; quarantined_by_rule: Record<string, number> }>(r: R, calendar: string) {
  return { ...r, table: { ...r.table, dataset: r.dataset, calendar, quarantine: r.quarantine, manifest: r.manifest, quarantined_by_rule: r.quarantined_by_rule } };
}

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
    table: ohlcvDaily.schema,
    symbols: z.number().int().describe('symbols ingested'),
    dates: z.number().int().describe('distinct dates'),
    first_date: z.string().nullable().describe('first date (YYYY-MM-DD)'),
    last_date: z.string().nullable().describe('last date'),
    duplicates: z.number().int().describe('exact duplicate rows collapsed'),
    calendar: z.unknown().describe("the dataset contract's calendar declaration"),
    quarantined_files: z
      .array(
        z.object({
          path: z.string().describe('file, relative to the data root'),
          code: z.string().describe('failure code (header, encoding, unparseable, …)'),
          reason: z.string().describe('why it was quarantined whole'),
          line: z.number().int().nullable().describe('1-based line of the first problem'),
          symbol: z.string().nullable().describe('symbol the file carries'),
          date: z.string().nullable().describe('date the file carries (one file per date)'),
        }),
      )
      .describe('source files quarantined whole (the rest ingested)'),
    lost_symbols: z.array(z.string()).describe('expected symbols with no usable row'),
  }),
  provides: { table: ohlcvDaily },
  ...ingestCache,
  run: async (ctx, w) => {
    const c = contractOf(ctx, w.dataset, 'ohlcv', 'ingest.ohlcv');
    const { ingestOhlcv } = await import('../../data/ingest/ohlcv.ts');
    return ingested(await ingestOhlcv(c, envOf(ctx)), calendarName(c.contract.calendar));
  },
});

export const ingestOptionsKind = defineStepKind({
  uses: 'ingest.options_chain',
  version: '1',
  description: 'Ingest an option-chain EOD dataset into canonical Parquet (C/P, strikes, settle, OI, underlying)',
  with: datasetWith,
  outputs: tableIngestOutputs.extend({
    table: optionsChain.schema,
    dates: z.number().int().describe('distinct dates'),
    expiries: z.number().int().describe('distinct expiries'),
    duplicates: z.number().int().describe('exact duplicate rows collapsed'),
    underlying_filled: z.number().int().describe('rows whose underlying value was filled from another row of the date'),
  }),
  provides: { table: optionsChain },
  ...ingestCache,
  run: async (ctx, w) => {
    const c = contractOf(ctx, w.dataset, 'options_chain', 'ingest.options_chain');
    const { ingestOptionsChain } = await import('../../data/ingest/options.ts');
    const r = await ingestOptionsChain(c, envOf(ctx));
    return { ...r, table: { ...r.table, dataset: r.dataset, calendar: calendarName(c.contract.calendar) } };
  },
});

export const ingestKlinesKind = defineStepKind({
  uses: 'ingest.klines',
  version: '1',
  description: 'Ingest exchange klines (intraday bars) into canonical Parquet with UTC timestamps, vintage-aware dedupe',
  with: datasetWith,
  outputs: tableIngestOutputs.extend({
    table: barsIntraday.schema,
    symbols: z.number().int().describe('symbols ingested'),
    rows_by_symbol: counts.describe('rows per symbol'),
    unique_bars_by_symbol: counts.describe('distinct bars per symbol'),
    first_ts: z.string().nullable().describe('first bar (ISO, UTC)'),
    last_ts: z.string().nullable().describe('last bar (ISO, UTC)'),
    duplicates: z.number().int().describe('exact duplicate rows collapsed'),
    superseded: z.number().int().describe('bars of an older export vintage replaced by the newer one'),
  }),
  provides: { table: barsIntraday },
  ...ingestCache,
  run: async (ctx, w) => {
    const c = contractOf(ctx, w.dataset, 'klines', 'ingest.klines');
    const { ingestKlines } = await import('../../data/ingest/klines.ts');
    const r = await ingestKlines(c, envOf(ctx));
    const interval = String((c.contract as { interval?: unknown }).interval ?? '1h');
    return { ...r, table: { ...r.table, dataset: r.dataset, calendar: calendarName(c.contract.calendar, interval), interval } };
  },
});

export const ingestLobKind = defineStepKind({
  uses: 'ingest.lob',
  version: '1',
  description: 'Ingest LOBSTER-style order book + message files into canonical messages and long-form book Parquet',
  with: datasetWith,
  outputs: ingestOutputs.extend({
    messages: orderbookMessages.schema,
    book: orderbookSnapshots.schema,
    sessions: z
      .array(z.object({ symbol: z.string().describe('ticker'), date: z.string().describe('session date'), levels: z.number().int().describe('book levels'), events: z.number().int().describe('messages') }))
      .describe('sessions ingested'),
    events: z.number().int().describe('messages ingested'),
    book_rows: z.number().int().describe('book rows (long form)'),
  }),
  provides: { messages: orderbookMessages, book: orderbookSnapshots },
  ...ingestCache,
  run: async (ctx, w) => {
    const { ingestLob } = await import('../../data/ingest/lob.ts');
    const r = await ingestLob(contractOf(ctx, w.dataset, 'lob', 'ingest.lob'), envOf(ctx));
    return { ...r, messages: { ...r.messages, dataset: r.dataset }, book: { ...r.book, dataset: r.dataset } };
  },
});

export const ingestIndexKind = defineStepKind({
  uses: 'ingest.index',
  version: '1',
  description: 'Ingest daily index levels from several prioritised sources into canonical daily OHLCV (+ source)',
  with: datasetWith,
  outputs: tableIngestOutputs.extend({
    table: ohlcvDaily.schema,
    symbols: z.number().int().describe('index symbols'),
    rows_by_symbol: counts.describe('rows per symbol'),
    dates: z.number().int().describe('distinct dates'),
    duplicates: z.number().int().describe('exact duplicate rows collapsed'),
    superseded: z.number().int().describe('rows of lower-priority sources replaced'),
  }),
  provides: { table: ohlcvDaily },
  ...ingestCache,
  run: async (ctx, w) => {
    const c = contractOf(ctx, w.dataset, 'index', 'ingest.index');
    const { ingestIndex } = await import('../../data/ingest/index-daily.ts');
    return ingested(await ingestIndex(c, envOf(ctx)), calendarName(c.contract.calendar));
  },
});

const fraction = z.number().min(0).max(1);

export const qcAuditKind = defineStepKind({
  uses: 'qc.audit',
  version: '3',
  description: 'Data-quality audit of the upstream daily OHLCV ingest: per-date GREEN/AMBER/RED, flags, curated view, report',
  with: z.object({
    green_coverage: fraction.optional().describe('coverage at or above which a date is GREEN (default configs/data/audit.yml)'),
    amber_coverage: fraction.optional().describe('coverage at or above which a date is AMBER'),
    amber_flagged_fraction: fraction.optional().describe('flagged share of names above which a date is AMBER'),
    red_flagged_fraction: fraction.optional().describe('flagged share of names above which a date is RED'),
    rules: z.record(z.string(), z.record(z.string(), z.unknown())).optional().describe('per-rule overrides of configs/data/audit.yml rules (e.g. { bad_print: { action: drop } })'),
  }),
  consumes: {
    source: { contract: ohlcvDaily, description: 'the ingested daily OHLCV table to audit' },
  },
  outputs: z.object({
    dataset: z.string().describe('dataset name'),
    status: z.enum(['GREEN', 'AMBER', 'RED']).describe('worst date status'),
    red_dates: z.array(z.string()).describe('RED dates'),
    amber_dates: z.array(z.string()).describe('AMBER dates'),
    red_reasons: z.array(z.object({ rule: z.string().describe('rule'), count: z.number().int().describe('RED dates') })).describe('rules behind RED dates'),
    red_hints: z.array(z.string()).describe('one line per RED rule naming the rule and its switch'),
    lost_symbols: z.array(z.string()).describe('expected symbols with no usable row'),
    quarantined_files: z.array(z.string()).describe('source files quarantined whole at ingest'),
    corporate_actions_neutralised: z.array(z.string()).describe('ex-date corporate actions back-adjusted in the curated view'),
    survivorship: dataQuality.schema.shape.survivorship.unwrap().describe('survivorship bias of the universe'),
    curated: ohlcvDaily.schema,
    quality: dataQuality.schema,
    flags: artifactRefSchema.describe('flags Parquet (date, symbol, rule, action, value, detail)'),
    report: artifactRefSchema.describe('audit report JSON'),
    dates: z.number().int().describe('dates audited'),
    green: z.number().int().describe('GREEN dates'),
    amber: z.number().int().describe('AMBER dates'),
    red: z.number().int().describe('RED dates'),
    rows_in: z.number().int().describe('rows read'),
    rows_curated: z.number().int().describe('rows in the curated view'),
    rows_dropped: z.number().int().describe('rows dropped'),
    rows_repaired: z.number().int().describe('rows repaired'),
    rows_inserted: z.number().int().describe('rows inserted (filled)'),
    symbols: z.number().int().describe('symbols'),
    min_coverage: z.number().describe('lowest date coverage'),
    flags_by_rule: counts.describe('flags per rule'),
  }),
  provides: { curated: ohlcvDaily, quality: dataQuality },
  configFiles: () => ['configs/data/audit.yml'],
  run: async (ctx, w) => {
    const src = ctx.input('source').value;
    const { auditIngested } = await import('../../data/pipeline.ts');
    const r = await auditIngested(ctx.projectRoot, { dataset: src.dataset, table: src, quarantine: src.quarantine, quarantined_by_rule: src.quarantined_by_rule, manifest: src.manifest }, { store: ctx.artifacts, signal: ctx.signal, progress: (p) => ctx.progress(p) }, w);
    return {
      ...r,
      curated: { ...r.curated, dataset: src.dataset, calendar: src.calendar },
      quality: { dataset: r.dataset, status: r.status, red_dates: r.red_dates, amber_dates: r.amber_dates, red_reasons: r.red_reasons, red_hints: r.red_hints, lost_symbols: r.lost_symbols, quarantined_files: r.quarantined_files, corporate_actions_neutralised: r.corporate_actions_neutralised, survivorship: r.survivorship, report: r.report },
    };
  },
});

/** Step kinds of this concern, registered in kinds/registry.ts. */
export const kinds: AnyStepKind[] = [ingestOhlcvKind, ingestOptionsKind, ingestKlinesKind, ingestLobKind, ingestIndexKind, qcAuditKind];
