import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { ArtifactStore, type ArtifactRef } from '../../artifacts/store.ts';
import { auditIngested } from '../../data/pipeline.ts';
import { loadDatasetContract } from '../../data/contract.ts';
import { ingestOhlcv, type OhlcvIngestResult } from '../../data/ingest/ohlcv.ts';
import type { AuditResult } from '../../data/audit.ts';
import type { AuditReport } from '../../data/audit-report.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { dataRoot, PROJECT_ROOT } from '../../lib/paths.ts';

/** A fresh temp folder. */
export function tempDir(prefix = 'trademl-data-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Folder of the shipped S&P per-symbol files. */
export const SP500_DIR = path.join(dataRoot(), 'sp500_all_stocks_5yr', 'individual_stocks_5yr');

/** A temp data root holding a copy of the shared S&P folder (tests edit the copy, never the shared data). */
export function copySp500(symbols?: string[]): { root: string; dir: string } {
  const root = tempDir('trademl-data-');
  const dir = path.join(root, 'sp500_all_stocks_5yr', 'individual_stocks_5yr');
  mkdirSync(dir, { recursive: true });
  if (!symbols) cpSync(SP500_DIR, dir, { recursive: true });
  else for (const s of symbols) cpSync(path.join(SP500_DIR, `${s}_data.csv`), path.join(dir, `${s}_data.csv`));
  return { root, dir };
}

/**
 * A temp project root with the shipped audit defaults and calendar lists, plus the given dataset
 * contracts (objects written as YAML to configs/data/<name>.yml).
 */
export function projectWith(contracts: Record<string, unknown>[] = []): string {
  const root = tempDir('trademl-proj-');
  const cfg = path.join(root, 'configs', 'data');
  mkdirSync(cfg, { recursive: true });
  cpSync(path.join(PROJECT_ROOT, 'configs', 'data', 'audit.yml'), path.join(cfg, 'audit.yml'));
  cpSync(path.join(PROJECT_ROOT, 'configs', 'data', 'calendars'), path.join(cfg, 'calendars'), { recursive: true });
  for (const c of contracts) writeFileSync(path.join(cfg, `${(c as { name: string }).name}.yml`), stringify(c));
  return root;
}

/** An S&P-like OHLCV contract over `files` (relative to the data root), symbol column `Name`. */
export function spContract(name: string, files: string | string[], over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    kind: 'ohlcv',
    source: { files },
    columns: { date: 'date', symbol: 'Name', open: 'open', high: 'high', low: 'low', close: 'close', volume: 'volume' },
    calendar: 'nyse',
    ...over,
  };
}

/** A fresh artifact store in a temp folder. */
export function newStore(): ArtifactStore {
  return new ArtifactStore(path.join(tempDir('trademl-store-'), 'artifacts'));
}

/** Ingests then audits dataset `name` of `project` the way a pipeline does; returns both results and the report. */
export async function ingestAndAudit(project: string, data: string, name: string, store = newStore(), now?: Date): Promise<{ ing: OhlcvIngestResult; audit: AuditResult; report: AuditReport; store: ArtifactStore }> {
  const ing = await ingestOhlcv(loadDatasetContract(project, name), { store, dataRoot: data, now });
  const audit = await auditIngested(project, ing, { store });
  return { ing, audit, report: store.readJson<AuditReport>(audit.report), store };
}

/** Runs SQL over an artifact (`$T` stands for its read_parquet). */
export async function q<T>(store: ArtifactStore, ref: unknown, sql: string): Promise<T[]> {
  return withDuckDB((con) => queryRows<T>(con, sql.replaceAll('$T', `read_parquet(${sqlString(store.path(ref as ArtifactRef))})`)));
}

/** Lines of a shipped S&P file. */
export function spLines(symbol: string): string[] {
  return readFileSync(path.join(SP500_DIR, `${symbol}_data.csv`), 'utf8').trimEnd().split('\n');
}

/** Every object file currently in an artifact store (relative paths, sorted). */
export function storeObjects(storeRoot: string): string[] {
  const objects = path.join(storeRoot, 'objects');
  return readdirSync(objects, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(objects, path.join(e.parentPath, e.name)))
    .sort();
}
