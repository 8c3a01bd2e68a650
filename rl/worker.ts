import { callWorker } from '../lib/worker_call.ts';
import { workerEntryUrl } from '../lib/worker_url.ts';
import type { TrainConfig } from './config.ts';
import type { TrainData, TrainResult } from './train.ts';

/**
 * Runs {@link trainOnBackend} (cfg.backend) in a worker thread (rl/trainer.worker.ts; from source
 * through the rl/trainer.worker.mjs bootstrap, lib/worker_url.ts) so the caller's event loop stays
 * free for heartbeats. Progress messages are forwarded to `onProgress`. When `signal` aborts, the
 * worker is asked to stop and then terminated; the promise rejects with an "aborted" error. Rejects
 * with the worker's error message when training fails (lib/worker_call.ts).
 */
export function trainInWorker(
  data: TrainData,
  cfg: TrainConfig,
  opts: { onProgress?: (p: { step: number; total: number; metrics: Record<string, number> | null }) => void; signal?: AbortSignal } = {},
): Promise<TrainResult> {
  return callWorker<TrainResult>(workerEntryUrl('rl/trainer.worker', 'trainer.worker.mjs'), { data, cfg }, {
    what: 'offline RL training',
    signal: opts.signal,
    onProgress: (m) => opts.onProgress?.({ step: m.step as number, total: m.total as number, metrics: (m.metrics as Record<string, number> | null) ?? null }),
  });
}
