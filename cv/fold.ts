/**
 * One fold of the CPCV protocol (a CPCV split or a walk-forward fold) over any Learner: purged and
 * embargoed training rows (cv/cpcv.ts), the time-ordered early-stopping tail, date striding and
 * time-decay weights, then one model per trial that scores the fold's test rows.
 */
import { StepError } from '../lib/errors.ts';
import { NativeDataCache, type Learner, type LearnerParams } from '../models/learner.ts';
import { maskRows, splitMasks, validationTail, type DateGroup, type Split } from './cpcv.ts';
import { decayWeights, featureRows, strided, trainingSet } from './dataset.ts';
import { dailyIc, rocAuc, summarizeIc, type IcSummary } from './metrics.ts';
import { panelLabelRanks, type Panel } from './panel.ts';
import type { TaskCodec } from './target.ts';

/** Per-fold sampling and stopping settings (configs/training/*.yml `cv`, `sampling`, engine section). */
export interface FoldSettings {
  embargoBars: number;
  validationFraction: number;
  dateStride: number;
  halfLifeBars: number | null;
  numRounds: number;
  earlyStoppingRounds: number | null;
  /** One query group per date (ranking objectives). */
  perDateGroups: boolean;
}

/** What one fold's training of one trial reports. */
export interface TrialFit {
  best: number;
  rounds: number;
  metric: string | null;
  score: number | null;
}

/** A fold's layout and per-trial training results. */
export interface FoldRun {
  masks: { nTrain: number; nTest: number; nPurged: number; nEmbargoed: number };
  perTrial: TrialFit[];
  nFit: number;
  nValid: number;
  testRows: number[];
}

/** One row of the per-split table (metrics JSON, trial ledger). */
export interface FoldResult {
  split: number;
  test_groups: number[];
  n_train: number;
  n_fit: number;
  n_valid: number;
  n_test: number;
  n_purged: number;
  n_embargoed: number;
  best_iteration: number;
  rounds: number;
  valid_metric: string | null;
  valid_score: number | null;
  ic: number;
  rank_ic: number;
  icir: number;
  logloss?: number;
  auc?: number;
}

/** Where a fold runs: the learner, abort signal and a progress hook. */
export interface FoldEnv {
  learner: Learner;
  signal: AbortSignal;
  progress(message: string): void;
}

/**
 * Trains `trials` (one model each) on the fold's training rows and calls `sink(t, testRows, pred)`
 * with each model's `testRows.length × width` test predictions, then `onFitDone()`. Throws a
 * non-retryable StepError when purging/embargo leave no training row; learner errors propagate.
 */
export async function runFold(env: FoldEnv, a: {
  panel: Panel;
  codec: TaskCodec;
  groups: DateGroup[];
  split: Split;
  trials: LearnerParams[];
  settings: FoldSettings;
  onFitDone(): void;
  sink(trial: number, testRows: number[], pred: Float32Array): void;
}): Promise<FoldRun> {
  const { panel, codec, split, settings: s } = a;
  const masks = splitMasks(panel, panel.uniqueDates, a.groups, split, s.embargoBars);
  if (masks.nTrain === 0) throw new StepError({ message: `CPCV split ${split.split} (test groups ${split.testGroups.join(',')}) has no training sample left after purging/embargo: use fewer groups or a shorter embargo`, type: 'BadInput', nonRetryable: true });
  const tail = validationTail(panel, panel.uniqueDates, masks.train, s.validationFraction);
  const fitRows = strided(panel, tail.fit, s.dateStride);
  const validRows = strided(panel, tail.valid, s.dateStride);
  const testRows = maskRows(masks.test);
  const train = trainingSet(panel, fitRows, codec.target, decayWeights(panel, fitRows, s.halfLifeBars), s.perDateGroups);
  const valid = validRows.length > 0 ? trainingSet(panel, validRows, codec.target, null, s.perDateGroups) : undefined;
  const xTest = featureRows(panel, testRows);
  const perTrial: TrialFit[] = [];
  // the trials share the fold's native training data (a DMatrix's histogram index, a Dataset's bins)
  const reuse = new NativeDataCache();
  try {
    for (let t = 0; t < a.trials.length; t++) {
      const model = await env.learner.fit(train, {
        params: a.trials[t]!,
        numRounds: s.numRounds,
        valid,
        earlyStoppingRounds: s.earlyStoppingRounds,
        signal: env.signal,
        reuse,
        onRound: (iter) => {
          if (iter % 25 === 24) env.progress(`split ${split.split} trial ${t} round ${iter + 1}`);
        },
      });
      try {
        a.sink(t, testRows, model.predict(xTest, testRows.length));
        perTrial.push({ best: model.bestIteration, rounds: model.rounds, metric: model.validMetric, score: model.validScore });
      } finally {
        model.free();
      }
      a.onFitDone();
    }
  } finally {
    reuse.free();
  }
  return { masks, perTrial, nFit: fitRows.length, nValid: validRows.length, testRows };
}

/** A fold's metrics: the IC summary, the daily IC series it summarises, classifier log loss and AUC. */
export interface FoldMetrics {
  ic: IcSummary;
  /** Per date of the panel: IC and rank IC of the fold's test rows (NaN on other dates). */
  daily: { ic: Float64Array; rankIc: Float64Array };
  logloss?: number;
  auc?: number;
}

/** IC summary of `score` on `testRows` and, for classifiers, their mean log loss and ROC AUC. */
export function foldMetrics(panel: Panel, codec: TaskCodec, testRows: number[], score: Float32Array, loss: Float32Array | null): FoldMetrics {
  const include = new Uint8Array(panel.n);
  for (const i of testRows) include[i] = 1;
  const d = dailyIc(panel.blocks, score, panel.label, include, panelLabelRanks(panel));
  const out: FoldMetrics = { ic: summarizeIc(d.ic, d.rankIc), daily: d };
  if (codec.task === 'classification' && loss && codec.positive) {
    let s = 0;
    for (const i of testRows) s += loss[i]!;
    out.logloss = s / testRows.length;
    out.auc = rocAuc(testRows.map((i) => score[i]!), testRows.map((i) => codec.positive![i]!));
  }
  return out;
}

/** The per-split table row of a fold's trial. */
export function foldRow(split: Split, run: FoldRun, t: number, m: Pick<FoldMetrics, 'ic' | 'logloss' | 'auc'>): FoldResult {
  const pt = run.perTrial[t]!;
  return {
    split: split.split, test_groups: split.testGroups, n_train: run.masks.nTrain, n_fit: run.nFit, n_valid: run.nValid,
    n_test: run.masks.nTest, n_purged: run.masks.nPurged, n_embargoed: run.masks.nEmbargoed,
    best_iteration: pt.best, rounds: pt.rounds, valid_metric: pt.metric, valid_score: pt.score,
    ic: m.ic.ic, rank_ic: m.ic.rank_ic, icir: m.ic.icir, logloss: m.logloss, auc: m.auc,
  };
}
