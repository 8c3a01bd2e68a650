/**
 * The CPCV protocol over any Learner (models/learner.ts): López de Prado, AFML ch. 7 (purging,
 * embargo) and ch. 12 (CPCV, φ backtest paths).
 *
 * 1. Layout: N contiguous date groups, the C(N, k) splits, the path table (cv/cpcv.ts).
 * 2. Trials: every trial is a full CPCV run (cv/trials.ts); all are recorded in the trial ledger.
 * 3. Selection: the trial with the best configured metric (mean rank IC by default).
 * 4. Walk-forward reference of the selected trial (path 0, cv/walk_forward.ts).
 * 5. Final refit on all rows, ONNX export and parity (cv/refit.ts).
 * 6. Leakage check on the OOF rank IC and each feature's univariate rank IC (cv/leakage.ts).
 * 7. Artifacts: signals.oof through the shared OOF writer (cv/oof.ts), trial ledger and returns,
 *    native and ONNX model, metrics JSON.
 * The caller loads the panel (cv/panel.ts: the DuckDB table `panel` must stay in `con`).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ArtifactRef, ArtifactStore } from '../artifacts/store.ts';
import { StepError } from '../lib/errors.ts';
import type { Learner, LearnerParams } from '../models/learner.ts';
import { cpcvSplits, dateGroups, nPaths, pathTable, walkForwardFolds } from './cpcv.ts';
import type { FoldEnv, FoldSettings } from './fold.ts';
import { checkLeakage, featureRankIcs, type LeakageReport, type LeakageThresholds } from './leakage.ts';
import { ledgerDoc, writeTrialReturns } from './ledger.ts';
import { dailyIc, summarizeIc, type IcSummary } from './metrics.ts';
import { cpcvOofRows, walkForwardOofRows, writeSignal } from './oof.ts';
import { panelLabelRanks, type Panel } from './panel.ts';
import { refitFinal, type Refit } from './refit.ts';
import { fitMetricsDoc } from './report.ts';
import { makeCodec, type TargetSpec, type TaskCodec } from './target.ts';
import { releaseSummarized, runCpcvTrials, selectTrial, summarizeTrials, type CvLayout, type Selection, type TrialSummary } from './trials.ts';
import type { WalkForwardRun } from './walk_forward.ts';
import { runWalkForward } from './walk_forward.ts';

/** What one CPCV fit is: the learner, target, layout, trials and checks. */
export interface CpcvSpec {
  sleeve: string;
  learner: Learner;
  target: TargetSpec;
  nGroups: number;
  nTestGroups: number;
  settings: FoldSettings;
  /** Every configuration to try (grid points or sampled), in trial order. */
  trials: LearnerParams[];
  selection: Selection;
  leakage: LeakageThresholds & { action: 'fail' | 'warn' };
  /** File-name stem of the model artifacts (`<stem>.onnx`, `<stem>.<nativeExt>`). */
  modelStem: string;
  /** Extension and media type of the learner's native model. */
  native: { ext: string; mediaType: string };
}

/** Where the protocol runs: artifact store, progress, logging, cancellation. */
export interface ProtocolEnv {
  artifacts: ArtifactStore;
  signal: AbortSignal;
  progress(p: { fraction?: number; current?: number; total?: number; message?: string }): void;
  log: { warn(obj: object, msg: string): void };
}

/** The fit's artifacts and headline figures. */
export interface CpcvResult {
  task: 'regression' | 'classification';
  layout: CvLayout;
  trialIds: string[];
  selectedTrial: string;
  selectedParams: LearnerParams;
  finalRounds: number;
  selected: TrialSummary['metrics'];
  walkForward: IcSummary;
  insample: IcSummary;
  parity: Refit['parity'];
  leakage: LeakageReport;
  artifacts: { oof: ArtifactRef; walk_forward: ArtifactRef; ledger: ArtifactRef; returns: ArtifactRef; onnx: ArtifactRef; native: ArtifactRef; metrics: ArtifactRef };
}

/** The CPCV layout of `panel` with N groups and k test groups. */
export function cvLayout(panel: Panel, nGroups: number, nTestGroups: number): CvLayout {
  const groups = dateGroups(panel.uniqueDates.length, nGroups);
  const splits = cpcvSplits(nGroups, nTestGroups);
  const groupOfRow = new Int32Array(panel.n);
  for (const g of groups) for (let d = g.firstIdx; d <= g.lastIdx; d++) for (let i = panel.blocks[d]!; i < panel.blocks[d + 1]!; i++) groupOfRow[i] = g.group;
  return { groups, splits, table: pathTable(splits, nGroups), phi: nPaths(nGroups, nTestGroups), groupOfRow };
}

