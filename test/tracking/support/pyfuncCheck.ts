import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../lib/paths.ts';
import { openOnnxScorer } from '../../../models/onnx/score.ts';
import { MlflowTracker, type MlflowOptions } from '../../../tracking/mlflow.ts';
import { writeOnnxMlmodel } from '../../../tracking/mlmodel.ts';
import { ModelRegistry } from '../../../tracking/registry.ts';
import { tempDir } from './tmp.ts';
import { linearOnnx } from './fixtures.ts';

const run = promisify(execFile);

/** The Python of the servers venv (scripts/servers/install.sh), where the real `mlflow` client lives. */
export function serversPython(env: NodeJS.ProcessEnv = process.env): string {
  return env.TRADEML_SERVERS_PYTHON || path.join(PROJECT_ROOT, '.servers', 'venv', 'bin', 'python');
}

/**
 * The real MLflow Python client loads a version TradeML registered (`models:/<name>@champion`, ONNX
 * flavor + signature from tracking/mlmodel.ts) and scores rows to the values onnxruntime-node gives.
 */
export function pyfuncSuite(opts: MlflowOptions): void {
  describe('mlflow live: the Python client loads models:/<name>@champion and scores it', () => {
    it('pyfunc.load_model + predict match onnxruntime-node; the signature is float32 [-1, F]', async () => {
      const python = serversPython();
      if (!existsSync(python)) throw new Error(`no Python with mlflow at ${python}: run bash scripts/servers/install.sh (or set TRADEML_SERVERS_PYTHON)`);
      const tracker = new MlflowTracker(opts);
      const reg = new ModelRegistry(tracker);
      const sfx = randomUUID().slice(0, 8);
      const model = `live_pyfunc_${sfx}`;
      const dir = tempDir('trademl-pyfunc-');
      const weights = [0.5, -1.25, 2, 0.125, -0.75];
      const onnxPath = path.join(dir, 'model.onnx');
      writeFileSync(onnxPath, linearOnnx(weights, 0.3));
      const features = path.join(dir, 'features.json');
      writeFileSync(features, JSON.stringify({ feature_names: weights.map((_, i) => `f${i}`) }));
      const v = await reg.registerCandidate({
        model,
        experiment: `live-pyfunc-${sfx}`,
        trademlRunId: `run-${sfx}`,
        pipeline: 'nightly',
        files: { onnx: onnxPath, featureList: features },
        lineage: {},
        workDir: path.join(dir, 'work'),
      });
      // What the registry will do at registration (see tracking/mlmodel.ts): the MLflow model files beside model.onnx.
      for (const [src, name] of writeOnnxMlmodel({ onnx: onnxPath, dir: path.join(dir, 'mlmodel'), runId: v.runId })) await tracker.logArtifact(v.runId, src, `model/${name}`);
      await reg.setChallenger(model, v.version);
      await reg.promote(model, v.version, { approved: true, by: 'ci', at: new Date().toISOString(), comment: 'pyfunc check' });

      const rows = [
        [1, 2, 3, 4, 5],
        [-0.5, 0.25, 0, 1.5, -2],
      ];
      const scorer = await openOnnxScorer(onnxPath);
      const expected = Array.from((await scorer.run(Float32Array.from(rows.flat()), rows.length, weights.length)).Y!);
      await scorer.release();

      const script = path.join(PROJECT_ROOT, 'test', 'tracking', 'support', 'pyfunc_score.py');
      const { stdout } = await run(python, [script, `models:/${model}@champion`, JSON.stringify(rows)], {
        env: { ...process.env, MLFLOW_TRACKING_URI: opts.uri },
        timeout: 150_000,
        maxBuffer: 8 << 20,
      });
      const out = JSON.parse(stdout.trim().split('\n').pop()!) as { outputs: Record<string, number[][]>; signature: { inputs: unknown; outputs: unknown }; flavors: string[] };
      expect(out.flavors).toEqual(['onnx', 'python_function']);
      expect(out.signature.inputs).toEqual([{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, weights.length] }, name: 'X' }]);
      const got = out.outputs.Y!.map((r) => r[0]!);
      expect(got).toHaveLength(rows.length);
      got.forEach((g, i) => expect(g).toBeCloseTo(expected[i]!, 5));
      expect(expected[0]).toBeCloseTo(0.5 - 2.5 + 6 + 0.5 - 3.75 + 0.3, 5); // the linear model itself
    });
  });
}
