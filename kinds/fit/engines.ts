/**
 * Engines a CPCV fit can train with: a Learner (models/learner.ts, imported lazily so validating a
 * pipeline stays light) and what the protocol must know about its parameters — whether an objective
 * is a binary or K-class classifier, whether it ranks (one query group per date), which parameter
 * rules the training config must obey, how its native model is stored, and (optionally) its own
 * search space for sampled trials.
 */
import type { Learner, LearnerParams } from '../../models/learner.ts';

/** Reports one config problem at `path` (inside the engine's section of the training config). */
export type IssueSink = (path: (string | number)[], message: string) => void;

/** A learner family as fit kinds drive it. */
export interface Engine {
  /** Engine name: the key of its section under `engines:` in configs/training/*.yml. */
  name: string;
  /** The learner (lazy import of the native binding). */
  load(): Promise<Learner>;
  /** 'binary' or 'multiclass' when `params` make a classifier, null for regression/ranking. */
  classifier(params: LearnerParams): 'binary' | 'multiclass' | null;
  /** True when `params` make a ranker (query groups per date). */
  ranking(params: LearnerParams): boolean;
  /** Engine-specific rules on the section's params and grid (objective required, num_class, …). */
  check?(section: { params: LearnerParams; grid: Record<string, unknown[]> }, classes: number[] | undefined, issue: IssueSink): void;
  /** File extension and media type of the native model. */
  native: { ext: string; mediaType: string };
  /** Draws `n` trials from the engine's own search space (search.method sample with an empty grid). */
  sample?(n: number, seed: number, base: LearnerParams): Promise<LearnerParams[]>;
  /** Library version recorded in the training config (null when unknown). */
  version?(): Promise<string | null>;
}

/** Rules shared by the tree engines: an objective is required, the grid may not vary it or num_class, K-class needs classes = num_class. */
function treeChecks(section: { params: LearnerParams; grid: Record<string, unknown[]> }, classes: number[] | undefined, multiclass: boolean, issue: IssueSink): void {
  if (!String(section.params.objective ?? '')) issue(['params', 'objective'], 'objective is required');
  for (const k of Object.keys(section.grid)) if (k === 'objective' || k === 'num_class') issue(['grid', k], 'the grid may not vary the objective/num_class');
  if (!multiclass) return;
  if (!classes) issue(['params', 'objective'], 'a multi-class objective needs classes: [label values in class order], e.g. [-1, 0, 1] (top level of the config)');
  else if (Number(section.params.num_class) !== classes.length) issue(['params', 'num_class'], `must equal the number of classes (${classes.length})`);
}

/** XGBoost through its C API (models/xgboost/learner.ts). */
export const xgboostEngine: Engine = {
  name: 'xgboost',
  load: async () => (await import('../../models/xgboost/learner.ts')).xgboostLearner,
  classifier: (p) => {
    const obj = String(p.objective ?? '');
    return obj.startsWith('binary:') ? 'binary' : obj.startsWith('multi:') ? 'multiclass' : null;
  },
  ranking: (p) => String(p.objective ?? '').startsWith('rank:'),
  check(section, classes, issue) {
    const obj = String(section.params.objective ?? '');
    if (obj === 'multi:softmax') issue(['params', 'objective'], 'use multi:softprob (probabilities are needed for the score P(+1) − P(−1))');
    treeChecks(section, classes, obj === 'multi:softprob', issue);
  },
  native: { ext: 'xgb.json', mediaType: 'application/json' },
  version: async () => (await import('../../models/xgboost/binding.ts')).xgboostApi().version,
};

const LGBM_CLASSIFIERS: Record<string, 'binary' | 'multiclass'> = { binary: 'binary', multiclass: 'multiclass', softmax: 'multiclass' };
const LGBM_RANKERS = new Set(['lambdarank', 'rank_xendcg']);

/** LightGBM through its C API (models/lightgbm/learner.ts); sampled trials from models/lightgbm/search.ts. */
export const lightgbmEngine: Engine = {
  name: 'lightgbm',
  load: async () => (await import('../../models/lightgbm/learner.ts')).lightgbmLearner,
  classifier: (p) => LGBM_CLASSIFIERS[String(p.objective ?? '')] ?? null,
  ranking: (p) => LGBM_RANKERS.has(String(p.objective ?? '')),
  check(section, classes, issue) {
    const obj = String(section.params.objective ?? '');
    if (LGBM_RANKERS.has(obj)) issue(['params', 'objective'], `${obj} needs integer relevance labels, which fit.cpcv does not make: use regression with target.transform rank`);
    treeChecks(section, classes, LGBM_CLASSIFIERS[obj] === 'multiclass', issue);
  },
  native: { ext: 'lgbm.txt', mediaType: 'text/plain' },
  sample: async (n, seed, base) => (await import('../../models/lightgbm/search.ts')).sampleLightgbmTrials({ nTrials: n, seed, base }),
};

/** Engines `fit.cpcv`'s `with.engine` selects. */
export const CPCV_ENGINES = { xgboost: xgboostEngine, lightgbm: lightgbmEngine } as const;
