import type * as TfTypes from '@tensorflow/tfjs';
import type { TrainConfig } from './config.ts';
import { huber, pick, type Batch, type Learner, type TrainData } from './learner.ts';
import { TfMlp } from './networks.ts';
import type { Tf } from './tf.ts';

/**
 * Discrete conservative Q-learning, CQL(H) (Kumar, Zhou, Tucker, Levine 2020, eq. 4 with the
 * discrete-action log-sum-exp regulariser) on a double-DQN backbone:
 *   y = r·scale + γ (1 − done) Q_target(s', argmax_a' Q(s', a'))
 *   L = Huber(Q(s, a) − y) + α · mean_s[ logΣ_a exp Q(s, a) − Q(s, a_data) ]
 * The regulariser pushes Q down on actions the data does not support and up on logged actions.
 * Q values are in scaled-reward units. Greedy policy: argmax_a Q(s, a).
 */
export function createCql(tf: Tf, data: TrainData, cfg: TrainConfig): Learner {
  const sizes = [data.dim, ...cfg.hidden, data.nActions];
  const q = new TfMlp(tf, sizes, cfg.seed, data.mean, data.invStd);
  const qt = new TfMlp(tf, sizes, cfg.seed, data.mean, data.invStd);
  qt.copyFrom(q);
  const opt = tf.train.adam(cfg.learning_rate);
  const alpha = cfg.cql.alpha;
  return {
    step(b: Batch, withMetrics: boolean) {
      const y = tf.tidy(() => {
        const aStar = tf.argMax(q.apply(b.s2), 1);
        const qn = pick(tf, qt.apply(b.s2), tf.oneHot(aStar as TfTypes.Tensor1D, data.nActions).toFloat() as TfTypes.Tensor2D);
        return tf.add(tf.mul(b.r, cfg.reward_scale), tf.mul(tf.mul(tf.sub(1, b.done), cfg.gamma), qn)) as TfTypes.Tensor1D;
      });
      let td: TfTypes.Scalar | null = null;
      let gap: TfTypes.Scalar | null = null;
      let qMean: TfTypes.Scalar | null = null;
      const cost = opt.minimize(
        () => {
          const qs = q.apply(b.s);
          const qsa = pick(tf, qs, b.aHot);
          const l1 = huber(tf, tf.sub(qsa, y));
          const l2 = tf.mean(tf.sub(tf.logSumExp(qs, 1), qsa)) as TfTypes.Scalar;
          if (withMetrics) {
            td = tf.keep(l1.clone());
            gap = tf.keep(l2.clone());
            qMean = tf.keep(tf.mean(qsa) as TfTypes.Scalar);
          }
          return tf.add(l1, tf.mul(alpha, l2)) as TfTypes.Scalar;
        },
        withMetrics,
        q.vars,
      );
      y.dispose();
      if (!withMetrics) return null;
      const m = { loss: cost!.dataSync()[0]!, td_loss: td!.dataSync()[0]!, cql_gap: gap!.dataSync()[0]!, q_data_mean: qMean!.dataSync()[0]! };
      [cost!, td!, gap!, qMean!].forEach((t: TfTypes.Tensor) => t.dispose());
      return m;
    },
    updateTarget: () => qt.copyFrom(q),
    policy: () => q.toParams(),
    q: () => q.toParams(),
    dispose() {
      q.dispose();
      qt.dispose();
      opt.dispose();
    },
  };
}
