/**
 * Body of `stack.oof` (kinds/fit/stack.ts): reads the bound signals.oof inputs, blends them with the
 * ridge stacker of cv/stack.ts under CPCV, and writes the stacked signal through the shared OOF
 * writer (cv/oof.ts). Sleeves are blended in step-id order (as before the contracts), so the blend
 * does not depend on how the plan lists them.
 */
import { contractId, signalsOof } from '../../contracts/index.ts';
import { withDuckDB, sqlString } from '../../lib/duckdb.ts';
import { InputError, StepError } from '../../lib/errors.ts';
import { round6 } from '../../cv/ledger.ts';
import { cpcvOofRows, walkForwardOofRows, writeSignal } from '../../cv/oof.ts';
import { checkEmbargo } from '../../cv/embargo.ts';
import { maxLabelRows } from '../../cv/panel.ts';
import { indexDates, loadStackBlock, stackCpcv, stackFinal, stackLayout, stackMetrics, stackWalkForward, testGroupsOf, type Blend, type StackBlock, type StackLayout, type StackSleeve } from '../../cv/stack.ts';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { StepContext } from '../types.ts';
import type { StackOutputs, StackWith, stackConsumes } from './stack.ts';

type StackContext = StepContext<typeof stackConsumes>;

/** The sleeves bound to `signals` (step-id order), the upstream signal providers that did not succeed, and the calendar. */
function readSleeves(ctx: StackContext): { sleeves: (StackSleeve & { step: string; n_paths: number })[]; missing: string[]; calendar: string } {
  const inputs = [...ctx.inputs('signals')].sort((a, b) => (a.step < b.step ? -1 : a.step > b.step ? 1 : 0));
  const cid = contractId(signalsOof);
  const missing = Object.entries(ctx.ancestors)
    .filter(([, u]) => u.status !== 'succeeded' && Object.values(u.provides ?? {}).includes(cid))
    .map(([id, u]) => String(u.outputs?.sleeve ?? id));
  if (inputs.length === 0) {
    throw new InputError({ message: `stack.oof ${ctx.stepId}: no succeeded ${cid} upstream${missing.length ? ` (failed/skipped: ${missing.join(', ')})` : ''} — add fit steps to needs`, type: 'MissingInput' });
  }
  const names = inputs.map((i) => i.value.sleeve);
  if (new Set(names).size !== names.length) throw new InputError({ message: `stack.oof: sleeve names must be unique, got ${names.join(', ')} — set with.sleeve on each fit`, details: { sleeves: names } });
  const calendars = [...new Set(inputs.map((i) => i.value.calendar))];
  if (calendars.length > 1) throw new InputError({ message: `stack.oof: the sleeves are on different calendars (${calendars.join(', ')})` });
  const phis = [...new Set(inputs.map((i) => i.value.n_paths))];
  if (phis.length > 1) {
    throw new InputError({ message: `stack.oof: the sleeves carry different numbers of CPCV paths (${inputs.map((i) => `${i.value.sleeve}: ${i.value.n_paths}`).join(', ')}); the stack blends path by path, so fit them on the same CPCV layout`, details: { n_paths: Object.fromEntries(inputs.map((i) => [i.value.sleeve, i.value.n_paths])) } });
  }
  const sleeves = inputs.map((i) => ({ name: i.value.sleeve, task: i.value.task, step: i.step, n_paths: i.value.n_paths, oof: ctx.artifacts.path(i.value.oof), walkForward: ctx.artifacts.path(i.value.walk_forward) }));
  return { sleeves, missing, calendar: calendars[0]! };
}

/** Normalised fallback weights by sleeve (configured, else equal); throws when all are zero. */
function fallbackBlend(names: string[], w: StackWith): Blend {
  const fw = names.map((n) => w.fallback_weights?.[n] ?? (w.fallback_weights ? 0 : 1));
  const sum = fw.reduce((a, b) => a + Math.abs(b), 0);
  if (sum === 0) throw new StepError({ message: `stack.oof: fallback_weights give zero weight to every available sleeve (${names.join(', ')})`, type: 'BadInput', nonRetryable: true });
  return { weights: fw.map((v) => v / sum), intercept: 0 };
}

/** N and k: `with` overrides, else the target sleeve's own (largest test_group; k from its splits and φ). */
async function layoutOf(con: DuckDBConnection, target: StackSleeve & { n_paths: number }, w: StackWith, uniqueDates: Int32Array): Promise<StackLayout> {
  const r = (await con.runAndReadAll(`SELECT max(test_group)::INTEGER, max(split)::INTEGER FROM read_parquet(${sqlString(target.oof)})`)).getRows()[0]!;
  const nGroups = w.n_groups ?? Number(r[0]);
  const k = w.n_test_groups ?? testGroupsOf(nGroups, Number(r[1]), target.n_paths);
  if (k === null) throw new InputError({ message: `stack.oof: cannot tell the CPCV layout of sleeve ${target.name} (N=${nGroups}, ${r[1]} splits, ${target.n_paths} paths): set with.n_groups and with.n_test_groups` });
  const L = stackLayout(uniqueDates, nGroups, k, w.embargo_bars);
  if (L.phi !== target.n_paths) {
    throw new InputError({ message: `stack.oof: with N=${nGroups}, k=${k} the stack has φ = ${L.phi} paths but the sleeves carry ${target.n_paths}; the stack's path p blends path p of every sleeve, so keep the sleeves' layout` });
  }
  return L;
}

const groupOfRows = (b: StackBlock, L: StackLayout): Int32Array => Int32Array.from(b.dateIdx, (d) => L.groupOfDate[d]!);

