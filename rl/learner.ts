import type * as TfTypes from '@tensorflow/tfjs';
import type { TrainConfig } from './config.ts';
import type { MlpParams } from './networks.ts';
import type { Tf } from './tf.ts';

/** Training transitions as flat float32 arrays (what is sent to the worker thread). */
export interface TrainData {
  n: number;
  dim: number;
  nActions: number;
  /** [n·dim] */
  s: Float32Array;
  a: Int32Array;
  /** rewards in return units (scaled by reward_scale inside training). */
  r: Float32Array;
  /** [n·dim] */
  s2: Float32Array;
  /** 1 where the transition ends the trajectory (no bootstrap). */
  done: Float32Array;
  /** input standardisation baked into every network (train-split statistics). */
  mean: Float32Array;
  invStd: Float32Array;
}

/** One minibatch on the tfjs backend. */
export interface Batch {
  s: TfTypes.Tensor2D;
  a: TfTypes.Tensor1D;
  aHot: TfTypes.Tensor2D;
  r: TfTypes.Tensor1D;
  s2: TfTypes.Tensor2D;
  done: TfTypes.Tensor1D;
}

/** An offline RL learner: one gradient step per minibatch, named scalar metrics, exportable nets. */
export interface Learner {
  /** One update; returns metrics only when `withMetrics` (reading values forces a sync). */
  step(b: Batch, withMetrics: boolean): Record<string, number> | null;
  /** Called every `target_update_every` steps. */
  updateTarget(): void;
  /** The network whose argmax is the greedy policy (Q for CQL, policy logits for IQL / BC). */
  policy(): MlpParams;
  /** Q network, when the algorithm has one. */
  q(): MlpParams | null;
  dispose(): void;
}

export type LearnerFactory = (tf: Tf, data: TrainData, cfg: TrainConfig) => Learner;

/** Mean Huber loss (δ = 1) of residuals u. */
export function huber(tf: Tf, u: TfTypes.Tensor): TfTypes.Scalar {
  const a = tf.abs(u);
  const quad = tf.minimum(a, 1);
  return tf.mean(tf.add(tf.mul(0.5, tf.square(quad)), tf.sub(a, quad))) as TfTypes.Scalar;
}

/** Σ_a x[:, a] · oneHot[:, a] → [batch]. */
export function pick(tf: Tf, x: TfTypes.Tensor2D, hot: TfTypes.Tensor2D): TfTypes.Tensor1D {
  return tf.sum(tf.mul(x, hot), 1) as TfTypes.Tensor1D;
}
