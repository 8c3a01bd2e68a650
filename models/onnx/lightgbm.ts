/**
 * LightGBM tree ensemble → ONNX (ai.onnx.ml TreeEnsembleRegressor, ML opset 3), built from LightGBM's
 * JSON dump (`LGBM_BoosterDumpModel`, models/lightgbm/binding.ts `dumpModel`).
 *
 * Graph: X float[N, F] → Cast(double) → TreeEnsembleRegressor (double thresholds and leaf values,
 *   SUM, one target per class) → margin float[N, K]
 *   → `Y`: Identity (regression, ranking) | Sigmoid(σ·margin) (binary, σ = the objective's
 *     `sigmoid:`; cross_entropy σ = 1) | Softmax over classes (multiclass)
 *   → `score` float[N, 1] = Y · v + c, as in the XGBoost export (models/onnx/trees.ts `scoreHead`).
 *
 * LightGBM's numerical decision (Tree::NumericalDecision, include/LightGBM/tree.h) mapped exactly:
 * - the float input is widened to double and goes left when `x <= threshold` (double), as LightGBM
 *   compares double(x) with its double threshold;
 * - missing_type `NaN`: NaN follows `default_left`;
 * - missing_type `None`: NaN is treated as 0, so it goes where 0 goes (`0 <= threshold`);
 * - missing_type `Zero` (zero_as_missing): NaN and |x| ≤ kZeroThreshold (float 1e-35) follow
 *   `default_left`. The graph appends, for each feature split that way, a column x' = NaN where
 *   |x| ≤ kZeroThreshold (else x), and those splits test x' with NaN following default_left — exact,
 *   without duplicating subtrees (onnxruntime allows no shared children).
 * Leaf values already include shrinkage and LightGBM's boost-from-average init score, so base values are 0.
 * Tree i belongs to class i mod num_tree_per_iteration.
 */
import { attr, DataType, doubleTensor, encodeModel, floatTensor, int64Tensor, node, valueInfo } from './proto.ts';
import { scoreHead, treeEnsembleNode, TreeEnsembleArrays } from './trees.ts';

/** One node of LightGBM's JSON dump: a split (split_feature …) or a leaf (leaf_value). */
export interface LgbmNodeJson {
  split_feature?: number;
  threshold?: number | string;
  decision_type?: string;
  default_left?: boolean;
  missing_type?: string;
  left_child?: LgbmNodeJson;
  right_child?: LgbmNodeJson;
  leaf_value?: number;
  leaf_coeff?: number[];
}

/** The parts of LightGBM's JSON model dump the exporter reads. */
export interface LgbmModelJson {
  version?: string;
  num_class: number;
  num_tree_per_iteration: number;
  max_feature_idx: number;
  objective: string;
  average_output?: boolean;
  tree_info: { tree_index: number; tree_structure: LgbmNodeJson }[];
}

export interface LightgbmExportOptions {
  /** Feature names in column order (stored in metadata; their count must match the model's). */
  featureNames: string[];
  /** Per-class weights v of the score output (multiclass); default: class k ↦ sign(k − (K−1)/2). */
  classScore?: number[];
  metadata?: Record<string, string>;
}

/** LightGBM's kZeroThreshold (a double holding the float 1e-35f). */
const K_ZERO = Math.fround(1e-35);
const IDENTITY = new Set(['regression', 'regression_l1', 'huber', 'fair', 'quantile', 'mape', 'lambdarank', 'rank_xendcg']);

/** Output transform of a LightGBM objective string (e.g. `binary sigmoid:1`, `multiclass num_class:3`). */
export function lightgbmTransform(objective: string): { op: 'Identity' | 'Sigmoid' | 'Softmax'; sigmoid: number } {
  const [name = '', ...flags] = objective.trim().split(/\s+/);
  const flag = (k: string): string | undefined => flags.find((f) => f.startsWith(`${k}:`))?.slice(k.length + 1);
  if (IDENTITY.has(name) && !flags.includes('sqrt')) return { op: 'Identity', sigmoid: 1 };
  if (name === 'binary') return { op: 'Sigmoid', sigmoid: Number(flag('sigmoid') ?? 1) };
  if (name === 'cross_entropy') return { op: 'Sigmoid', sigmoid: 1 };
  if (name === 'multiclass') return { op: 'Softmax', sigmoid: 1 };
  throw new Error(`ONNX export: LightGBM objective "${objective}" is not supported (use regression, binary, multiclass, lambdarank or cross_entropy; no reg_sqrt)`);
}

