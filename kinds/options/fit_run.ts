/**
 * The body of `options.fit` (imported lazily): load features ⋈ labels (cv/panel.ts), run every ridge
 * trial over the C(N, k) CPCV splits (cv/trials.ts `runCpcvTrials`: purging by t1, embargo in bars),
 * summarise each trial with time-series metrics, select one, run its walk-forward path 0, refit it
 * on all rows with ONNX export and parity, check for leakage, and write signals.oof, the trial
 * ledger and the model bundle.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { z } from 'zod';
import { calendarFor } from '../../calendar/calendar.ts';
import { cpcvOofRows, walkForwardOofRows, writeSignal } from '../../cv/oof.ts';
import { clean, ledgerDoc, writeTrialReturns } from '../../cv/ledger.ts';
import { annualizedSharpe, meanStd } from '../../cv/metrics.ts';
import { loadPanel, lowerBound, type Panel } from '../../cv/panel.ts';
import { checkEmbargo } from '../../cv/embargo.ts';
import { cvLayout } from '../../cv/protocol.ts';
import { refitFinal } from '../../cv/refit.ts';
import { makeCodec } from '../../cv/target.ts';
import { runCpcvTrials, selectTrial, type CpcvTrialsRun, type CvLayout, type TrialSummary } from '../../cv/trials.ts';
import { runWalkForward } from '../../cv/walk_forward.ts';
import type { FoldEnv, FoldSettings } from '../../cv/fold.ts';
import { withDuckDB } from '../../lib/duckdb.ts';
import { InputError, StepError } from '../../lib/errors.ts';
import { digestJson } from '../../lib/hash.ts';
import { RidgeLearner } from '../../models/ridge.ts';
import type { LearnerParams } from '../../models/learner.ts';
import { signStream, tsIc } from '../../options/learn/ts-metrics.ts';
import type { fitConsumes } from '../fit/schema.ts';
import type { StepContext } from '../types.ts';
import { learnerConfigSchema, loadOptionsConfig } from './config.ts';
import type { optionsFitOutputs } from './fit.ts';
import { assertNotRedWithin } from './guard.ts';

type Ctx = StepContext<typeof fitConsumes>;
type Cfg = z.output<typeof learnerConfigSchema>;

/** What the trial return stream is, recorded in the ledger. */
export const OPTIONS_STREAM_DEFINITION =
  'per session: sign(OOF score)·(delta-hedged straddle P&L ÷ premium ÷ horizon in sessions) — long the hedged ATM straddle when the predicted P&L is positive, short otherwise — averaged over the CPCV paths';

const iso = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);
const n = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Time-series summary of trial `t` (ledger metrics, per-path figures and its sign stream). */
function summarize(panel: Panel, run: CpcvTrialsRun, t: number, id: string, params: LearnerParams): TrialSummary {
  const perPath = run.scores[t]!.map((sc, p) => {
    const m = tsIc(sc, panel.label);
    return { path: p + 1, ic: m.ic, rank_ic: m.rank_ic, icir: NaN, rank_ic_tstat: m.rank_ic_tstat, n_dates: m.n, hit_rate: m.hit_rate, ls: signStream(panel.blocks, sc, panel.retDaily) };
  });
  const stream = new Float64Array(panel.uniqueDates.length).fill(NaN);
  for (let d = 0; d < stream.length; d++) {
    const v = perPath.map((p) => p.ls[d]!).filter(Number.isFinite);
    if (v.length) stream[d] = v.reduce((a, b) => a + b, 0) / v.length;
  }
  const mean = (f: (x: (typeof perPath)[number]) => number) => meanStd(perPath.map(f)).mean;
  return {
    trial_id: id, params, perPath, stream, pathScores: run.scores[t]!,
    metrics: { mean_ic: mean((p) => p.ic), mean_rank_ic: mean((p) => p.rank_ic), icir: NaN, sharpe: annualizedSharpe(stream, panel.calendar), median_best_iteration: 0, hit_rate: mean((p) => p.hit_rate) } as TrialSummary['metrics'],
  };
}

/** The split table rows of trial `t` with the time-series IC of each split's test rows. */
function splitTable(panel: Panel, layout: CvLayout, run: CpcvTrialsRun, t: number) {
  return run.splitRows[t]!.map((r) => {
    const rows: number[] = [];
    const score = new Float64Array(panel.n).fill(NaN);
    for (let i = 0; i < panel.n; i++) {
      const g = layout.groupOfRow[i]!;
      if (!r.test_groups.includes(g)) continue;
      rows.push(i);
      score[i] = run.scores[t]![layout.table[g - 1]!.indexOf(r.split)]![i]!;
    }
    const m = tsIc(score, panel.label, rows);
    return { ...r, ic: m.ic, rank_ic: m.rank_ic, icir: NaN };
  });
}

