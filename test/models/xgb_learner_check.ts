/**
 * The XGBoost-learner checks shared by test/models/xgboost_learner.test.ts (Debian libxgboost, in
 * process) and its child process (the wheel's libxgboost: one libxgboost per process). Each check
 * trains through the learner and through the Booster directly, exactly as fit.cpcv does, and
 * reports what the test compares.
 * Run as a script (`node --import tsx xgb_learner_check.ts wheel`) it prints the report as JSON.
 */
import { createHash } from 'node:crypto';
import type { Panel } from '../../cv/panel.ts';
import type { TrainingSet } from '../../models/learner.ts';
import { openOnnxScorer } from '../../models/onnx/score.ts';
import { xgboostToOnnx, type XgbModelJson } from '../../models/onnx/trees.ts';
import { Booster, DMatrix, liveHandles, useXGBoostLibrary, xgboostApi, type BoosterParams } from '../../models/xgboost/binding.ts';
import { xgboostLearner, XGBoostModel } from '../../models/xgboost/learner.ts';
import { trainBooster } from '../../models/xgboost/train.ts';
import { relevanceGrades } from '../../models/lightgbm/learner.ts';
import { dateRows, loadLearnerPanel, maxAbsDiff, slice } from './sp500_matrix.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const fsha = (p: Float32Array): string => sha(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));

export interface CaseReport {
  width: number;
  bestIteration: number;
  rounds: number;
  validMetric: string | null;
  /** sha256 of the learner's and the direct Booster's test predictions. */
  learnerPred: string;
  directPred: string;
  /** The learner's ONNX bytes equal xgboostToOnnx of the direct booster's JSON (best rounds). */
  onnxSame: boolean;
  /** max |ONNX Y − learner prediction| on the test rows. */
  onnxMaxDiff: number;
  /** A booster reloaded from save() predicts like the learner. */
  reloadSame: boolean;
}

/** The direct path: cpcv_run's buildDMatrix + trainBooster + predict(iterationEnd = best + 1). */
async function direct(fit: TrainingSet, valid: TrainingSet, test: TrainingSet, params: BoosterParams, esr: number): Promise<{ pred: Float32Array; json: Uint8Array; best: number }> {
  const mk = (s: TrainingSet, weights: boolean): DMatrix => {
    const d = new DMatrix(s.X, s.nRows, s.nFeatures, { label: s.y, weight: weights && !s.groups ? s.weight : undefined });
    if (s.groups) {
      d.setGroups(s.groups);
      if (weights && s.weight) d.setFloatInfo('weight', s.weight, true);
    }
    return d;
  };
  const dtrain = mk(fit, true), dvalid = mk(valid, false), dtest = new DMatrix(test.X, test.nRows, test.nFeatures);
  try {
    const res = await trainBooster({ params, dtrain, dvalid, numRounds: 120, earlyStoppingRounds: esr });
    try {
      return { pred: res.booster.predict(dtest, { iterationEnd: res.bestIteration + 1 }).values, json: res.booster.saveModel('json'), best: res.bestIteration };
    } finally {
      res.booster.free();
    }
  } finally {
    dtrain.free();
    dvalid.free();
    dtest.free();
  }
}

/** One case: 60% fit / 20% valid / 20% test dates of the panel, with time-decay weights. */
async function runCase(panel: Panel, params: BoosterParams, y: (i: number) => number, groups: boolean): Promise<CaseReport> {
  const nd = panel.uniqueDates.length;
  const [a, b] = dateRows(panel, 0, Math.floor(nd * 0.6));
  const [c, d] = dateRows(panel, Math.floor(nd * 0.6), Math.floor(nd * 0.8));
  const [e, f] = dateRows(panel, Math.floor(nd * 0.8), nd);
  const last = panel.dateIdx[b - 1]!;
  const decay = (i: number): number => Math.pow(0.5, (last - panel.dateIdx[i]!) / 252);
  const fit = slice(panel, a, b, y, { groups, weight: decay });
  const valid = slice(panel, c, d, y, { groups });
  // XGBoost ≥ 2 requires integer relevance labels for ndcg: grade the returns within each date
  if (groups) for (const s of [fit, valid]) s.y = relevanceGrades(s.y, s.groups!, 5);
  const test = slice(panel, e, f, y);
  const m = (await xgboostLearner.fit(fit, { params, numRounds: 120, valid, earlyStoppingRounds: 8 })) as XGBoostModel;
  try {
    const ref = await direct(fit, valid, test, params, 8);
    const pred = m.predict(test.X, test.nRows);
    const onnx = m.toOnnx(panel.featureNames);
    const refOnnx = xgboostToOnnx(JSON.parse(Buffer.from(ref.json).toString('utf8')) as XgbModelJson, { featureNames: panel.featureNames, nRounds: ref.best + 1 });
    const scorer = await openOnnxScorer(onnx);
    const out = await scorer.run(test.X, test.nRows, test.nFeatures);
    await scorer.release();
    const reloaded = Booster.fromBuffer(m.save());
    const dtest = new DMatrix(test.X, test.nRows, test.nFeatures);
    const again = reloaded.predict(dtest).values;
    dtest.free();
    reloaded.free();
    return {
      width: m.width, bestIteration: m.bestIteration, rounds: m.rounds, validMetric: m.validMetric,
      learnerPred: fsha(pred), directPred: fsha(ref.pred), onnxSame: sha(onnx) === sha(refOnnx),
      onnxMaxDiff: maxAbsDiff(out.Y!, pred), reloadSame: fsha(again) === fsha(pred),
    };
  } finally {
    m.free();
  }
}

/** Regression (weights), rank:pairwise (per-date groups and weights), 3-class softprob, binary. */
export async function xgbLearnerReport(panel: Panel): Promise<{ version: string; cases: Record<string, CaseReport>; live: typeof liveHandles }> {
  const base = { tree_method: 'hist', max_depth: 4, eta: 0.2, subsample: 0.8, colsample_bytree: 0.8, min_child_weight: 20, seed: 3, nthread: 2 };
  const cases: Record<string, CaseReport> = {
    regression: await runCase(panel, { ...base, objective: 'reg:squarederror', eval_metric: 'rmse' }, (i) => panel.ret[i]!, false),
    rank: await runCase(panel, { ...base, objective: 'rank:pairwise', eval_metric: 'ndcg' }, (i) => panel.ret[i]!, true),
    multiclass: await runCase(panel, { ...base, objective: 'multi:softprob', num_class: 3, eval_metric: 'mlogloss' }, (i) => panel.label[i]! + 1, false),
    binary: await runCase(panel, { ...base, objective: 'binary:logistic', eval_metric: 'logloss' }, (i) => (panel.ret[i]! > 0 ? 1 : 0), false),
  };
  return { version: xgboostApi().version, cases, live: { ...liveHandles } };
}

if (process.argv[1]?.endsWith('xgb_learner_check.ts')) {
  useXGBoostLibrary(process.argv[2] ?? 'debian');
  const report = await xgbLearnerReport(await loadLearnerPanel());
  process.stdout.write(JSON.stringify(report) + '\n');
}
