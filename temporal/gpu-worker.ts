/**
 * GPU worker: runs gpu-queue steps (`<prefix>-gpu`), one at a time by default.
 *   npx tsx temporal/gpu-worker.ts        (env: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TRADEML_HOME, …)
 * TRADEML_GPU_CONCURRENCY: activities at once (default 1).
 */
import { envInt, runWorkerProcess } from './worker.ts';

await runWorkerProcess({
  queue: 'gpu',
  workflows: false,
  maxConcurrentActivities: envInt('TRADEML_GPU_CONCURRENCY', 1),
});
