import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/**
 * Opens an in-memory (or file) DuckDB connection for compute inside a step, runs `fn`, closes it.
 * Threads default to TRADEML_DUCKDB_THREADS or 2 (the CI machine's cores).
 */
export async function withDuckDB<T>(fn: (con: DuckDBConnection) => Promise<T>, file = ':memory:'): Promise<T> {
  const db = await DuckDBInstance.create(file, { threads: process.env.TRADEML_DUCKDB_THREADS ?? '2' });
  const con = await db.connect();
  try {
    return await fn(con);
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

/** Runs a query and returns its rows as plain JS objects (DATE → Date, BIGINT → bigint). */
export async function queryRows<T = Record<string, unknown>>(con: DuckDBConnection, sql: string): Promise<T[]> {
  const r = await con.runAndReadAll(sql);
  return r.getRowObjectsJS() as T[];
}

/** SQL string literal with single quotes escaped (for paths and names; never for user SQL). */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
