/**
 * OOF stacking (Wolpert 1992, "Stacked generalization"; Breiman 1996, "Stacked regressions") with a
 * closed-form ridge blender (models/ridge.ts), evaluated under CPCV (López de Prado, AFML ch. 12)
 * so that the stacked scores are out-of-fold:
 *
 * 1. Each sleeve's OOF score is averaged over its φ paths per (date, symbol) — every path holds one
 *    out-of-fold score per row — and z-scored cross-sectionally per date (sleeves on one scale).
 * 2. Target: the target sleeve's realised forward return `ret`, demeaned per date (cross-sectional).
 * 3. For each CPCV split (N, k, embargo in bars; purging on the target sleeve's t1), the ridge is
 *    fitted on the training rows and scores the test rows; paths are rebuilt as in the CPCV fit.
 *    Caveat (documented, standard for OOF stacking): the sleeves' OOF values of the training rows
 *    come from models that saw the stacker's test groups; only the blender's few weights are exposed.
 * 4. Walk-forward reference: the same on the sleeves' walk-forward scores with expanding folds; the
 *    first walk-forward group (no earlier data) uses the fallback weights.
 * 5. Fallback: with fewer than `min_sleeves` sleeves the fallback weights blend whatever exists.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString } from '../lib/duckdb.ts';
import { StepError } from '../lib/errors.ts';
import { fitRidge, predictRidge } from '../models/ridge.ts';
import { binomial, cpcvSplits, dateGroups, nPaths, pathTable, splitMasks, walkForwardFolds, type DateGroup, type Split } from './cpcv.ts';
import { round6 } from './ledger.ts';
import { dailyIc, dateBlocks, summarizeIc, type IcSummary } from './metrics.ts';
import { lowerBound } from './panel.ts';

/** A sleeve to blend: its name, task and the local paths of its OOF and walk-forward Parquet. */
export interface StackSleeve {
  name: string;
  task: string;
  oof: string;
  walkForward: string;
}

/** The joined rows of every sleeve (sorted by date, symbol; row_id = position) in memory. */
export interface StackBlock {
  n: number;
  date: Int32Array;
  t1: Int32Array;
  ret: Float64Array;
  y: Float64Array;
  /** Per sleeve: per-date z-score of its path-averaged score (0 where undefined). */
  z: Float64Array[];
  /** Each row's index into the main block's unique dates. */
  dateIdx: Int32Array;
}

/** A linear blend: weights by sleeve (in sleeve order) and intercept. */
export interface Blend {
  weights: number[];
  intercept: number;
}

/**
 * Creates the temp table `table` (row_id, date, symbol, t1, ret, y, z0…) of the sleeves' OOF
 * (`which` = oof) or walk-forward rows joined on (date, symbol), ret/t1 of sleeve `target`, and
 * reads it. `dateIdx` is filled by the caller ({@link indexDates}).
 */
export async function loadStackBlock(con: DuckDBConnection, table: string, sleeves: StackSleeve[], which: 'oof' | 'walkForward', target: number): Promise<StackBlock> {
  const per = sleeves.map((s, i) => `s${i} AS (SELECT date, symbol, avg(score) AS score, any_value(ret) AS ret, any_value(t1) AS t1 FROM read_parquet(${sqlString(s[which])}) WHERE score IS NOT NULL GROUP BY date, symbol)`);
  const zs = sleeves.map((_, i) => `coalesce((s${i}.score - avg(s${i}.score) OVER d) / NULLIF(stddev_samp(s${i}.score) OVER d, 0), 0) AS z${i}`);
  const joins = sleeves.map((_, i) => (i === 0 ? 's0' : `JOIN s${i} USING (date, symbol)`)).join(' ');
  const r = target;
  await con.run(`CREATE OR REPLACE TEMP TABLE ${table} AS
    WITH ${per.join(', ')}
    SELECT (row_number() OVER (ORDER BY date, symbol) - 1)::INTEGER AS row_id, date, symbol, s${r}.t1 AS t1, s${r}.ret AS ret,
           s${r}.ret - avg(s${r}.ret) OVER d AS y, ${zs.join(', ')}
    FROM ${joins}
    WINDOW d AS (PARTITION BY date)`);
  const rd = await con.runAndReadAll(`SELECT (date - DATE '1970-01-01')::INTEGER, (t1 - DATE '1970-01-01')::INTEGER, ret, y, ${sleeves.map((_, i) => `z${i}`).join(', ')} FROM ${table} ORDER BY row_id`);
  const c = rd.getColumnsJS() as number[][];
  return {
    n: c[0]!.length,
    date: Int32Array.from(c[0]!),
    t1: Int32Array.from(c[1]!),
    ret: Float64Array.from(c[2]!),
    y: Float64Array.from(c[3]!),
    z: sleeves.map((_, i) => Float64Array.from(c[4 + i]!)),
    dateIdx: new Int32Array(0),
  };
}

