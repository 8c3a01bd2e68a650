// Worker-thread entry: trains off the main event loop so the host's heartbeats and progress flow.
// Protocol: workerData = { data: TrainData, cfg: TrainConfig }; posts {type:'progress'} messages,
// then one {type:'result'} or {type:'error'}; a {type:'stop'} message stops training early.
import { parentPort, workerData } from 'node:worker_threads';
import { trainOnBackend, type TrainData } from './train.ts';
import type { TrainConfig } from './config.ts';

const { data, cfg } = workerData as { data: TrainData; cfg: TrainConfig };
let stop = false;
parentPort!.on('message', (m: { type: string }) => {
  if (m?.type === 'stop') stop = true;
});
try {
  const result = await trainOnBackend(data, cfg, {
    onProgress: (p) => parentPort!.postMessage({ type: 'progress', ...p }),
    shouldStop: () => stop,
  });
  parentPort!.postMessage({ type: 'result', result });
} catch (err) {
  parentPort!.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined });
}
parentPort!.close();
