import { z } from 'zod';
import { rlDataset, rlPolicy } from '../../contracts/index.ts';
import { StepError } from '../../lib/errors.ts';
import type { RlDataset } from '../../rl/dataset.ts';
import type { TrainConfig } from '../../rl/config.ts';
import { argmax, mlpForward, type MlpParams } from '../../rl/networks.ts';
import { defineStepKind } from '../types.ts';
import { rlConfigWith, type DatasetMeta } from './dataset.ts';

/** The `policy` JSON artifact of rl.train (what rl.ope evaluates). */
export interface PolicyArtifact {
  algo: 'cql' | 'iql' | 'bc';
  /** 'q_values' (CQL) or 'logits' (IQL, BC): either way the policy is argmax over `actions`. */
  scores: 'q_values' | 'logits';
  actions: number[];
  baseline_action_index: number;
  feature_names: string[];
  network: MlpParams;
  q_network: MlpParams | null;
}

export const trainOutputs = z.object({
  policy: rlPolicy.schema,
  algo: z.enum(['cql', 'iql', 'bc']).describe('algorithm trained'),
  steps: z.number().int().describe('gradient steps run'),
  train_seconds: z.number().describe('training wall time, seconds'),
  n_train: z.number().int().describe('training transitions'),
  final_loss: z.number().describe('loss at the last logged step'),
  mean_multiplier_train: z.number().describe('mean multiplier the greedy learned policy picks on the training states'),
  action_share_train: z.record(z.string(), z.number()).describe('share of training states where the greedy policy picks each action (keys = multipliers)'),
});

/** Training arrays of the train split (float32, as the learners take them) with input scaling. */
function trainingData(ds: RlDataset, batchSize: number) {
  const F = ds.featureNames.length;
  const idx: number[] = [];
  for (let i = 0; i < ds.n; i++) if (ds.split[i] === 0) idx.push(i);
  if (idx.length < batchSize / 4) {
    throw new StepError({ message: `rl.train: only ${idx.length} training transitions (batch_size ${batchSize}); extend the data or lower dataset.eval_fraction`, type: 'RlDataError', nonRetryable: true });
  }
  const n = idx.length;
  const s = new Float32Array(n * F);
  const s2 = new Float32Array(n * F);
  const a = new Int32Array(n);
  const r = new Float32Array(n);
  const done = new Float32Array(n);
  idx.forEach((i, j) => {
    s.set(ds.state.subarray(i * F, (i + 1) * F), j * F);
    s2.set(ds.nextState.subarray(i * F, (i + 1) * F), j * F);
    a[j] = ds.action[i]!;
    r[j] = ds.reward[i]!;
    done[j] = ds.done[i]!;
  });
  return { n, dim: F, nActions: ds.actions.length, s, a, r, s2, done };
}

/** Greedy action shares and mean multiplier of a policy network on `n` states. */
function actionShares(network: MlpParams, s: Float32Array, n: number, actions: number[]) {
  const scores = mlpForward(network, s, n);
  const A = actions.length;
  const counts = new Array<number>(A).fill(0);
  let mean = 0;
  for (let j = 0; j < n; j++) {
    const k = argmax(scores, j * A, A);
    counts[k]!++;
    mean += actions[k]! / n;
  }
  const share: Record<string, number> = {};
  actions.forEach((m, k) => (share[String(m)] = counts[k]! / n));
  return { mean, share };
}

