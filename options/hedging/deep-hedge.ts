/**
 * Deep hedging (Buehler, Gonon, Teichmann & Wood 2019, "Deep hedging", Quant. Finance 19(8)):
 * a small feed-forward network, shared across time steps, maps (ln(Sᵢ/K)/√τᵢ, fraction of time left)
 * to the hedge δᵢ = tanh(MLP(·)) of a short ATM straddle, trained on simulated
 * paths to minimise the CVaR of the hedging loss with proportional costs — the convex-risk-measure
 * formulation of their §3 with CVaR written à la Rockafellar & Uryasev (2000):
 *
 *   min_{θ, w}  w + E[(−P&L_θ − w)⁺]/(1 − α),   P&L as in hedging/hedge-pnl.ts.
 *
 * tfjs with the wasm backend (rl/tf.ts), float32, Adam; weights initialised from a seeded
 * Glorot-uniform draw of our own PRNG and mini-batches taken in a seeded order, so a run is
 * reproducible. The trained network is returned as plain arrays and evaluated in float64 JS
 * ({@link mlpHedger}), so evaluation does not depend on the backend.
 * Simplification, stated: the paper's recurrent input δᵢ₋₁ (which matters when costs are large) is
 * left out so that all steps run as one batched matrix product — with 1 bp costs on NIFTY futures the
 * no-trade band it would learn is narrow — and training fits in seconds on 2 CPU cores.
 */
import { loadTf } from '../../rl/tf.ts';
import { mulberry32 } from '../stats/rng.ts';
import type { Hedger } from './hedge-pnl.ts';

/** A dense layer: w[in][out], b[out]. */
export interface DenseLayer {
  w: number[][];
  b: number[];
}

/** MLP parameters: hidden layers ReLU, output layer tanh (one unit). */
export interface MlpParams {
  layers: DenseLayer[];
}

/** Training settings. */
export interface DeepHedgeConfig {
  hidden?: number[];
  iterations?: number;
  batch?: number;
  learningRate?: number;
  /** CVaR level α (default 0.95). */
  alpha?: number;
  /** Proportional cost per unit of notional traded (default 1e-4 = 1 bp). */
  costRate?: number;
  seed?: number;
}

/** Trained network, the CVaR objective per iteration and the final VaR variable w. */
export interface DeepHedgeResult {
  params: MlpParams;
  curve: number[];
  w: number;
  seconds: number;
}

/**
 * Trains on `paths` (row-major n × (steps + 1), S₀ = 1) for a short straddle of strike `strike`
 * and `maturity` years sold for `premium`. Network inputs per step: zᵢ = ln(Sᵢ/K)/√τᵢ (τᵢ years left:
 * moneyness per unit √time, the scale of a delta) and the fraction of time left. Throws RangeError on
 * inconsistent shapes.
 */
export async function trainDeepHedger(paths: Float64Array, steps: number, maturity: number, strike: number, premium: number, cfg: DeepHedgeConfig = {}): Promise<DeepHedgeResult> {
  const n = paths.length / (steps + 1);
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`trainDeepHedger: ${paths.length} values do not make paths of ${steps + 1} points`);
  const tf = await loadTf();
  const hidden = cfg.hidden ?? [16, 16];
  const B = Math.min(cfg.batch ?? 512, n);
  const alpha = cfg.alpha ?? 0.95;
  const c = cfg.costRate ?? 1e-4;
  const rnd = mulberry32(cfg.seed ?? 1);
  const sizes = [2, ...hidden, 1];
  const vars = sizes.slice(1).map((out, l) => {
    const inp = sizes[l]!;
    const a = Math.sqrt(6 / (inp + out));
    const w = Array.from({ length: inp }, () => Array.from({ length: out }, () => (2 * rnd() - 1) * a));
    return { w: tf.variable(tf.tensor2d(w)), b: tf.variable(tf.zeros([out])) };
  });
  const wVar = tf.variable(tf.scalar(premium * 0.5));
  const all = tf.tensor2d(Float32Array.from(paths), [n, steps + 1]);
  const tau = tf.tensor2d(Array.from({ length: steps }, (_, i) => [(steps - i) / steps]));
  const invSqrtTau = tf.tensor2d([Array.from({ length: steps }, (_, i) => 1 / Math.sqrt(((steps - i) / steps) * maturity))]);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const opt = tf.train.adam(cfg.learningRate ?? 0.005);
  const curve: number[] = [];
  const t0 = Date.now();
  const iterations = cfg.iterations ?? 300;
  for (let it = 0; it < iterations; it++) {
    const start = (it * B) % n;
    const idx = tf.tensor1d(Array.from({ length: B }, (_, k) => order[(start + k) % n]!), 'int32');
    const S = tf.gather(all, idx);
    const loss = opt.minimize(() => {
      const pnl = pathPnl(tf, S, vars, steps, strike, premium, c, tau, invSqrtTau);
      return tf.add(wVar, tf.div(tf.mean(tf.relu(tf.sub(tf.neg(pnl), wVar))), 1 - alpha)) as import('@tensorflow/tfjs').Scalar;
    }, true);
    curve.push((await loss!.data())[0]!);
    tf.dispose([loss!, idx, S]);
  }
  const params: MlpParams = { layers: await Promise.all(vars.map(async (v) => ({ w: (await v.w.array()) as number[][], b: (await v.b.array()) as number[] }))) };
  const w = (await wVar.data())[0]!;
  tf.dispose([all, tau, invSqrtTau, wVar, ...vars.flatMap((v) => [v.w, v.b])]);
  opt.dispose();
  return { params, curve, w, seconds: (Date.now() - t0) / 1000 };
}

