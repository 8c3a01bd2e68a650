/**
 * The trial loop of the CPCV protocol: every trial (grid point or sampled configuration) is a full
 * CPCV run over the C(N, k) splits; its out-of-fold scores are scattered into the φ backtest paths
 * (AFML ch. 12.4), every trial is summarised (path metrics, daily return stream) for the trial
 * ledger, and one trial is selected by the configured metric.
 */
import type { ArtifactRef } from '../artifacts/store.ts';
import { StepError } from '../lib/errors.ts';
import type { LearnerParams } from '../models/learner.ts';
import type { DateGroup, Split } from './cpcv.ts';
import { foldMetrics, foldRow, runFold, type FoldEnv, type FoldMetrics, type FoldResult, type FoldSettings } from './fold.ts';
import { annualizedSharpe, longShortReturns, meanStd, rocAuc, summarizeIc, type IcSummary } from './metrics.ts';
import type { Panel } from './panel.ts';
import type { TaskCodec } from './target.ts';

/** The CPCV layout of a panel: groups, splits, path table, φ and each row's group. */
export interface CvLayout {
  groups: DateGroup[];
  splits: Split[];
  /** `table[g-1][p-1]` = the split whose predictions of group g form path p. */
  table: number[][];
  phi: number;
  groupOfRow: Int32Array;
}

/** Per trial × path arrays of length panel.n (NaN where a row has no value). */
export type PathArrays = Float32Array[][];

/** Out-of-fold results of every trial. */
export interface CpcvTrialsRun {
  scores: PathArrays;
  losses: PathArrays | null;
  probs: PathArrays | null;
  /** Per trial: one row per split. */
  splitRows: FoldResult[][];
  /** Per split: the purge/embargo layout. */
  cvLayout: Record<string, unknown>[];
  /**
   * Per trial × path: the daily IC and rank IC of the path's scores, taken from the split that
   * predicted each date (a path's date is one split's test date, all its rows, so the split's daily
   * figure is the path's, to the bit).
   */
  pathDaily: { ic: Float64Array; rankIc: Float64Array }[][];
}

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

const pathArrays = (nTrials: number, phi: number, n: number): PathArrays => Array.from({ length: nTrials }, () => Array.from({ length: phi }, () => new Float32Array(n).fill(NaN)));

/**
 * Runs every trial on every CPCV split. Test predictions of split s for group g go to the path
 * `table[g-1].indexOf(s)`. Throws StepError('Cancelled') when `env.signal` aborts between splits.
 */
