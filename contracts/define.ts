/**
 * Named, versioned artifact contracts: what flows between step kinds.
 *
 * A contract is the JSON a providing step returns under one output key (a zod schema, usually an
 * artifact reference plus metadata) and, for Parquet artifacts, the column spec with units. Step
 * kinds declare the contracts they consume and provide (kinds/types.ts); the spec compiler binds
 * every consumed input to upstream outputs before a run starts (spec/bindings.ts), and a step
 * reads its inputs through `ctx.input(name)` / `ctx.inputs(name)` (executor/inputs.ts).
 * docs/contracts.md is generated from these definitions (`trademl schema --contracts`).
 */
import { z } from 'zod';

/** zod schema of an artifact reference (see artifacts/store.ts ArtifactRef). */
export const artifactRefSchema = z
  .object({
    uri: z.string().regex(/^artifact:\/\/sha256\/[0-9a-f]{64}\.[a-z0-9]+$/).describe('artifact://sha256/<hex>.<ext> address in the artifact store'),
    digest: z.string().regex(/^sha256:[0-9a-f]{64}$/).describe('sha256 of the bytes'),
    bytes: z.number().int().nonnegative().describe('size in bytes'),
    media_type: z.string().describe('MIME type, e.g. application/vnd.apache.parquet'),
    name: z.string().describe('file name the artifact was written as'),
  })
  .describe('A content-addressed artifact in the store');

export type ArtifactRefJson = z.output<typeof artifactRefSchema>;

/** One column of a Parquet artifact. */
export interface ColumnSpec {
  name: string;
  /** DuckDB/Parquet type, e.g. DATE, VARCHAR, DOUBLE, INTEGER. */
  type: string;
  /** Unit or value domain, e.g. `USD`, `shares`, `fraction of capital`, `1..φ`. */
  unit: string;
  description: string;
  /** The column may be absent (e.g. `prob_up` for regression sleeves). */
  optional?: boolean;
}

/** A Parquet table carried by a contract: where its reference sits in the JSON, its columns, its order. */
export interface TableSpec {
  /** Key of the artifact reference inside the contract's JSON (`.` = the JSON itself is the reference). */
  at: string;
  columns: ColumnSpec[];
  /** Deterministic sort order of the rows (identical inputs give identical bytes). */
  order: string[];
  /** Columns that are unique together. */
  unique?: string[];
}

/** A named, versioned contract. */
export interface Contract<S extends z.ZodType = z.ZodType> {
  /** Dotted name, e.g. `ohlcv.daily`, `signals.oof`. */
  name: string;
  /** Bumped on any incompatible change of the JSON or the columns. */
  version: number;
  description: string;
  /** The JSON a provider returns under its output key. */
  schema: S;
  /** Parquet tables the JSON references. */
  tables?: TableSpec[];
}

/** The `name@version` a contract is known by in errors and docs. */
export function contractId(c: Pick<Contract, 'name' | 'version'>): string {
  return `${c.name}@${c.version}`;
}

/** Identity helper keeping a contract's schema type inferred. */
export function defineContract<S extends z.ZodType>(c: Contract<S>): Contract<S> {
  if (!/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/.test(c.name)) throw new Error(`contract name "${c.name}" must be dotted lower-case words, e.g. signals.oof`);
  if (!Number.isInteger(c.version) || c.version < 1) throw new Error(`contract ${c.name}: version must be a positive integer`);
  return c;
}

/** The value type of a contract. */
export type ContractValue<C extends Contract> = z.output<C['schema']>;

/** The calendar every time-indexed contract carries (calendar/calendar.ts CALENDAR_NAMES). */
export const calendarField = z.string().min(1).describe('trading calendar of the bars (calendar/calendar.ts), e.g. nyse, 24x7@1h');
