/**
 * OOF stacking (Wolpert 1992, "Stacked generalization"; Breiman 1996, "Stacked regressions") with a
 * closed-form ridge blender (models/ridge.ts), evaluated under CPCV (López de Prado, AFML ch. 12)
 * so that the stacked scores are out-of-fold and stay CPCV paths:
 *
 * 1. Path by path: on every CPCV path p (1..φ), each sleeve's OOF score of that path is z-scored
 *    cross-sectionally per date (sleeves on one scale). Paths are never averaged: an average of a
 *    sleeve's φ path predictions is an ensemble of φ models, which would make the stacked "paths"
 *    share inputs and flatter the stack against single-path sleeves (issue 14, item 5).
 * 2. Target: the target sleeve's realised forward return `ret`, demeaned per date (cross-sectional).
 * 3. For each CPCV split (N, k, embargo in bars; purging on the target sleeve's t1) and each path p
 *    the split feeds (path p of test group g comes from split table[g−1][p−1]), the ridge is fitted on
 *    the split's training rows with the sleeves' path-p z-scores and scores the test rows of the
 *    groups it feeds on path p, again from path-p z-scores: the stack's path p uses only path p of
 *    every sleeve. Caveat (documented, standard for OOF stacking): the sleeves' OOF values of the
 *    training rows come from models that saw the stacker's test groups; only the blender's few
 *    weights are exposed.
 * 4. Walk-forward reference: the same on the sleeves' walk-forward scores (path 0) with expanding
 *    folds; the first walk-forward group (no earlier data) uses the fallback weights.
 * 5. Production blend: one ridge on the rows of every path pooled (each path is one out-of-fold copy
 *    of the panel), i.e. the blender the CV evaluated, fitted on all of its inputs.
 * 6. Fallback: with fewer than `min_sleeves` sleeves the fallback weights blend whatever exists.
 * Sleeve comparisons (stackMetrics) are per path and averaged over paths, like the stack's own.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { forEachMaterializedNumericChunk, sqlString } from '../lib/duckdb.ts';
import { StepError } from '../lib/errors.ts';
import { fitRidge, predictRidge } from '../models/ridge.ts';
import { binomial, cpcvSplits, dateGroups, nPaths, pathTable, splitMasks, walkForwardFolds, type DateGroup, type Split } from './cpcv.ts';
import { round6 } from './ledger.ts';
import { dailyIc, dateBlocks, LabelRanks, summarizeIc, type IcSummary } from './metrics.ts';
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
  /** Paths of the block, in order (1..φ for the CPCV block, [0] for the walk-forward block). */
  paths: number[];
  /** z[q][j][i]: per-date z-score of sleeve j's score on paths[q] for row i (0 where undefined). */
  z: Float64Array[][];
  /** Each row's index into the main block's unique dates. */
  dateIdx: Int32Array;
}

/** A linear blend: weights by sleeve (in sleeve order) and intercept. */
export interface Blend {
  weights: number[];
  intercept: number;
}

/**
 * Creates the temp table `table` (row_id, date, symbol, t1, ret) of the (date, symbol) rows that
 * every sleeve scores on every one of `paths` (`which` = oof: paths 1..φ; walkForward: [0]), row_id
 * in (date, symbol) order, with ret/t1 of sleeve `target`; reads it with y = ret demeaned per date
 * and each sleeve's per-path, per-date z-scores over those rows. Each sleeve's scores are streamed
 * once (joined to `table` for their row_id) and scattered into z[q][j]; the means and deviations are
 * then summed here in row order ({@link crossSectionalZ}, {@link demeanByDate}), so no figure
 * depends on DuckDB's thread count, row order or spilling. `dateIdx` is filled by the caller
 * ({@link indexDates}). Throws StepError(BadInput) when a sleeve repeats a (path, date, symbol) row.
 */
