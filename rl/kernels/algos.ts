/**
 * CQL, IQL and BC on the fused typed-array MLP (rl/kernels/mlp.ts): the losses of rl/cql.ts,
 * rl/iql.ts and rl/bc.ts with their gradients written out by hand (w.r.t. each network's output),
 * one Adam step per minibatch. Same initialisation (seeds), same optimiser, same metric names.
 */
import type { TrainConfig } from '../config.ts';
import type { TrainData } from '../learner.ts';
import type { MlpParams } from '../networks.ts';
import { KernelAdam, KernelMlp } from './mlp.ts';

/** One minibatch as typed arrays (rows gathered from TrainData). */
export interface KernelBatch {
  n: number;
  s: Float32Array;
  a: Int32Array;
  r: Float32Array;
  s2: Float32Array;
  done: Float32Array;
}

/** A kernel learner: same contract as rl/learner.ts `Learner`, on typed-array batches. */
export interface KernelLearner {
  step(b: KernelBatch, withMetrics: boolean): Record<string, number> | null;
  updateTarget(): void;
  policy(): MlpParams;
  q(): MlpParams | null;
}

/** Buffers of size [B·A] reused across steps. */
function buffers(B: number, A: number) {
  return { out: new Float64Array(B * A), out2: new Float64Array(B * A), out3: new Float64Array(B * A), out4: new Float64Array(B * A), grad: new Float64Array(B * A), col: new Float64Array(B), col2: new Float64Array(B), gcol: new Float64Array(B) };
}

/** Softmax of row i of x [·A] into p (max-shifted); returns log Σ exp. */
function softmaxRow(x: Float64Array, i: number, A: number, p: Float64Array): number {
  let mx = -Infinity;
  for (let k = 0; k < A; k++) mx = Math.max(mx, x[i * A + k]!);
  let s = 0;
  for (let k = 0; k < A; k++) {
    const e = Math.exp(x[i * A + k]! - mx);
    p[k] = e;
    s += e;
  }
  for (let k = 0; k < A; k++) p[k] = p[k]! / s;
  return mx + Math.log(s);
}

/** CQL(H) on a double-DQN backbone (rl/cql.ts). */
export function kernelCql(data: TrainData, cfg: TrainConfig): KernelLearner {
  const A = data.nActions;
  const sizes = [data.dim, ...cfg.hidden, A];
  const q = new KernelMlp(sizes, cfg.seed, data.mean, data.invStd);
  const qt = new KernelMlp(sizes, cfg.seed, data.mean, data.invStd);
  qt.copyFrom(q);
  const opt = new KernelAdam([q], cfg.learning_rate);
  const alpha = cfg.cql.alpha;
  let buf = buffers(0, A);
  const p = new Float64Array(A);
  return {
    step(b, withMetrics) {
      const B = b.n;
      if (buf.col.length !== B) buf = buffers(B, A);
      const { out: q2, out2: qt2, out3: qs, grad } = buf;
      q.forward(b.s2, B, q2, false);
      qt.forward(b.s2, B, qt2, false);
      q.forward(b.s, B, qs);
      let l1 = 0, l2 = 0, qm = 0;
      for (let i = 0; i < B; i++) {
        let best = 0;
        for (let k = 1; k < A; k++) if (q2[i * A + k]! > q2[i * A + best]!) best = k;
        const y = b.r[i]! * cfg.reward_scale + (1 - b.done[i]!) * cfg.gamma * qt2[i * A + best]!;
        const ai = b.a[i]!;
        const qsa = qs[i * A + ai]!;
        const u = qsa - y;
        const au = Math.abs(u), quad = Math.min(au, 1);
        l1 += 0.5 * quad * quad + (au - quad);
        const lse = softmaxRow(qs, i, A, p);
        l2 += lse - qsa;
        qm += qsa;
        const du = au <= 1 ? u : Math.sign(u);
        for (let k = 0; k < A; k++) grad[i * A + k] = (alpha * p[k]!) / B;
        grad[i * A + ai] = grad[i * A + ai]! + (du - alpha) / B;
      }
      q.backward(grad);
      opt.step();
      if (!withMetrics) return null;
      return { loss: l1 / B + alpha * (l2 / B), td_loss: l1 / B, cql_gap: l2 / B, q_data_mean: qm / B };
    },
    updateTarget: () => qt.copyFrom(q),
    policy: () => q.toParams(),
    q: () => q.toParams(),
  };
}

