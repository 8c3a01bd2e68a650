/**
 * Fill-separation check: a signal must not use its own fill price (issue 14, item 1).
 *
 * The signal of date t is computed from data ≤ the close C_t and traded at a later fill (the next
 * open O_{t+1} by default, labels/entry.ts); its label is the outcome from that fill on. So the two
 * information sets are separated by the fill:
 * - features of date t must be invariant to every bar after t — the fill bar O_{t+1} included;
 * - labels of date t must be invariant to the price level of every bar up to and including t: a
 *   label may use the pre-fill data only for its scale (σ of the triple barrier, which a constant
 *   rescaling of a symbol's pre-fill prices leaves unchanged), never as a price it trades at.
 * The check perturbs a real OHLCV panel accordingly and recomputes: (1) every bar after a probe
 * date t, all symbols, gets its OHLC multiplied by a factor in [0.5, 2) that varies by symbol and
 * date (so ranks change as well as levels); the features of dates ≤ t are compared; (2) every bar of
 * dates ≤ t gets its OHLC multiplied by a per-symbol constant in [0.5, 2); the labels of date t are
 * compared. A feature equal to (or ranked by) O_{t+1}, or a label entered at C_t (the old same-close
 * convention ln(C_{t+k}/C_t)), changes and is reported. This is the look-ahead test of López de
 * Prado, AFML ch. 7.2 ("information after the decision must not enter it"), made operational as a
 * perturbation test: a change in data that the signal cannot know must not change the signal, and
 * a change in data that the outcome does not trade must not change the outcome.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows, sqlString } from '../lib/duckdb.ts';

/** Computes a (date, symbol, …) Parquet from an OHLCV Parquet; returns the output path. */
export type PanelComputer = (ohlcvPath: string, tag: string) => Promise<string>;

/** One probe's finding: columns whose values changed, with the number of changed rows each. */
export interface FillFinding {
  probe: string;
  side: 'features' | 'labels';
  changed: { column: string; rows: number }[];
  rowsCompared: number;
}

/** What the check found; `ok` when no column changed at any probe. */
export interface FillReport {
  ok: boolean;
  findings: FillFinding[];
}

const factor = (key: string): string => `(0.5 + 1.5 * ((hash(${key}) % 1000003)::DOUBLE / 1000003))`;

/**
 * Writes `input` (canonical OHLCV) to `output` with the OHLC of every bar dated after `probe`
 * multiplied by a factor in [0.5, 2) of (symbol, date); volume and earlier bars unchanged.
 */
export async function perturbAfter(con: DuckDBConnection, input: string, output: string, probe: string): Promise<void> {
  const f = factor(`symbol || CAST(date AS VARCHAR)`);
  const col = (c: string) => `CASE WHEN date > DATE ${sqlString(probe)} THEN ${c} * ${f} ELSE ${c} END AS ${c}`;
  await con.run(`COPY (SELECT * REPLACE (${['open', 'high', 'low', 'close'].map(col).join(', ')})
    FROM read_parquet(${sqlString(input)}) ORDER BY symbol, date) TO ${sqlString(output)} (FORMAT parquet)`);
}

/**
 * Writes `input` to `output` with the OHLC of every bar dated on or before `probe` multiplied by a
 * per-symbol constant in [0.5, 2) (log returns inside that span unchanged); later bars unchanged.
 */
export async function rescaleUpTo(con: DuckDBConnection, input: string, output: string, probe: string): Promise<void> {
  const f = factor(`symbol || '#level'`);
  const col = (c: string) => `CASE WHEN date <= DATE ${sqlString(probe)} THEN ${c} * ${f} ELSE ${c} END AS ${c}`;
  await con.run(`COPY (SELECT * REPLACE (${['open', 'high', 'low', 'close'].map(col).join(', ')})
    FROM read_parquet(${sqlString(input)}) ORDER BY symbol, date) TO ${sqlString(output)} (FORMAT parquet)`);
}

