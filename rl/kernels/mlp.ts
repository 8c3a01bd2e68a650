/**
 * A fused typed-array MLP with input standardisation, manual backpropagation and Adam, for the
 * offline-RL networks (64×64 hidden layers, batch 256): the same function, initialisation and
 * optimiser as rl/networks.ts `TfMlp` + `tf.train.adam`, without tfjs' per-op dispatch.
 *
 *   x̃ = (x − mean) ⊙ invStd,  z_l = h_l W_l + b_l,  h_{l+1} = relu(z_l)  (no relu after the last layer)
 *
 * The three matrix products of a step (forward, weight gradient, input gradient) run in one
 * WebAssembly SIMD kernel (rl/kernels/wasm.ts) on float32, as tfjs' wasm backend does; rounding
 * to float32 at tfjs' op boundaries (matMul, bias add). Glorot-uniform weights are drawn from
 * rl/rng.ts in TfMlp's order (layer by layer, row-major [in, out]), biases start at zero: the same
 * seed gives the same network. Every width is padded to a multiple of 8 with zeros (and the batch
 * to a multiple of 4 rows) inside the kernel's memory; padded weights get zero gradients and stay 0.
 * Buffers live in one wasm memory per network, allocated once per batch capacity: a step allocates nothing.
 */
import type { MlpParams } from '../networks.ts';
import { Rng } from '../rng.ts';
import { gemmInstance, type GemmInstance } from './wasm.ts';

const pad4 = (n: number): number => (n + 3) & ~3;
const pad8 = (n: number): number => (n + 7) & ~7;

/**
 * One dense layer: `wt` [pout, pin] is the master copy (what Adam updates), `w` [pin, pout] its
 * transpose (refreshed after every update), `gw` the gradient in wt's layout; all views into the
 * network's wasm memory. `in`/`out` are the true widths, `pin`/`pout` the padded ones.
 */
interface Layer {
  in: number;
  out: number;
  pin: number;
  pout: number;
  wt: Float32Array;
  w: Float32Array;
  b: Float32Array;
  gw: Float32Array;
  gb: Float64Array;
}

/** Views of the per-batch buffers: activations, output gradients and scratch. */
interface Buffers {
  rows: number;
  /** acts[l] [rows, pw_l] (acts[0] = x̃); scratch acts for passes that are not kept. */
  acts: Float32Array[];
  other: Float32Array[];
  dz: Float32Array[];
  /** byte offsets of the above in the memory */
  at: { acts: number[]; other: number[]; dz: number[] };
}

/** A trainable MLP on typed arrays and a wasm SIMD kernel. */
export class KernelMlp {
  readonly layers: Layer[] = [];
  private readonly widths: number[];
  private kernel!: GemmInstance;
  private buf!: Buffers;
  private offsets: { wt: number; w: number; gw: number }[] = [];
  /** Byte offsets of the layers' biases. */
  private biasAt: number[] = [];
  /** Rows of the kept forward pass (what `backward` differentiates). */
  private keptRows = 0;

  constructor(
    readonly sizes: number[],
    seed: number,
    readonly inputMean: Float32Array,
    readonly inputInvStd: Float32Array,
  ) {
    this.widths = sizes.map(pad8);
    this.allocate(4, []);
    const rng = new Rng(seed);
    for (const L of this.layers) {
      const lim = Math.sqrt(6 / (L.in + L.out));
      for (let k = 0; k < L.in; k++) for (let j = 0; j < L.out; j++) L.wt[j * L.pin + k] = (2 * rng.next() - 1) * lim;
    }
    this.syncWeights();
  }

  /** (Re)creates the wasm memory for `rows` batch rows, carrying the weights of `keep` over. */
  private allocate(rows: number, keep: { wt: Float32Array; b: Float32Array }[]): void {
    const w = this.widths;
    const R = pad4(rows);
    let bytes = 0;
    const take = (n: number): number => {
      const at = bytes;
      bytes += n * 4;
      return at;
    };
    this.offsets = [];
    for (let l = 0; l + 1 < w.length; l++) this.offsets.push({ wt: take(w[l]! * w[l + 1]!), w: take(w[l]! * w[l + 1]!), gw: take(w[l]! * w[l + 1]!) });
    const bias = w.slice(1).map((x) => take(x));
    this.biasAt = bias;
    const at = { acts: w.map((x) => take(R * x)), other: w.map((x) => take(R * x)), dz: w.map((x) => take(R * x)) };
    this.kernel = gemmInstance(bytes);
    const mem = this.kernel.memory.buffer;
    const view = (off: number, n: number) => new Float32Array(mem, off, n);
    const layers: Layer[] = [];
    for (let l = 0; l + 1 < w.length; l++) {
      const pin = w[l]!, pout = w[l + 1]!, o = this.offsets[l]!;
      const L: Layer = { in: this.sizes[l]!, out: this.sizes[l + 1]!, pin, pout, wt: view(o.wt, pin * pout), w: view(o.w, pin * pout), b: view(bias[l]!, pout), gw: view(o.gw, pin * pout), gb: new Float64Array(pout) };
      if (keep[l]) {
        L.wt.set(keep[l]!.wt);
        L.b.set(keep[l]!.b);
      }
      layers.push(L);
    }
    this.layers.splice(0, this.layers.length, ...layers);
    const views = (offs: number[]) => offs.map((off, l) => view(off, R * w[l]!));
    this.buf = { rows: R, acts: views(at.acts), other: views(at.other), dz: views(at.dz), at };
    this.syncWeights();
  }