/** Sorted unique dates of the main block; sets `dateIdx` of every block against them. */
export function indexDates(main: StackBlock, others: StackBlock[]): Int32Array {
  const uniq: number[] = [];
  for (let i = 0; i < main.n; i++) if (i === 0 || main.date[i] !== main.date[i - 1]) uniq.push(main.date[i]!);
  const uniqueDates = Int32Array.from(uniq);
  for (const b of [main, ...others]) b.dateIdx = Int32Array.from(b.date, (d) => lowerBound(uniqueDates, d));
  return uniqueDates;
}

/** The stack's CPCV layout over the main block's dates. */
export interface StackLayout {
  nGroups: number;
  nTestGroups: number;
  embargoBars: number;
  uniqueDates: Int32Array;
  groups: DateGroup[];
  groupOfDate: Int32Array;
  splits: Split[];
  table: number[][];
  phi: number;
}

/** Groups, splits and paths of N groups / k test groups over `uniqueDates`. */
export function stackLayout(uniqueDates: Int32Array, nGroups: number, nTestGroups: number, embargoBars: number): StackLayout {
  const groups = dateGroups(uniqueDates.length, nGroups);
  const groupOfDate = new Int32Array(uniqueDates.length);
  for (const g of groups) for (let d = g.firstIdx; d <= g.lastIdx; d++) groupOfDate[d] = g.group;
  const splits = cpcvSplits(nGroups, nTestGroups);
  return { nGroups, nTestGroups, embargoBars, uniqueDates, groups, groupOfDate, splits, table: pathTable(splits, nGroups), phi: nPaths(nGroups, nTestGroups) };
}

/**
 * k of a CPCV signal with N groups from its number of splits C(N, k) and paths C(N−1, k−1); null
 * when no k in 1..N−1 matches both.
 */
export function testGroupsOf(nGroups: number, nSplits: number, phi: number): number | null {
  for (let k = 1; k < nGroups; k++) if (binomial(nGroups, k) === nSplits && nPaths(nGroups, k) === phi) return k;
  return null;
}

const row = (b: StackBlock, i: number): number[] => b.z.map((z) => z[i]!);

/** One ridge per CPCV split (fallback weights when `fallback`), test rows scattered into the φ paths. Throws StepError('Cancelled') on abort. */
export function stackCpcv(main: StackBlock, L: StackLayout, o: { lambda: number; fallback: boolean; fallbackFit: Blend; signal: AbortSignal }): { score: Float64Array[]; perSplit: Record<string, unknown>[] } {
  const score = Array.from({ length: L.phi }, () => new Float64Array(main.n).fill(NaN));
  const perSplit: Record<string, unknown>[] = [];
  const times = { dateIdx: main.dateIdx, date: main.date, t1: main.t1 };
  for (const split of L.splits) {
    const m = splitMasks(times, L.uniqueDates, L.groups, split, L.embargoBars);
    let fit = o.fallbackFit;
    if (!o.fallback) {
      const rows: number[] = [];
      for (let i = 0; i < main.n; i++) if (m.train[i]) rows.push(i);
      const f = fitRidge(main.z, main.y, o.lambda, { rows });
      fit = { weights: f.weights, intercept: f.intercept };
    }
    for (let i = 0; i < main.n; i++) {
      if (!m.test[i]) continue;
      const g = L.groupOfDate[main.dateIdx[i]!]!;
      const p = L.table[g - 1]!.indexOf(split.split);
      score[p]![i] = predictRidge(fit, row(main, i));
    }
    perSplit.push({ split: split.split, test_groups: split.testGroups, n_train: m.nTrain, n_purged: m.nPurged, n_embargoed: m.nEmbargoed, weights: fit.weights.map(round6), intercept: round6(fit.intercept) });
    if (o.signal.aborted) throw new StepError({ message: 'stack cancelled', type: 'Cancelled', nonRetryable: true });
  }
  return { score, perSplit };
}