/**
 * Columns (other than date, symbol) of two (date, symbol) Parquet files that differ on the rows
 * selected by `where` (SQL over `date`): a value differs when one side is NULL and the other not,
 * or when |a − b| > tol·max(1, |a|) for numbers (exact for other types). Rows present on one side
 * only count as changed for every column.
 */
export async function changedColumns(con: DuckDBConnection, a: string, b: string, where: string, tol = 1e-9): Promise<{ changed: { column: string; rows: number }[]; rows: number }> {
  const cols = (await queryRows<{ column_name: string; column_type: string }>(con, `DESCRIBE SELECT * FROM read_parquet(${sqlString(a)})`)).filter((c) => c.column_name !== 'date' && c.column_name !== 'symbol');
  const q = (c: string) => `"${c.replace(/"/g, '""')}"`;
  const numeric = (t: string) => /^(DOUBLE|FLOAT|REAL|DECIMAL.*|BIGINT|INTEGER|SMALLINT|HUGEINT)$/.test(t);
  const diff = (c: { column_name: string; column_type: string }) => {
    const x = `x.${q(c.column_name)}`, y = `y.${q(c.column_name)}`;
    const values = numeric(c.column_type) ? `abs(CAST(${x} AS DOUBLE) - CAST(${y} AS DOUBLE)) > ${tol} * greatest(1, abs(CAST(${x} AS DOUBLE)))` : `${x} <> ${y}`;
    return `count(*) FILTER (WHERE x.symbol IS NULL OR y.symbol IS NULL OR (${x} IS NULL) <> (${y} IS NULL) OR coalesce(${values}, false))`;
  };
  const sel = (f: string) => `(SELECT * FROM read_parquet(${sqlString(f)}) WHERE ${where})`;
  const [r] = await queryRows<Record<string, bigint>>(con, `SELECT count(*) AS n, ${cols.map((c, i) => `${diff(c)} AS c${i}`).join(', ')}
    FROM ${sel(a)} x FULL OUTER JOIN ${sel(b)} y ON x.date = y.date AND x.symbol = y.symbol`);
  const changed = cols.map((c, i) => ({ column: c.column_name, rows: Number(r![`c${i}`]) })).filter((c) => c.rows > 0);
  return { changed, rows: Number(r!.n) };
}

/**
 * Runs the fill-separation check on the OHLCV Parquet `ohlcv` at each probe date (YYYY-MM-DD):
 * `features` must leave dates ≤ probe unchanged when the bars after it are perturbed, `labels` must
 * leave the probe date's rows unchanged when the bars up to it are rescaled. `workDir` holds the
 * perturbed copies. Either computer may be omitted. Errors of the computers propagate.
 */
export async function checkFillSeparation(
  con: DuckDBConnection,
  o: { ohlcv: string; probes: string[]; workDir: string; features?: PanelComputer; labels?: PanelComputer },
): Promise<FillReport> {
  const findings: FillFinding[] = [];
  const baseF = o.features ? await o.features(o.ohlcv, 'base') : null;
  const baseL = o.labels ? await o.labels(o.ohlcv, 'base') : null;
  for (const [k, probe] of o.probes.entries()) {
    const at = `DATE ${sqlString(probe)}`;
    if (o.features && baseF) {
      const file = `${o.workDir}/fill_after_${k}.parquet`;
      await perturbAfter(con, o.ohlcv, file, probe);
      const r = await changedColumns(con, baseF, await o.features(file, `after_${k}`), `date <= ${at}`);
      findings.push({ probe, side: 'features', changed: r.changed, rowsCompared: r.rows });
    }
    if (o.labels && baseL) {
      const file = `${o.workDir}/fill_upto_${k}.parquet`;
      await rescaleUpTo(con, o.ohlcv, file, probe);
      const r = await changedColumns(con, baseL, await o.labels(file, `upto_${k}`), `date = ${at}`);
      findings.push({ probe, side: 'labels', changed: r.changed, rowsCompared: r.rows });
    }
  }
  return { ok: findings.every((f) => f.changed.length === 0 && f.rowsCompared > 0), findings };
}
