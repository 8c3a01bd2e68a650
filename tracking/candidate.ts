import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ArtifactStore } from '../artifacts/store.ts';
import { UserError } from '../lib/errors.ts';
import { isRef } from '../report/model.ts';
import type { CandidateFiles } from './registry.ts';

/**
 * Local files of a `fit.cpcv` step's candidate model, from its outputs (docs/contracts.md):
 * `model` (ONNX artifact, required), `feature_list` (artifact or inline JSON, required),
 * `training_config` and `metrics` (artifact or inline JSON, optional). Inline values are written as
 * JSON files under `workDir`. Throws a UserError naming the missing output.
 */
export function candidateFiles(store: ArtifactStore, outputs: Record<string, unknown>, workDir: string): CandidateFiles {
  mkdirSync(workDir, { recursive: true });
  const file = (key: string, required: boolean): string | undefined => {
    const v = outputs[key];
    if (v === undefined || v === null) {
      if (required) throw new UserError(`the fit.cpcv outputs have no "${key}"; a candidate model needs model (ONNX) and feature_list (docs/contracts.md)`);
      return undefined;
    }
    if (isRef(v)) return store.path(v);
    const dest = path.join(workDir, `${key}.json`);
    writeFileSync(dest, JSON.stringify(v, null, 2));
    return dest;
  };
  const onnx = outputs.model;
  if (!isRef(onnx)) throw new UserError('the fit.cpcv output "model" is not an ONNX artifact reference; cannot register a candidate');
  return {
    onnx: store.path(onnx),
    featureList: file('feature_list', true)!,
    trainingConfig: file('training_config', false),
    metrics: file('metrics', false),
  };
}
