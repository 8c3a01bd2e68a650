// Worker-thread entry: trains off the main event loop so the host's heartbeats and progress flow.
// Protocol (lib/worker_call.ts): workerData = { data: TrainData, cfg: TrainConfig }; posts
// {type:'progress', step, total, metrics} messages, then the result or the error.
import { serveWorker } from '../lib/worker_serve.ts';
import { trainOnBackend, type TrainData } from './train.ts';
import type { TrainConfig } from './config.ts';

await serveWorker<{ data: TrainData; cfg: TrainConfig }, unknown>(({ data, cfg }, progress, shouldStop) =>
  trainOnBackend(data, cfg, { onProgress: (p) => progress({ ...p }), shouldStop }),
);
