import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ArtifactRef, ArtifactStore } from '../../artifacts/store.ts';
import { queryRows, sqlString } from '../../lib/duckdb.ts';
import { StepError } from '../../lib/errors.ts';
import { InputFileError, type ScannedFile } from '../scan.ts';

/** Hooks an ingest function gets from its caller (step context or CLI). */
export interface IngestEnv {
  store: ArtifactStore;
  dataRoot: string;
  signal?: AbortSignal;
  progress?: (p: { fraction?: number; message?: string }) => void;
  /** The ingest's clock (default: now): rows dated after it plus the contract's `bounds.future_days` are implausible. */
  now?: Date;
}

/** Throws a StepError when the run was cancelled. */
export function checkAbort(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new StepError({ message: `${what}: cancelled`, type: 'Cancelled', nonRetryable: true });
}

/** Synthetic positional column names c0..c{n-1} (raw headers may hold spaces and non-ASCII signs). */
export function positional(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `c${i}`);
}

/**
 * Loads CSV files into table `raw_<name>` with every column VARCHAR (raw text kept for the
 * quarantine), plus `src` (path relative to the data root), `line` (1-based line number in its
 * file; the header is line 1) and `file_no` (index in `files`). DuckDB parses the bytes the
 * pre-scan read and hashed (`ScannedFile.data`, written to a private temp folder for the
 * duration of the load), never the source path again, so the manifest's sha256 describes exactly
 * what was loaded. Row order inside a file is the file's order; the pre-scan guarantees one
 * record per line, so `line` is exact. Throws InputFileError naming the file when DuckDB reads
 * another number of rows than the pre-scan counted or cannot parse it.
 */