/** Walk-forward ridge on the walk-forward block: expanding folds; a fold without training rows uses the fallback. */
export function stackWalkForward(wfb: StackBlock, L: StackLayout, o: { lambda: number; fallback: boolean; fallbackFit: Blend }): { score: Float64Array; split: Int32Array; folds: Record<string, unknown>[] } {
  const score = new Float64Array(wfb.n).fill(NaN);
  const split = new Int32Array(wfb.n);
  const times = { dateIdx: wfb.dateIdx, date: wfb.date, t1: wfb.t1 };
  const folds: Record<string, unknown>[] = [];
  for (const fold of walkForwardFolds(L.nGroups)) {
    const m = splitMasks(times, L.uniqueDates, L.groups, fold, L.embargoBars);
    if (m.nTest === 0) continue;
    let fit = o.fallbackFit;
    let usedFallback = true;
    if (!o.fallback && m.nTrain > 0) {
      const rows: number[] = [];
      for (let i = 0; i < wfb.n; i++) if (m.train[i]) rows.push(i);
      const f = fitRidge(wfb.z, wfb.y, o.lambda, { rows });
      fit = { weights: f.weights, intercept: f.intercept };
      usedFallback = false;
    }
    for (let i = 0; i < wfb.n; i++) if (m.test[i]) {
      score[i] = predictRidge(fit, row(wfb, i));
      split[i] = fold.split;
    }
    folds.push({ split: fold.split, test_group: fold.testGroups[0], n_train: m.nTrain, fallback: usedFallback, weights: fit.weights.map(round6), intercept: round6(fit.intercept) });
  }
  return { score, split, folds };
}

/** IC figures of a stack: per path and per sleeve (against ret), walk-forward, and path means. */
export interface StackMetrics {
  perPath: (IcSummary & { path: number })[];
  sleeveIc: Record<string, IcSummary>;
  walkForward: IcSummary;
  mean(k: 'ic' | 'rank_ic' | 'icir'): number;
}

/** Daily IC / rank IC of the stacked paths, of each sleeve's z-score and of the walk-forward score, all against `ret`. */
export function stackMetrics(main: StackBlock, wfb: StackBlock, nDates: number, score: Float64Array[], wfScore: Float64Array, names: string[]): StackMetrics {
  const blocks = dateBlocks(main.dateIdx, nDates);
  const perPath = score.map((sc, p) => {
    const d = dailyIc(blocks, sc, main.ret);
    return { path: p + 1, ...summarizeIc(d.ic, d.rankIc) };
  });
  const sleeveIc = Object.fromEntries(
    names.map((nm, j) => {
      const d = dailyIc(blocks, main.z[j]!, main.ret);
      return [nm, summarizeIc(d.ic, d.rankIc)];
    }),
  );
  const wfValid = new Uint8Array(wfb.n);
  for (let i = 0; i < wfb.n; i++) wfValid[i] = Number.isNaN(wfScore[i]!) ? 0 : 1;
  const wfD = dailyIc(dateBlocks(wfb.dateIdx, nDates), wfScore, wfb.ret, wfValid);
  return { perPath, sleeveIc, walkForward: summarizeIc(wfD.ic, wfD.rankIc), mean: (k) => perPath.reduce((a, p) => a + p[k], 0) / perPath.length };
}
