/**
 * Body of `stack.oof` (see kinds/fit/stack.ts). Stacking (Wolpert 1992, "Stacked
 * generalization"; Breiman 1996, "Stacked regressions") with a closed-form ridge blender, evaluated
 * under CPCV (López de Prado, AFML ch. 12) so that the stacked scores are out-of-fold:
 *
 * 1. Each sleeve's OOF pred is averaged over its φ paths per (date, symbol) — every path holds one
 *    out-of-fold prediction per row — and z-scored cross-sectionally per date (sleeves on one scale).
 * 2. Target: the horizon sleeve's realised forward return `ret`, demeaned per date (cross-sectional).
 * 3. For each CPCV split (same N, k, embargo as the sleeves, purging on the labels' t1), the ridge is
 *    fitted on the training rows and scores the test rows; paths are rebuilt as in fit.cpcv.
 *    Caveat (documented, standard for OOF stacking): the sleeves' OOF values of the training rows
 *    come from models that saw the stacker's test groups; only the blender's few weights are exposed.
 * 4. Walk-forward reference: the same on the sleeves' walk-forward predictions with expanding folds;
 *    the first walk-forward group (no earlier data) uses the fallback weights.
 * 5. Fallback: with fewer than `min_sleeves` succeeded sleeves the configured weights (default equal)
 *    blend whatever sleeves exist; stacker.json records `fallback: true` and why.
 */
import { withDuckDB, sqlString } from '../../lib/duckdb.ts';
import { StepError } from '../../lib/errors.ts';
import { assertAuditsNotRed } from '../../data/guard.ts';
import { fitRidge, predictRidge } from '../../models/ridge.ts';
import { cpcvSplits, dateGroups, nPaths, pathTable, splitMasks, walkForwardFolds } from '../../cv/cpcv.ts';
import { dailyIc, dateBlocks, summarizeIc } from '../../cv/metrics.ts';
import type { StepContext } from '../types.ts';
import { appendColumns, lowerBound } from './panel.ts';
import { refSchema } from './upstream.ts';
import type { StackOutputs, StackWith } from './stack.ts';

interface Sleeve {
  id: string;
  name: string;
  task: string;
  oof: string;
  wf: string;
  cv?: { n_groups: number; n_test_groups: number; embargo_days: number };
}

interface Block {
  n: number;
  date: Int32Array;
  t1: Int32Array;
  ret: Float64Array;
  y: Float64Array;
  z: Float64Array[];
}

const round6 = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : null);