  /** Rebuilds a network from serialised weights. */
  static fromParams(p: MlpParams): KernelMlp {
    const sizes = [p.layers[0]!.in, ...p.layers.map((l) => l.out)];
    const net = new KernelMlp(sizes, 0, Float32Array.from(p.inputMean), Float32Array.from(p.inputInvStd));
    p.layers.forEach((l, i) => {
      const L = net.layers[i]!;
      for (let k = 0; k < L.in; k++) for (let j = 0; j < L.out; j++) L.wt[j * L.pin + k] = l.w[k * L.out + j]!;
      L.b.set(l.b);
    });
    net.syncWeights();
    return net;
  }

  /** Output width. */
  get outDim(): number {
    return this.sizes[this.sizes.length - 1]!;
  }

  private ensure(n: number): void {
    if (pad4(n) <= this.buf.rows) return;
    this.allocate(n, this.layers.map((L) => ({ wt: L.wt.slice(), b: L.b.slice() })));
  }

  /**
   * Forward pass of `n` rows of `x` ([n·in], row-major). Writes [n·outDim] into `out` and returns
   * it; the intermediate activations are kept for `backward` (only the last kept pass is
   * differentiated). A pass with `keep = false` uses other buffers and leaves the kept ones untouched.
   */
  forward(x: ArrayLike<number>, n: number, out: Float64Array = new Float64Array(n * this.outDim), keep = true): Float64Array {
    this.ensure(n);
    const R = this.buf.rows;
    const acts = keep ? this.buf.acts : this.buf.other;
    const offs = keep ? this.buf.at.acts : this.buf.at.other;
    if (keep) this.keptRows = n;
    const d = this.sizes[0]!, pd = this.widths[0]!;
    const x0 = acts[0]!;
    x0.fill(0);
    const mean = this.inputMean, inv = this.inputInvStd;
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x0[i * pd + j] = Math.fround(x[i * d + j]! - mean[j]!) * inv[j]!;
    const nL = this.layers.length;
    for (let l = 0; l < nL; l++) {
      const L = this.layers[l]!;
      // h' [R, pout] = relu(h [R, pin] · W [pin, pout] + b), no relu after the last layer
      this.kernel.gemm(offs[l]!, this.offsets[l]!.w, offs[l + 1]!, R, L.pout, L.pin, 4 * L.pin, 4, this.biasAt[l]!, l < nL - 1 ? 3 : 1);
    }
    const last = acts[nL]!, po = this.widths[nL]!, od = this.outDim;
    for (let i = 0; i < n; i++) for (let j = 0; j < od; j++) out[i * od + j] = last[i * po + j]!;
    return out;
  }

