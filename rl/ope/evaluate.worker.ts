// Worker-thread entry of rl/ope/worker.ts: one evaluateTable call. Protocol (lib/worker_call.ts):
// workerData = EvaluateJob; posts {type:'progress', fraction} messages, then the OpeEstimates.
import { serveWorker } from '../../lib/worker_serve.ts';
import { sizingQFeatures } from './fqe.ts';
import { evaluateTable } from './index.ts';
import type { EvaluateJob } from './worker.ts';

await serveWorker<EvaluateJob, unknown>(({ table, options, sizingQ }, progress) =>
  evaluateTable(table, {
    ...options,
    qFeatures: sizingQ ? sizingQFeatures(sizingQ.actions, sizingQ.prevIndex, sizingQ.stateDim) : undefined,
    onProgress: (fraction) => progress({ fraction }),
  }),
);
