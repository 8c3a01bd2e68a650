/**
 * The walk-forward reference of the CPCV protocol (path 0): the selected trial trained on groups
 * 1..g−1 and tested on group g, for g = 2..N, with the same purging and embargo (cv/cpcv.ts
 * walkForwardFolds). Group 1 has no earlier data and no walk-forward score.
 */
import type { LearnerParams } from '../models/learner.ts';
import { walkForwardFolds } from './cpcv.ts';
import { foldMetrics, foldRow, runFold, type FoldEnv, type FoldResult, type FoldSettings } from './fold.ts';
import { dailyIc, summarizeIc, type IcSummary } from './metrics.ts';
import { panelLabelRanks, type Panel } from './panel.ts';
import type { TaskCodec } from './target.ts';
import type { CvLayout } from './trials.ts';

/** Walk-forward scores (NaN outside the tested groups), their fold per row, the fold table and IC summary. */
export interface WalkForwardRun {
  score: Float32Array;
  prob: Float32Array;
  splitOfRow: Int32Array;
  folds: FoldResult[];
  summary: IcSummary;
}

/** Runs the walk-forward folds of `params` (one model per fold). */
export async function runWalkForward(env: FoldEnv, a: { panel: Panel; codec: TaskCodec; layout: CvLayout; params: LearnerParams; settings: FoldSettings; onFitDone(): void }): Promise<WalkForwardRun> {
  const { panel, codec } = a;
  const score = new Float32Array(panel.n).fill(NaN);
  const prob = new Float32Array(panel.n).fill(NaN);
  const loss = new Float32Array(panel.n).fill(NaN);
  const classify = codec.task === 'classification';
  const folds: FoldResult[] = [];
  const splitOfRow = new Int32Array(panel.n);
  for (const fold of walkForwardFolds(a.layout.groups.length)) {
    const sc = new Float32Array(panel.n).fill(NaN);
    const ls = new Float32Array(panel.n).fill(NaN);
    let rowsSeen: number[] = [];
    const run = await runFold(env, {
      panel, codec, groups: a.layout.groups, split: fold, trials: [a.params], settings: a.settings, onFitDone: a.onFitDone,
      sink: (_t, rows, pred) => {
        rowsSeen = rows;
        for (let r = 0; r < rows.length; r++) {
          const i = rows[r]!;
          sc[i] = score[i] = codec.score(pred, r * codec.width);
          if (classify) ls[i] = loss[i] = codec.loss(pred, r * codec.width, i);
          if (codec.probUp) prob[i] = codec.probUp(pred, r * codec.width);
          splitOfRow[i] = fold.split;
        }
      },
    });
    folds.push(foldRow(fold, run, 0, foldMetrics(panel, codec, rowsSeen, sc, classify ? ls : null)));
  }
  const d = dailyIc(panel.blocks, score, panel.label, undefined, panelLabelRanks(panel));
  return { score, prob, splitOfRow, folds, summary: summarizeIc(d.ic, d.rankIc) };
}
