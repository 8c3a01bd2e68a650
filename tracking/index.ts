import path from 'node:path';
import { ArtifactStore } from '../artifacts/store.ts';
import { stateHome } from '../lib/paths.ts';
import { LocalTracker } from './local.ts';
import { MlflowTracker, mlflowOptionsFromEnv, type MlflowOptions } from './mlflow.ts';
import type { Tracker } from './types.ts';

export * from './types.ts';
export { LocalTracker } from './local.ts';
export { MlflowTracker, mlflowOptionsFromEnv } from './mlflow.ts';

/** File of the local tracker DB (separate from the run-state DB, so the two never contend for DuckDB's file lock). */
export function localTrackerFile(home = stateHome()): string {
  return path.join(home, 'tracking.duckdb');
}

/**
 * The tracker this process should use: MLflow over REST when `MLFLOW_TRACKING_URI` is an http(s) URL
 * (and `TRADEML_TRACKER` is not `local`), otherwise the local DuckDB tracker under `stateHome()`
 * (`tracking.duckdb`, artifacts in `artifacts/`). `mlflow` overrides the client's timeout and
 * retry settings (the run observer's path makes single, short attempts: tracking/guarded.ts).
 */
export function openTracker(opts: { env?: NodeJS.ProcessEnv; home?: string; store?: ArtifactStore; mlflow?: Pick<MlflowOptions, 'timeoutMs' | 'retries' | 'backoffMs'> } = {}): Tracker {
  const env = opts.env ?? process.env;
  const ml = env.TRADEML_TRACKER === 'local' ? undefined : mlflowOptionsFromEnv(env);
  if (ml) return new MlflowTracker({ ...ml, ...definedOnly(opts.mlflow ?? {}) });
  const home = opts.home ?? stateHome();
  return new LocalTracker(localTrackerFile(home), opts.store ?? new ArtifactStore(path.join(home, 'artifacts')));
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