type TfMod = Awaited<ReturnType<typeof loadTf>>;
type T2 = import('@tensorflow/tfjs').Tensor2D;
type Var = { w: import('@tensorflow/tfjs').Variable; b: import('@tensorflow/tfjs').Variable };

/**
 * P&L tensor [B] of the short straddle under the network hedge (hedging/hedge-pnl.ts formula).
 * The inputs of all N steps are stacked into one [B·N, 2] matrix, so the network runs once per batch.
 */
function pathPnl(tf: TfMod, S: T2, vars: Var[], steps: number, strike: number, premium: number, c: number, tau: T2, invSqrtTau: T2): import('@tensorflow/tfjs').Tensor1D {
  const B = S.shape[0];
  const head = tf.slice(S, [0, 0], [B, steps]) as T2; // S_0 … S_{N−1}
  const tail = tf.slice(S, [0, 1], [B, steps]) as T2; // S_1 … S_N
  const x = tf.concat([tf.reshape(tf.mul(tf.log(tf.div(head, strike)), invSqrtTau), [B * steps, 1]), tf.tile(tau, [B, 1])], 1) as T2;
  let h: T2 = x;
  vars.forEach((v, l) => {
    const z = tf.add(tf.matMul(h, v.w as unknown as T2), v.b) as T2;
    h = l < vars.length - 1 ? (tf.relu(z) as T2) : (tf.tanh(z) as T2);
  });
  const d = tf.reshape(h, [B, steps]) as T2;
  const prev = tf.concat([tf.zeros([B, 1]), tf.slice(d, [0, 0], [B, steps - 1])], 1) as T2;
  const sN = tf.slice(S, [0, steps], [B, 1]) as T2;
  const gains = tf.sum(tf.mul(d, tf.sub(tail, head)), 1);
  const cost = tf.add(tf.sum(tf.mul(tf.abs(tf.sub(d, prev)), head), 1), tf.reshape(tf.mul(tf.abs(tf.slice(d, [0, steps - 1], [B, 1])), sN), [B]));
  const payoff = tf.reshape(tf.abs(tf.sub(sN, strike)), [B]);
  return tf.sub(tf.sub(tf.add(gains, premium), payoff), tf.mul(cost, c)) as import('@tensorflow/tfjs').Tensor1D;
}

/** The trained network as a {@link Hedger} for `maturity` years (float64 JS forward pass: ReLU hidden layers, tanh output). */
export function mlpHedger(p: MlpParams, maturity: number): Hedger {
  return (x, tau) => {
    let h = [x / Math.sqrt(tau * maturity), tau];
    p.layers.forEach((layer, l) => {
      const out = layer.b.map((b, j) => h.reduce((s, v, i) => s + v * layer.w[i]![j]!, b));
      h = l < p.layers.length - 1 ? out.map((z) => Math.max(z, 0)) : out.map(Math.tanh);
    });
    return h[0]!;
  };
}
