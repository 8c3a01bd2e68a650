import { artifactRefSchema, type StepContext } from '../kinds/types.ts';
import type { ArtifactRef } from '../artifacts/store.ts';
import { StepError } from '../lib/errors.ts';
import { queryRows, sqlString } from '../lib/duckdb.ts';
import type { DuckDBConnection } from '@duckdb/node-api';

/** Where a step found its daily OHLCV input. */
export interface OhlcvSource {
  ref: ArtifactRef;
  /** Id of the upstream step that produced it. */
  step: string;
  uses: string;
  output: 'curated' | 'table';
}

/**
 * Finds the canonical daily OHLCV (docs/contracts.md) a features/labels step reads, by producing kind:
 * in order of preference the `curated` output of a `qc.audit` step, then the `table` output of an
 * `ingest.ohlcv` step; direct inputs (`needs`) before transitive ancestors. Throws a non-retryable
 * StepError when none is found, or when two different tables tie at the same preference level.
 */
export function resolveOhlcvInput(ctx: StepContext): OhlcvSource {
  const levels: { output: 'curated' | 'table'; direct: boolean }[] = [
    { output: 'curated', direct: true },
    { output: 'curated', direct: false },
    { output: 'table', direct: true },
    { output: 'table', direct: false },
  ];
  for (const level of levels) {
    const found: OhlcvSource[] = [];
    const ids = Object.keys(ctx.ancestors).sort();
    const candidates = level.direct ? Object.keys(ctx.inputs).sort() : ids.filter((id) => !(id in ctx.inputs));
    for (const id of candidates) {
      const up = ctx.ancestors[id];
      const outputs = level.direct ? ctx.inputs[id] : up?.outputs;
      if (!outputs || (up && up.status !== 'succeeded')) continue;
      const uses = up?.uses ?? 'unknown';
      // From ancestors, trust only the producing kinds; a direct input may be any kind honouring the contract.
      if (!level.direct && uses !== (level.output === 'curated' ? 'qc.audit' : 'ingest.ohlcv')) continue;
      const raw = outputs[level.output];
      if (raw === undefined) continue;
      const ref = artifactRefSchema.safeParse(raw);
      if (!ref.success) {
        throw new StepError({ message: `${ctx.uses}: output "${level.output}" of upstream step "${id}" is not an artifact reference (${ref.error.issues[0]?.message})`, type: 'InputError', nonRetryable: true });
      }
      found.push({ ref: ref.data, step: id, uses, output: level.output });
    }
    const distinct = [...new Map(found.map((f) => [f.ref.digest, f])).values()];
    if (distinct.length === 1) return distinct[0]!;
    if (distinct.length > 1) {
      throw new StepError(
        { message: `${ctx.uses}: several different upstream OHLCV tables (${distinct.map((f) => `${f.step}.${f.output}`).join(', ')}); ` +
          `make the step depend (needs:) on exactly one qc.audit or ingest.ohlcv step`, type: 'InputError', nonRetryable: true },
      );
    }
  }
  throw new StepError(
    { message: `${ctx.uses}: no daily OHLCV input found; the step needs an upstream qc.audit (output "curated") or ingest.ohlcv (output "table") ` +
      `step, e.g. \`needs: [audit]\` in pipelines.yaml`, type: 'InputError', nonRetryable: true },
  );
}

const REQUIRED = ['date', 'symbol', 'open', 'high', 'low', 'close', 'volume'];

/**
 * Checks that the Parquet at `file` has the canonical OHLCV columns (date DATE, symbol VARCHAR, numeric
 * prices and volume) and unique (symbol, date) keys. Throws a non-retryable StepError naming what is wrong.
 */
export async function checkOhlcvParquet(con: DuckDBConnection, file: string, who: string): Promise<{ rows: number }> {
  const cols = await queryRows<{ column_name: string; column_type: string }>(con, `DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
  const types = new Map(cols.map((c) => [c.column_name, c.column_type]));
  const missing = REQUIRED.filter((c) => !types.has(c));
  if (missing.length > 0) {
    throw new StepError({ message: `${who}: input OHLCV ${file} lacks column(s) ${missing.join(', ')} (has ${[...types.keys()].join(', ')}); see docs/contracts.md`, type: 'InputError', nonRetryable: true });
  }
  if (types.get('date') !== 'DATE') throw new StepError({ message: `${who}: input column date is ${types.get('date')}, expected DATE`, type: 'InputError', nonRetryable: true });
  for (const c of ['open', 'high', 'low', 'close', 'volume']) {
    const t = types.get(c)!;
    if (!/^(DOUBLE|FLOAT|REAL|DECIMAL.*|BIGINT|INTEGER|HUGEINT|SMALLINT|UBIGINT|UINTEGER)$/.test(t)) {
      throw new StepError({ message: `${who}: input column ${c} is ${t}, expected a numeric type (DOUBLE)`, type: 'InputError', nonRetryable: true });
    }
  }
  const [r] = await queryRows<{ n: bigint; k: bigint }>(
    con,
    `SELECT count(*) AS n, count(DISTINCT (symbol, date)) AS k FROM read_parquet(${sqlString(file)})`,
  );
  const n = Number(r!.n);
  if (Number(r!.k) !== n) {
    throw new StepError({ message: `${who}: input OHLCV has ${n - Number(r!.k)} duplicate (symbol, date) rows; the audit/ingest step must deduplicate`, type: 'InputError', nonRetryable: true });
  }
  return { rows: n };
}
