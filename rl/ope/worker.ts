import { callWorker } from '../../lib/worker_call.ts';
import { workerEntryUrl } from '../../lib/worker_url.ts';
import type { PolicyTable } from './episodes.ts';
import type { OpeEstimates, OpeOptions } from './index.ts';

/** The pooled sizing Q features (rl/ope/fqe.ts `sizingQFeatures`) by their arguments: a function does not cross threads. */
export interface SizingQSpec {
  actions: number[];
  prevIndex: number;
  stateDim: number;
}

/** What the OPE worker evaluates: a tabulated policy and the data part of its options. */
export interface EvaluateJob {
  table: PolicyTable;
  options: Omit<OpeOptions, 'qFeatures' | 'onProgress' | 'signal'>;
  sizingQ: SizingQSpec | null;
}

/**
 * rl/ope `evaluateTable` in a worker thread, so that two policies' bootstraps (rl.ope evaluates
 * the learned policy and the baseline, each refitting FQE on every resample) run on two cores at
 * once. The same code on the same data: the estimates are the ones the calling thread would get,
 * bit for bit. Progress fractions go to `onProgress` when the caller's thread is free to take them;
 * `signal` terminates the worker (lib/worker_call.ts). Rejects with the evaluation's error.
 */
export function evaluateInWorker(job: EvaluateJob, o: { onProgress?: (fraction: number) => void; signal?: AbortSignal } = {}): Promise<OpeEstimates> {
  return callWorker<OpeEstimates>(workerEntryUrl('rl/ope/evaluate.worker', 'evaluate.worker.mjs'), job, {
    what: 'off-policy evaluation',
    signal: o.signal,
    onProgress: (m) => o.onProgress?.(m.fraction as number),
  });
}