export async function loadStackBlock(con: DuckDBConnection, table: string, sleeves: StackSleeve[], which: 'oof' | 'walkForward', target: number, paths: number[]): Promise<StackBlock> {
  const inPaths = paths.join(', ');
  const scored = (s: StackSleeve): string => `(SELECT path, date, symbol, score, ret, t1 FROM read_parquet(${sqlString(s[which])}) WHERE score IS NOT NULL AND path IN (${inPaths}))`;
  // a sleeve's keys: (date, symbol) scored on each of the paths. "Every path" as the OR of one bit
  // per path (the rows are already limited to these paths): the same keys as count(DISTINCT path)
  // = #paths, repeated rows included, without a distinct per group (3× faster on 4.3M rows).
  const everyPath = paths.every((p) => Number.isInteger(p) && p >= 0 && p <= 62)
    ? `bit_or(CAST(1 AS BIGINT) << path) = ${paths.reduce((m, p) => m | (1n << BigInt(p)), 0n)}`
    : `count(DISTINCT path) = ${new Set(paths).size}`;
  const keys = sleeves.map((s, i) => `k${i} AS (SELECT date, symbol${i === target ? ', any_value(ret) AS ret, any_value(t1) AS t1' : ''} FROM ${scored(s)} GROUP BY date, symbol HAVING ${everyPath})`);
  const joins = sleeves.map((_, i) => (i === target ? '' : ` JOIN k${i} USING (date, symbol)`)).join('');
  await con.run(`CREATE OR REPLACE TEMP TABLE ${table} AS
    WITH ${keys.join(', ')}
    SELECT (row_number() OVER (ORDER BY date, symbol) - 1)::INTEGER AS row_id, date, symbol, t1, ret FROM k${target}${joins}`);
  const rd = await con.runAndReadAll(`SELECT (date - DATE '1970-01-01')::INTEGER, (t1 - DATE '1970-01-01')::INTEGER, ret FROM ${table} ORDER BY row_id`);
  const c = rd.getColumnsJS() as number[][];
  const n = c[0]!.length;
  const z = paths.map(() => sleeves.map(() => new Float64Array(n)));
  for (let j = 0; j < sleeves.length; j++) {
    const written = new Uint8Array(n * paths.length);
    let seen = 0;
    // one path at a time, materialized (≈ 16 bytes a row): no round trip per chunk (lib/duckdb.ts)
    for (const [q, p] of paths.entries()) {
      const zq = z[q]![j]!;
      await forEachMaterializedNumericChunk(con, `SELECT t.row_id, s.score FROM ${scored(sleeves[j]!)} s JOIN ${table} t USING (date, symbol) WHERE s.path = ${p}`, ['int', 'double'], (cols, m) => {
        const rowCol = cols[0]!, score = cols[1]!;
        for (let r = 0; r < m; r++) {
          const i = rowCol[r]!;
          if (written[q * n + i]) throw new StepError({ message: `stack: sleeve ${sleeves[j]!.name} scores path ${p} of row ${i} twice in ${sleeves[j]![which]}; each (path, date, symbol) must appear once`, type: 'BadInput', nonRetryable: true });
          written[q * n + i] = 1;
          zq[i] = score[r]!;
        }
        seen += m;
      });
    }
    if (seen !== n * paths.length) throw new StepError({ message: `stack: sleeve ${sleeves[j]!.name} gave ${seen} scores for ${n} rows × ${paths.length} paths`, type: 'InternalError', nonRetryable: true });
  }
  const date = Int32Array.from(c[0]!), ret = Float64Array.from(c[2]!);
  for (const zq of z) for (const zj of zq) crossSectionalZ(zj, date);
  return { n, date, t1: Int32Array.from(c[1]!), ret, y: demeanByDate(ret, date), paths, z, dateIdx: new Int32Array(0) };
}

/**
 * Cross-sectional z-score per date, in place: `x` holds one value per row, rows sorted by `date`
 * (a date's rows are consecutive). Each date's rows become (x − mean) / sd with the sample standard
 * deviation (n − 1), both summed in row order (two passes); a date with fewer than 2 rows or sd = 0
 * gets 0 (no cross-section to compare with). NaN propagates to the date's rows.
 */
export function crossSectionalZ(x: Float64Array, date: Int32Array): void {
  for (let a = 0; a < x.length; ) {
    let b = a + 1;
    while (b < x.length && date[b] === date[a]) b++;
    const m = b - a;
    let sum = 0;
    for (let i = a; i < b; i++) sum += x[i]!;
    const mean = sum / m;
    let ss = 0;
    for (let i = a; i < b; i++) ss += (x[i]! - mean) ** 2;
    const sd = Math.sqrt(ss / (m - 1));
    if (m < 2 || sd === 0) x.fill(0, a, b);
    else for (let i = a; i < b; i++) x[i] = (x[i]! - mean) / sd;
    a = b;
  }
}

