/**
 * Benchmark of the market-data concern on the real S&P 500 files (505 CSVs, 619,040 rows):
 *   ingest — `ingest.ohlcv` of sp500_all_stocks_5yr into a fresh artifact store (target ≤ 5 s on 2 cores);
 *   audit  — `qc.audit` of that table with the default thresholds (target ≤ 2 s);
 *   init   — `trademl data init` drafting a contract for the India index files.
 * It also reports whether the table and curated Parquet are bit for bit those of the nightly
 * before the data redesign (`bitwise_as_before`).
 * Wall times on a shared machine are inflated by other load: CPU times (process.cpuUsage, all
 * threads of this process incl. DuckDB's) and the 1-minute load average are reported beside them.
 * Peak memory = process.resourceUsage().maxRSS. Prints one JSON object. Run: npx tsx bench/data.ts
 */
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore } from '../artifacts/store.ts';
import { loadDatasetContract } from '../data/contract.ts';
import { ingestOhlcv } from '../data/ingest/ohlcv.ts';
import { auditIngested } from '../data/pipeline.ts';
import { dataRoot, PROJECT_ROOT } from '../lib/paths.ts';
import { mkdtempSync } from 'node:fs';
import { draftContract } from '../data/init/index.ts';

const store = new ArtifactStore(path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-data-')), 'artifacts'));
/** Digests of the S&P table and curated view before the data redesign (the nightly's inputs). */
const BEFORE = { table: 'sha256:d197d8d03e6238bea36f5cdc437b4db80c58a649b03072edb891717ae7294baf', curated: 'sha256:e0db9b92ad80f12b1bd116ec35e6e5c31958817bc82cd485b2b70f1473d9edf8' };
const loaded = loadDatasetContract(PROJECT_ROOT, 'sp500_all_stocks_5yr');

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; wall_ms: number; cpu_ms: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, wall_ms: Math.round(wall), cpu_ms: Math.round((c.user + c.system) / 1000) };
}

const load0 = os.loadavg()[0]!;
const ingest = await timed(() => ingestOhlcv(loaded, { store, dataRoot: dataRoot() }));
const audit = await timed(() => auditIngested(PROJECT_ROOT, ingest.value, { store }));
const init = await timed(() => draftContract({ projectRoot: PROJECT_ROOT, dataRoot: dataRoot(), folder: 'india_indices' }));
const maxRssKb = process.resourceUsage().maxRSS;

process.stdout.write(
  JSON.stringify({
    bench: 'data',
    dataset: loaded.contract.name,
    files: 505,
    rows_in: ingest.value.rows_in,
    rows: ingest.value.rows,
    ingest_wall_ms: ingest.wall_ms,
    ingest_cpu_ms: ingest.cpu_ms,
    audit_wall_ms: audit.wall_ms,
    audit_cpu_ms: audit.cpu_ms,
    audit_status: audit.value.status,
    init_wall_ms: init.wall_ms,
    init_files: init.value.files,
    bitwise_as_before: ingest.value.table.digest === BEFORE.table && audit.value.curated.digest === BEFORE.curated,
    peak_rss_mb: Math.round(maxRssKb / 1024),
    duckdb_threads: Number(process.env.TRADEML_DUCKDB_THREADS ?? 2),
    cpus: os.cpus().length,
    loadavg_1m_before: Number(load0.toFixed(2)),
    loadavg_1m_after: Number(os.loadavg()[0]!.toFixed(2)),
    targets: { ingest_ms: 5000, audit_ms: 2000 },
  }) + '\n',
);
