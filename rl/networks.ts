import type * as TfTypes from '@tensorflow/tfjs';
import { Rng } from './rng.ts';
import type { Tf } from './tf.ts';

/**
 * Plain, serialisable weights of an MLP with input standardisation:
 *   x̃ = (x − inputMean) ⊙ inputInvStd,  h_{l+1} = relu(h_l W_l + b_l) (no relu after the last layer).
 * W_l is row-major [in_l, out_l]. This is what training returns, OPE evaluates and ONNX exports.
 */
export interface MlpParams {
  inputMean: number[];
  inputInvStd: number[];
  layers: { in: number; out: number; w: number[]; b: number[] }[];
}

/**
 * Forward pass of {@link MlpParams} in plain JS (float64 arithmetic on the float32 weights).
 * `x` is [n·in] row-major; returns [n·out]. Used by OPE and tests; no tfjs needed.
 */
export function mlpForward(p: MlpParams, x: ArrayLike<number>, n: number): Float64Array {
  const d = p.inputMean.length;
  let h = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) h[i * d + j] = Math.fround(Math.fround(x[i * d + j]! - p.inputMean[j]!) * p.inputInvStd[j]!);
  let width = d;
  p.layers.forEach((L, li) => {
    const out = new Float64Array(n * L.out);
    const last = li === p.layers.length - 1;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < L.out; k++) {
        let s = L.b[k]!;
        for (let j = 0; j < width; j++) s += h[i * width + j]! * L.w[j * L.out + k]!;
        out[i * L.out + k] = last || s > 0 ? s : 0;
      }
    }
    h = out;
    width = L.out;
  });
  return h;
}

/** Index of the largest score (first one on ties). */
export function argmax(xs: ArrayLike<number>, from = 0, len = xs.length): number {
  let best = 0;
  for (let k = 1; k < len; k++) if (xs[from + k]! > xs[from + best]!) best = k;
  return best;
}

/**
 * A trainable MLP as tfjs variables, initialised deterministically from `seed` (Glorot uniform
 * weights from a seeded generator, zero biases) so training is reproducible.
 */
export class TfMlp {
  readonly vars: TfTypes.Variable[];
  private readonly mean: TfTypes.Tensor1D;
  private readonly invStd: TfTypes.Tensor1D;

  constructor(
    private readonly tf: Tf,
    readonly sizes: number[],
    seed: number,
    readonly inputMean: Float32Array,
    readonly inputInvStd: Float32Array,
  ) {
    const rng = new Rng(seed);
    this.vars = [];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const fin = sizes[l]!;
      const fout = sizes[l + 1]!;
      const lim = Math.sqrt(6 / (fin + fout));
      const w = new Float32Array(fin * fout);
      for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * lim;
      this.vars.push(tf.variable(tf.tensor2d(w, [fin, fout]), true, undefined, 'float32'));
      this.vars.push(tf.variable(tf.zeros([fout]), true, undefined, 'float32'));
    }
    this.mean = tf.keep(tf.tensor1d(inputMean));
    this.invStd = tf.keep(tf.tensor1d(inputInvStd));
  }

  /** Rebuilds a network from serialised weights (for scoring with tfjs, e.g. the ONNX parity check). */
  static fromParams(tf: Tf, p: MlpParams): TfMlp {
    const sizes = [p.layers[0]!.in, ...p.layers.map((l) => l.out)];
    const net = new TfMlp(tf, sizes, 0, Float32Array.from(p.inputMean), Float32Array.from(p.inputInvStd));
    p.layers.forEach((l, i) => {
      net.vars[2 * i]!.assign(tf.tensor2d(Float32Array.from(l.w), [l.in, l.out]));
      net.vars[2 * i + 1]!.assign(tf.tensor1d(Float32Array.from(l.b)));
    });
    return net;
  }

  /** Scores [n·in] states with tfjs; returns [n·out] float32. */
  score(states: Float32Array, n: number): Float32Array {
    const tf = this.tf;
    return tf.tidy(() => this.apply(tf.tensor2d(states, [n, this.sizes[0]!])).dataSync() as Float32Array);
  }

  /** [batch, in] → [batch, out] scores. */
  apply(x: TfTypes.Tensor2D): TfTypes.Tensor2D {
    const tf = this.tf;
    let h = tf.mul(tf.sub(x, this.mean), this.invStd) as TfTypes.Tensor2D;
    const nL = this.vars.length / 2;
    for (let l = 0; l < nL; l++) {
      h = tf.add(tf.matMul(h, this.vars[2 * l] as TfTypes.Tensor2D), this.vars[2 * l + 1]!) as TfTypes.Tensor2D;
      if (l < nL - 1) h = tf.relu(h);
    }
    return h;
  }

  /** Copies the weights of `other` (same shape) into this network (target-network update). */
  copyFrom(other: TfMlp): void {
    this.vars.forEach((v, i) => v.assign(other.vars[i]!));
  }

  toParams(): MlpParams {
    const layers: MlpParams['layers'] = [];
    for (let l = 0; l + 1 < this.sizes.length; l++) {
      layers.push({
        in: this.sizes[l]!,
        out: this.sizes[l + 1]!,
        w: Array.from(this.vars[2 * l]!.dataSync()),
        b: Array.from(this.vars[2 * l + 1]!.dataSync()),
      });
    }
    return { inputMean: Array.from(this.inputMean), inputInvStd: Array.from(this.inputInvStd), layers };
  }

  dispose(): void {
    this.vars.forEach((v) => v.dispose());
    this.mean.dispose();
    this.invStd.dispose();
  }
}
