/*
 * Tracking concern: promote, score.daily, report. They read the run by contract (model.bundle,
 * gate.verdict, signals.oof, ohlcv.daily) and the tracker is the process's (`openTracker()`: MLflow
 * when MLFLOW_TRACKING_URI is set, else the local DuckDB tracker under the runtime's home `ctx.home`,
 * sharing the step's artifact store). Heavy modules are imported inside run().
 */
import type { AnyStepKind } from '../types.ts';
import { promote } from './promote.ts';
import { report } from './report.ts';
import { scoreDaily } from './score.ts';

export { promote } from './promote.ts';
export { report } from './report.ts';
export { scoreDaily } from './score.ts';

/** Step kinds of this concern, registered in kinds/registry.ts. */
export const kinds: AnyStepKind[] = [promote, scoreDaily, report];
