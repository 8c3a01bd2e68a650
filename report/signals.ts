/**
 * Figures of an out-of-fold signal (`signals.oof`) computed from its contract tables alone, so any
 * kind that provides OOF signals is reported the same way: daily cross-sectional IC and rank IC per
 * CPCV path and per split, their means and ICIR (cv/metrics.ts definitions, report/daily_ic.ts),
 * the walk-forward reference, and a calibration table.
 */
import { derivedOnce } from '../artifacts/derived.ts';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { ContractValue } from '../contracts/define.ts';
import type { signalsOof } from '../contracts/research.ts';
import { queryRows, sqlString, withDuckDB } from '../lib/duckdb.ts';
import { dailyByGroup, dailyStats, readSignalRows, relabel, statsByGroup, type DailySeries, type DailyStats } from './daily_ic.ts';
import type { DuckDBConnection } from '@duckdb/node-api';

/** An OOF signal value (contract signals.oof). */
export type SignalValue = ContractValue<typeof signalsOof>;

/** IC of one path or split: mean daily IC, mean daily rank IC and the ICIR of the daily rank IC. */
export interface IcPoint {
  id: number;
  ic?: number;
  rank_ic?: number;
  icir?: number;
  n_dates: number;
}

/** IC figures of a signal. */
export interface SignalSummary {
  /** What the score is correlated with: the `label` column when the signal carries it, else `ret`. */
  target: 'label' | 'ret';
  paths: IcPoint[];
  splits: IcPoint[];
  /** Over every (path, date): mean IC, mean rank IC, ICIR = mean / stdev of the daily rank IC. */
  mean_ic?: number;
  mean_rank_ic?: number;
  icir?: number;
  n_dates: number;
  walk_forward?: { ic?: number; rank_ic?: number; icir?: number; n_dates: number };
}

/** One decile of a calibration table. */
export interface CalibrationBin {
  bin: number;
  mean_pred: number;
  mean_outcome: number;
  count: number;
}

/** Calibration of a signal: deciles of the prediction against the outcome. */
export interface Calibration {
  task: string;
  bins: CalibrationBin[];
  brier?: number;
  note: string;
}

const fin = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

