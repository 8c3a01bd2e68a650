import type * as TfTypes from '@tensorflow/tfjs';
import { createBc } from './bc.ts';
import type { TrainConfig } from './config.ts';
import { createCql } from './cql.ts';
import { createIql } from './iql.ts';
import type { LearnerFactory, TrainData } from './learner.ts';
import type { MlpParams } from './networks.ts';
import { Rng } from './rng.ts';
import { loadTf } from './tf.ts';

export type { TrainData } from './learner.ts';

/**
 * Trains on `cfg.backend`: 'kernel' (rl/kernels/train.ts, the fused networks: same algorithms,
 * seeded draws and outputs, within float32 rounding of tfjs; ~7× faster a step) or 'tfjs' (the
 * reference networks of this file). Same contract and errors as {@link trainOffline}.
 */
export async function trainOnBackend(data: TrainData, cfg: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult & { stopped: boolean }> {
  if (cfg.backend === 'tfjs') return trainOffline(data, cfg, hooks);
  const { trainOfflineKernel } = await import('./kernels/train.ts');
  return trainOfflineKernel(data, cfg, hooks);
}

const FACTORIES: Record<TrainConfig['algo'], LearnerFactory> = { cql: createCql, iql: createIql, bc: createBc };

/** Training curves: metric name → values at the logged steps (`step`). */
export type Curves = { step: number[] } & Record<string, number[]>;

export interface TrainResult {
  algo: TrainConfig['algo'];
  steps: number;
  seconds: number;
  policy: MlpParams;
  q: MlpParams | null;
  curves: Curves;
  /** last logged value of every metric. */
  final: Record<string, number>;
}

export interface TrainHooks {
  onProgress?: (p: { step: number; total: number; metrics: Record<string, number> | null }) => void;
  shouldStop?: () => boolean;
}

/**
 * Mean and inverse standard deviation of each input column over [n·dim] rows (σ floored at 1e-6;
 * constant columns get 1/σ = 1 after centring so they contribute 0).
 */
export function inputScale(x: ArrayLike<number>, n: number, dim: number): { mean: Float32Array; invStd: Float32Array } {
  const mean = new Float32Array(dim);
  const invStd = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i * dim + j]!;
    const mu = s / Math.max(1, n);
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[i * dim + j]! - mu) ** 2;
    const sd = Math.sqrt(v / Math.max(1, n - 1));
    mean[j] = mu;
    invStd[j] = sd > 1e-6 ? 1 / sd : 1;
  }
  return { mean, invStd };
}

/**
 * Trains `cfg.algo` (cql | iql | bc) on `data` for `cfg.steps` Adam steps with uniform minibatches
 * (with replacement) drawn from a seeded generator; networks are initialised from `cfg.seed`, so the
 * same inputs and config give the same weights on the same backend (tfjs wasm). Metrics are logged
 * every `log_every` steps. Throws when the data is empty; stops early (and says so) when `shouldStop`.
 */
export async function trainOffline(data: TrainData, cfg: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult & { stopped: boolean }> {
  if (data.n === 0) throw new Error('offline RL: no training transitions');
  const tf = await loadTf();
  const t0 = performance.now();
  const S = tf.tensor2d(data.s, [data.n, data.dim]);
  const S2 = tf.tensor2d(data.s2, [data.n, data.dim]);
  const Aall = tf.tensor1d(data.a, 'int32');
  const R = tf.tensor1d(data.r);
  const D = tf.tensor1d(data.done);
  const learner = FACTORIES[cfg.algo](tf, data, cfg);
  const rng = new Rng(cfg.seed * 7919 + 17);
  const B = Math.min(cfg.batch_size, data.n);
  const idx = new Int32Array(B);
  const curves: Curves = { step: [] };
  let final: Record<string, number> = {};
  let stopped = false;
  let step = 0;
  try {
    for (step = 1; step <= cfg.steps; step++) {
      if (hooks.shouldStop?.()) {
        stopped = true;
        break;
      }
      for (let i = 0; i < B; i++) idx[i] = rng.int(data.n);
      const log = step % cfg.log_every === 0 || step === cfg.steps;
      let metrics: Record<string, number> | null = null;
      tf.tidy(() => {
        const it = tf.tensor1d(idx, 'int32');
        const a = tf.gather(Aall, it) as TfTypes.Tensor1D;
        const batch = {
          s: tf.gather(S, it) as TfTypes.Tensor2D,
          a,
          aHot: tf.oneHot(a, data.nActions).toFloat() as TfTypes.Tensor2D,
          r: tf.gather(R, it) as TfTypes.Tensor1D,
          s2: tf.gather(S2, it) as TfTypes.Tensor2D,
          done: tf.gather(D, it) as TfTypes.Tensor1D,
        };
        metrics = learner.step(batch, log);
      });
      if (step % cfg.target_update_every === 0) learner.updateTarget();
      if (metrics !== null) {
        const m: Record<string, number> = metrics;
        curves.step.push(step);
        for (const [k, v] of Object.entries(m)) (curves[k] ??= []).push(v);
        final = m;
        if (!Number.isFinite(m.loss!)) throw new Error(`offline RL (${cfg.algo}): loss became ${m.loss} at step ${step}; lower learning_rate or reward_scale`);
      }
      if (log || step % 10 === 0) hooks.onProgress?.({ step, total: cfg.steps, metrics });
      // yield so messages (progress, abort) flow while training
      if (step % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    const policy = learner.policy();
    const q = learner.q();
    return { algo: cfg.algo, steps: Math.min(step, cfg.steps), seconds: (performance.now() - t0) / 1000, policy, q, curves, final, stopped };
  } finally {
    learner.dispose();
    [S, S2, Aall, R, D].forEach((t) => t.dispose());
  }
}
