/**
 * XGBoost tree ensemble → ONNX (ai.onnx.ml TreeEnsembleRegressor, ML opset 3, float32), built from
 * XGBoost's JSON model (`Booster.saveModel('json')`, schema: xgboost/doc/model.schema).
 *
 * Graph: X float[N, F] → TreeEnsembleRegressor (margins, one target per class, SUM, base margin)
 *   → `Y`: Identity (regression/ranking) | Sigmoid (binary:logistic) | Softmax over classes (multi:softprob)
 *   → `score` float[N, 1] = Y · v + c, the model's bullish score (regression: the prediction;
 *     binary: 2p − 1; 3-class triple barrier {−1, 0, +1}: P(+1) − P(−1)).
 *
 * XGBoost semantics mapped exactly: split goes to the left child ("yes") when x < threshold
 * (BRANCH_LT, both float32), missing values (NaN) follow `default_left` (nodes_missing_value_tracks_true),
 * tree i adds to class `tree_info[i]`, base margin = base_score (identity link) or logit(base_score)
 * (logistic link), as in XGBoost 1.7's ObjFunction::ProbToMargin.
 *
 * Building blocks shared with the LightGBM export (models/onnx/lightgbm.ts): {@link TreeEnsembleArrays},
 * {@link treeEnsembleNode} (float or double precision) and {@link scoreHead}.
 */
import { attr, DataType, doubleTensor, encodeModel, floatTensor, node, valueInfo } from './proto.ts';

interface XgbTree {
  left_children: number[];
  right_children: number[];
  split_indices: number[];
  split_conditions: number[];
  default_left: (number | boolean)[];
  split_type?: number[];
}

/** The parts of XGBoost's JSON model the exporter reads. */
export interface XgbModelJson {
  learner: {
    feature_names?: string[];
    learner_model_param: { base_score: string; num_class: string; num_feature: string };
    objective: { name: string };
    gradient_booster: { name: string; model: { trees: XgbTree[]; tree_info: number[]; gbtree_model_param?: { num_parallel_tree?: string } } };
  };
  version?: number[];
}

export interface TreeExportOptions {
  /** Feature names in column order (stored in metadata; their count must match the model's). */
  featureNames: string[];
  /** Use only the first `nRounds` boosting rounds (e.g. best iteration + 1); default all. */
  nRounds?: number;
  /** Per-class weights v of the score output (multi-class); default: class c ↦ c − (K−1)/2 sign. */
  classScore?: number[];
  metadata?: Record<string, string>;
}

const IDENTITY_OBJECTIVES = new Set(['reg:squarederror', 'reg:pseudohubererror', 'reg:absoluteerror', 'rank:pairwise', 'rank:ndcg', 'rank:map']);
const LOGISTIC_OBJECTIVES = new Set(['binary:logistic', 'reg:logistic']);

/**
 * Builds the ONNX model bytes. Throws Error for unsupported objectives (e.g. count:poisson,
 * multi:softmax), categorical splits, dart boosters, or a feature-count mismatch.
 */