async function columns(con: DuckDBConnection, file: string): Promise<Set<string>> {
  const cols = await queryRows<{ column_name: string }>(con, `DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
  return new Set(cols.map((c) => c.column_name));
}

function point(r: DailyStats): Omit<IcPoint, 'id'> {
  const sd = fin(r.sd);
  const ric = fin(r.rank_ic);
  return { ic: fin(r.ic), rank_ic: ric, icir: ric !== undefined && sd !== undefined && sd > 0 ? ric / sd : undefined, n_dates: r.n };
}

const byGroup = (s: DailySeries): IcPoint[] => statsByGroup(s).map((r) => ({ id: r.group, ...point(r) }));

async function computeSummary(store: ArtifactStore, v: SignalValue): Promise<SignalSummary> {
  const oof = store.path(v.oof);
  const wf = store.has(v.walk_forward) ? store.path(v.walk_forward) : undefined;
  return withDuckDB(async (con) => {
    const target = (await columns(con, oof)).has('label') ? 'label' : 'ret';
    const rows = await readSignalRows(con, oof, ['path', 'split'], target);
    const byPath = dailyByGroup(rows.groups[0]!, rows.date, rows.x, rows.y);
    const bySplit = relabel(byPath, { group: rows.groups[0]!, date: rows.date }, rows.groups[1]!) ?? dailyByGroup(rows.groups[1]!, rows.date, rows.x, rows.y);
    const all = point(dailyStats(byPath));
    const out: SignalSummary = { target, paths: byGroup(byPath), splits: byGroup(bySplit), mean_ic: all.ic, mean_rank_ic: all.rank_ic, icir: all.icir, n_dates: all.n_dates };
    if (wf) {
      const w = await readSignalRows(con, wf, ['path'], (await columns(con, wf)).has('label') ? 'label' : 'ret');
      out.walk_forward = point(dailyStats(dailyByGroup(w.groups[0]!, w.date, w.x, w.y)));
    }
    return out;
  });
}

/** Version of the summary's computation: bump it when computeSummary changes, so saved summaries are not reused. */
const SUMMARY_VERSION = 3;
/** Version of the calibration's computation (as SUMMARY_VERSION). */
const CALIBRATION_VERSION = 1;

/**
 * IC figures of a signal from its OOF tables, computed once for their content digests
 * (artifacts/derived.ts: in the process and on disk beside the store, so the report and the headline
 * compute them once, and a fully cached re-run reads them back instead of re-ranking every OOF row).
 * Throws when the OOF artifact is not in `store`.
 */
export function signalSummary(store: ArtifactStore, v: SignalValue): Promise<SignalSummary> {
  return derivedOnce(store, 'signal-summary', SUMMARY_VERSION, `${v.oof.digest}|${v.walk_forward.digest}`, () => computeSummary(store, v));
}

/**
 * Calibration deciles of a signal from its OOF rows. Classification: `prob_up` against 1{label = +1}
 * when the signal carries probabilities (Brier on the same scale), else p = (score+1)/2 against
 * (label+1)/2. Regression: deciles of the score against the mean realised return `ret`.
 * Undefined when the rows needed are absent.
 */
export async function signalCalibration(store: ArtifactStore, v: SignalValue): Promise<Calibration | undefined> {
  if (!store.has(v.oof)) return undefined;
  // computed once per OOF table and task (artifacts/derived.ts), as signalSummary
  return (await derivedOnce(store, 'signal-calibration', CALIBRATION_VERSION, `${v.oof.digest}|${v.task}`, () => computeCalibration(store, v))) ?? undefined;
}

async function computeCalibration(store: ArtifactStore, v: SignalValue): Promise<Calibration | undefined> {
  const file = store.path(v.oof);
  return withDuckDB(async (con) => {
    const cols = await columns(con, file);
    const cls = v.task === 'classification';
    if (cls && !cols.has('label')) return undefined;
    const prob = cls && cols.has('prob_up');
    const p = prob ? 'prob_up' : cls ? '(score + 1) / 2' : 'score';
    const y = prob ? 'CASE WHEN label = 1 THEN 1.0 ELSE 0.0 END' : cls ? '(label + 1) / 2' : 'ret';
    const need = cls ? 'label' : 'ret';
    const rows = await queryRows<{ bin: number; mean_pred: number; mean_outcome: number; count: bigint; brier: number | null }>(
      con,
      `WITH d AS (SELECT CAST(${p} AS DOUBLE) AS p, CAST(${y} AS DOUBLE) AS y FROM read_parquet(${sqlString(file)})
                  WHERE ${prob ? 'prob_up' : 'score'} IS NOT NULL AND isfinite(${prob ? 'prob_up' : 'score'}) AND ${need} IS NOT NULL),
       b AS (SELECT p, y, ntile(10) OVER (ORDER BY p) AS bin FROM d)
       SELECT bin, avg(p) AS mean_pred, avg(y) AS mean_outcome, count(*) AS count,
              ${cls ? '(SELECT avg((p - y) * (p - y)) FROM d)' : 'NULL'} AS brier
       FROM b GROUP BY bin ORDER BY bin`,
    );
    if (!rows.length) return undefined;
    return {
      task: v.task,
      bins: rows.map((r) => ({ bin: Number(r.bin), mean_pred: r.mean_pred, mean_outcome: r.mean_outcome, count: Number(r.count) })),
      brier: cls && rows[0]!.brier !== null ? Number(rows[0]!.brier) : undefined,
      note: prob
        ? 'OOF deciles of prob_up against the observed share of label = +1; Brier on the same scale'
        : cls
          ? 'OOF deciles of p = (score+1)/2 against the observed (label+1)/2 (equals P(+1) for binary labels); Brier on the same scale'
          : 'OOF deciles of the regression score against the mean realised forward return',
    };
  });
}
