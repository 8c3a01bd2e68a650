/**
 * The fused RL kernels (rl/kernels/) against the tfjs networks (issue 18). Prints one JSON object.
 *
 *   npx tsx bench/rl_kernels.ts [--steps 300]
 *
 * 1. One 64×64 MLP Adam step at batch 256 (9 inputs, 7 outputs: rl.dataset's shapes): forward,
 *    backward, Adam, on the kernel, and the same network through tfjs-wasm (`opt.minimize` of a
 *    squared loss); ms per step, wall and CPU (the machine is shared: CPU time is the steadier figure).
 * 2. Steps per second of CQL, IQL and BC training (configs/rl.yml's train section, batch 256) on
 *    seeded transitions of rl.dataset's shape, kernel vs tfjs, and the max |Δ| of the trained policy
 *    weights between the two.
 */
import os from 'node:os';
import { loadRlConfig } from '../rl/config.ts';
import { KernelAdam, KernelMlp } from '../rl/kernels/mlp.ts';
import { trainOfflineKernel } from '../rl/kernels/train.ts';
import { TfMlp } from '../rl/networks.ts';
import { Rng } from '../rl/rng.ts';
import { loadTf } from '../rl/tf.ts';
import { inputScale, trainOffline, type TrainData } from '../rl/train.ts';
import { PROJECT_ROOT } from '../lib/paths.ts';

const steps = Number(process.argv[process.argv.indexOf('--steps') + 1] || 300) || 300;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;
const DIM = 9, A = 7, B = 256;

/** Seeded transitions of rl.dataset's shape. */
function data(n = 20_000): TrainData {
  const rng = new Rng(5);
  const s = Float32Array.from({ length: n * DIM }, () => rng.normal() * 0.02);
  const s2 = Float32Array.from({ length: n * DIM }, () => rng.normal() * 0.02);
  return { n, dim: DIM, nActions: A, s, s2, a: Int32Array.from({ length: n }, () => rng.int(A)), r: Float32Array.from({ length: n }, () => rng.normal() * 0.01), done: Float32Array.from({ length: n }, () => (rng.next() < 0.05 ? 1 : 0)), ...inputScale(s, n, DIM) };
}

/** ms per call of `f` (wall and CPU) over `n` calls after `warm` warm-up calls; best of 3 rounds. */
function time(f: () => void, n: number, warm = 20): { wall_ms: number; cpu_ms: number } {
  for (let i = 0; i < warm; i++) f();
  let best = { wall_ms: Infinity, cpu_ms: Infinity };
  for (let r = 0; r < 3; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    const w = (performance.now() - t0) / n, c = cpuMs(process.cpuUsage(c0)) / n;
    if (w < best.wall_ms) best = { wall_ms: r3(w), cpu_ms: r3(c) };
  }
  return best;
}

const d = data();
const x = d.s.subarray(0, B * DIM);
const target = Float32Array.from({ length: B * A }, (_, i) => Math.sin(i) * 0.1);
// kernel: forward, dL/dout of mean squared error, backward, Adam
const net = new KernelMlp([DIM, 64, 64, A], 1, d.mean, d.invStd);
const opt = new KernelAdam([net], 3e-4);
const out = new Float64Array(B * A), g = new Float64Array(B * A);
const kernelStep = time(() => {
  net.forward(x, B, out);
  for (let i = 0; i < out.length; i++) g[i] = (2 * (out[i]! - target[i]!)) / out.length;
  net.backward(g);
  opt.step();
}, 200);
// tfjs: the same network and loss through opt.minimize
const tf = await loadTf();
const tnet = new TfMlp(tf, [DIM, 64, 64, A], 1, d.mean, d.invStd);
const topt = tf.train.adam(3e-4);
const xs = tf.tensor2d(x, [B, DIM]), ys = tf.tensor2d(target, [B, A]);
const tfStep = time(() => {
  tf.tidy(() => {
    topt.minimize(() => tf.mean(tf.square(tf.sub(tnet.apply(xs), ys))) as never, false, tnet.vars);
  });
}, 50, 5);

const cfg0 = loadRlConfig(PROJECT_ROOT).train;
const algos: Record<string, unknown> = {};
for (const algo of ['cql', 'iql', 'bc'] as const) {
  const cfg = { ...cfg0, algo, steps };
  const c0 = process.cpuUsage();
  const k = await trainOfflineKernel(d, cfg);
  const kc = cpuMs(process.cpuUsage(c0));
  const c1 = process.cpuUsage();
  const t = await trainOffline(d, cfg);
  const tc = cpuMs(process.cpuUsage(c1));
  let md = 0;
  t.policy.layers.forEach((L, i) => L.w.forEach((w, j) => (md = Math.max(md, Math.abs(w - k.policy.layers[i]!.w[j]!)))));
  algos[algo] = {
    kernel_steps_per_s: Math.round(steps / k.seconds), kernel_cpu_ms_per_step: r3(kc / steps),
    tfjs_steps_per_s: Math.round(steps / t.seconds), tfjs_cpu_ms_per_step: r3(tc / steps),
    speedup_wall: r3(t.seconds / k.seconds), policy_max_abs_diff: md,
  };
  process.stderr.write(`${algo} ${JSON.stringify(algos[algo])}\n`);
}
console.log(JSON.stringify({
  bench: 'rl_kernels', cpus: os.cpus().length, load_avg_1m: r3(os.loadavg()[0]!), batch: B, hidden: [64, 64], inputs: DIM, actions: A,
  mlp_adam_step: { kernel: kernelStep, tfjs_wasm: tfStep, target_ms: 2 },
  training: { steps, ...algos },
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
}, null, 2));