export function xgboostToOnnx(model: XgbModelJson, opts: TreeExportOptions): Uint8Array {
  const lp = model.learner.learner_model_param;
  const objective = model.learner.objective.name;
  const gb = model.learner.gradient_booster;
  if (gb.name !== 'gbtree') throw new Error(`ONNX export supports the gbtree booster only, got ${gb.name}`);
  const nFeature = Number(lp.num_feature);
  if (opts.featureNames.length !== nFeature) throw new Error(`ONNX export: ${opts.featureNames.length} feature names for a model with ${nFeature} features`);
  const numClass = Number(lp.num_class);
  // XGBoost ≥ 2 writes base_score as a vector "[v]" (one per class for multi:softprob in 3.x)
  const baseScores = parseBaseScore(lp.base_score);
  let nTargets: number, toMargin: (b: number) => number, outOp: 'Identity' | 'Sigmoid' | 'Softmax';
  if (IDENTITY_OBJECTIVES.has(objective)) {
    nTargets = 1;
    toMargin = (b) => b;
    outOp = 'Identity';
  } else if (LOGISTIC_OBJECTIVES.has(objective)) {
    nTargets = 1;
    toMargin = (b) => Math.log(b / (1 - b));
    outOp = 'Sigmoid';
  } else if (objective === 'multi:softprob') {
    nTargets = numClass;
    toMargin = (b) => b;
    outOp = 'Softmax';
  } else {
    throw new Error(`ONNX export: objective ${objective} is not supported (use reg:squarederror, binary:logistic, multi:softprob or rank:pairwise)`);
  }
  const parallel = Number(gb.model.gbtree_model_param?.num_parallel_tree ?? '1') || 1;
  const treesPerRound = parallel * nTargets;
  const nTrees = opts.nRounds !== undefined ? Math.min(gb.model.trees.length, opts.nRounds * treesPerRound) : gb.model.trees.length;

  const a = new TreeEnsembleArrays();
  for (let t = 0; t < nTrees; t++) {
    const tree = gb.model.trees[t]!;
    const cls = nTargets > 1 ? gb.model.tree_info[t]! : 0;
    if (tree.split_type?.some((s) => s !== 0)) throw new Error(`ONNX export: tree ${t} has categorical splits, which TreeEnsembleRegressor cannot express`);
    for (let i = 0; i < tree.left_children.length; i++) {
      const left = tree.left_children[i]!;
      if (left === -1) a.addLeaf(t, i, cls, tree.split_conditions[i]!);
      else a.addBranch(t, i, tree.split_indices[i]!, tree.split_conditions[i]!, 'BRANCH_LT', left, tree.right_children[i]!, tree.default_left[i] ? 1 : 0);
    }
  }
  // Without any tree the ensemble operator is ill-formed: add one zero leaf.
  if (nTrees === 0) a.addLeaf(0, 0, 0, 0);
  if (baseScores.length !== 1 && baseScores.length !== nTargets) throw new Error(`ONNX export: base_score ${lp.base_score} has ${baseScores.length} values for ${nTargets} output(s)`);
  const baseValues = baseScores.length === 1 ? Array(nTargets).fill(toMargin(baseScores[0]!)) : baseScores.map(toMargin);
  const ensemble = treeEnsembleNode(a, { nTargets, baseValues, name: 'xgboost_trees' });
  const head = scoreHead('margin', outOp, nTargets, opts.classScore);
  return encodeModel({
    graphName: 'xgboost_tree_ensemble',
    nodes: [ensemble, ...head.nodes],
    inputs: [valueInfo('X', DataType.FLOAT, ['N', nFeature])],
    outputs: [valueInfo('Y', DataType.FLOAT, ['N', nTargets]), valueInfo('score', DataType.FLOAT, ['N', 1])],
    initializers: head.initializers,
    opsets: [
      { domain: '', version: 13 },
      { domain: 'ai.onnx.ml', version: 3 },
    ],
    producerName: 'trademl.xgboost',
    docString: `XGBoost ${objective} ensemble: ${nTrees} trees, ${nFeature} features`,
    metadata: {
      objective,
      feature_names: JSON.stringify(opts.featureNames),
      n_trees: String(nTrees),
      xgboost_version: (model.version ?? []).join('.'),
      ...(opts.metadata ?? {}),
    },
  });
}

/** base_score of XGBoost's JSON: `"5E-1"` (1.x) or `"[5E-1]"` / `"[a,b,c]"` (≥ 2.0) → numbers. */
function parseBaseScore(v: string): number[] {
  const t = v.trim();
  const vals = t.startsWith('[') ? t.slice(1, -1).split(',').map(Number) : [Number(t)];
  if (vals.length === 0 || vals.some((x) => !Number.isFinite(x))) throw new Error(`ONNX export: cannot read base_score ${JSON.stringify(v)}`);
  return vals;
}

/**
 * Flat node and leaf arrays of an ai.onnx.ml TreeEnsembleRegressor under construction (shared by the
 * XGBoost and LightGBM exports). Node ids are per tree; a leaf is a LEAF node plus one target entry.
 */
export class TreeEnsembleArrays {
  readonly treeIds: number[] = [];
  readonly nodeIds: number[] = [];
  readonly featIds: number[] = [];
  readonly values: number[] = [];
  readonly modes: string[] = [];
  readonly trueIds: number[] = [];
  readonly falseIds: number[] = [];
  readonly missTrue: number[] = [];
  readonly tTree: number[] = [];
  readonly tNode: number[] = [];
  readonly tIds: number[] = [];
  readonly tWeights: number[] = [];

