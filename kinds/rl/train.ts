import { z } from 'zod';
import { StepError } from '../../lib/errors.ts';
import { artifactRefSchema, defineStepKind } from '../types.ts';
import { buildDataset, rlConfigWith, type DatasetMeta } from './dataset.ts';
import { ancestorOutputs } from './upstream.ts';
import type { ArtifactRef } from '../../artifacts/store.ts';
import type { MlpParams } from '../../rl/networks.ts';

/** The `policy` JSON artifact of rl.train (what rl.ope evaluates and portfolio.build may apply). */
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
  algo: z.enum(['cql', 'iql', 'bc']),
  steps: z.number().int(),
  train_seconds: z.number(),
  n_train: z.number().int(),
  dataset: artifactRefSchema,
  dataset_meta: artifactRefSchema,
  policy: artifactRefSchema,
  policy_onnx: artifactRefSchema,
  curves: artifactRefSchema,
  final_loss: z.number(),
  /** mean multiplier the greedy learned policy picks on the training states. */
  mean_multiplier_train: z.number(),
  /** share of training states where the greedy policy picks each action (keys = multipliers). */
  action_share_train: z.record(z.string(), z.number()),
});

export const rlTrain = defineStepKind({
  uses: 'rl.train',
  version: '1',
  description:
    'Offline RL position sizing: discrete CQL, discrete IQL or behaviour cloning (tfjs wasm, seeded) on the rl.dataset training period, in a worker thread; exports the policy to ONNX and logs training curves',
  with: z.object({
    ...rlConfigWith,
    algo: z.enum(['cql', 'iql', 'bc']).optional(),
    steps: z.number().int().min(1).optional(),
    seed: z.number().int().optional(),
    /** train in a worker thread (default) so heartbeats flow; false trains on the calling thread. */
    worker: z.boolean().default(true),
  }),
  outputs: trainOutputs,
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const { loadRlConfig } = await import('../../rl/config.ts');
    const { readDatasetParquet } = await import('../../rl/dataset.ts');
    const { inputScale, trainOffline } = await import('../../rl/train.ts');
    const { trainInWorker } = await import('../../rl/worker.ts');
    const { mlpForward, argmax } = await import('../../rl/networks.ts');
    const { mlpToOnnx } = await import('../../models/onnx/mlp.ts');
    const cfg = loadRlConfig(ctx.projectRoot, w.config, w.overrides);
    if (w.algo) cfg.train.algo = w.algo;
    if (w.steps) cfg.train.steps = w.steps;
    if (w.seed !== undefined) cfg.train.seed = w.seed;

    const up = ancestorOutputs(ctx, 'rl.dataset');
    let datasetRef: ArtifactRef;
    let metaRef: ArtifactRef;
    if (up) {
      datasetRef = up.outputs.dataset as ArtifactRef;
      metaRef = up.outputs.dataset_meta as ArtifactRef;
    } else {
      ctx.log.info('rl.train: no rl.dataset ancestor, building the behaviour dataset inline');
      const built = await buildDataset({ ...ctx, progress: (p) => ctx.progress({ ...p, fraction: (p.fraction ?? 0) * 0.1 }) }, cfg, 'rl.train');
      datasetRef = built.dataset;
      metaRef = built.dataset_meta;
    }
    const meta = ctx.artifacts.readJson<DatasetMeta>(metaRef);
    const ds = await readDatasetParquet(ctx.artifacts.path(datasetRef), meta);
    const F = ds.featureNames.length;
    const idx: number[] = [];
    for (let i = 0; i < ds.n; i++) if (ds.split[i] === 0) idx.push(i);
    if (idx.length < cfg.train.batch_size / 4) {
      throw new StepError({ message: `rl.train: only ${idx.length} training transitions (batch_size ${cfg.train.batch_size}); extend the data or lower dataset.eval_fraction`, type: 'RlDataError', nonRetryable: true });
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
    const { mean, invStd } = inputScale(s, n, F);
    const data = { n, dim: F, nActions: ds.actions.length, s, a, r, s2, done, mean, invStd };
    const onProgress = (p: { step: number; total: number; metrics: Record<string, number> | null }) =>
      ctx.progress({ fraction: 0.1 + 0.85 * (p.step / p.total), current: p.step, total: p.total, message: `${cfg.train.algo} step ${p.step}/${p.total}${p.metrics ? ` loss ${p.metrics.loss!.toFixed(4)}` : ''}` });
    const res = w.worker
      ? await trainInWorker(data, cfg.train, { onProgress, signal: ctx.signal })
      : await trainOffline(data, cfg.train, { onProgress, shouldStop: () => ctx.signal.aborted });
    if (ctx.signal.aborted) throw new StepError({ message: 'rl.train: aborted', type: 'Aborted' });

    const policy: PolicyArtifact = {
      algo: res.algo,
      scores: res.algo === 'cql' ? 'q_values' : 'logits',
      actions: ds.actions,
      baseline_action_index: ds.baselineAction,
      feature_names: ds.featureNames,
      network: res.policy,
      q_network: res.q,
    };
    const scores = mlpForward(res.policy, s, n);
    const A = ds.actions.length;
    const counts = new Array<number>(A).fill(0);
    let mMean = 0;
    for (let j = 0; j < n; j++) {
      const k = argmax(scores, j * A, A);
      counts[k]!++;
      mMean += ds.actions[k]! / n;
    }
    const action_share_train: Record<string, number> = {};
    ds.actions.forEach((m, k) => (action_share_train[String(m)] = counts[k]! / n));
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
    const curvesRef = await ctx.artifacts.putJson({ algo: res.algo, config: cfg.train, curves: res.curves, final: res.final }, `rl_${res.algo}_curves.json`);
    ctx.progress({ fraction: 1, message: `${res.algo}: ${res.steps} steps in ${res.seconds.toFixed(1)}s` });
    return {
      algo: res.algo,
      steps: res.steps,
      train_seconds: res.seconds,
      n_train: n,
      dataset: datasetRef,
      dataset_meta: metaRef,
      policy: policyRef,
      policy_onnx: onnxRef,
      curves: curvesRef,
      final_loss: res.final.loss ?? NaN,
      mean_multiplier_train: mMean,
      action_share_train,
    };
  },
});
