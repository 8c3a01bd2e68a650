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
import { forEachNumericChunk, sqlString } from '../lib/duckdb.ts';
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
 * Creates the temp table `table` (row_id, date, symbol, t1, ret, y) of the (date, symbol) rows that
 * every sleeve scores on every one of `paths` (`which` = oof: paths 1..φ; walkForward: [0]), with
 * ret/t1 of sleeve `target` and y = ret demeaned per date, and reads it with each sleeve's per-path,
 * per-date z-scores (over those rows). `dateIdx` is filled by the caller ({@link indexDates}).
 */
export async function loadStackBlock(con: DuckDBConnection, table: string, sleeves: StackSleeve[], which: 'oof' | 'walkForward', target: number, paths: number[]): Promise<StackBlock> {
  const inPaths = paths.join(', ');
  const per = sleeves.map((s, i) => `s${i} AS (SELECT path, date, symbol, score AS x${i}, ret, t1 FROM read_parquet(${sqlString(s[which])}) WHERE score IS NOT NULL AND path IN (${inPaths}))`);
  const joins = sleeves.map((_, i) => (i === 0 ? 's0' : `JOIN s${i} USING (path, date, symbol)`)).join(' ');
  const xs = sleeves.map((_, i) => `x${i}`).join(', ');
  const r = target;
  await con.run(`CREATE OR REPLACE TEMP TABLE ${table}_x AS
    WITH ${per.join(', ')}, j AS (SELECT path, date, symbol, s${r}.ret AS ret, s${r}.t1 AS t1, ${xs} FROM ${joins}),
    keys AS (SELECT date, symbol FROM j GROUP BY date, symbol HAVING count(*) = ${paths.length})
    SELECT j.* FROM j JOIN keys USING (date, symbol)`);
  await con.run(`CREATE OR REPLACE TEMP TABLE ${table} AS
    WITH k AS (SELECT date, symbol, any_value(ret) AS ret, any_value(t1) AS t1 FROM ${table}_x GROUP BY date, symbol)
    SELECT (row_number() OVER (ORDER BY date, symbol) - 1)::INTEGER AS row_id, date, symbol, t1, ret,
           ret - avg(ret) OVER (PARTITION BY date) AS y
    FROM k`);
  const rd = await con.runAndReadAll(`SELECT (date - DATE '1970-01-01')::INTEGER, (t1 - DATE '1970-01-01')::INTEGER, ret, y FROM ${table} ORDER BY row_id`);
  const c = rd.getColumnsJS() as number[][];
  const n = c[0]!.length;
  const zs = sleeves.map((_, i) => `coalesce((x${i} - avg(x${i}) OVER d) / NULLIF(stddev_samp(x${i}) OVER d, 0), 0)`).join(', ');
  // Streamed chunk by chunk straight into z[q][i] (path q's rows are n consecutive rows).
  const z = paths.map(() => sleeves.map(() => new Float64Array(n)));
  let off = 0;
  await forEachNumericChunk(con, `SELECT ${zs} FROM ${table}_x x JOIN ${table} t USING (date, symbol)
    WINDOW d AS (PARTITION BY x.path, x.date) ORDER BY x.path, t.row_id`, sleeves.map(() => 'double'), (cols, m) => {
    for (let r = 0; r < m; ) {
      // the rows of this chunk that belong to path q: one copy per (path, sleeve)
      const k = off + r, q = Math.floor(k / n), end = Math.min(m, r + (q + 1) * n - k);
      if (q >= paths.length) throw new StepError({ message: `stack: more z-score rows than ${n} rows × ${paths.length} paths`, type: 'InternalError', nonRetryable: true });
      for (let i = 0; i < sleeves.length; i++) z[q]![i]!.set(cols[i]!.subarray(r, end), k - q * n);
      r = end;
    }
    off += m;
  });
  if (off !== n * paths.length) throw new StepError({ message: `stack: ${off} z-score rows for ${n} rows × ${paths.length} paths`, type: 'InternalError', nonRetryable: true });
  await con.run(`DROP TABLE ${table}_x`);
  return { n, date: Int32Array.from(c[0]!), t1: Int32Array.from(c[1]!), ret: Float64Array.from(c[2]!), y: Float64Array.from(c[3]!), paths, z, dateIdx: new Int32Array(0) };
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
  const perPath = score.map((sc, p) => {
    const d = dailyIc(blocks, sc, main.ret);
    return { path: p + 1, ...summarizeIc(d.ic, d.rankIc) };
  });
  const sleevePerPath = Object.fromEntries(
    names.map((nm, j) => [nm, main.z.map((zq, q) => {
      const d = dailyIc(blocks, zq[j]!, main.ret);
      return { path: main.paths[q]!, ...summarizeIc(d.ic, d.rankIc) };
    })]),
  );
  const sleeveIc = Object.fromEntries(names.map((nm) => [nm, meanSummary(sleevePerPath[nm]!)]));
  const wfValid = new Uint8Array(wfb.n);
  for (let i = 0; i < wfb.n; i++) wfValid[i] = Number.isNaN(wfScore[i]!) ? 0 : 1;
  const wfD = dailyIc(dateBlocks(wfb.dateIdx, nDates), wfScore, wfb.ret, wfValid);
  return { perPath, sleeveIc, sleevePerPath, walkForward: summarizeIc(wfD.ic, wfD.rankIc), mean: (k) => perPath.reduce((a, p) => a + p[k], 0) / perPath.length };
}