  /** A split node: goes to `trueId` when `x[feature] <mode> value` (or when x is NaN and `missingTrue`). */
  addBranch(tree: number, nodeId: number, feature: number, value: number, mode: 'BRANCH_LT' | 'BRANCH_LEQ', trueId: number, falseId: number, missingTrue: 0 | 1): void {
    this.treeIds.push(tree);
    this.nodeIds.push(nodeId);
    this.featIds.push(feature);
    this.values.push(value);
    this.modes.push(mode);
    this.trueIds.push(trueId);
    this.falseIds.push(falseId);
    this.missTrue.push(missingTrue);
  }

  /** A leaf adding `weight` to output column `target`. */
  addLeaf(tree: number, nodeId: number, target: number, weight: number): void {
    this.treeIds.push(tree);
    this.nodeIds.push(nodeId);
    this.featIds.push(0);
    this.values.push(0);
    this.modes.push('LEAF');
    this.trueIds.push(0);
    this.falseIds.push(0);
    this.missTrue.push(0);
    this.tTree.push(tree);
    this.tNode.push(nodeId);
    this.tIds.push(target);
    this.tWeights.push(weight);
  }
}

/**
 * The TreeEnsembleRegressor node `input` (default `X`) → `margin` (float[N, nTargets], SUM of leaves
 * + base values, no post transform). `precision: 'double'` stores thresholds and leaf weights as
 * float64 tensors (`*_as_tensor`, ML opset 3); onnxruntime accepts them only for a double input (feed
 * it a Cast of X), and then compares in double and sums the leaves in double — LightGBM's own
 * arithmetic. Base values stay float attributes either way.
 */
export function treeEnsembleNode(a: TreeEnsembleArrays, o: { nTargets: number; baseValues: number[]; name: string; precision?: 'float' | 'double'; input?: string }): object {
  const dbl = o.precision === 'double';
  return node(
    'TreeEnsembleRegressor',
    [o.input ?? 'X'],
    ['margin'],
    [
      attr.ints('nodes_treeids', a.treeIds),
      attr.ints('nodes_nodeids', a.nodeIds),
      attr.ints('nodes_featureids', a.featIds),
      dbl ? attr.tensor('nodes_values_as_tensor', doubleTensor('nodes_values', [a.values.length], a.values)) : attr.floats('nodes_values', a.values),
      attr.strings('nodes_modes', a.modes),
      attr.ints('nodes_truenodeids', a.trueIds),
      attr.ints('nodes_falsenodeids', a.falseIds),
      attr.ints('nodes_missing_value_tracks_true', a.missTrue),
      attr.ints('target_treeids', a.tTree),
      attr.ints('target_nodeids', a.tNode),
      attr.ints('target_ids', a.tIds),
      dbl ? attr.tensor('target_weights_as_tensor', doubleTensor('target_weights', [a.tWeights.length], a.tWeights)) : attr.floats('target_weights', a.tWeights),
      attr.int('n_targets', o.nTargets),
      attr.string('aggregate_function', 'SUM'),
      attr.string('post_transform', 'NONE'),
      attr.floats('base_values', o.baseValues),
    ],
    { domain: 'ai.onnx.ml', name: o.name },
  );
}

/**
 * The output head on margins `input` (float[N, nTargets]): `Y` = Identity | Sigmoid | Softmax(axis 1)
 * of the margins, and `score` float[N, 1] = Y · v + c (Sigmoid: 2p − 1; Softmax: v = classScore, by
 * default class k ↦ sign(k − (K−1)/2); Identity: the prediction). Throws Error when classScore's
 * length is not nTargets.
 */
export function scoreHead(input: string, outOp: 'Identity' | 'Sigmoid' | 'Softmax', nTargets: number, classScore?: number[]): { nodes: object[]; initializers: object[] } {
  const outNode = outOp === 'Softmax' ? node('Softmax', [input], ['Y'], [attr.int('axis', 1)]) : node(outOp, [input], ['Y']);
  let v: number[], c: number;
  if (outOp === 'Sigmoid') {
    v = [2];
    c = -1;
  } else if (outOp === 'Softmax') {
    v = classScore ?? Array.from({ length: nTargets }, (_, k) => Math.sign(k - (nTargets - 1) / 2));
    if (v.length !== nTargets) throw new Error(`ONNX export: classScore has ${v.length} entries for ${nTargets} classes`);
    c = 0;
  } else {
    v = [1];
    c = 0;
  }
  return {
    nodes: [outNode, node('MatMul', ['Y', 'score_w'], ['score_raw']), node('Add', ['score_raw', 'score_c'], ['score'])],
    initializers: [floatTensor('score_w', [nTargets, 1], v), floatTensor('score_c', [1], [c])],
  };
}
