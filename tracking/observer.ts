export type { RunRecord, StepRecord } from '../engine/records.ts';
import type { RunRecord, StepRecord } from '../engine/records.ts';

/**
 * Run lifecycle hooks the hosts (local runtime, Temporal activities) call, so tracking and
 * reports stay out of the engine. Implementations must not throw for tracking hiccups that should
 * not fail a run: they log and continue.
 */
/** What a host knows of the run when a step finishes (ObserveRequest `stepFinished`). */
export interface StepFinishedContext {
  run?: RunRecord;
  steps?: StepRecord[];
}

export interface RunObserver {
  runStarted(run: RunRecord): Promise<void>;
  /**
   * A step finished. `context` (when the host has it) holds the run and every other step finished so
   * far: an observer that did not see them (another worker process) works from it, never from memory alone.
   */
  stepFinished(step: StepRecord, context?: StepFinishedContext): Promise<void>;
  approvalDecided(d: { runId: string; stepId: string; approved: boolean; by: string; at: string; comment: string }): Promise<void>;
  runFinished(run: RunRecord, steps: StepRecord[]): Promise<void>;
}

/** Fans lifecycle calls out to several observers, in order. */
export function composeObservers(list: RunObserver[]): RunObserver {
  return {
    async runStarted(r) { for (const o of list) await o.runStarted(r); },
    async stepFinished(s, c) { for (const o of list) await o.stepFinished(s, c); },
    async approvalDecided(d) { for (const o of list) await o.approvalDecided(d); },
    async runFinished(r, s) { for (const o of list) await o.runFinished(r, s); },
  };
}
