import { Rng } from '../../rl/rng.ts';

/**
 * A small fully connected network on Float64Arrays (ReLU hidden layers, linear output) with Adam
 * (Kingma & Ba 2015), for the value networks of the RL executor and market maker. Plain typed
 * arrays instead of tfjs: the networks are tiny (≈ 10³ weights), so per-call tfjs overhead would
 * dominate, and float64 JS arithmetic is bit-for-bit deterministic for a given seed.
 * Shapes: inputs [batch × sizes[0]] row-major, outputs [batch × sizes.at(−1)].
 */
export class Mlp {
  /** Per layer: W [in × out] row-major, b [out]. */
  readonly w: Float64Array[] = [];
  readonly b: Float64Array[] = [];
  private mw: Float64Array[] = [];
  private vw: Float64Array[] = [];
  private mb: Float64Array[] = [];
  private vb: Float64Array[] = [];
  private t = 0;

  /** Glorot-uniform weights from `seed`, zero biases. Throws for fewer than 2 layer sizes. */
  constructor(readonly sizes: number[], seed: number) {
    if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) throw new RangeError(`MLP sizes must be ≥ 2 positive integers, got [${sizes}]`);
    const rng = new Rng(seed);
    for (let l = 0; l + 1 < sizes.length; l++) {
      const fin = sizes[l]!;
      const fout = sizes[l + 1]!;
      const lim = Math.sqrt(6 / (fin + fout));
      const w = new Float64Array(fin * fout);
      for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * lim;
      this.w.push(w);
      this.b.push(new Float64Array(fout));
      this.mw.push(new Float64Array(fin * fout));
      this.vw.push(new Float64Array(fin * fout));
      this.mb.push(new Float64Array(fout));
      this.vb.push(new Float64Array(fout));
    }
  }

  get inputSize(): number {
    return this.sizes[0]!;
  }
  get outputSize(): number {
    return this.sizes[this.sizes.length - 1]!;
  }

  /** Forward pass; returns every layer's activations (index 0 = input, last = output). */
  forwardAll(x: Float64Array, n: number): Float64Array[] {
    const acts = [x];
    let h = x;
    for (let l = 0; l < this.w.length; l++) {
      const fin = this.sizes[l]!;
      const fout = this.sizes[l + 1]!;
      const W = this.w[l]!;
      const B = this.b[l]!;
      const out = new Float64Array(n * fout);
      const last = l === this.w.length - 1;
      for (let i = 0; i < n; i++) {
        const o = i * fout;
        for (let k = 0; k < fout; k++) out[o + k] = B[k]!;
        for (let j = 0; j < fin; j++) {
          const hij = h[i * fin + j]!;
          if (hij === 0) continue;
          const wj = j * fout;
          for (let k = 0; k < fout; k++) out[o + k] += hij * W[wj + k]!;
        }
        if (!last) for (let k = 0; k < fout; k++) if (out[o + k]! < 0) out[o + k] = 0;
      }
      acts.push(out);
      h = out;
    }
    return acts;
  }

  /** Outputs for `n` inputs. */
  forward(x: Float64Array, n = 1): Float64Array {
    return this.forwardAll(x, n).at(-1)!;
  }

  /**
   * One Adam step on ½·Σ mask⊙(out − target)² / n (masked squared error: DQN updates only the taken
   * action's output) or, with `huber` > 0, the Huber loss with that threshold. Returns the mean loss.
   */
  train(x: Float64Array, target: Float64Array, mask: Float64Array, n: number, lr: number, huber = 0): number {
    const g = this.gradients(x, target, mask, n, huber);
    this.adam(g.gw, g.gb, lr);
    return g.loss;
  }

  /** Loss (as in {@link train}) and its gradients with respect to every W and b (backpropagation). */
  gradients(x: Float64Array, target: Float64Array, mask: Float64Array, n: number, huber = 0): { loss: number; gw: Float64Array[]; gb: Float64Array[] } {
    const acts = this.forwardAll(x, n);
    const L = this.w.length;
    const outSize = this.outputSize;
    let delta = new Float64Array(n * outSize);
    const out = acts[L]!;
    let loss = 0;
    for (let i = 0; i < n * outSize; i++) {
      if (mask[i] === 0) continue;
      const e = out[i]! - target[i]!;
      const g = huber > 0 && Math.abs(e) > huber ? huber * Math.sign(e) : e;
      loss += huber > 0 && Math.abs(e) > huber ? huber * (Math.abs(e) - huber / 2) : 0.5 * e * e;
      delta[i] = (g * mask[i]!) / n;
    }
    const gw: Float64Array[] = [];
    const gb: Float64Array[] = [];
    for (let l = L - 1; l >= 0; l--) {
      const fin = this.sizes[l]!;
      const fout = this.sizes[l + 1]!;
      const a = acts[l]!;
      const W = this.w[l]!;
      const dW = new Float64Array(fin * fout);
      const dB = new Float64Array(fout);
      const prev = new Float64Array(n * fin);
      for (let i = 0; i < n; i++) {
        const di = i * fout;
        for (let k = 0; k < fout; k++) dB[k] += delta[di + k]!;
        for (let j = 0; j < fin; j++) {
          const aij = a[i * fin + j]!;
          const wj = j * fout;
          let back = 0;
          for (let k = 0; k < fout; k++) {
            const d = delta[di + k]!;
            dW[wj + k] += aij * d;
            back += W[wj + k]! * d;
          }
          prev[i * fin + j] = back;
        }
      }
      if (l > 0) for (let i = 0; i < prev.length; i++) if (a[i]! <= 0) prev[i] = 0;
      gw[l] = dW;
      gb[l] = dB;
      delta = prev;
    }
    return { loss: loss / n, gw, gb };
  }

  private adam(gw: Float64Array[], gb: Float64Array[], lr: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): void {
    this.t++;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const upd = (p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array) => {
      for (let i = 0; i < p.length; i++) {
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
        p[i] -= (lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + eps);
      }
    };
    for (let l = 0; l < this.w.length; l++) {
      upd(this.w[l]!, gw[l]!, this.mw[l]!, this.vw[l]!);
      upd(this.b[l]!, gb[l]!, this.mb[l]!, this.vb[l]!);
    }
  }

  /** Copies the weights of `other` (same sizes) into this network (target-network sync). */
  copyFrom(other: Mlp): void {
    if (other.sizes.join() !== this.sizes.join()) throw new RangeError(`cannot copy an MLP [${other.sizes}] into [${this.sizes}]`);
    for (let l = 0; l < this.w.length; l++) {
      this.w[l]!.set(other.w[l]!);
      this.b[l]!.set(other.b[l]!);
    }
  }

  /** Serialisable weights. */
  toJSON(): { sizes: number[]; w: number[][]; b: number[][] } {
    return { sizes: [...this.sizes], w: this.w.map((x) => Array.from(x)), b: this.b.map((x) => Array.from(x)) };
  }
}