/** Discrete IQL: expectile V, TD Q on V(s'), advantage-weighted policy (rl/iql.ts). */
export function kernelIql(data: TrainData, cfg: TrainConfig): KernelLearner {
  const A = data.nActions;
  const q = new KernelMlp([data.dim, ...cfg.hidden, A], cfg.seed, data.mean, data.invStd);
  const qt = new KernelMlp([data.dim, ...cfg.hidden, A], cfg.seed, data.mean, data.invStd);
  const v = new KernelMlp([data.dim, ...cfg.hidden, 1], cfg.seed + 1, data.mean, data.invStd);
  const pi = new KernelMlp([data.dim, ...cfg.hidden, A], cfg.seed + 2, data.mean, data.invStd);
  qt.copyFrom(q);
  const opt = new KernelAdam([q, v, pi], cfg.learning_rate);
  const { expectile: tau, beta, max_weight: wMax } = cfg.iql;
  let buf = buffers(0, A);
  const p = new Float64Array(A);
  return {
    step(b, withMetrics) {
      const B = b.n;
      if (buf.col.length !== B) buf = buffers(B, A);
      const { out: qtS, out2: qS, out3: piS, grad, col: v2, col2: vS, gcol } = buf;
      qt.forward(b.s, B, qtS, false);
      v.forward(b.s2, B, v2, false);
      v.forward(b.s, B, vS);
      q.forward(b.s, B, qS);
      pi.forward(b.s, B, piS);
      let lv = 0, lq = 0, lpi = 0, qm = 0, wm = 0;
      const gq = grad, gpi = buf.out4;
      for (let i = 0; i < B; i++) {
        const ai = b.a[i]!;
        const qtSa = qtS[i * A + ai]!;
        const y = b.r[i]! * cfg.reward_scale + (1 - b.done[i]!) * cfg.gamma * v2[i]!;
        const u = qtSa - vS[i]!;
        const w = Math.min(Math.exp(u * beta), wMax);
        const pos = u > 0 ? u : 0, neg = u < 0 ? -u : 0;
        lv += tau * pos * pos + (1 - tau) * neg * neg;
        gcol[i] = -(2 * tau * pos - 2 * (1 - tau) * neg) / B;
        const res = qS[i * A + ai]! - y;
        lq += res * res;
        for (let k = 0; k < A; k++) gq[i * A + k] = 0;
        gq[i * A + ai] = (2 * res) / B;
        const lse = softmaxRow(piS, i, A, p);
        lpi -= w * (piS[i * A + ai]! - lse);
        for (let k = 0; k < A; k++) gpi[i * A + k] = (w * p[k]!) / B;
        gpi[i * A + ai] = gpi[i * A + ai]! - w / B;
        qm += qtSa;
        wm += w;
      }
      v.backward(gcol);
      q.backward(gq);
      pi.backward(gpi);
      opt.step();
      if (!withMetrics) return null;
      return { loss: lv / B + lq / B + lpi / B, v_loss: lv / B, q_loss: lq / B, pi_loss: lpi / B, q_data_mean: qm / B, adv_weight_mean: wm / B };
    },
    updateTarget: () => qt.copyFrom(q),
    policy: () => pi.toParams(),
    q: () => q.toParams(),
  };
}

/** Behaviour cloning: maximum likelihood of the logged actions (rl/bc.ts). */
export function kernelBc(data: TrainData, cfg: TrainConfig): KernelLearner {
  const A = data.nActions;
  const pi = new KernelMlp([data.dim, ...cfg.hidden, A], cfg.seed, data.mean, data.invStd);
  const opt = new KernelAdam([pi], cfg.learning_rate);
  let buf = buffers(0, A);
  const p = new Float64Array(A);
  return {
    step(b, withMetrics) {
      const B = b.n;
      if (buf.col.length !== B) buf = buffers(B, A);
      const { out: piS, grad } = buf;
      pi.forward(b.s, B, piS);
      let loss = 0;
      for (let i = 0; i < B; i++) {
        const ai = b.a[i]!;
        const lse = softmaxRow(piS, i, A, p);
        loss -= piS[i * A + ai]! - lse;
        for (let k = 0; k < A; k++) grad[i * A + k] = p[k]! / B;
        grad[i * A + ai] = grad[i * A + ai]! - 1 / B;
      }
      pi.backward(grad);
      opt.step();
      return withMetrics ? { loss: loss / B } : null;
    },
    updateTarget: () => {},
    policy: () => pi.toParams(),
    q: () => null,
  };
}

/** The kernel learner of `cfg.algo`. */
export function kernelLearner(data: TrainData, cfg: TrainConfig): KernelLearner {
  return cfg.algo === 'cql' ? kernelCql(data, cfg) : cfg.algo === 'iql' ? kernelIql(data, cfg) : kernelBc(data, cfg);
}