/** Runs the whole protocol on a loaded panel and writes its artifacts. Errors: see the modules' docs. */
export async function runCpcvProtocol(env: ProtocolEnv, con: DuckDBConnection, panel: Panel, spec: CpcvSpec): Promise<CpcvResult> {
  const t0 = performance.now();
  const codec = makeCodec(spec.target, panel);
  const layout = cvLayout(panel, spec.nGroups, spec.nTestGroups);
  const trialIds = spec.trials.map((_, t) => `${spec.sleeve}:t${t}`);
  const total = layout.splits.length * spec.trials.length + walkForwardFolds(spec.nGroups).length + 1;
  let done = 0;
  const onFitDone = (): void => {
    done++;
    env.progress({ fraction: done / total, current: done, total, message: `fit ${done}/${total}` });
  };
  const fold: FoldEnv = { learner: spec.learner, signal: env.signal, progress: (message) => env.progress({ message }) };
  const base = { panel, codec, layout, settings: spec.settings, onFitDone };
  const run = await runCpcvTrials(fold, { ...base, trials: spec.trials });
  const summaries = await summarizeTrials(fold, { panel, codec, run, trials: spec.trials, trialIds });
  const best = selectTrial(summaries, spec.selection);
  releaseSummarized(run, best);
  const sel = summaries[best]!;
  const params = spec.trials[best]!;
  const walkForward = await runWalkForward(fold, { ...base, params });
  const rounds = sel.metrics.median_best_iteration + 1;
  const onnxMeta = { sleeve: spec.sleeve, trial_id: sel.trial_id, task: codec.task };
  const refit = await refitFinal(fold, { panel, codec, params, rounds, settings: spec.settings, onnx: { classScore: codec.classScore, metadata: onnxMeta } });
  onFitDone();
  const ins = dailyIc(panel.blocks, refit.insample, panel.label, undefined, panelLabelRanks(panel));
  const insample = summarizeIc(ins.ic, ins.rankIc);
  const featureIc = await featureRankIcs(panel);
  const leakage = checkLeakage(sel.metrics.mean_rank_ic, featureIc, spec.leakage);
  if (leakage.suspicious) {
    const msg = `CPCV fit of sleeve ${spec.sleeve}: suspected look-ahead leakage — ${leakage.reasons.join('; ')}. Check the feature definitions and the labels' t1.`;
    if (spec.leakage.action === 'fail') throw new StepError({ message: msg, type: 'LeakageSuspected', nonRetryable: true, details: { leakage, feature_rank_ic: featureIc } });
    env.log.warn({ leakage }, msg);
  }
  env.progress({ fraction: 0.99, message: 'writing artifacts' });
  const written = await writeArtifacts(env, con, { panel, codec, layout, spec, run, best, summaries, walkForward, refit });
  const metrics = await env.artifacts.putJson(
    fitMetricsDoc({
      sleeve: spec.sleeve, engine: spec.learner.name, task: codec.task, panel, layout, run, selected: best, summaries, walkForward, refit, insample, featureIc, leakage,
      cv: { n_groups: spec.nGroups, n_test_groups: spec.nTestGroups, embargo_bars: spec.settings.embargoBars },
      positive: codec.positive, wallSeconds: (performance.now() - t0) / 1000,
    }),
    'metrics.json',
  );
  env.progress({ fraction: 1, message: `done: rank IC ${sel.metrics.mean_rank_ic.toFixed(4)}` });
  return {
    task: codec.task, layout, trialIds, selectedTrial: sel.trial_id, selectedParams: params, finalRounds: rounds, selected: sel.metrics,
    walkForward: walkForward.summary, insample, parity: refit.parity, leakage, artifacts: { ...written, metrics },
  };
}

/** OOF (paths + walk-forward), trial ledger and returns, ONNX and native model. */
async function writeArtifacts(
  env: ProtocolEnv,
  con: DuckDBConnection,
  a: { panel: Panel; codec: TaskCodec; layout: CvLayout; spec: CpcvSpec; run: Awaited<ReturnType<typeof runCpcvTrials>>; best: number; summaries: TrialSummary[]; walkForward: WalkForwardRun; refit: Refit },
): Promise<Omit<CpcvResult['artifacts'], 'metrics'>> {
  const { layout, run, best, walkForward: wf } = a;
  const probs = run.probs ? run.probs[best] : undefined;
  const src = { table: 'panel', label: true };
  const signal = await writeSignal(con, env.artifacts, {
    paths: { src, rows: cpcvOofRows(layout.groupOfRow, layout.table, run.scores[best]!, probs) },
    walkForward: { src, rows: walkForwardOofRows(layout.groupOfRow, wf.score, wf.splitOfRow, probs ? wf.prob : undefined) },
  }, 'oof');
  env.progress({ fraction: 0.995, message: 'writing trial ledger and model' });
  const returns = await writeTrialReturns(con, env.artifacts, a.summaries, a.panel.uniqueDates);
  const ledger = await env.artifacts.putJson(ledgerDoc({ sleeve: a.spec.sleeve, selection: a.spec.selection, selected: a.summaries[best]!.trial_id, summaries: a.summaries, splitRows: run.splitRows }), 'trial_ledger.json');
  const onnx = await env.artifacts.putBytes(a.refit.onnx, `${a.spec.modelStem}.onnx`, 'application/onnx');
  const native = await env.artifacts.putBytes(a.refit.native, `${a.spec.modelStem}.${a.spec.native.ext}`, a.spec.native.mediaType);
  return { oof: signal.oof, walk_forward: signal.walk_forward, ledger, returns, onnx, native };
}
