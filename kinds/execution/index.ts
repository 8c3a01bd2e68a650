/*
 * Execution and market-making concern (issue 20): the LOB replay check, impact calibration,
 * execution schedule benchmarks, RL execution, the order-type bandit, the adaptive cost model,
 * Avellaneda–Stoikov and RL market making, optimal-stopping exits, and the study report. The
 * compute runs in a worker thread (run_job.ts) so progress and the other running step flow; the
 * math lives in lob/, execution/, marketmaking/ and decisions/.
 */
import type { AnyStepKind } from '../types.ts';
import { exitsOptimalStoppingKind } from './exits.ts';
import { executionImpactKind } from './impact.ts';
import { mmAvellanedaStoikovKind, mmRlKind } from './mm.ts';
import { executionCostModelKind, executionOrderTypeKind } from './order_cost.ts';
import { lobReplayCheckKind } from './replay_check.ts';
import { reportStudyKind } from './report.ts';
import { executionBenchmarksKind, executionRlKind } from './shortfall.ts';

export { exitsOptimalStoppingKind } from './exits.ts';
export { executionImpactKind } from './impact.ts';
export { mmAvellanedaStoikovKind, mmRlKind } from './mm.ts';
export { executionCostModelKind, executionOrderTypeKind } from './order_cost.ts';
export { lobReplayCheckKind } from './replay_check.ts';
export { reportStudyKind } from './report.ts';
export { executionBenchmarksKind, executionRlKind } from './shortfall.ts';

/** Step kinds of this concern, registered in kinds/registry.ts. */
export const kinds: AnyStepKind[] = [
  lobReplayCheckKind,
  executionImpactKind,
  executionBenchmarksKind,
  executionRlKind,
  executionOrderTypeKind,
  executionCostModelKind,
  mmAvellanedaStoikovKind,
  mmRlKind,
  exitsOptimalStoppingKind,
  reportStudyKind,
];
