import type { ArtifactStore } from '../artifacts/store.ts';
import type { Logger } from '../lib/log.ts';
import type { Registration } from '../report/model.ts';
import type { RunRecord, StepRecord } from './observer.ts';
import type { Tracker } from './types.ts';

/** Options and per-run memory of the tracking observer (tracking/trackingObserver.ts). */

export interface TrackingObserverOptions {
  /** The tracker; wrapped in a {@link GuardedTracker} (circuit breaker) unless it already is one. */
  tracker: Tracker;
  store: ArtifactStore;
  /** Where reports are written (`<home>/reports/<run-id>/`); defaults to stateHome(). */
  home?: string;
  log?: Logger;
  /** Experiment name for a run (default: `trademl/<pipeline>`). */
  experimentName?: (pipeline: string) => string;
  /** Registered model name for a run's candidate (default: the promote step's `with.model`, else params.model, else the pipeline name). */
  modelName?: (run: RunRecord) => string;
}

export interface RunState {
  run: RunRecord;
  /** The parent tracker run (found by tag `trademl.run_id`, else created: `created`), once asked for. */
  parent?: Promise<{ runId: string; experimentId: string; created: boolean }>;
  /** Child tracker run ids by step id (found by tags, else created). */
  children: Map<string, string>;
  steps: Map<string, StepRecord>;
  /** Control (approval) steps this observer saw decided. */
  controls: Set<string>;
  /** Tracking failures already logged for this run (each distinct message is logged once). */
  warned: Set<string>;
  challenger?: { model: string; version: string; registration: Registration };
}