/** Runs stack.oof. */
export async function runStack(ctx: StepContext, w: StackWith): Promise<StackOutputs> {
  assertAuditsNotRed(ctx);
  const fits = Object.entries(ctx.ancestors)
    .filter(([, u]) => u.uses === 'fit.cpcv')
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const sleeves: Sleeve[] = [];
  const missing: string[] = [];
  for (const [id, u] of fits) {
    const oof = refSchema.safeParse(u.outputs?.oof);
    const wf = refSchema.safeParse(u.outputs?.oof_walk_forward);
    if (u.status !== 'succeeded' || !oof.success || !wf.success) {
      missing.push(String(u.outputs?.sleeve ?? id));
      continue;
    }
    const s: Sleeve = { id, name: String(u.outputs.sleeve ?? id), task: String(u.outputs.task ?? 'regression'), oof: ctx.artifacts.path(oof.data), wf: ctx.artifacts.path(wf.data) };
    const tc = refSchema.safeParse(u.outputs.training_config);
    if (tc.success && ctx.artifacts.has(tc.data)) {
      const doc = ctx.artifacts.readJson<{ config?: { cv?: Sleeve['cv'] } }>(tc.data);
      s.cv = doc.config?.cv;
    }
    sleeves.push(s);
  }
  if (sleeves.length === 0) {
    throw new StepError(
      { message: `stack.oof ${ctx.stepId}: no succeeded fit.cpcv sleeve upstream${missing.length ? ` (failed/skipped: ${missing.join(', ')})` : ''} — add fit.cpcv steps to needs`, type: 'MissingInput', nonRetryable: true },
    );
  }
  const names = sleeves.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new StepError({ message: `stack.oof: sleeve names must be unique, got ${names.join(', ')} — set with.sleeve on each fit.cpcv`, type: 'BadInput', nonRetryable: true });
  const retSleeve = sleeves.find((s) => s.task === 'regression') ?? sleeves[0]!;
  const cv = {
    n_groups: w.n_groups ?? retSleeve.cv?.n_groups ?? 8,
    n_test_groups: w.n_test_groups ?? retSleeve.cv?.n_test_groups ?? 2,
    embargo_days: w.embargo_days ?? retSleeve.cv?.embargo_days ?? 10,
  };
  const fallback = sleeves.length < w.min_sleeves;
  const fallbackReason = fallback
    ? `${sleeves.length} sleeve(s) available (${names.join(', ')}), ${w.min_sleeves} needed${missing.length ? `; missing: ${missing.join(', ')}` : ''}`
    : null;
  const fw = names.map((n) => w.fallback_weights?.[n] ?? (w.fallback_weights ? 0 : 1));
  const fwSum = fw.reduce((a, b) => a + Math.abs(b), 0);
  if (fwSum === 0) throw new StepError({ message: `stack.oof: fallback_weights give zero weight to every available sleeve (${names.join(', ')})`, type: 'BadInput', nonRetryable: true });
  const fallbackFit = { weights: fw.map((v) => v / fwSum), intercept: 0 };

  return withDuckDB(async (con) => {
    ctx.progress({ fraction: 0, message: `stacking ${names.join(', ')}` });
    const load = async (table: string, which: 'oof' | 'wf'): Promise<Block> => {
      const per = sleeves.map((s, i) => {
        const src = sqlString(which === 'oof' ? s.oof : s.wf);
        return `s${i} AS (SELECT date, symbol, avg(pred) AS pred, any_value(ret) AS ret, any_value(t1) AS t1 FROM read_parquet(${src}) WHERE pred IS NOT NULL GROUP BY date, symbol)`;
      });
      const r = sleeves.indexOf(retSleeve);
      const zs = sleeves.map((_, i) => `coalesce((s${i}.pred - avg(s${i}.pred) OVER d) / NULLIF(stddev_samp(s${i}.pred) OVER d, 0), 0) AS z${i}`);
      const joins = sleeves.map((_, i) => (i === 0 ? 's0' : `JOIN s${i} USING (date, symbol)`)).join(' ');
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
      };
    };
    const main = await load('stack_main', 'oof');
    const wfb = await load('stack_wf', 'wf');
    if (main.n === 0) throw new StepError({ message: `stack.oof: the sleeves ${names.join(', ')} share no (date, symbol) rows`, type: 'BadInput', nonRetryable: true });

    const uniq: number[] = [];
    for (let i = 0; i < main.n; i++) if (i === 0 || main.date[i] !== main.date[i - 1]) uniq.push(main.date[i]!);
    const uniqueDates = Int32Array.from(uniq);
    const idxOf = (b: Block): Int32Array => Int32Array.from(b.date, (d) => lowerBound(uniqueDates, d));
    const mainIdx = idxOf(main), wfIdx = idxOf(wfb);
    const groups = dateGroups(uniqueDates.length, cv.n_groups);
    const groupOfDate = new Int32Array(uniqueDates.length);
    for (const g of groups) for (let d = g.firstIdx; d <= g.lastIdx; d++) groupOfDate[d] = g.group;
    const splits = cpcvSplits(cv.n_groups, cv.n_test_groups);
    const table = pathTable(splits, cv.n_groups);
    const phi = nPaths(cv.n_groups, cv.n_test_groups);
    const row = (b: Block, i: number): number[] => b.z.map((z) => z[i]!);

    // CPCV: one ridge per split, test rows scattered into paths.
    const score = Array.from({ length: phi }, () => new Float64Array(main.n).fill(NaN));
    const perSplit: Record<string, unknown>[] = [];
    const times = { dateIdx: mainIdx, date: main.date, t1: main.t1 };
    for (const split of splits) {
      const m = splitMasks(times, uniqueDates, groups, split, cv.embargo_days);
      let fit = fallbackFit;
      if (!fallback) {
        const rows: number[] = [];
        for (let i = 0; i < main.n; i++) if (m.train[i]) rows.push(i);
        const f = fitRidge(main.z, main.y, w.lambda, { rows });
        fit = { weights: f.weights, intercept: f.intercept };
      }
      for (let i = 0; i < main.n; i++) {
        if (!m.test[i]) continue;
        const g = groupOfDate[mainIdx[i]!]!;
        const p = table[g - 1]!.indexOf(split.split);
        score[p]![i] = predictRidge(fit, row(main, i));
      }
      perSplit.push({ split: split.split, test_groups: split.testGroups, n_train: m.nTrain, n_purged: m.nPurged, n_embargoed: m.nEmbargoed, weights: fit.weights.map(round6), intercept: round6(fit.intercept) });
      if (ctx.signal.aborted) throw new StepError({ message: 'stack.oof cancelled', type: 'Cancelled', nonRetryable: true });
    }

    // Walk-forward reference on the sleeves' walk-forward predictions.
    const wfScore = new Float64Array(wfb.n).fill(NaN);
    const wfSplit = new Int32Array(wfb.n);
    const wfTimes = { dateIdx: wfIdx, date: wfb.date, t1: wfb.t1 };
    const wfFolds: Record<string, unknown>[] = [];
    for (const fold of walkForwardFolds(cv.n_groups)) {
      const m = splitMasks(wfTimes, uniqueDates, groups, fold, cv.embargo_days);
      if (m.nTest === 0) continue;
      let fit = fallbackFit;
      let usedFallback = true;
      if (!fallback && m.nTrain > 0) {
        const rows: number[] = [];
        for (let i = 0; i < wfb.n; i++) if (m.train[i]) rows.push(i);
        const f = fitRidge(wfb.z, wfb.y, w.lambda, { rows });
        fit = { weights: f.weights, intercept: f.intercept };
        usedFallback = false;
      }
      for (let i = 0; i < wfb.n; i++) if (m.test[i]) {
        wfScore[i] = predictRidge(fit, row(wfb, i));
        wfSplit[i] = fold.split;
      }
      wfFolds.push({ split: fold.split, test_group: fold.testGroups[0], n_train: m.nTrain, fallback: usedFallback, weights: fit.weights.map(round6), intercept: round6(fit.intercept) });
    }

    // Production blender: ridge on all OOF rows.
    const final = fallback ? { ...fallbackFit, n: main.n } : fitRidge(main.z, main.y, w.lambda);

    // Metrics (score vs realised ret).
    const blocks = dateBlocks(mainIdx, uniqueDates.length);
    const perPath = score.map((sc, p) => {
      const d = dailyIc(blocks, sc, main.ret);
      return { path: p + 1, ...summarizeIc(d.ic, d.rankIc) };
    });
    const sleeveIc = Object.fromEntries(
      sleeves.map((s, j) => {
        const d = dailyIc(blocks, main.z[j]!, main.ret);
        return [s.name, summarizeIc(d.ic, d.rankIc)];
      }),
    );
    const mean = (k: 'ic' | 'rank_ic' | 'icir'): number => perPath.reduce((a, p) => a + p[k], 0) / perPath.length;
    const wfValid = new Uint8Array(wfb.n);
    for (let i = 0; i < wfb.n; i++) wfValid[i] = Number.isNaN(wfScore[i]!) ? 0 : 1;
    const wfD = dailyIc(dateBlocks(wfIdx, uniqueDates.length), wfScore, wfb.ret, wfValid);
    const wfSum = summarizeIc(wfD.ic, wfD.rankIc);

    // Artifacts.
    ctx.progress({ fraction: 0.9, message: 'writing stacked OOF' });
    const n = main.n * phi;
    const rid = new Int32Array(n), pth = new Int32Array(n), spl = new Int32Array(n), grp = new Int32Array(n), sc = new Float64Array(n);
    let k = 0;
    for (let p = 0; p < phi; p++) for (let i = 0; i < main.n; i++) {
      const g = groupOfDate[mainIdx[i]!]!;
      rid[k] = i;
      pth[k] = p + 1;
      grp[k] = g;
      spl[k] = table[g - 1]![p]!;
      sc[k] = score[p]![i]!;
      k++;
    }
    await appendColumns(con, 'stack_rows', [
      { name: 'row_id', type: 'INTEGER', values: rid },
      { name: 'path', type: 'INTEGER', values: pth },
      { name: 'split', type: 'INTEGER', values: spl },
      { name: 'test_group', type: 'INTEGER', values: grp },
      { name: 'score', type: 'DOUBLE', values: sc },
    ]);
    const oofPath = ctx.artifacts.tempPath('stack_oof.parquet');
    await con.run(`COPY (SELECT m.date, m.symbol, o.path, o.split, o.test_group, o.score, m.ret, m.t1
      FROM stack_rows o JOIN stack_main m USING (row_id) ORDER BY o.path, m.date, m.symbol) TO ${sqlString(oofPath)} (FORMAT parquet)`);
    const oof = await ctx.artifacts.putFile(oofPath);
    const wfRows: number[] = [];
    for (let i = 0; i < wfb.n; i++) if (wfValid[i]) wfRows.push(i);
    await appendColumns(con, 'stack_wf_rows', [
      { name: 'row_id', type: 'INTEGER', values: wfRows },
      { name: 'split', type: 'INTEGER', values: wfRows.map((i) => wfSplit[i]!) },
      { name: 'test_group', type: 'INTEGER', values: wfRows.map((i) => groupOfDate[wfIdx[i]!]!) },
      { name: 'score', type: 'DOUBLE', values: wfRows.map((i) => wfScore[i]!) },
    ]);
    const wfPath = ctx.artifacts.tempPath('stack_oof_walk_forward.parquet');
    await con.run(`COPY (SELECT m.date, m.symbol, 0::INTEGER AS path, o.split, o.test_group, o.score, m.ret, m.t1
      FROM stack_wf_rows o JOIN stack_wf m USING (row_id) ORDER BY m.date, m.symbol) TO ${sqlString(wfPath)} (FORMAT parquet)`);
    const oofWf = await ctx.artifacts.putFile(wfPath);

    const stackerDoc = {
      weights: Object.fromEntries(names.map((nm, j) => [nm, round6(final.weights[j]!)])),
      intercept: round6(final.intercept),
      sleeves: sleeves.map((s) => ({ sleeve: s.name, step_id: s.id, task: s.task })),
      fallback,
      fallback_reason: fallbackReason,
      fallback_weights: Object.fromEntries(names.map((nm, j) => [nm, round6(fallbackFit.weights[j]!)])),
      missing_sleeves: missing,
      method: 'ridge (closed form) on per-date z-scores of each sleeve’s path-averaged OOF pred; target: per-date demeaned ret of the horizon sleeve',
      lambda: w.lambda,
      target_sleeve: retSleeve.name,
      n_rows: final.n,
      cv: { ...cv, n_splits: splits.length, n_paths: phi },
    };
    const stacker = await ctx.artifacts.putJson(stackerDoc, 'stacker.json');
    const metrics = await ctx.artifacts.putJson(
      {
        per_path: perPath.map((p) => ({ path: p.path, ic: round6(p.ic), rank_ic: round6(p.rank_ic), icir: round6(p.icir), n_dates: p.n_dates })),
        per_split: perSplit,
        walk_forward: { ic: round6(wfSum.ic), rank_ic: round6(wfSum.rank_ic), icir: round6(wfSum.icir), folds: wfFolds },
        sleeves: Object.fromEntries(Object.entries(sleeveIc).map(([nm, s]) => [nm, { ic: round6(s.ic), rank_ic: round6(s.rank_ic), icir: round6(s.icir) }])),
        aggregate: { mean_ic: round6(mean('ic')), mean_rank_ic: round6(mean('rank_ic')), icir: round6(mean('icir')) },
      },
      'stack_metrics.json',
    );
    ctx.progress({ fraction: 1, message: `stacked ${names.length} sleeve(s)${fallback ? ' (fallback weights)' : ''}` });
    const num = (x: number): number | null => (Number.isFinite(x) ? x : null);
    return {
      oof,
      oof_walk_forward: oofWf,
      stacker,
      metrics,
      sleeves: names,
      n_sleeves: names.length,
      fallback,
      n_paths: phi,
      n_splits: splits.length,
      mean_ic: num(mean('ic')),
      mean_rank_ic: num(mean('rank_ic')),
      icir: num(mean('icir')),
      walk_forward_rank_ic: num(wfSum.rank_ic),
    };
  });
}