/** Runs stack.oof. Throws InputError for missing/duplicate/mismatched sleeves, StepError for bad fallback weights or no common rows. */
export async function runStack(ctx: StackContext, w: StackWith): Promise<StackOutputs> {
  const { sleeves, missing, calendar } = readSleeves(ctx);
  const names = sleeves.map((s) => s.name);
  const target = Math.max(0, sleeves.findIndex((s) => s.task === 'regression'));
  const fallback = sleeves.length < w.min_sleeves;
  const fallbackFit = fallbackBlend(names, w);
  return withDuckDB(async (con) => {
    ctx.progress({ fraction: 0, message: `stacking ${names.join(', ')}` });
    const paths = Array.from({ length: sleeves[target]!.n_paths }, (_, p) => p + 1);
    const main = await loadStackBlock(con, 'stack_main', sleeves, 'oof', target, paths);
    const wfb = await loadStackBlock(con, 'stack_wf', sleeves, 'walkForward', target, [0]);
    if (main.n === 0) throw new StepError({ message: `stack.oof: the sleeves ${names.join(', ')} share no (date, symbol) rows on all ${paths.length} paths`, type: 'BadInput', nonRetryable: true });
    const L = await layoutOf(con, sleeves[target]!, w, indexDates(main, [wfb]));
    checkEmbargo(L.embargoBars, await maxLabelRows(con, 'stack_main'), w.allow_short_embargo, ctx.log, `stack.oof ${ctx.stepId}`);
    const cv = stackCpcv(main, L, { lambda: w.lambda, fallback, fallbackFit, signal: ctx.signal });
    const wf = stackWalkForward(wfb, L, { lambda: w.lambda, fallback, fallbackFit });
    const final = stackFinal(main, { lambda: w.lambda, fallback, fallbackFit });
    const m = stackMetrics(main, wfb, L.uniqueDates.length, cv.score, wf.score, names);
    ctx.progress({ fraction: 0.9, message: 'writing stacked OOF' });
    const signal = await writeSignal(con, ctx.artifacts, {
      paths: { src: { table: 'stack_main', label: false }, rows: cpcvOofRows(groupOfRows(main, L), L.table, cv.score) },
      walkForward: { src: { table: 'stack_wf', label: false }, rows: walkForwardOofRows(groupOfRows(wfb, L), wf.score, wf.split) },
    }, 'stack_oof');
    const cvDoc = { n_groups: L.nGroups, n_test_groups: L.nTestGroups, embargo_bars: L.embargoBars, n_splits: L.splits.length, n_paths: L.phi };
    const stacker = await ctx.artifacts.putJson({
      weights: Object.fromEntries(names.map((nm, j) => [nm, round6(final.weights[j]!)])),
      intercept: round6(final.intercept),
      sleeves: sleeves.map((s) => ({ sleeve: s.name, step_id: s.step, task: s.task })),
      fallback,
      fallback_reason: fallback ? `${sleeves.length} sleeve(s) available (${names.join(', ')}), ${w.min_sleeves} needed${missing.length ? `; missing: ${missing.join(', ')}` : ''}` : null,
      fallback_weights: Object.fromEntries(names.map((nm, j) => [nm, round6(fallbackFit.weights[j]!)])),
      missing_sleeves: missing,
      method: 'ridge (closed form) on per-date z-scores of each sleeve’s OOF score, path by path (CPCV: path p of the stack from path p of every sleeve; production weights: every path’s rows pooled); target: per-date demeaned ret of the target sleeve',
      lambda: w.lambda,
      target_sleeve: names[target],
      n_rows: main.n,
      n_fit_rows: final.n,
      cv: cvDoc,
    }, 'stacker.json');
    const ic = (s: { ic: number; rank_ic: number; icir: number }) => ({ ic: round6(s.ic), rank_ic: round6(s.rank_ic), icir: round6(s.icir) });
    const metrics = await ctx.artifacts.putJson({
      per_path: m.perPath.map((p) => ({ path: p.path, ...ic(p), n_dates: p.n_dates })),
      per_split: cv.perSplit,
      walk_forward: { ...ic(m.walkForward), folds: wf.folds },
      sleeves: Object.fromEntries(Object.entries(m.sleeveIc).map(([nm, s]) => [nm, ic(s)])),
      sleeves_per_path: Object.fromEntries(Object.entries(m.sleevePerPath).map(([nm, ps]) => [nm, ps.map((p) => ({ path: p.path, ...ic(p), n_dates: p.n_dates }))])),
      comparison: 'sleeves: mean over paths of each sleeve’s per-path IC, the footing of the stack’s aggregate (mean over its paths)',
      aggregate: { mean_ic: round6(m.mean('ic')), mean_rank_ic: round6(m.mean('rank_ic')), icir: round6(m.mean('icir')) },
    }, 'stack_metrics.json');
    ctx.progress({ fraction: 1, message: `stacked ${names.length} sleeve(s)${fallback ? ' (fallback weights)' : ''}` });
    const num = (x: number): number | null => (Number.isFinite(x) ? x : null);
    return {
      oof: { sleeve: w.sleeve, task: 'regression', calendar, n_paths: L.phi, components: names, stacker, oof: signal.oof, walk_forward: signal.walk_forward },
      stacker, metrics, sleeves: names, n_sleeves: names.length, fallback, n_paths: L.phi, n_splits: L.splits.length,
      mean_ic: num(m.mean('ic')), mean_rank_ic: num(m.mean('rank_ic')), icir: num(m.mean('icir')), walk_forward_rank_ic: num(m.walkForward.rank_ic),
      sleeve_mean_rank_ic: Object.fromEntries(Object.entries(m.sleeveIc).map(([nm, s]) => [nm, num(s.rank_ic)])),
    };
  });
}