  /**
   * Backpropagates dL/d(output) ([n·outDim] of the last kept forward pass) and SETS the layers'
   * gradients gw/gb to the result. Inputs get no gradient.
   */
  backward(dOut: Float64Array): void {
    const n = this.keptRows, R = this.buf.rows, nL = this.layers.length;
    const { dz, at } = this.buf;
    const od = this.outDim, po = this.widths[nL]!;
    const top = dz[nL]!;
    top.fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < od; j++) top[i * po + j] = dOut[i * od + j]!;
    for (let l = nL - 1; l >= 0; l--) {
      const L = this.layers[l]!;
      const g = dz[l + 1]!;
      // gW [pout, pin] = dzᵀ · h: A(i, k) = dz[k, i], B = h [R, pin]
      this.kernel.gemm(at.dz[l + 1]!, at.acts[l]!, this.offsets[l]!.gw, L.pout, L.pin, R, 4, 4 * L.pout, 0, 0);
      L.gb.fill(0);
      for (let i = 0; i < n; i++) for (let j = 0; j < L.out; j++) L.gb[j] += g[i * L.pout + j]!;
      if (l === 0) break;
      // dz_l [R, pin] = (dz [R, pout] · Wᵀ) ⊙ [h > 0]  (Wᵀ = wt [pout, pin]; relu's derivative)
      this.kernel.gemm(at.dz[l + 1]!, this.offsets[l]!.wt, at.dz[l]!, R, L.pin, L.pout, 4 * L.pout, 4, at.acts[l]!, 4);
    }
  }

  /** Refreshes the transposed weight copies after the master weights changed (Adam calls it). */
  syncWeights(): void {
    for (const L of this.layers) for (let j = 0; j < L.pout; j++) for (let k = 0; k < L.pin; k++) L.w[k * L.pout + j] = L.wt[j * L.pin + k]!;
  }

  /** Copies the weights of `other` (same shape) into this network. */
  copyFrom(other: KernelMlp): void {
    this.layers.forEach((L, i) => {
      L.wt.set(other.layers[i]!.wt);
      L.w.set(other.layers[i]!.w);
      L.b.set(other.layers[i]!.b);
    });
  }

  /** The parameters as plain arrays, in the shape TfMlp.toParams returns (W row-major [in, out]). */
  toParams(): MlpParams {
    return {
      inputMean: Array.from(this.inputMean),
      inputInvStd: Array.from(this.inputInvStd),
      layers: this.layers.map((L) => {
        const w: number[] = new Array(L.in * L.out);
        for (let k = 0; k < L.in; k++) for (let j = 0; j < L.out; j++) w[k * L.out + j] = L.wt[j * L.pin + k]!;
        return { in: L.in, out: L.out, w, b: Array.from(L.b.subarray(0, L.out)) };
      }),
    };
  }
}

/**
 * Adam (Kingma & Ba 2015) over the layers of one or more networks, exactly as tfjs' AdamOptimizer:
 *   m ← β1 m + (1−β1) g,  v ← β2 v + (1−β2) g²,  θ ← θ − lr · (m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε)
 * with ε = 1e-7 (tfjs' float32 backend epsilon) and β1ᵗ, β2ᵗ accumulated in float32.
 */
export class KernelAdam {
  /** First and second moments per network, layer, and weights (0) / bias (1). */
  private readonly m: Float32Array[][][];
  private readonly v: Float32Array[][][];
  private accB1: number;
  private accB2: number;

  constructor(
    readonly nets: KernelMlp[],
    readonly lr: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-7,
  ) {
    const zeros = () => nets.map((net) => net.layers.map((L) => [new Float32Array(L.wt.length), new Float32Array(L.b.length)]));
    this.m = zeros();
    this.v = zeros();
    this.accB1 = Math.fround(beta1);
    this.accB2 = Math.fround(beta2);
  }

  /** Applies one update from the networks' current gradients (layers are read now: buffers may have moved). */
  step(): void {
    const f = Math.fround;
    const c1 = f(1 - this.accB1), c2 = f(1 - this.accB2);
    this.nets.forEach((net, q) => {
      net.layers.forEach((L, l) => {
        this.update(L.wt, L.gw, this.m[q]![l]![0]!, this.v[q]![l]![0]!, c1, c2);
        this.update(L.b, L.gb, this.m[q]![l]![1]!, this.v[q]![l]![1]!, c1, c2);
      });
      net.syncWeights();
    });
    this.accB1 = f(this.accB1 * this.beta1);
    this.accB2 = f(this.accB2 * this.beta2);
  }

  /** θ ← θ − lr · m̂ / (√v̂ + ε) with tfjs' float32 op order. Numeric kernel. */
  private update(p: Float32Array, g: Float32Array | Float64Array, m: Float32Array, v: Float32Array, c1: number, c2: number): void {
    const f = Math.fround;
    const b1 = this.beta1, b2 = this.beta2, lr = this.lr, eps = this.epsilon;
    const ob1 = 1 - b1, ob2 = 1 - b2;
    for (let i = 0; i < p.length; i++) {
      const gi = f(g[i]!);
      const mi = f(f(m[i]! * b1) + f(gi * ob1));
      const vi = f(f(v[i]! * b2) + f(f(gi * gi) * ob2));
      m[i] = mi;
      v[i] = vi;
      const step = f(f(f(mi / c1) / f(f(Math.sqrt(f(vi / c2))) + eps)) * -lr);
      p[i] = f(step + p[i]!);
    }
  }
}
