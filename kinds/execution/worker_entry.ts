// Worker-thread entry of the execution studies (kinds/execution/run_job.ts).
// Protocol (lib/worker_call.ts): workerData = { job: JobName, input }; posts {type:'progress',
// fraction, message} messages, then the result or the error (its name: a RangeError is infeasible).
import { serveWorker } from '../../lib/worker_serve.ts';
import { JOBS, type JobName } from './jobs.ts';

await serveWorker<{ job: JobName; input: never }, unknown>(async ({ job, input }, progress) => {
  const fn = JOBS[job] as (input: never, progress: (fraction: number, message: string) => void) => unknown;
  if (!fn) throw new Error(`unknown execution job "${String(job)}"`);
  return fn(input, (fraction, message) => progress({ fraction, message }));
});