/** The longest label interval [date, t1] of the panel in sessions (t1 past the last date counts to the last date). */
function longestLabel(panel: Panel): number {
  let m = 0;
  for (let i = 0; i < panel.n; i++) m = Math.max(m, Math.min(lowerBound(panel.uniqueDates, panel.t1[i]!), panel.uniqueDates.length - 1) - panel.dateIdx[i]!);
  return m;
}

/** Leakage check on the OOF IC and each feature's time-series IC with the label. */
function leakage(panel: Panel, oofIc: number, cfg: Cfg) {
  const reasons: string[] = [];
  const features: Record<string, number> = {};
  for (let j = 0; j < panel.nFeatures; j++) {
    const col = Float64Array.from({ length: panel.n }, (_, i) => panel.X[i * panel.nFeatures + j]!);
    const ic = tsIc(col, panel.label).ic;
    features[panel.featureNames[j]!] = ic;
    if (Math.abs(ic) > cfg.leakage.max_abs_feature_ic) reasons.push(`feature "${panel.featureNames[j]}" has time-series IC ${ic.toFixed(3)} with the label (> |${cfg.leakage.max_abs_feature_ic}|): does it read data after its date?`);
  }
  if (Math.abs(oofIc) > cfg.leakage.max_abs_oof_ic) reasons.push(`OOF IC ${oofIc.toFixed(3)} exceeds |${cfg.leakage.max_abs_oof_ic}|`);
  return { suspicious: reasons.length > 0, reasons, features };
}

/** Runs the fit (see module docs). Throws InputError on a calendar mismatch, StepError('LeakageSuspected') per config. */
export async function runOptionsFit(ctx: Ctx, w: { sleeve: string; config: string }): Promise<z.input<typeof optionsFitOutputs>> {
  const cfg = loadOptionsConfig(ctx.projectRoot, w.config, learnerConfigSchema);
  const f = ctx.input('features');
  const l = ctx.input('labels');
  if (l.value.task !== 'regression') throw new StepError({ message: `options.fit learns a regression label; ${l.step} provides ${l.value.task}`, type: 'BadInput', nonRetryable: true });
  if (l.value.calendar !== f.value.calendar) throw new InputError({ message: `features (${f.step}, ${f.value.calendar}) and labels (${l.step}, ${l.value.calendar}) are on different calendars`, details: { features: f.value.calendar, labels: l.value.calendar } });
  const calendar = calendarFor(f.value.calendar);
  return withDuckDB(async (con) => {
    const panel = await loadPanel(con, ctx.artifacts.path(f.value), ctx.artifacts.path(l.value), f.value.feature_names, calendar);
    assertNotRedWithin(ctx.inputs('quality'), iso(panel.uniqueDates[0]!), iso(panel.uniqueDates.at(-1)!));
    if (panel.n !== panel.uniqueDates.length) throw new StepError({ message: `options.fit expects one row per date; the panel has ${panel.n} rows on ${panel.uniqueDates.length} dates`, type: 'BadInput', nonRetryable: true });
    checkEmbargo(cfg.cv.embargo_bars, Math.max(l.value.max_horizon_bars, longestLabel(panel)), false, ctx.log, `options.fit of sleeve ${w.sleeve}`);
    return fitOnPanel(ctx, con, panel, cfg, w);
  });
}

