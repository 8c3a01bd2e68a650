/**
 * Bulk-loading typed columns into DuckDB temp tables (the OOF writer, trial returns): data chunks
 * through an appender, no per-row SQL.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBDataChunk, DOUBLE, INTEGER, VARCHAR } from '@duckdb/node-api';

const q = (id: string): string => `"${id.replace(/"/g, '""')}"`;

/** Column spec for {@link appendColumns}. */
export type ColumnData = { name: string; type: 'INTEGER' | 'DOUBLE' | 'VARCHAR'; values: ArrayLike<number> | string[] };

/**
 * Creates (or replaces) temp table `table` and bulk-appends equally long columns through DuckDB
 * data chunks (NaN doubles become NULL).
 */
export async function appendColumns(con: DuckDBConnection, table: string, columns: ColumnData[]): Promise<void> {
  await con.run(`CREATE OR REPLACE TEMP TABLE ${q(table)} (${columns.map((c) => `${q(c.name)} ${c.type}`).join(', ')})`);
  const n = columns[0]?.values.length ?? 0;
  const types = columns.map((c) => (c.type === 'INTEGER' ? INTEGER : c.type === 'DOUBLE' ? DOUBLE : VARCHAR));
  const app = await con.createAppender(table);
  const CH = 2048;
  for (let off = 0; off < n; off += CH) {
    const m = Math.min(CH, n - off);
    const chunk = DuckDBDataChunk.create(types, m);
    columns.forEach((c, j) => {
      const vals: (number | string | null)[] = new Array(m);
      for (let i = 0; i < m; i++) {
        const v = (c.values as ArrayLike<number | string>)[off + i]!;
        vals[i] = typeof v === 'number' && Number.isNaN(v) ? null : v;
      }
      chunk.setColumnValues(j, vals);
    });
    app.appendDataChunk(chunk);
  }
  app.closeSync();
}
