/**
 * The fused RL kernels (rl/kernels/) against the tfjs networks they replace: same seed → same
 * initial weights, and CQL / IQL / BC training on the same minibatches gives the same weights and
 * losses within float32 tolerance (1 and 20 steps: ≤ 1e-5; after 120 Adam steps rounding differences
 * grow, as they do between any two float32 backends: the weights stay within 1e-2 and the greedy
 * policy agrees on ≥ 99% of the states).
 */
import { describe, expect, it } from 'vitest';
import { loadRlConfig } from '../../rl/config.ts';
import { KernelMlp } from '../../rl/kernels/mlp.ts';
import { trainOfflineKernel } from '../../rl/kernels/train.ts';
import { TfMlp, argmax, mlpForward, type MlpParams } from '../../rl/networks.ts';
import { Rng } from '../../rl/rng.ts';
import { loadTf } from '../../rl/tf.ts';
import { inputScale, trainOffline, type TrainData } from '../../rl/train.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';

const base = loadRlConfig(PROJECT_ROOT).train;

/** Seeded transitions shaped like rl.dataset's (9 state features, 7 action buckets). */
function data(n = 2000, dim = 9, A = 7): TrainData {
  const rng = new Rng(5);
  const s = Float32Array.from({ length: n * dim }, () => rng.normal() * 0.02);
  const s2 = Float32Array.from({ length: n * dim }, () => rng.normal() * 0.02);
  const a = Int32Array.from({ length: n }, () => rng.int(A));
  const r = Float32Array.from({ length: n }, () => rng.normal() * 0.01);
  const done = Float32Array.from({ length: n }, () => (rng.next() < 0.1 ? 1 : 0));
  return { n, dim, nActions: A, s, a, r, s2, done, ...inputScale(s, n, dim) };
}

/** max |Δ| over every weight and bias of two networks. */
function maxDiff(x: MlpParams, y: MlpParams): number {
  let d = 0;
  x.layers.forEach((L, i) => {
    L.w.forEach((w, j) => (d = Math.max(d, Math.abs(w - y.layers[i]!.w[j]!))));
    L.b.forEach((b, j) => (d = Math.max(d, Math.abs(b - y.layers[i]!.b[j]!))));
  });
  return d;
}

describe('rl/kernels: fused MLP + Adam equal the tfjs networks', () => {
  const d = data();

  it('same seed → bitwise the same initial weights; forward within float32 rounding of mlpForward', async () => {
    const tf = await loadTf();
    const sizes = [d.dim, 64, 64, d.nActions];
    const t = new TfMlp(tf, sizes, 11, d.mean, d.invStd);
    const k = new KernelMlp(sizes, 11, d.mean, d.invStd);
    expect(maxDiff(t.toParams(), k.toParams())).toBe(0);
    const ref = mlpForward(k.toParams(), d.s, 300);
    const out = k.forward(d.s, 300);
    let e = 0;
    ref.forEach((v, i) => (e = Math.max(e, Math.abs(v - out[i]!))));
    expect(e).toBeLessThan(1e-5);
    t.dispose();
  });

  for (const algo of ['cql', 'iql', 'bc'] as const) {
    it(`${algo}: 1 and 20 steps within 1e-5; 120 steps within float drift`, async () => {
      for (const steps of [1, 20]) {
        const cfg = { ...base, algo, steps, log_every: 1 };
        const [x, y] = [await trainOffline(d, cfg), await trainOfflineKernel(d, cfg)];
        expect(maxDiff(x.policy, y.policy)).toBeLessThan(1e-5);
        expect(Math.abs(x.final.loss! - y.final.loss!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(x.final.loss!)));
        expect(Object.keys(y.final).sort()).toEqual(Object.keys(x.final).sort());
      }
      const cfg = { ...base, algo, steps: 120 };
      const [x, y] = [await trainOffline(d, cfg), await trainOfflineKernel(d, cfg)];
      expect(maxDiff(x.policy, y.policy)).toBeLessThan(1e-2);
      expect(Math.abs(x.final.loss! - y.final.loss!)).toBeLessThan(1e-3 * Math.max(1, Math.abs(x.final.loss!)));
      const px = mlpForward(x.policy, d.s, d.n), py = mlpForward(y.policy, d.s, d.n);
      let agree = 0;
      for (let i = 0; i < d.n; i++) if (argmax(px, i * d.nActions, d.nActions) === argmax(py, i * d.nActions, d.nActions)) agree++;
      expect(agree / d.n).toBeGreaterThanOrEqual(0.99);
    });
  }
});