export async function loadRawCsv(
  con: DuckDBConnection,
  table: string,
  files: ScannedFile[],
  opts: { delimiter: string; header: boolean; nColumns: number },
): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trademl-ingest-'));
  try {
    const copies = files.map((f, i) => {
      const p = path.join(dir, `${i}.csv`);
      writeFileSync(p, f.data, { mode: 0o600 });
      return p;
    });
    await readCopies(con, table, files, copies, opts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function readCopies(con: DuckDBConnection, table: string, files: ScannedFile[], copies: string[], opts: { delimiter: string; header: boolean; nColumns: number }): Promise<void> {
  const cols = positional(opts.nColumns);
  const colSpec = `{${cols.map((c) => `'${c}':'VARCHAR'`).join(', ')}}`;
  const read = (list: string[]) => `SELECT * FROM read_csv([${list.map(sqlString).join(', ')}], header=${opts.header}, auto_detect=false,
      delim=${sqlString(opts.delimiter)}, quote='"', escape='"', columns=${colSpec}, filename=true, strict_mode=true, null_padding=false)`;
  try {
    await con.run(`CREATE OR REPLACE TEMP TABLE _rawload AS ${read(copies)}`);
  } catch (e) {
    // Name the file DuckDB could not parse (its own message quotes file content: never shown).
    for (let i = 0; i < copies.length; i++) {
      try {
        await con.run(`CREATE OR REPLACE TEMP TABLE _probe AS ${read([copies[i]!])}`);
      } catch (e2) {
        const line = /line:?\s*(\d+)/i.exec(String((e2 as Error).message))?.[1];
        throw new InputFileError(`source file ${files[i]!.rel}${line ? ` line ${line}` : ''}: the CSV parser rejected it (quoting or field count); check quotes and delimiters there`, { file: files[i]!.rel, line: line ? Number(line) : undefined, code: 'parser_error' });
      }
    }
    throw e;
  }
  const idx = files.map((f, i) => `(${sqlString(copies[i]!)}, ${sqlString(f.rel)}, ${i})`).join(', ');
  await con.run(`CREATE OR REPLACE TEMP TABLE _fidx AS SELECT * FROM (VALUES ${idx}) v(filename, src, file_no)`);
  // Rows of one file are contiguous in insertion order: line = rowid - first rowid of the file + header.
  await con.run(`CREATE OR REPLACE TEMP TABLE _fspan AS SELECT filename, min(rowid) AS r0, max(rowid) AS r1, count(*)::INTEGER AS n FROM _rawload GROUP BY filename`);
  const spans = await queryRows<{ filename: string; r0: bigint; r1: bigint; n: number }>(con, `SELECT * FROM _fspan`);
  const byFile = new Map(spans.map((s) => [s.filename, s]));
  files.forEach((f, i) => {
    const s = byFile.get(copies[i]!);
    const n = s?.n ?? 0;
    if (n !== f.rows) throw new InputFileError(`source file ${f.rel}: the CSV parser read ${n} rows but the file has ${f.rows} records; check quoting and line endings`, { file: f.rel, code: 'parser_error' });
    if (s && Number(s.r1 - s.r0) + 1 !== n) throw new StepError({ message: `internal: rows of ${f.rel} were not read contiguously; cannot assign line numbers`, type: 'IngestError', nonRetryable: true });
  });
  await con.run(`CREATE OR REPLACE TEMP TABLE ${table} AS
    SELECT ${cols.map((c) => `r.${c}`).join(', ')}, x.src, (r.rowid - s.r0 + ${opts.header ? 2 : 1})::BIGINT AS line, x.file_no
    FROM _rawload r JOIN _fidx x ON r.filename = x.filename JOIN _fspan s ON r.filename = s.filename`);
  await con.run(`DROP TABLE _rawload; DROP TABLE _fspan; DROP TABLE _fidx`);
}

/** SQL expression: trimmed `col`, NULL when it is NULL or one of the contract's null strings. */
export function nullable(col: string, nullValues: string[]): string {
  const nulls = nullValues.filter((v) => v !== '').map(sqlString);
  const t = `trim(${col})`;
  return `CASE WHEN ${col} IS NULL OR ${t} = ''${nulls.length ? ` OR ${t} IN (${nulls.join(', ')})` : ''} THEN NULL ELSE ${t} END`;
}

/** SQL expression: a DOUBLE parsed from a (nullable) text expression; NaN/inf count as unparseable (NULL). */
export function toDouble(expr: string): string {
  return `(CASE WHEN isfinite(TRY_CAST(${expr} AS DOUBLE)) THEN TRY_CAST(${expr} AS DOUBLE) END)`;
}

/** SQL expression: a JSON object text of raw source values, keyed by the source header names. */
export function rawJson(names: string[], cols: string[]): string {
  return `json_object(${names.map((n, i) => `${sqlString(n)}, ${cols[i]}`).join(', ')})::VARCHAR`;
}

/** Temp files written during a step; moved into the store only once every file is complete. */
export class PendingArtifacts {
  private files: { tmp: string; name: string }[] = [];
  constructor(private store: ArtifactStore) {}

  /** A temp path for an artifact named `name` (written later by COPY or writeFile). */
  path(name: string): string {
    const tmp = this.store.tempPath(name);
    this.files.push({ tmp, name });
    return tmp;
  }

  /** Writes `sql`'s result as Parquet (ZSTD) to a new temp path; returns the path. */
  async parquet(con: DuckDBConnection, sql: string, name: string): Promise<string> {
    const tmp = this.path(name);
    await con.run(`COPY (${sql}) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
    return tmp;
  }

  /** Moves every pending file into the store (atomic per object); returns refs by name. */
  async commit(): Promise<Record<string, ArtifactRef>> {
    const out: Record<string, ArtifactRef> = {};
    for (const f of this.files) out[f.name] = await this.store.putFile(f.tmp, { name: f.name, move: true });
    this.files = [];
    return out;
  }

  /** Removes temp files after a failure: nothing partial reaches the store. */
  discard(): void {
    for (const f of this.files) rmSync(f.tmp, { force: true });
    this.files = [];
  }
}

/** Quarantine Parquet columns (same for every dataset kind). */
export const QUARANTINE_COLUMNS = 'rule VARCHAR, source_file VARCHAR, line BIGINT, symbol VARCHAR, date VARCHAR, raw VARCHAR, detail VARCHAR';

/** Counts of quarantine table rows by rule, as a plain object sorted by rule. */
export async function countByRule(con: DuckDBConnection, table: string): Promise<Record<string, number>> {
  const rows = await queryRows<{ rule: string; n: number }>(con, `SELECT rule, count(*)::INTEGER AS n FROM ${table} GROUP BY rule ORDER BY rule`);
  return Object.fromEntries(rows.map((r) => [r.rule, r.n]));
}

/** Wraps a non-StepError thrown during ingest (e.g. a DuckDB error) into a StepError naming the dataset. */
export function wrapIngestError(dataset: string, e: unknown): Error {
  if (e instanceof StepError) return e;
  if (e instanceof Error && e.name === 'UserError') return e;
  return new StepError({ message: `ingest of dataset ${dataset} failed: ${e instanceof Error ? e.message : String(e)}`, type: 'IngestError', nonRetryable: false });
}

/**
 * Splits contract-valid rows of `src` (rows with `rule IS NULL`) by key: exact duplicates (same key
 * and same `valueCols`) collapse to one row (the first by file and line), keys with different
 * versions go to `quarantine` as `conflicting_duplicate` (every version). `src` must have columns
 * src, line, symbol, date_s (or `dateExpr`), raw, rule (the ingest's parsed table). Creates `dst`
 * with the surviving rows: a table, or, when no key repeats, a view of `src`'s valid rows (no copy of
 * the panel: ≈ 110 MB of the S&P ingest's peak RSS), so `src` must stay unchanged while `dst` is read.
 * Returns the number of collapsed duplicate rows.
 */
export async function dedupeByKey(
  con: DuckDBConnection,
  src: string,
  dst: string,
  keyCols: string[],
  valueCols: string[],
  rawExpr = 'raw',
  dateExpr = 'date_s',
): Promise<number> {
  const key = keyCols.join(', ');
  // Fast path: no repeated key among the valid rows.
  const dupCheck = (await queryRows<{ n: number; k: number }>(con, `SELECT count(*)::INTEGER AS n, count(DISTINCT (${key}))::INTEGER AS k FROM ${src} WHERE rule IS NULL`))[0]!;
  if (dupCheck.n === dupCheck.k) {
    await con.run(`CREATE OR REPLACE TEMP VIEW ${dst} AS SELECT * FROM ${src} WHERE rule IS NULL`);
    return 0;
  }
  await con.run(`CREATE OR REPLACE TEMP TABLE _keyed AS SELECT *, count(*) OVER k AS n_key,
      count(DISTINCT (${valueCols.join(', ')})) OVER k AS n_versions
    FROM ${src} WHERE rule IS NULL WINDOW k AS (PARTITION BY ${key})`);
  await con.run(`INSERT INTO quarantine SELECT 'conflicting_duplicate', src, line, symbol, ${dateExpr}, ${rawExpr},
      format('{} versions of the same key in {} rows', n_versions, n_key)
    FROM _keyed WHERE n_versions > 1`);
  const d = await queryRows<{ d: number }>(con, `SELECT coalesce(sum(n_key - 1), 0)::INTEGER AS d FROM (SELECT DISTINCT ${key}, n_key FROM _keyed WHERE n_versions = 1 AND n_key > 1)`);
  await con.run(`CREATE OR REPLACE TEMP TABLE ${dst} AS SELECT * EXCLUDE (n_key, n_versions) FROM _keyed WHERE n_versions = 1
    QUALIFY row_number() OVER (PARTITION BY ${key} ORDER BY src, line) = 1`);
  await con.run(`DROP TABLE _keyed`);
  return d[0]!.d;
}

/** Manifest `sources` entries of scanned files. */
export function sourcesOf(files: ScannedFile[]): { path: string; sha256: string; bytes: number; rows: number }[] {
  return files.map((f) => ({ path: f.rel, sha256: f.sha256, bytes: f.bytes, rows: f.rows }));
}

/** Fields every ingest kind returns (small JSON): dataset, quarantine and manifest artifacts, quarantine counts. */
export interface IngestResultBase {
  dataset: string;
  quarantine: ArtifactRef;
  manifest: ArtifactRef;
  quarantined: number;
  quarantined_by_rule: Record<string, number>;
}

/** Fields of the ingest kinds that produce one canonical table; `duplicates` = exact duplicates collapsed. */
export interface TableIngestResult extends IngestResultBase {
  table: ArtifactRef;
  rows: number;
  rows_in: number;
  duplicates: number;
}