type Rec = { leaf: true; id: number; value: number } | { leaf: false; id: number; feature: number; value: number; t: number; f: number; miss: 0 | 1 };

/**
 * Emits one LightGBM tree in preorder (root first, as onnxruntime requires) into `recs`.
 * `zeroCol(j)` is the input column of feature j's zero-as-missing copy.
 */
function emitTree(root: LgbmNodeJson, tree: number, nFeature: number, zeroCol: (j: number) => number, recs: Rec[]): void {
  let next = 0;
  const emit = (n: LgbmNodeJson): number => {
    const id = next++;
    if (n.split_feature === undefined) {
      if (n.leaf_coeff && n.leaf_coeff.length) throw new Error(`ONNX export: tree ${tree} is a linear tree (linear_tree=true), which TreeEnsembleRegressor cannot express`);
      if (typeof n.leaf_value !== 'number') throw new Error(`ONNX export: tree ${tree} has a node with neither split_feature nor leaf_value`);
      recs.push({ leaf: true, id, value: n.leaf_value });
      return id;
    }
    if (n.decision_type !== '<=') throw new Error(`ONNX export: tree ${tree} has a categorical split (decision_type ${n.decision_type}), which TreeEnsembleRegressor cannot express`);
    const j = n.split_feature;
    if (j < 0 || j >= nFeature) throw new Error(`ONNX export: tree ${tree} splits on feature ${j} of ${nFeature}`);
    const thr = Number(n.threshold);
    let feature: number, miss: 0 | 1;
    if (n.missing_type === 'NaN') [feature, miss] = [j, n.default_left ? 1 : 0];
    else if (n.missing_type === 'None') [feature, miss] = [j, 0 <= thr ? 1 : 0];
    else if (n.missing_type === 'Zero') [feature, miss] = [zeroCol(j), n.default_left ? 1 : 0];
    else throw new Error(`ONNX export: tree ${tree} has unknown missing_type ${n.missing_type}`);
    const r: Rec = { leaf: false, id, feature, value: thr, t: -1, f: -1, miss };
    recs.push(r);
    r.t = emit(n.left_child!);
    r.f = emit(n.right_child!);
    return id;
  };
  emit(root);
}

/** Features split with missing_type Zero anywhere in the model, ascending. */
function zeroFeatures(model: LgbmModelJson): number[] {
  const out = new Set<number>();
  const walk = (n: LgbmNodeJson): void => {
    if (n.split_feature === undefined) return;
    if (n.missing_type === 'Zero') out.add(n.split_feature);
    walk(n.left_child!);
    walk(n.right_child!);
  };
  for (const t of model.tree_info) walk(t.tree_structure);
  return [...out].sort((a, b) => a - b);
}

/**
 * Nodes turning X (float) into the double tree input: Cast, and for zero-as-missing features
 * [Xd, where(|Xd[:, zf]| ≤ kZero, NaN, Xd[:, zf])] concatenated on axis 1.
 */
