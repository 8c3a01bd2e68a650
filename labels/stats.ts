import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * Runs `fn` with DuckDB limited to one thread, then restores the thread count. Summary statistics
 * (means, stds) of a label table are computed this way: a single-threaded scan adds the rows in
 * storage order, so the floating-point results, which enter the step's outputs and hence downstream
 * cache keys, are reproducible bit for bit; an ordered aggregate would do the same at the cost of a
 * sort (measured ~0.5 s CPU against ~35 ms on the 619k-row panel).
 */
export async function singleThreaded<T>(con: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
  const prev = (await con.runAndReadAll(`SELECT current_setting('threads')`)).getRowsJS()[0]![0];
  await con.run('SET threads = 1');
  try {
    return await fn();
  } finally {
    await con.run(`SET threads = ${Number(prev)}`);
  }
}
