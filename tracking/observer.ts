import type { StepOutputs } from '../kinds/types.ts';

/** A finished step as the runtime reports it to observers (tracker, report writer). */
export interface StepRecord {
  runId: string;
  pipeline: string;
  stepId: string;
  uses: string;
  status: 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  cacheHit: boolean;
  attempts: number;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  /** Resolved `with` of the step (params for the tracker). */
  with?: unknown;
  outputs: StepOutputs;
  error?: { message: string; type: string; details?: unknown };
  /** Optional: the step's `needs` (the report draws DAG edges from them). */
  needs?: string[];
}

export interface RunRecord {
  runId: string;
  pipeline: string;
  planDigest: string;
  params: Record<string, unknown>;
  status: 'running' | 'succeeded' | 'failed' | 'waiting_approval' | 'cancelled';
  startedAt: string;
  endedAt?: string;
  /**
   * Optional plan summary. When given, the report draws the DAG's edges from `needs`, and the
   * tracking observer takes the registered model's name from the `promote` step's `with.model`.
   */
  plan?: { steps: Array<{ id: string; uses: string; needs: string[]; with?: unknown }> };
}

/**
 * Run lifecycle hooks the hosts (local runtime, Temporal activities) call, so tracking and
 * reports stay out of the engine. Implementations must not throw for tracking hiccups that should
 * not fail a run: they log and continue.
 */
export interface RunObserver {
  runStarted(run: RunRecord): Promise<void>;
  stepFinished(step: StepRecord): Promise<void>;
  approvalDecided(d: { runId: string; stepId: string; approved: boolean; by: string; at: string; comment: string }): Promise<void>;
  runFinished(run: RunRecord, steps: StepRecord[]): Promise<void>;
}

/** Fans lifecycle calls out to several observers, in order. */
export function composeObservers(list: RunObserver[]): RunObserver {
  return {
    async runStarted(r) { for (const o of list) await o.runStarted(r); },
    async stepFinished(s) { for (const o of list) await o.stepFinished(s); },
    async approvalDecided(d) { for (const o of list) await o.approvalDecided(d); },
    async runFinished(r, s) { for (const o of list) await o.runFinished(r, s); },
  };
}
