/**
 * Parquet plumbing of the options kinds: write typed columns as one Parquet artifact (DuckDB
 * appender → COPY … ORDER BY, so identical inputs give identical bytes) and read rows back as plain
 * objects (NULL → null). No domain logic.
 */
import type { ArtifactRef, ArtifactStore } from '../../artifacts/store.ts';
import { appendColumns, type ColumnData } from '../../lib/append.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';

/** A column to write: INTEGER/DOUBLE/VARCHAR values, or DATE/BOOLEAN written from ISO text / 0-1 numbers. */
export interface OutColumn {
  name: string;
  type: 'INTEGER' | 'DOUBLE' | 'VARCHAR' | 'DATE' | 'BOOLEAN';
  values: ArrayLike<number> | Array<string | null>;
}

const q = (id: string): string => `"${id.replace(/"/g, '""')}"`;

/**
 * Writes `columns` (equal lengths) as the Parquet artifact `name`, rows ordered by `order`.
 * DATE columns take `YYYY-MM-DD` text (null allowed), BOOLEAN columns 0/1 (NaN → NULL). Throws on
 * ragged columns.
 */
export async function writeParquet(store: ArtifactStore, name: string, columns: OutColumn[], order: string[]): Promise<ArtifactRef> {
  const n = columns[0]?.values.length ?? 0;
  const ragged = columns.find((c) => c.values.length !== n);
  if (ragged) throw new RangeError(`writeParquet(${name}): column ${ragged.name} has ${ragged.values.length} values, expected ${n}`);
  const raw: ColumnData[] = columns.map((c) => ({
    name: c.name,
    type: c.type === 'DATE' ? 'VARCHAR' : c.type === 'BOOLEAN' ? 'INTEGER' : c.type,
    values: (c.type === 'VARCHAR' || c.type === 'DATE' ? (c.values as Array<string | null>).map((v) => v ?? (null as unknown as string)) : c.values) as ColumnData['values'],
  }));
  const select = columns
    .map((c) => (c.type === 'DATE' ? `CAST(${q(c.name)} AS DATE) AS ${q(c.name)}` : c.type === 'BOOLEAN' ? `CAST(${q(c.name)} AS BOOLEAN) AS ${q(c.name)}` : q(c.name)))
    .join(', ');
  const file = store.tempPath(name);
  await withDuckDB(async (con) => {
    await appendColumns(con, 'out_rows', raw);
    await con.run(`COPY (SELECT ${select} FROM out_rows ORDER BY ${order.map(q).join(', ')}) TO ${sqlString(file)} (FORMAT parquet)`);
  });
  return store.putFile(file, { name, mediaType: 'application/vnd.apache.parquet' });
}

/**
 * Rows of a Parquet file: `select` is the column list (DATE columns should be `strftime`ed by the
 * caller), `where`/`order` optional SQL fragments over the file's columns.
 */
export async function readParquet<T>(file: string, select = '*', where = '', order = ''): Promise<T[]> {
  return withDuckDB((con) => queryRows<T>(con, `SELECT ${select} FROM read_parquet(${sqlString(file)})${where ? ` WHERE ${where}` : ''}${order ? ` ORDER BY ${order}` : ''}`));
}

/** `x` when it is a finite number, else NaN (NULL columns read back as null). */
export function nz(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) ? x : typeof x === 'bigint' ? Number(x) : NaN;
}

/** `x` when finite, else null (JSON cannot carry NaN). */
export function fin(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

/** Every number of a flat record through {@link fin}. */
export function finRecord<T extends object>(o: T): { [K in keyof T]: T[K] extends number ? number | null : T[K] } {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? fin(v) : v])) as never;
}
