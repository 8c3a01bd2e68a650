/**
 * The production model of the CPCV protocol: the selected trial refitted on every (strided) panel
 * row with the median best number of rounds over its CPCV splits, its in-sample scores, its native
 * model and its ONNX export (FittedModel.toOnnx) with a parity check of ONNX against the learner.
 */
import { StepError } from '../lib/errors.ts';
import type { LearnerParams, OnnxExportOptions } from '../models/learner.ts';
import { openOnnxScorer } from '../models/onnx/score.ts';
import { decayWeights, featureRows, strided, trainingSet } from './dataset.ts';
import type { FoldEnv, FoldSettings } from './fold.ts';
import type { Panel } from './panel.ts';
import type { TaskCodec } from './target.ts';

/** Largest |ONNX − learner| accepted on any prediction column. */
export const ONNX_PARITY_TOLERANCE = 1e-4;

/** The refitted model's bytes and checks. */
export interface Refit {
  native: Uint8Array;
  onnx: Uint8Array;
  /** In-sample score of every panel row. */
  insample: Float32Array;
  parity: { maxAbsDiff: number; rows: number };
}

/**
 * Refits `params` for `rounds` rounds (no early stopping) on all rows, scores the panel, exports
 * ONNX and checks parity on up to 5,000 rows. Throws a non-retryable StepError('OnnxParityError')
 * when the ONNX model does not reproduce the learner within {@link ONNX_PARITY_TOLERANCE}.
 */
export async function refitFinal(env: FoldEnv, a: { panel: Panel; codec: TaskCodec; params: LearnerParams; rounds: number; settings: FoldSettings; onnx: OnnxExportOptions }): Promise<Refit> {
  const { panel, codec } = a;
  const all = Array.from({ length: panel.n }, (_, i) => i);
  const rows = strided(panel, all, a.settings.dateStride);
  const train = trainingSet(panel, rows, codec.target, decayWeights(panel, rows, a.settings.halfLifeBars), a.settings.perDateGroups);
  const model = await env.learner.fit(train, { params: a.params, numRounds: a.rounds, signal: env.signal });
  let out: Refit;
  try {
    const pred = model.predict(panel.X, panel.n);
    const insample = new Float32Array(panel.n);
    for (let i = 0; i < panel.n; i++) insample[i] = codec.score(pred, i * codec.width);
    const onnx = model.toOnnx(panel.featureNames, a.onnx);
    out = { native: model.save(), onnx, insample, parity: await onnxParity(onnx, panel, pred, codec.width) };
  } finally {
    model.free();
  }
  if (!(out.parity.maxAbsDiff <= ONNX_PARITY_TOLERANCE)) {
    throw new StepError({ message: `ONNX export does not reproduce the ${env.learner.name} model: max |Δ| = ${out.parity.maxAbsDiff} on ${out.parity.rows} rows (tolerance ${ONNX_PARITY_TOLERANCE})`, type: 'OnnxParityError', nonRetryable: true });
  }
  return out;
}

/** Max |ONNX `Y` − learner prediction| over (up to) 5,000 evenly spaced panel rows, on every prediction column. */
export async function onnxParity(onnx: Uint8Array, panel: Pick<Panel, 'n' | 'X' | 'nFeatures'>, pred: Float32Array, width: number): Promise<{ maxAbsDiff: number; rows: number }> {
  const F = panel.nFeatures;
  const take = Math.min(5000, panel.n);
  const step = panel.n / take;
  const rows = Array.from({ length: take }, (_, r) => Math.floor(r * step));
  const x = featureRows(panel, rows);
  const scorer = await openOnnxScorer(onnx);
  try {
    const y = (await scorer.run(x, take, F)).Y!;
    let max = 0;
    rows.forEach((i, r) => {
      for (let c = 0; c < width; c++) max = Math.max(max, Math.abs(y[r * width + c]! - pred[i * width + c]!));
    });
    return { maxAbsDiff: max, rows: take };
  } finally {
    await scorer.release();
  }
}
