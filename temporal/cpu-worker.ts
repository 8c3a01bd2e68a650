/**
 * CPU worker: runs the pipeline workflows and the cpu-queue steps (`<prefix>-cpu`).
 *   npx tsx temporal/cpu-worker.ts        (env: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TRADEML_HOME, …)
 * TRADEML_CPU_CONCURRENCY: activities at once (default 4). Uses dist/workflow-bundle.js when built.
 */
import { envInt, runWorkerProcess } from './worker.ts';

await runWorkerProcess({
  queue: 'cpu',
  workflows: true,
  maxConcurrentActivities: envInt('TRADEML_CPU_CONCURRENCY', 4),
  bundlePath: process.env.TRADEML_WORKFLOW_BUNDLE,
});