export async function runCpcvTrials(env: FoldEnv, a: { panel: Panel; codec: TaskCodec; layout: CvLayout; trials: LearnerParams[]; settings: FoldSettings; onFitDone(): void }): Promise<CpcvTrialsRun> {
  const { panel, codec, layout, trials } = a;
  const scores = pathArrays(trials.length, layout.phi, panel.n);
  const losses = codec.task === 'classification' ? pathArrays(trials.length, layout.phi, panel.n) : null;
  const probs = codec.probUp ? pathArrays(trials.length, layout.phi, panel.n) : null;
  const splitRows: FoldResult[][] = trials.map(() => []);
  const cvLayout: Record<string, unknown>[] = [];
  const nDates = panel.uniqueDates.length;
  const pathDaily = trials.map(() => Array.from({ length: layout.phi }, () => ({ ic: new Float64Array(nDates).fill(NaN), rankIc: new Float64Array(nDates).fill(NaN) })));
  for (const split of layout.splits) {
    if (env.signal.aborted) throw new StepError({ message: 'CPCV fit cancelled', type: 'Cancelled', nonRetryable: true });
    // one buffer pair for every trial of the split: a trial's test rows are written, its fold
    // metrics taken (they read those rows only), and the rows reset, with no panel-sized copy a trial
    const testScore = new Float32Array(panel.n).fill(NaN);
    const testLoss = new Float32Array(panel.n).fill(NaN);
    const pending: { t: number; m: FoldMetrics }[] = [];
    // 0-based path fed by this split's predictions of each of its test groups
    const pathOfGroup = new Int32Array(layout.groups.length + 1).fill(-1);
    for (const g of split.testGroups) pathOfGroup[g] = layout.table[g - 1]!.indexOf(split.split);
    const run = await runFold(env, {
      panel, codec, groups: layout.groups, split, trials, settings: a.settings, onFitDone: a.onFitDone,
      sink: (t, rows, pred) => {
        for (let r = 0; r < rows.length; r++) {
          const i = rows[r]!;
          const s = codec.score(pred, r * codec.width);
          const p = pathOfGroup[layout.groupOfRow[i]!]!;
          scores[t]![p]![i] = s;
          testScore[i] = s;
          if (probs) probs[t]![p]![i] = codec.probUp!(pred, r * codec.width);
          if (losses) {
            const l = codec.loss(pred, r * codec.width, i);
            losses[t]![p]![i] = l;
            testLoss[i] = l;
          }
        }
        pending.push({ t, m: foldMetrics(panel, codec, rows, testScore, losses ? testLoss : null) });
        for (const i of rows) testScore[i] = testLoss[i] = NaN;
      },
    });
    for (const { t, m } of pending) {
      splitRows[t]!.push(foldRow(split, run, t, m));
      for (const g of split.testGroups) {
        const into = pathDaily[t]![pathOfGroup[g]!]!;
        const grp = layout.groups[g - 1]!;
        for (let d = grp.firstIdx; d <= grp.lastIdx; d++) {
          into.ic[d] = m.daily.ic[d]!;
          into.rankIc[d] = m.daily.rankIc[d]!;
        }
      }
    }
    cvLayout.push({ split: split.split, test_groups: split.testGroups, n_train: run.masks.nTrain, n_test: run.masks.nTest, n_purged: run.masks.nPurged, n_embargoed: run.masks.nEmbargoed });
  }
  return { scores, losses, probs, splitRows, cvLayout, pathDaily };
}

/** One path's metrics of a trial, with its daily long/short stream `ls`. */
export type PathMetrics = IcSummary & { path: number; ls: Float64Array; logloss?: number; auc?: number };

/** A trial's summary: ledger metrics, path metrics and its return stream. */
export interface TrialSummary {
  trial_id: string;
  params: LearnerParams;
  metrics: { mean_ic: number; mean_rank_ic: number; icir: number; sharpe: number; median_best_iteration: number; logloss?: number; auc?: number };
  perPath: PathMetrics[];
  /** Per bar: the long/short return averaged over the paths with a value (NaN when none). */
  stream: Float64Array;
  /** Per path (0-based, path p+1): the trial's OOF score of every panel row (NaN = none); the run's arrays, not copies. */
  pathScores: Float32Array[];
  /** The trial-scores Parquet once cv/ledger.ts `writeTrialReturns` wrote it (ledgerDoc records it). */
  scores?: ArtifactRef;
}

/** Metrics of every path of trial `t` (IC summary, classifier log loss/AUC, long/short stream). */
async function pathMetrics(env: FoldEnv, panel: Panel, codec: TaskCodec, run: CpcvTrialsRun, t: number, nTrials: number): Promise<PathMetrics[]> {
  const list: PathMetrics[] = [];
  for (let p = 0; p < run.scores[t]!.length; p++) {
    // per-path metrics are a few hundred ms each on the full panel: let heartbeats through
    await yieldToEventLoop();
    env.progress(`metrics: trial ${t + 1}/${nTrials}, path ${p + 1}/${run.scores[t]!.length}`);
    const sc = run.scores[t]![p]!;
    const d = run.pathDaily[t]![p]!;
    const s = summarizeIc(d.ic, d.rankIc);
    const extra: { logloss?: number; auc?: number } = {};
    if (run.losses && codec.positive) {
      extra.logloss = meanStd(run.losses[t]![p]!).mean;
      extra.auc = rocAuc(sc, codec.positive);
    }
    list.push({ path: p + 1, ...s, ...extra, ls: longShortReturns(panel.blocks, sc, panel.retDaily) });
  }
  return list;
}

