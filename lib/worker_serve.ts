/**
 * The worker side of lib/worker_call.ts: runs `fn` on the thread's `workerData`, posts its progress
 * and then its result or error, and closes the port. `shouldStop` turns true once the caller sent
 * `{ type: 'stop' }`.
 */
import { parentPort, workerData } from 'node:worker_threads';

export async function serveWorker<D, R>(fn: (data: D, progress: (p: Record<string, unknown>) => void, shouldStop: () => boolean) => R | Promise<R>): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('serveWorker: not running in a worker thread');
  let stop = false;
  port.on('message', (m: { type?: string }) => {
    if (m?.type === 'stop') stop = true;
  });
  try {
    const result = await fn(workerData as D, (p) => port.postMessage({ ...p, type: 'progress' }), () => stop);
    port.postMessage({ type: 'result', result });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    port.postMessage({ type: 'error', name: e.name, message: e.message, stack: e.stack });
  }
  port.close();
}