/** `rl.train`: offline RL sizing policy from the bound rl.dataset's training period. */
export const rlTrain = defineStepKind({
  uses: 'rl.train',
  version: '2',
  description:
    'Offline RL position sizing: discrete CQL, discrete IQL or behaviour cloning (seeded; the fused wasm kernels, or tfjs-wasm with train.backend: tfjs) on the rl.dataset training period, in a worker thread; exports the policy to ONNX and logs training curves',
  with: z
    .object({
      ...rlConfigWith,
      algo: z.enum(['cql', 'iql', 'bc']).optional().describe('overrides train.algo of the config'),
      steps: z.number().int().min(1).optional().describe('overrides train.steps of the config'),
      seed: z.number().int().optional().describe('overrides train.seed of the config'),
      worker: z.boolean().default(true).describe('train in a worker thread (heartbeats flow); false trains on the calling thread'),
    })
    .strict(),
  consumes: { dataset: { contract: rlDataset, description: 'the logged behaviour dataset (its training split)' } },
  provides: { policy: rlPolicy },
  outputs: trainOutputs,
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const { loadRlConfig } = await import('../../rl/config.ts');
    const { readDatasetParquet } = await import('../../rl/dataset.ts');
    const { inputScale, trainOnBackend } = await import('../../rl/train.ts');
    const { trainInWorker } = await import('../../rl/worker.ts');
    const { mlpToOnnx } = await import('../../models/onnx/mlp.ts');
    const cfg = loadRlConfig(ctx.projectRoot, w.config, w.overrides);
    const tc: TrainConfig = { ...cfg.train, algo: w.algo ?? cfg.train.algo, steps: w.steps ?? cfg.train.steps, seed: w.seed ?? cfg.train.seed };
    const input = ctx.input('dataset').value;
    const meta = ctx.artifacts.readJson<DatasetMeta>(input.meta);
    const ds = await readDatasetParquet(ctx.artifacts.path(input.dataset), meta);
    const td = trainingData(ds, tc.batch_size);
    const data = { ...td, ...inputScale(td.s, td.n, td.dim) };
    const onProgress = (p: { step: number; total: number; metrics: Record<string, number> | null }) =>
      ctx.progress({ fraction: 0.1 + 0.85 * (p.step / p.total), current: p.step, total: p.total, message: `${tc.algo} step ${p.step}/${p.total}${p.metrics ? ` loss ${p.metrics.loss!.toFixed(4)}` : ''}` });
    const res = w.worker ? await trainInWorker(data, tc, { onProgress, signal: ctx.signal }) : await trainOnBackend(data, tc, { onProgress, shouldStop: () => ctx.signal.aborted });
    if (ctx.signal.aborted) throw new StepError({ message: 'rl.train: aborted', type: 'Aborted' });

    const policy: PolicyArtifact = { algo: res.algo, scores: res.algo === 'cql' ? 'q_values' : 'logits', actions: ds.actions, baseline_action_index: ds.baselineAction, feature_names: ds.featureNames, network: res.policy, q_network: res.q };
    const shares = actionShares(res.policy, td.s, td.n, ds.actions);
    const onnx = mlpToOnnx(res.policy, {
      graphName: `rl_${res.algo}_policy`,
      metadata: {
        'trademl.kind': 'rl.policy',
        algo: res.algo,
        scores: policy.scores,
        actions: JSON.stringify(ds.actions),
        feature_names: JSON.stringify(ds.featureNames),
        decision: 'argmax over scores; multiplier = actions[argmax]; applied to the baseline target weights',
      },
    });
    const policyRef = await ctx.artifacts.putJson(policy, `rl_${res.algo}_policy.json`);
    const onnxRef = await ctx.artifacts.putBytes(onnx, `rl_${res.algo}_policy.onnx`);
    const curvesRef = await ctx.artifacts.putJson({ algo: res.algo, config: tc, curves: res.curves, final: res.final }, `rl_${res.algo}_curves.json`);
    ctx.progress({ fraction: 1, message: `${res.algo}: ${res.steps} steps in ${res.seconds.toFixed(1)}s` });
    return {
      policy: { algo: res.algo, policy: policyRef, onnx: onnxRef, curves: curvesRef },
      algo: res.algo,
      steps: res.steps,
      train_seconds: res.seconds,
      n_train: td.n,
      final_loss: res.final.loss ?? NaN,
      mean_multiplier_train: shares.mean,
      action_share_train: shares.share,
    };
  },
});