/** Mean over the paths (with a value) of each bar's long/short return: the trial's return stream. */
function trialStream(perPath: PathMetrics[], nDates: number): Float64Array {
  const stream = new Float64Array(nDates);
  for (let d = 0; d < nDates; d++) {
    let s = 0, c = 0;
    for (const pp of perPath) if (Number.isFinite(pp.ls[d]!)) {
      s += pp.ls[d]!;
      c++;
    }
    stream[d] = c ? s / c : NaN;
  }
  return stream;
}

/**
 * Summarises every trial: mean IC / rank IC / ICIR over the paths, the annualised Sharpe of its
 * stream (the panel's calendar), the median best iteration over the splits, and for classifiers the
 * mean log loss and AUC.
 */
export async function summarizeTrials(env: FoldEnv, a: { panel: Panel; codec: TaskCodec; run: CpcvTrialsRun; trials: LearnerParams[]; trialIds: string[] }): Promise<TrialSummary[]> {
  const out: TrialSummary[] = [];
  for (let t = 0; t < a.trials.length; t++) {
    const perPath = await pathMetrics(env, a.panel, a.codec, a.run, t, a.trials.length);
    const stream = trialStream(perPath, a.panel.uniqueDates.length);
    const mean = (f: (x: PathMetrics) => number | undefined): number => meanStd(perPath.map((x) => f(x) ?? NaN)).mean;
    const bests = a.run.splitRows[t]!.map((r) => r.best_iteration).sort((x, y) => x - y);
    out.push({
      trial_id: a.trialIds[t]!,
      params: a.trials[t]!,
      metrics: {
        mean_ic: mean((x) => x.ic),
        mean_rank_ic: mean((x) => x.rank_ic),
        icir: mean((x) => x.icir),
        sharpe: annualizedSharpe(stream, a.panel.calendar),
        median_best_iteration: bests[Math.floor(bests.length / 2)]!,
        ...(a.run.losses ? { logloss: mean((x) => x.logloss), auc: mean((x) => x.auc) } : {}),
      },
      perPath,
      stream,
      pathScores: a.run.scores[t]!,
    });
  }
  return out;
}

/**
 * Drops what the run holds only for the trial summaries once they are taken: every trial's per-path
 * log losses, and P(up) of every trial but the selected one (`best`), which the OOF signal and its
 * calibration table still read. For a classifier sleeve of 4 trials on the S&P panel that is 5 of
 * its 12 panel-sized arrays per path (≈ 120 MB), no longer held while the walk-forward folds, the
 * refit and the artifact writes run. The trials' scores stay: the trial ledger writes them all.
 */
export function releaseSummarized(run: CpcvTrialsRun, best: number): void {
  run.losses = null;
  if (run.probs) run.probs = run.probs.map((p, t) => (t === best ? p : []));
}

/** How the selected trial is chosen. */
export type Selection = 'rank_ic' | 'ic' | 'icir' | 'sharpe';

/** Index of the trial with the largest finite selection metric (the first on ties; 0 when none is finite). */
export function selectTrial(summaries: TrialSummary[], selection: Selection): number {
  const key = { rank_ic: 'mean_rank_ic', ic: 'mean_ic', icir: 'icir', sharpe: 'sharpe' } as const;
  let best = 0;
  summaries.forEach((s, t) => {
    const a = s.metrics[key[selection]], b = summaries[best]!.metrics[key[selection]];
    if (Number.isFinite(a) && (!Number.isFinite(b) || a > b)) best = t;
  });
  return best;
}
