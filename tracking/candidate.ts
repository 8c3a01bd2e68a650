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

/** A candidate made of one or more sleeves (fit.cpcv outputs) and, with several, the stack.oof blender. */
export interface CandidateBundle {
  /** Files of the first sleeve (also stored at model/*.onnx|json for single-model consumers). */
  primary: CandidateFiles;
  sleeves: Array<{ sleeve: string; files: CandidateFiles }>;
  /** Local path of stacker.json (`{ weights: {sleeve: w}, intercept, ... }`), when several sleeves. */
  stacker?: string;
}

/**
 * Builds the candidate of a run from its succeeded `fit.cpcv` outputs (ordered by step id) and the
 * `stack.oof` outputs. One sleeve: that model. Several: every sleeve plus the stacker, which scoring
 * uses to blend the sleeves' per-date z-scored predictions. Throws a UserError when several sleeves
 * have no stacker to blend them.
 */
export function candidateBundle(store: ArtifactStore, fits: Array<{ stepId: string; outputs: Record<string, unknown> }>, stack: Record<string, unknown> | undefined, workDir: string): CandidateBundle {
  if (!fits.length) throw new UserError('no succeeded fit.cpcv step: nothing to register');
  const sleeves = fits.map((f) => ({ sleeve: typeof f.outputs.sleeve === 'string' && f.outputs.sleeve ? f.outputs.sleeve : f.stepId, files: candidateFiles(store, f.outputs, path.join(workDir, f.stepId)) }));
  let stacker: string | undefined;
  if (sleeves.length > 1) {
    if (!stack || !isRef(stack.stacker)) throw new UserError(`${sleeves.length} fit.cpcv sleeves (${sleeves.map((s) => s.sleeve).join(', ')}) but no stack.oof stacker to blend them; add a stack.oof step or pick one sleeve (promote with.sleeve)`);
    stacker = store.path(stack.stacker);
  }
  return { primary: sleeves[0]!.files, sleeves, stacker };
}
