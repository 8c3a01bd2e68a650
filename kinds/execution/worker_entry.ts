// Worker-thread entry of the execution studies (kinds/execution/run_job.ts).
// Protocol: workerData = { job: JobName, input }; posts {type:'progress', fraction, message}
// messages, then one {type:'result', result} or {type:'error', name, message, stack}.
import { parentPort, workerData } from 'node:worker_threads';
import { JOBS, type JobName } from './jobs.ts';

const { job, input } = workerData as { job: JobName; input: never };
try {
  const fn = JOBS[job] as (input: never, progress: (fraction: number, message: string) => void) => unknown;
  if (!fn) throw new Error(`unknown execution job "${String(job)}"`);
  const result = await fn(input, (fraction, message) => parentPort!.postMessage({ type: 'progress', fraction, message }));
  parentPort!.postMessage({ type: 'result', result });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  parentPort!.postMessage({ type: 'error', name: e.name, message: e.message, stack: e.stack });
}
parentPort!.close();
