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
 */
import { attr, DataType, encodeModel, floatTensor, node, valueInfo } from './proto.ts';

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
  const baseScore = Number(lp.base_score);
  let nTargets: number, baseMargin: number, outOp: 'Identity' | 'Sigmoid' | 'Softmax';
  if (IDENTITY_OBJECTIVES.has(objective)) {
    nTargets = 1;
    baseMargin = baseScore;
    outOp = 'Identity';
  } else if (LOGISTIC_OBJECTIVES.has(objective)) {
    nTargets = 1;
    baseMargin = Math.log(baseScore / (1 - baseScore));
    outOp = 'Sigmoid';
  } else if (objective === 'multi:softprob') {
    nTargets = numClass;
    baseMargin = baseScore;
    outOp = 'Softmax';
  } else {
    throw new Error(`ONNX export: objective ${objective} is not supported (use reg:squarederror, binary:logistic, multi:softprob or rank:pairwise)`);
  }
  const parallel = Number(gb.model.gbtree_model_param?.num_parallel_tree ?? '1') || 1;
  const treesPerRound = parallel * nTargets;
  const nTrees = opts.nRounds !== undefined ? Math.min(gb.model.trees.length, opts.nRounds * treesPerRound) : gb.model.trees.length;

  const treeIds: number[] = [], nodeIds: number[] = [], featIds: number[] = [], values: number[] = [], modes: string[] = [];
  const trueIds: number[] = [], falseIds: number[] = [], missTrue: number[] = [];
  const tTree: number[] = [], tNode: number[] = [], tIds: number[] = [], tWeights: number[] = [];
  for (let t = 0; t < nTrees; t++) {
    const tree = gb.model.trees[t]!;
    const cls = nTargets > 1 ? gb.model.tree_info[t]! : 0;
    if (tree.split_type?.some((s) => s !== 0)) throw new Error(`ONNX export: tree ${t} has categorical splits, which TreeEnsembleRegressor cannot express`);
    for (let i = 0; i < tree.left_children.length; i++) {
      const left = tree.left_children[i]!;
      treeIds.push(t);
      nodeIds.push(i);
      if (left === -1) {
        featIds.push(0);
        values.push(0);
        modes.push('LEAF');
        trueIds.push(0);
        falseIds.push(0);
        missTrue.push(0);
        tTree.push(t);
        tNode.push(i);
        tIds.push(cls);
        tWeights.push(tree.split_conditions[i]!);
      } else {
        featIds.push(tree.split_indices[i]!);
        values.push(tree.split_conditions[i]!);
        modes.push('BRANCH_LT');
        trueIds.push(left);
        falseIds.push(tree.right_children[i]!);
        missTrue.push(tree.default_left[i] ? 1 : 0);
      }
    }
  }
  // Without any tree the ensemble operator is ill-formed: add one zero leaf.
  if (nTrees === 0) {
    treeIds.push(0); nodeIds.push(0); featIds.push(0); values.push(0); modes.push('LEAF');
    trueIds.push(0); falseIds.push(0); missTrue.push(0);
    tTree.push(0); tNode.push(0); tIds.push(0); tWeights.push(0);
  }
  const ensemble = node(
    'TreeEnsembleRegressor',
    ['X'],
    ['margin'],
    [
      attr.ints('nodes_treeids', treeIds),
      attr.ints('nodes_nodeids', nodeIds),
      attr.ints('nodes_featureids', featIds),
      attr.floats('nodes_values', values),
      attr.strings('nodes_modes', modes),
      attr.ints('nodes_truenodeids', trueIds),
      attr.ints('nodes_falsenodeids', falseIds),
      attr.ints('nodes_missing_value_tracks_true', missTrue),
      attr.ints('target_treeids', tTree),
      attr.ints('target_nodeids', tNode),
      attr.ints('target_ids', tIds),
      attr.floats('target_weights', tWeights),
      attr.int('n_targets', nTargets),
      attr.string('aggregate_function', 'SUM'),
      attr.string('post_transform', 'NONE'),
      attr.floats('base_values', Array(nTargets).fill(baseMargin)),
    ],
    { domain: 'ai.onnx.ml', name: 'xgboost_trees' },
  );
  const outNode = outOp === 'Softmax' ? node('Softmax', ['margin'], ['Y'], [attr.int('axis', 1)]) : node(outOp, ['margin'], ['Y']);
  let v: number[], c: number;
  if (outOp === 'Sigmoid') {
    v = [2];
    c = -1;
  } else if (outOp === 'Softmax') {
    v = opts.classScore ?? Array.from({ length: nTargets }, (_, k) => Math.sign(k - (nTargets - 1) / 2));
    if (v.length !== nTargets) throw new Error(`ONNX export: classScore has ${v.length} entries for ${nTargets} classes`);
    c = 0;
  } else {
    v = [1];
    c = 0;
  }
  const scoreNodes = [node('MatMul', ['Y', 'score_w'], ['score_raw']), node('Add', ['score_raw', 'score_c'], ['score'])];
  return encodeModel({
    graphName: 'xgboost_tree_ensemble',
    nodes: [ensemble, outNode, ...scoreNodes],
    inputs: [valueInfo('X', DataType.FLOAT, ['N', nFeature])],
    outputs: [valueInfo('Y', DataType.FLOAT, ['N', nTargets]), valueInfo('score', DataType.FLOAT, ['N', 1])],
    initializers: [floatTensor('score_w', [nTargets, 1], v), floatTensor('score_c', [1], [c])],
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
