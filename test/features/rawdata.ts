import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { StepContext } from '../../kinds/types.ts';
import type { ArtifactRef } from '../../artifacts/store.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { SP500_DIR, writeSp500Slice } from '../support/sp500.ts';
import { makeTestContext } from '../support/context.ts';

/** One raw CSV row, parsed plainly (no DuckDB), as the reference computations in tests use it. */
export interface RawRow {
  date: string;
  open: number | null;
  high: number | null;
  low: number | null;
  close: number;
  volume: number;
}

const num = (s: string | undefined): number | null => (s === undefined || s.trim() === '' ? null : Number(s));

/**
 * Rows of a symbol's raw S&P CSV, in file (date) order, with the same filter as writeSp500Slice
 * (rows whose close is missing or non-positive are left out).
 */
export function readRawRows(symbol: string): RawRow[] {
  const text = readFileSync(path.join(SP500_DIR(), `${symbol}_data.csv`), 'utf8');
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const out: RawRow[] = [];
  for (const line of lines.slice(1)) {
    const [date, o, h, l, c, v] = line.split(',');
    const close = num(c);
    if (close === null || !(close > 0)) continue;
    out.push({ date: date!, open: num(o), high: num(h), low: num(l), close, volume: num(v) ?? 0 });
  }
  out.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  return out;
}

/** A test context whose upstream is a qc.audit step with `curated` = the given OHLCV artifact (NYSE calendar). */
export function contextWithOhlcv(ref: ArtifactRef, over: Parameters<typeof makeTestContext>[0] = {}): StepContext {
  const curated = { ...ref, dataset: 'sp500_all_stocks_5yr', calendar: 'nyse' };
  return makeTestContext({ ...over, upstream: { audit: { uses: 'qc.audit', outputs: { curated, status: 'GREEN' } } } });
}

/** Writes the canonical OHLCV Parquet of `symbols` (optionally truncated at `to`) into the context's store. */
export async function putSp500Slice(ctx: StepContext, symbols: string[], opts: { from?: string; to?: string } = {}): Promise<ArtifactRef> {
  const tmp = ctx.artifacts.tempPath('ohlcv.parquet');
  await writeSp500Slice(tmp, symbols, opts);
  return ctx.artifacts.putFile(tmp, { name: 'ohlcv.parquet' });
}

/** All rows of a Parquet file as JS objects, dates as YYYY-MM-DD strings, in file order. */
export async function readParquetRows(file: string, where = 'true'): Promise<Record<string, unknown>[]> {
  return withDuckDB(async (con) => {
    const rows = await queryRows(con, `SELECT * FROM read_parquet(${sqlString(file)}) WHERE ${where}`);
    return rows.map((r) => {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) o[k] = v instanceof Date ? v.toISOString().slice(0, 10) : v;
      return o;
    });
  });
}

export { mulberry32 } from '../support/rng.ts';

/** Sample mean and sample std (n − 1) of plain numbers. */
export function meanStd(xs: number[]): { mean: number; sd: number; sdPop: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const ss = xs.reduce((a, b) => a + (b - mean) * (b - mean), 0);
  return { mean, sd: Math.sqrt(ss / (n - 1)), sdPop: Math.sqrt(ss / n) };
}
