/**
 * Offline-RL training on the fused kernels: the loop of rl/train.ts `trainOffline` (same seeded
 * minibatch draws, target updates, metric logging, progress and stop hooks, the same TrainResult)
 * with the typed-array learners of rl/kernels/algos.ts instead of tfjs. No tfjs is loaded.
 */
import type { TrainConfig } from '../config.ts';
import type { TrainData } from '../learner.ts';
import { Rng } from '../rng.ts';
import type { Curves, TrainHooks, TrainResult } from '../train.ts';
import { kernelLearner, type KernelBatch } from './algos.ts';

/** Gathers the rows `idx` of `data` into `b` (reused arrays). */
function gather(data: TrainData, idx: Int32Array, b: KernelBatch): void {
  const d = data.dim;
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    b.s.set(data.s.subarray(r * d, r * d + d), i * d);
    b.s2.set(data.s2.subarray(r * d, r * d + d), i * d);
    b.a[i] = data.a[r]!;
    b.r[i] = data.r[r]!;
    b.done[i] = data.done[r]!;
  }
}

/**
 * Trains `cfg.algo` (cql | iql | bc) on `data` for `cfg.steps` Adam steps, exactly as
 * `trainOffline` does, on the fused kernels. Throws when the data is empty or the loss diverges.
 */
export async function trainOfflineKernel(data: TrainData, cfg: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult & { stopped: boolean }> {
  if (data.n === 0) throw new Error('offline RL: no training transitions');
  const t0 = performance.now();
  const learner = kernelLearner(data, cfg);
  const rng = new Rng(cfg.seed * 7919 + 17);
  const B = Math.min(cfg.batch_size, data.n);
  const idx = new Int32Array(B);
  const batch: KernelBatch = { n: B, s: new Float32Array(B * data.dim), a: new Int32Array(B), r: new Float32Array(B), s2: new Float32Array(B * data.dim), done: new Float32Array(B) };
  const curves: Curves = { step: [] };
  let final: Record<string, number> = {};
  let stopped = false;
  let step = 0;
  for (step = 1; step <= cfg.steps; step++) {
    if (hooks.shouldStop?.()) {
      stopped = true;
      break;
    }
    for (let i = 0; i < B; i++) idx[i] = rng.int(data.n);
    const log = step % cfg.log_every === 0 || step === cfg.steps;
    gather(data, idx, batch);
    const metrics = learner.step(batch, log);
    if (step % cfg.target_update_every === 0) learner.updateTarget();
    if (metrics !== null) {
      curves.step.push(step);
      for (const [k, v] of Object.entries(metrics)) (curves[k] ??= []).push(v);
      final = metrics;
      if (!Number.isFinite(metrics.loss!)) throw new Error(`offline RL (${cfg.algo}): loss became ${metrics.loss} at step ${step}; lower learning_rate or reward_scale`);
    }
    if (log || step % 10 === 0) hooks.onProgress?.({ step, total: cfg.steps, metrics });
    if (step % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  return { algo: cfg.algo, steps: Math.min(step, cfg.steps), seconds: (performance.now() - t0) / 1000, policy: learner.policy(), q: learner.q(), curves, final, stopped };
}