async function fitOnPanel(ctx: Ctx, con: DuckDBConnection, panel: Panel, cfg: Cfg, w: { sleeve: string; config: string }): Promise<z.input<typeof optionsFitOutputs>> {
  const codec = makeCodec({ task: 'regression', transform: 'none' }, panel);
  const layout = cvLayout(panel, cfg.cv.n_groups, cfg.cv.n_test_groups);
  const trials: LearnerParams[] = cfg.ridge.lambda.map((lambda) => ({ lambda }));
  const ids = trials.map((_, t) => `${w.sleeve}:t${t}`);
  const settings: FoldSettings = { embargoBars: cfg.cv.embargo_bars, validationFraction: 0, dateStride: 1, halfLifeBars: null, numRounds: 1, earlyStoppingRounds: null, perDateGroups: false };
  const total = layout.splits.length * trials.length + cfg.cv.n_groups;
  let done = 0;
  const fold: FoldEnv = { learner: new RidgeLearner(), signal: ctx.signal, progress: (message) => ctx.progress({ message }) };
  const onFitDone = () => ctx.progress({ fraction: ++done / total, current: done, total, message: `fit ${done}/${total}` });
  const run = await runCpcvTrials(fold, { panel, codec, layout, trials, settings, onFitDone });
  const summaries = trials.map((p, t) => summarize(panel, run, t, ids[t]!, p));
  const best = selectTrial(summaries, cfg.selection === 'ic' ? 'ic' : cfg.selection);
  const sel = summaries[best]!;
  const wf = await runWalkForward(fold, { panel, codec, layout, params: trials[best]!, settings, onFitDone });
  const refit = await refitFinal(fold, { panel, codec, params: trials[best]!, rounds: 1, settings, onnx: { metadata: { sleeve: w.sleeve, trial_id: sel.trial_id, task: 'regression' } } });
  const leak = leakage(panel, sel.metrics.mean_ic, cfg);
  if (leak.suspicious) {
    const msg = `options.fit of sleeve ${w.sleeve}: suspected look-ahead leakage — ${leak.reasons.join('; ')}`;
    if (cfg.leakage.action === 'fail') throw new StepError({ message: msg, type: 'LeakageSuspected', nonRetryable: true, details: leak });
    ctx.log.warn({ leakage: leak }, msg);
  }
  const src = { table: 'panel', label: true };
  const signal = await writeSignal(con, ctx.artifacts, {
    paths: { src, rows: cpcvOofRows(layout.groupOfRow, layout.table, run.scores[best]!) },
    walkForward: { src, rows: walkForwardOofRows(layout.groupOfRow, wf.score, wf.splitOfRow) },
  }, `${w.sleeve}_oof`);
  const returns = await writeTrialReturns(con, ctx.artifacts, summaries, panel.uniqueDates);
  const splitRows = trials.map((_, t) => splitTable(panel, layout, run, t));
  const ledger = await ctx.artifacts.putJson({ ...ledgerDoc({ sleeve: w.sleeve, selection: cfg.selection, selected: sel.trial_id, summaries, splitRows }), stream: OPTIONS_STREAM_DEFINITION }, 'trial_ledger.json');
  const wfIc = tsIc(wf.score, panel.label);
  const insIc = tsIc(refit.insample, panel.label);
  const cv = { n_groups: cfg.cv.n_groups, n_test_groups: cfg.cv.n_test_groups, embargo_bars: cfg.cv.embargo_bars };
  const metricsDoc = {
    sleeve: w.sleeve, engine: 'ridge', cv, n_rows: panel.n, features: panel.featureNames, selected: sel.trial_id,
    trials: summaries.map((s) => ({ trial_id: s.trial_id, params: s.params, metrics: clean(s.metrics), per_path: s.perPath.map(({ ls: _ls, ...p }) => clean(p)) })),
    walk_forward: clean(wfIc), insample: clean(insIc), leakage: { ...leak, features: clean(leak.features) }, parity: refit.parity,
    cv_layout: run.cvLayout, groups: layout.groups.map((g) => ({ group: g.group, first: iso(panel.uniqueDates[g.firstIdx]!), last: iso(panel.uniqueDates[g.lastIdx]!) })),
  };
  const metrics = await ctx.artifacts.putJson(metricsDoc, 'metrics.json');
  const onnx = await ctx.artifacts.putBytes(refit.onnx, `${w.sleeve}.onnx`, 'application/onnx');
  const native = await ctx.artifacts.putBytes(refit.native, `${w.sleeve}.ridge.json`, 'application/json');
  const f = ctx.input('features');
  const featureList = await ctx.artifacts.putJson({ feature_names: f.value.feature_names, features_step: f.step, feature_set_version: f.value.feature_set_version, registry_digest: f.value.registry_digest }, 'feature_list.json');
  const configDoc = { sleeve: w.sleeve, engine: 'ridge', config_file: w.config, config: cfg, selected_params: trials[best], calendar: panel.calendar.name, labels_step: ctx.input('labels').step };
  const trainingConfig = await ctx.artifacts.putJson(configDoc, 'training_config.json');
  return {
    oof: { sleeve: w.sleeve, task: 'regression', calendar: f.value.calendar, n_paths: layout.phi, components: [], cv, oof: signal.oof, walk_forward: signal.walk_forward },
    trials: { sleeve: w.sleeve, n_trials: trials.length, ledger, returns },
    model: { sleeve: w.sleeve, task: 'regression', engine: 'ridge', feature_names: f.value.feature_names, onnx, native, feature_list: featureList, training_config: trainingConfig, training_config_digest: digestJson(configDoc), metrics },
    sleeve: w.sleeve, engine: 'ridge', n_rows: panel.n, n_features: panel.nFeatures, ...cv, n_splits: layout.splits.length, n_paths: layout.phi, n_trials: trials.length,
    selected_trial: sel.trial_id, selected_params: trials[best]!, oof_ic: n(sel.metrics.mean_ic), oof_rank_ic: n(sel.metrics.mean_rank_ic),
    oof_hit_rate: n((sel.metrics as { hit_rate?: number }).hit_rate ?? NaN), stream_sharpe: n(sel.metrics.sharpe), walk_forward_ic: n(wfIc.ic), walk_forward_rank_ic: n(wfIc.rank_ic), insample_ic: n(insIc.ic),
    onnx_parity_max_abs_diff: refit.parity.maxAbsDiff, leakage_suspect: leak.suspicious,
  };
}
