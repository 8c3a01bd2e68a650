/**
 * The XGBoost → ONNX export (models/onnx/trees.ts) must stay byte-for-byte what it was before the
 * TreeEnsemble building blocks were shared with the LightGBM export: fixed hand-written XGBoost JSON
 * models (regression, binary, 3-class softprob, truncated rounds, an empty model) against digests
 * recorded with the original exporter.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { xgboostToOnnx, type XgbModelJson } from '../../models/onnx/trees.ts';

const tree = (f: number, thr: number, l: number, r: number, dl: number) => ({
  left_children: [1, -1, -1],
  right_children: [2, -1, -1],
  split_indices: [f, 0, 0],
  split_conditions: [thr, l, r],
  default_left: [dl, 0, 0],
  split_type: [0, 0, 0],
});

function model(objective: string, numClass: number, nTrees: number, baseScore: string): XgbModelJson {
  const trees = Array.from({ length: nTrees }, (_, t) => tree(t % 3, 0.1 * t - 0.3, 0.01 * (t + 1), -0.02 * (t + 1), t % 2));
  return {
    learner: {
      learner_model_param: { base_score: baseScore, num_class: String(numClass), num_feature: '3' },
      objective: { name: objective },
      gradient_booster: { name: 'gbtree', model: { trees, tree_info: trees.map((_, t) => (numClass > 1 ? t % numClass : 0)) } },
    },
    version: [1, 7, 4],
  };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const names = ['a', 'b', 'c'];

describe('XGBoost ONNX export bytes', () => {
  it('are unchanged for regression, binary, multiclass, truncated and empty models', () => {
    const got = {
      reg: sha(xgboostToOnnx(model('reg:squarederror', 0, 4, '5E-1'), { featureNames: names })),
      bin: sha(xgboostToOnnx(model('binary:logistic', 0, 5, '3E-1'), { featureNames: names, metadata: { sleeve: 's' } })),
      multi: sha(xgboostToOnnx(model('multi:softprob', 3, 6, '5E-1'), { featureNames: names, classScore: [-1, 0, 1] })),
      truncated: sha(xgboostToOnnx(model('rank:pairwise', 0, 6, '0'), { featureNames: names, nRounds: 2 })),
      empty: sha(xgboostToOnnx(model('reg:squarederror', 0, 0, '0'), { featureNames: names })),
    };
    expect(got).toEqual(GOLDEN);
  });
});

const GOLDEN = {
  reg: 'e79d4a4b31ca43ab89f5c38a80c129a397ed1bab0cd3707e1945384a56407c0d',
  bin: 'd6704bb336b7d94a0547bf43697b4dc87bf218baf275ed3c101789b9dfc8f344',
  multi: '83855f5d8210030d3f7cf92875a0ae4830656e69b59d34b5a5d94bb36bae872c',
  truncated: '86d5d54be293014020005e53a8e1052e81addd258b2055326f18102ddd84fa54',
  empty: '7f02fbfa99e5de276ecafe036b477d79381134293cdbc58367b9923f50e998df',
};
