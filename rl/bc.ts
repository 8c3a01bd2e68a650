import type * as TfTypes from '@tensorflow/tfjs';
import type { TrainConfig } from './config.ts';
import { pick, type Batch, type Learner, type TrainData } from './learner.ts';
import { TfMlp } from './networks.ts';
import type { Tf } from './tf.ts';

/**
 * Behaviour cloning baseline: maximum likelihood of the logged actions,
 *   L = −mean log softmax(π(s))[a_data].
 * Its greedy policy is the behaviour policy's mode (here the baseline bucket); a sanity reference
 * for CQL / IQL. Outputs logits over the discrete actions.
 */
export function createBc(tf: Tf, data: TrainData, cfg: TrainConfig): Learner {
  const pi = new TfMlp(tf, [data.dim, ...cfg.hidden, data.nActions], cfg.seed, data.mean, data.invStd);
  const opt = tf.train.adam(cfg.learning_rate);
  return {
    step(b: Batch, withMetrics: boolean) {
      const cost = opt.minimize(() => tf.neg(tf.mean(pick(tf, tf.logSoftmax(pi.apply(b.s)) as TfTypes.Tensor2D, b.aHot))) as TfTypes.Scalar, withMetrics, pi.vars);
      if (!withMetrics) return null;
      const m = { loss: cost!.dataSync()[0]! };
      cost!.dispose();
      return m;
    },
    updateTarget: () => {},
    policy: () => pi.toParams(),
    q: () => null,
    dispose() {
      pi.dispose();
      opt.dispose();
    },
  };
}
