/**
 * What a learner is trained on and how its predictions become a sleeve's score: the task codec of
 * the CPCV protocol (independent of the learner; the engine only says whether its objective is a
 * binary or a K-class classifier).
 *
 * - Regression: target = the label after a per-date cross-sectional transform (none, demean, or
 *   rank → [−0.5, 0.5]); score = the prediction.
 * - Binary classification: target = 1[label > 0]; the model predicts P(+); score = 2·P(+) − 1.
 * - K-class classification (softprob): target = index of the label in `classes`; the model predicts
 *   P(k) per class; score = Σ_k sign(classes[k])·P(k) (for classes −1/0/+1: P(+1) − P(−1)).
 * Classification losses are per-row log losses with probabilities clipped to [1e−15, 1 − 1e−15].
 */
import { StepError } from '../lib/errors.ts';
import type { Panel } from './panel.ts';

/** The target definition the protocol trains on. */
export type TargetSpec =
  | { task: 'regression'; transform: 'none' | 'demean' | 'rank' }
  /** `classes` in class-index order for a K-class softprob model; null for a binary classifier. */
  | { task: 'classification'; classes: number[] | null };

/** How predictions of one model become the sleeve's score, and classification losses. */
export interface TaskCodec {
  task: 'regression' | 'classification';
  /** Training target for row i (after the per-date transform for regression). */
  target: Float32Array;
  /** Number of prediction columns the model returns per row. */
  width: number;
  /** Score (larger = more bullish) from a prediction row starting at `off`. */
  score(p: Float32Array, off: number): number;
  /** Per-row log loss (classification) or NaN. */
  loss(p: Float32Array, off: number, row: number): number;
  /** Binary target of the AUC (label is the most bullish class), classification only. */
  positive?: Uint8Array;
  /** P(label = most bullish class) from a prediction row, classification only. */
  probUp?(p: Float32Array, off: number): number;
  /** Per-class weights of the ONNX score output (K-class). */
  classScore?: number[];
}

const EPS = 1e-15;

/** The codec of `spec` on `panel`. Throws a non-retryable StepError for labels outside `classes`. */
export function makeCodec(spec: TargetSpec, panel: Panel): TaskCodec {
  if (spec.task === 'regression') {
    return { task: 'regression', target: transformTarget(panel, spec.transform), width: 1, score: (p, o) => p[o]!, loss: () => NaN };
  }
  return spec.classes ? multiClassCodec(spec.classes, panel) : binaryCodec(panel);
}

function binaryCodec(panel: Panel): TaskCodec {
  const n = panel.n;
  const target = new Float32Array(n);
  const positive = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    target[i] = panel.label[i]! > 0 ? 1 : 0;
    positive[i] = target[i]!;
  }
  return {
    task: 'classification',
    target,
    width: 1,
    positive,
    probUp: (p, o) => p[o]!,
    score: (p, o) => 2 * p[o]! - 1,
    loss: (p, o, i) => -Math.log(Math.min(1 - EPS, Math.max(EPS, target[i] ? p[o]! : 1 - p[o]!))),
  };
}

function multiClassCodec(classes: number[], panel: Panel): TaskCodec {
  const n = panel.n;
  const K = classes.length;
  const target = new Float32Array(n);
  const positive = new Uint8Array(n);
  const top = classes.indexOf(Math.max(...classes));
  const unknown = new Set<number>();
  for (let i = 0; i < n; i++) {
    const k = classes.indexOf(panel.label[i]!);
    if (k < 0) unknown.add(panel.label[i]!);
    target[i] = k;
    positive[i] = k === top ? 1 : 0;
  }
  if (unknown.size) {
    throw new StepError({ message: `labels contain value(s) ${[...unknown].slice(0, 5).join(', ')} not in the config's classes [${classes.join(', ')}]`, type: 'BadInput', nonRetryable: true });
  }
  const v = classes.map((c) => Math.sign(c));
  return {
    task: 'classification',
    target,
    width: K,
    positive,
    classScore: v,
    probUp: (p, o) => p[o + top]!,
    score: (p, o) => {
      let s = 0;
      for (let k = 0; k < K; k++) s += v[k]! * p[o + k]!;
      return s;
    },
    loss: (p, o, i) => -Math.log(Math.max(EPS, p[o + target[i]!]!)),
  };
}

/** Per-date cross-sectional transform of a regression label: none, demean, or rank → [−0.5, 0.5] (ties share their mean rank). */
export function transformTarget(panel: Pick<Panel, 'n' | 'blocks' | 'label'>, how: 'none' | 'demean' | 'rank'): Float32Array {
  const out = new Float32Array(panel.n);
  const nDates = panel.blocks.length - 1;
  for (let d = 0; d < nDates; d++) {
    const a = panel.blocks[d]!, b = panel.blocks[d + 1]!;
    if (how === 'none') for (let i = a; i < b; i++) out[i] = panel.label[i]!;
    else if (how === 'demean') {
      let s = 0;
      for (let i = a; i < b; i++) s += panel.label[i]!;
      const m = s / (b - a);
      for (let i = a; i < b; i++) out[i] = panel.label[i]! - m;
    } else {
      const idx = Array.from({ length: b - a }, (_, k) => a + k).sort((x, y) => panel.label[x]! - panel.label[y]!);
      const m = idx.length;
      let k = 0;
      while (k < m) {
        let j = k;
        while (j + 1 < m && panel.label[idx[j + 1]!] === panel.label[idx[k]!]) j++;
        const r = m > 1 ? (k + j) / 2 / (m - 1) - 0.5 : 0;
        for (let t = k; t <= j; t++) out[idx[t]!] = r;
        k = j + 1;
      }
    }
  }
  return out;
}
