/**
 * @duckdb/node-api's values, loaded through `require`. The package is CommonJS: imported as an ES
 * module, Node runs its CommonJS export lexer over every one of its ≈ 40 files first, which made the
 * import 115 ms against 60 ms through `require` (measured on Node 20, 2 cores), on every CLI start.
 * Its types come from the package as usual (`import type … from '@duckdb/node-api'`).
 */
import { createRequire } from 'node:module';
import type * as NodeApi from '@duckdb/node-api';

const api = createRequire(import.meta.url)('@duckdb/node-api') as typeof NodeApi;

export const { DuckDBInstance, DuckDBDataChunk, DuckDBMaterializedResult, DOUBLE, INTEGER, VARCHAR } = api;
export type DuckDBInstance = NodeApi.DuckDBInstance;
export type DuckDBDataChunk = NodeApi.DuckDBDataChunk;
export type DuckDBMaterializedResult = NodeApi.DuckDBMaterializedResult;