function inputNodes(zf: number[]): { nodes: object[]; initializers: object[]; input: string } {
  const cast = node('Cast', ['X'], ['X_double'], [attr.int('to', DataType.DOUBLE)]);
  if (zf.length === 0) return { nodes: [cast], initializers: [], input: 'X_double' };
  return {
    input: 'X_trees',
    nodes: [
      cast,
      node('Gather', ['X_double', 'zero_cols'], ['X_zf'], [attr.int('axis', 1)]),
      node('Abs', ['X_zf'], ['X_zf_abs']),
      node('LessOrEqual', ['X_zf_abs', 'zero_threshold'], ['X_zf_is_zero']),
      node('Where', ['X_zf_is_zero', 'nan', 'X_zf'], ['X_zf_missing']),
      node('Concat', ['X_double', 'X_zf_missing'], ['X_trees'], [attr.int('axis', 1)]),
    ],
    initializers: [int64Tensor('zero_cols', [zf.length], zf), doubleTensor('zero_threshold', [], [K_ZERO]), doubleTensor('nan', [], [NaN])],
  };
}

/**
 * Builds the ONNX model bytes from LightGBM's JSON dump (dump only the iterations to export, e.g.
 * best iteration + 1). Throws Error for unsupported objectives, categorical splits, linear trees,
 * random-forest averaging, or a feature-count mismatch.
 */
export function lightgbmToOnnx(model: LgbmModelJson, opts: LightgbmExportOptions): Uint8Array {
  const nFeature = model.max_feature_idx + 1;
  if (opts.featureNames.length !== nFeature) throw new Error(`ONNX export: ${opts.featureNames.length} feature names for a LightGBM model with ${nFeature} features`);
  if (model.average_output) throw new Error('ONNX export: averaged outputs (boosting=rf) are not supported');
  const tr = lightgbmTransform(model.objective);
  const perIter = model.num_tree_per_iteration;
  const nTargets = tr.op === 'Softmax' ? model.num_class : 1;
  if (perIter !== nTargets) throw new Error(`ONNX export: ${perIter} trees per iteration for ${nTargets} output(s) of objective ${model.objective}`);
  const zf = zeroFeatures(model);
  const zeroCol = (j: number): number => nFeature + zf.indexOf(j);
  const a = new TreeEnsembleArrays();
  model.tree_info.forEach((info, t) => {
    const recs: Rec[] = [];
    emitTree(info.tree_structure, t, nFeature, zeroCol, recs);
    const cls = t % perIter;
    for (const r of recs) {
      if (r.leaf) a.addLeaf(t, r.id, cls, r.value);
      else a.addBranch(t, r.id, r.feature, r.value, 'BRANCH_LEQ', r.t, r.f, r.miss);
    }
  });
  const nTrees = model.tree_info.length;
  if (nTrees === 0) a.addLeaf(0, 0, 0, 0);
  const inp = inputNodes(zf);
  const ensemble = treeEnsembleNode(a, { nTargets, baseValues: Array(nTargets).fill(0), name: 'lightgbm_trees', precision: 'double', input: inp.input });
  const scaled = tr.op === 'Sigmoid' && tr.sigmoid !== 1;
  const head = scoreHead(scaled ? 'margin_scaled' : 'margin', tr.op, nTargets, opts.classScore);
  const nodes = [...inp.nodes, ensemble, ...(scaled ? [node('Mul', ['margin', 'sigmoid_scale'], ['margin_scaled'])] : []), ...head.nodes];
  return encodeModel({
    graphName: 'lightgbm_tree_ensemble',
    nodes,
    inputs: [valueInfo('X', DataType.FLOAT, ['N', nFeature])],
    outputs: [valueInfo('Y', DataType.FLOAT, ['N', nTargets]), valueInfo('score', DataType.FLOAT, ['N', 1])],
    initializers: [...inp.initializers, ...(scaled ? [floatTensor('sigmoid_scale', [1], [tr.sigmoid])] : []), ...head.initializers],
    opsets: [
      { domain: '', version: 13 },
      { domain: 'ai.onnx.ml', version: 3 },
    ],
    producerName: 'trademl.lightgbm',
    docString: `LightGBM ${model.objective} ensemble: ${nTrees} trees, ${nFeature} features`,
    metadata: {
      objective: model.objective,
      feature_names: JSON.stringify(opts.featureNames),
      n_trees: String(nTrees),
      lightgbm_model_version: model.version ?? '',
      ...(opts.metadata ?? {}),
    },
  });
}
