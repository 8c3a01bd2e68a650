import { Worker } from 'node:worker_threads';
import { workerEntryUrl } from '../lib/worker_url.ts';
import type { TrainConfig } from './config.ts';
import type { TrainData, TrainResult } from './train.ts';

/**
 * Runs {@link trainOnBackend} (cfg.backend) in a worker thread (rl/trainer.worker.ts; from source
 * through the rl/trainer.worker.mjs bootstrap, lib/worker_url.ts) so the caller's event loop stays
 * free for heartbeats. Progress messages are forwarded to
 * `onProgress`. When `signal` aborts, the worker is asked to stop and then terminated; the promise
 * rejects with an "aborted" error. Rejects with the worker's error message when training fails.
 */
export function trainInWorker(
  data: TrainData,
  cfg: TrainConfig,
  opts: { onProgress?: (p: { step: number; total: number; metrics: Record<string, number> | null }) => void; signal?: AbortSignal } = {},
): Promise<TrainResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new Error('offline RL training aborted before it started'));
    const worker = new Worker(workerEntryUrl('rl/trainer.worker', 'trainer.worker.mjs'), { workerData: { data, cfg } });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      worker.postMessage({ type: 'stop' });
      void worker.terminate();
      finish(() => reject(new Error('offline RL training aborted')));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: { type: string; message?: string; result?: TrainResult; step?: number; total?: number; metrics?: Record<string, number> | null }) => {
      if (m.type === 'progress') opts.onProgress?.({ step: m.step!, total: m.total!, metrics: m.metrics ?? null });
      else if (m.type === 'result') finish(() => resolve(m.result!));
      else if (m.type === 'error') finish(() => reject(new Error(`offline RL training failed in the worker: ${m.message}`)));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`offline RL worker exited with code ${code} before returning a result`))));
  });
}
