import type * as TfTypes from '@tensorflow/tfjs';
import type { TrainConfig } from './config.ts';
import { pick, type Batch, type Learner, type TrainData } from './learner.ts';
import { TfMlp } from './networks.ts';
import type { Tf } from './tf.ts';

/**
 * Discrete implicit Q-learning (Kostrikov, Nair, Levine 2021) for a finite action set:
 *   L_V = mean |τ − 1(u < 0)| u²,  u = Q_target(s, a) − V(s)          (expectile regression)
 *   L_Q = mean (r·scale + γ (1 − done) V(s') − Q(s, a))²
 *   L_π = −mean min(exp(β (Q_target(s, a) − V(s))), w_max) · log softmax(π(s))[a]
 * (advantage-weighted regression restricted to logged actions: the policy never puts weight on
 * actions outside the data's support through the loss). Q/V in scaled-reward units; the policy
 * network outputs logits over the discrete actions and the greedy policy is their argmax.
 */
export function createIql(tf: Tf, data: TrainData, cfg: TrainConfig): Learner {
  const A = data.nActions;
  const q = new TfMlp(tf, [data.dim, ...cfg.hidden, A], cfg.seed, data.mean, data.invStd);
  const qt = new TfMlp(tf, [data.dim, ...cfg.hidden, A], cfg.seed, data.mean, data.invStd);
  const v = new TfMlp(tf, [data.dim, ...cfg.hidden, 1], cfg.seed + 1, data.mean, data.invStd);
  const pi = new TfMlp(tf, [data.dim, ...cfg.hidden, A], cfg.seed + 2, data.mean, data.invStd);
  qt.copyFrom(q);
  const opt = tf.train.adam(cfg.learning_rate);
  const tau = cfg.iql.expectile;
  const vars = [...q.vars, ...v.vars, ...pi.vars];
  return {
    step(b: Batch, withMetrics: boolean) {
      const [qtSa, y, w] = tf.tidy(() => {
        const qtSa = pick(tf, qt.apply(b.s), b.aHot);
        const v2 = tf.squeeze(v.apply(b.s2), [1]);
        const y = tf.add(tf.mul(b.r, cfg.reward_scale), tf.mul(tf.mul(tf.sub(1, b.done), cfg.gamma), v2));
        const adv = tf.sub(qtSa, tf.squeeze(v.apply(b.s), [1]));
        const w = tf.minimum(tf.exp(tf.mul(adv, cfg.iql.beta)), cfg.iql.max_weight);
        return [qtSa, y, w] as TfTypes.Tensor1D[];
      });
      const parts: TfTypes.Scalar[] = [];
      const cost = opt.minimize(
        () => {
          const u = tf.sub(qtSa!, tf.squeeze(v.apply(b.s), [1]));
          // |τ − 1(u < 0)| u² written as τ·relu(u)² + (1 − τ)·relu(−u)² (differentiable everywhere)
          const lv = tf.mean(tf.add(tf.mul(tau, tf.square(tf.relu(u))), tf.mul(1 - tau, tf.square(tf.relu(tf.neg(u)))))) as TfTypes.Scalar;
          const lq = tf.mean(tf.square(tf.sub(pick(tf, q.apply(b.s), b.aHot), y!))) as TfTypes.Scalar;
          const logp = pick(tf, tf.logSoftmax(pi.apply(b.s)) as TfTypes.Tensor2D, b.aHot);
          const lpi = tf.neg(tf.mean(tf.mul(w!, logp))) as TfTypes.Scalar;
          if (withMetrics) parts.push(tf.keep(lv.clone()), tf.keep(lq.clone()), tf.keep(lpi.clone()), tf.keep(tf.mean(qtSa!) as TfTypes.Scalar), tf.keep(tf.mean(w!) as TfTypes.Scalar));
          return tf.add(tf.add(lv, lq), lpi) as TfTypes.Scalar;
        },
        withMetrics,
        vars,
      );
      qtSa!.dispose();
      y!.dispose();
      w!.dispose();
      if (!withMetrics) return null;
      const [lv, lq, lpi, qm, wm] = parts.map((t) => t.dataSync()[0]!);
      const m = { loss: cost!.dataSync()[0]!, v_loss: lv!, q_loss: lq!, pi_loss: lpi!, q_data_mean: qm!, adv_weight_mean: wm! };
      cost!.dispose();
      parts.forEach((t) => t.dispose());
      return m;
    },
    updateTarget: () => qt.copyFrom(q),
    policy: () => pi.toParams(),
    q: () => q.toParams(),
    dispose() {
      [q, qt, v, pi].forEach((n) => n.dispose());
      opt.dispose();
    },
  };
}
