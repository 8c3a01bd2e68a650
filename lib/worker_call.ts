/**
 * One call into a worker thread: the protocol the tree's workers share (rl/trainer.worker.ts,
 * rl/ope/evaluate.worker.ts; their side is lib/worker_serve.ts). The worker gets `workerData`,
 * posts any number of `{ type: 'progress', ... }` messages, then one `{ type: 'result', result }` or
 * `{ type: 'error', name, message, stack }`; a `{ type: 'stop' }` message asks it to stop early.
 */
import { Worker } from 'node:worker_threads';

/** A progress message of a worker (its fields are the worker's own). */
export type WorkerProgress = Record<string, unknown>;

/**
 * Starts the worker at `entry` (lib/worker_url.ts `workerEntryUrl`) with `workerData` and resolves
 * with its result. Progress messages go to `onProgress`. When `signal` aborts, the worker is asked to
 * stop, then terminated, and the promise rejects ("<what> aborted"). A failure in the worker
 * rejects with an Error of the worker error's name and "<what> failed in the worker: <message>"; an
 * exit before a result rejects too.
 */
export function callWorker<R>(entry: URL, workerData: unknown, o: { what: string; onProgress?: (m: WorkerProgress) => void; signal?: AbortSignal }): Promise<R> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(new Error(`${o.what} aborted before it started`));
    const worker = new Worker(entry, { workerData });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      worker.postMessage({ type: 'stop' });
      void worker.terminate();
      finish(() => reject(new Error(`${o.what} aborted`)));
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: { type: string; result?: R; name?: string; message?: string; stack?: string }) => {
      if (m.type === 'progress') o.onProgress?.(m);
      else if (m.type === 'result') finish(() => resolve(m.result as R));
      else if (m.type === 'error') {
        const err = new Error(`${o.what} failed in the worker: ${m.message}`);
        err.name = m.name ?? 'Error';
        if (m.stack) err.stack = `${err.name}: ${err.message}\n--- in the worker ---\n${m.stack}`;
        finish(() => reject(err));
      }
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`${o.what}: the worker exited with code ${code} before returning a result`))));
  });
}