/** `ret` minus its mean per date (rows sorted by `date`; the mean summed in row order). */
export function demeanByDate(ret: Float64Array, date: Int32Array): Float64Array {
  const y = new Float64Array(ret.length);
  for (let a = 0; a < ret.length; ) {
    let b = a + 1;
    while (b < ret.length && date[b] === date[a]) b++;
    let sum = 0;
    for (let i = a; i < b; i++) sum += ret[i]!;
    const mean = sum / (b - a);
    for (let i = a; i < b; i++) y[i] = ret[i]! - mean;
    a = b;
  }
  return y;
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

const row = (b: StackBlock, q: number, i: number): number[] => b.z[q]!.map((z) => z[i]!);

/** A ridge on `rows` of path index q's z-scores, or the fallback blend. */
function blendOn(b: StackBlock, q: number, rows: number[], o: { lambda: number; fallback: boolean; fallbackFit: Blend }): Blend {
  if (o.fallback) return o.fallbackFit;
  const f = fitRidge(b.z[q]!, b.y, o.lambda, { rows });
  return { weights: f.weights, intercept: f.intercept };
}

/**
 * One ridge per (CPCV split, path it feeds), fallback weights when `fallback`: split s fills path p
 * for its test groups g with table[g−1][p−1] = s, trained and scored on path p's z-scores only.
 * Returns the φ stacked paths and one per-split record per (split, path). Throws StepError('Cancelled') on abort.
 */
export function stackCpcv(main: StackBlock, L: StackLayout, o: { lambda: number; fallback: boolean; fallbackFit: Blend; signal: AbortSignal }): { score: Float64Array[]; perSplit: Record<string, unknown>[] } {
  if (main.paths.length !== L.phi) throw new StepError({ message: `stack: the sleeves carry ${main.paths.length} paths, the stack's layout has φ = ${L.phi}`, type: 'BadInput', nonRetryable: true });
  const score = Array.from({ length: L.phi }, () => new Float64Array(main.n).fill(NaN));
  const perSplit: Record<string, unknown>[] = [];
  const times = { dateIdx: main.dateIdx, date: main.date, t1: main.t1 };
  for (const split of L.splits) {
    const m = splitMasks(times, L.uniqueDates, L.groups, split, L.embargoBars);
    const rows: number[] = [];
    if (!o.fallback) for (let i = 0; i < main.n; i++) if (m.train[i]) rows.push(i);
    const groupsOfPath = new Map<number, number[]>();
    for (const g of split.testGroups) {
      const q = L.table[g - 1]!.indexOf(split.split);
      groupsOfPath.set(q, [...(groupsOfPath.get(q) ?? []), g]);
    }
    for (const [q, gs] of [...groupsOfPath].sort((a, b) => a[0] - b[0])) {
      const fit = blendOn(main, q, rows, o);
      const sc = score[q]!;
      for (let i = 0; i < main.n; i++) {
        if (m.test[i] && gs.includes(L.groupOfDate[main.dateIdx[i]!]!)) sc[i] = predictRidge(fit, row(main, q, i));
      }
      perSplit.push({ split: split.split, path: q + 1, test_groups: gs, n_train: m.nTrain, n_purged: m.nPurged, n_embargoed: m.nEmbargoed, weights: fit.weights.map(round6), intercept: round6(fit.intercept) });
    }
    if (o.signal.aborted) throw new StepError({ message: 'stack cancelled', type: 'Cancelled', nonRetryable: true });
  }
  return { score, perSplit };
}

/**
 * The production blend: one ridge on every path's rows pooled (columns = sleeves, φ·n rows), or the
 * fallback. λ is per unit weight (models/ridge.ts), so pooling φ copies keeps its scale.
 */
export function stackFinal(main: StackBlock, o: { lambda: number; fallback: boolean; fallbackFit: Blend }): Blend & { n: number } {
  if (o.fallback) return { ...o.fallbackFit, n: main.n * main.paths.length };
  const nq = main.paths.length;
  const cols = main.z[0]!.map((_, j) => {
    const c = new Float64Array(main.n * nq);
    for (let q = 0; q < nq; q++) c.set(main.z[q]![j]!, q * main.n);
    return c;
  });
  const y = new Float64Array(main.n * nq);
  for (let q = 0; q < nq; q++) y.set(main.y, q * main.n);
  return fitRidge(cols, y, o.lambda);
}

/** Walk-forward ridge on the walk-forward block (path 0): expanding folds; a fold without training rows uses the fallback. */
export function stackWalkForward(wfb: StackBlock, L: StackLayout, o: { lambda: number; fallback: boolean; fallbackFit: Blend }): { score: Float64Array; split: Int32Array; folds: Record<string, unknown>[] } {
  const score = new Float64Array(wfb.n).fill(NaN);
  const split = new Int32Array(wfb.n);
  const times = { dateIdx: wfb.dateIdx, date: wfb.date, t1: wfb.t1 };
  const folds: Record<string, unknown>[] = [];
  for (const fold of walkForwardFolds(L.nGroups)) {
    const m = splitMasks(times, L.uniqueDates, L.groups, fold, L.embargoBars);
    if (m.nTest === 0) continue;
    const rows: number[] = [];
    for (let i = 0; i < wfb.n; i++) if (m.train[i]) rows.push(i);
    const usedFallback = o.fallback || m.nTrain === 0;
    const fit = usedFallback ? o.fallbackFit : blendOn(wfb, 0, rows, o);
    for (let i = 0; i < wfb.n; i++) if (m.test[i]) {
      score[i] = predictRidge(fit, row(wfb, 0, i));
      split[i] = fold.split;
    }
    folds.push({ split: fold.split, test_group: fold.testGroups[0], n_train: m.nTrain, fallback: usedFallback, weights: fit.weights.map(round6), intercept: round6(fit.intercept) });
  }
  return { score, split, folds };
}

/** IC figures of a stack: per path and per sleeve (against ret), walk-forward, and path means. */
export interface StackMetrics {
  perPath: (IcSummary & { path: number })[];
  /** Per sleeve: its mean over paths of the per-path IC figures (the footing of the stack's mean). */
  sleeveIc: Record<string, IcSummary>;
  /** Per sleeve: the IC figures of its z-score on each path. */
  sleevePerPath: Record<string, (IcSummary & { path: number })[]>;
  walkForward: IcSummary;
  mean(k: 'ic' | 'rank_ic' | 'icir'): number;
}

/** Field-wise mean of IC summaries (n_dates: the mean, rounded). */
function meanSummary(xs: IcSummary[]): IcSummary {
  const m = (k: keyof IcSummary): number => xs.reduce((a, x) => a + x[k], 0) / xs.length;
  return { ic: m('ic'), rank_ic: m('rank_ic'), icir: m('icir'), rank_ic_tstat: m('rank_ic_tstat'), n_dates: Math.round(m('n_dates')) };
}

/**
 * Daily IC / rank IC against `ret` of the stacked paths, of each sleeve's z-score on each path (and
 * their mean over paths, comparable with the stack's mean) and of the walk-forward score.
 */
export function stackMetrics(main: StackBlock, wfb: StackBlock, nDates: number, score: Float64Array[], wfScore: Float64Array, names: string[]): StackMetrics {
  const blocks = dateBlocks(main.dateIdx, nDates);
  const retRanks = new LabelRanks(blocks, main.ret);
  const perPath = score.map((sc, p) => {
    const d = dailyIc(blocks, sc, main.ret, undefined, retRanks);
    return { path: p + 1, ...summarizeIc(d.ic, d.rankIc) };
  });
  const sleevePerPath = Object.fromEntries(
    names.map((nm, j) => [nm, main.z.map((zq, q) => {
      const d = dailyIc(blocks, zq[j]!, main.ret, undefined, retRanks);
      return { path: main.paths[q]!, ...summarizeIc(d.ic, d.rankIc) };
    })]),
  );
  const sleeveIc = Object.fromEntries(names.map((nm) => [nm, meanSummary(sleevePerPath[nm]!)]));
  const wfValid = new Uint8Array(wfb.n);
  for (let i = 0; i < wfb.n; i++) wfValid[i] = Number.isNaN(wfScore[i]!) ? 0 : 1;
  const wfD = dailyIc(dateBlocks(wfb.dateIdx, nDates), wfScore, wfb.ret, wfValid);
  return { perPath, sleeveIc, sleevePerPath, walkForward: summarizeIc(wfD.ic, wfD.rankIc), mean: (k) => perPath.reduce((a, p) => a + p[k], 0) / perPath.length };
}
