import { callWorker, type WorkerProgress } from '../../lib/worker_call.ts';
import { StepError } from '../../lib/errors.ts';
import { workerEntryUrl } from '../../lib/worker_url.ts';
import type { StepContext } from '../types.ts';
import type { JobInput, JobName, JobOutput } from './jobs.ts';

/** How often the host re-reports the current stage (with its elapsed time) while a job computes. */
const TICK_MS = 2000;

/**
 * Runs execution job `name` (kinds/execution/jobs.ts) in a worker thread and resolves with its
 * result. The worker's stage reports become `ctx.progress` (fraction scaled into [from, to]); while
 * a stage computes the current one is re-reported every 2 s with its elapsed seconds, so a long
 * training shows it is alive. When `ctx.signal` aborts (timeout, cancel) the worker is terminated
 * and the promise rejects. A RangeError of the domain code (data too short for the settings, a
 * fit without enough points) is deterministic: it rejects with a non-retryable StepError of type
 * `StudyInfeasible`; any other worker failure with a retryable StepError.
 */
export function runJob<K extends JobName>(ctx: StepContext, name: K, input: JobInput<K>, range: { from?: number; to?: number } = {}): Promise<JobOutput<K>> {
  const from = range.from ?? 0;
  const to = range.to ?? 1;
  if (ctx.signal.aborted) return Promise.reject(new StepError({ message: `${ctx.uses}: aborted before the ${name} job started` }));
  const started = Date.now();
  let last = { fraction: from, message: `starting the ${name} worker` };
  const report = () => ctx.progress({ fraction: last.fraction, message: `${last.message} (${Math.round((Date.now() - started) / 1000)} s)` });
  report();
  const tick = setInterval(report, TICK_MS);
  tick.unref();
  const onProgress = (m: WorkerProgress) => {
    last = { fraction: from + (to - from) * Math.min(1, Math.max(0, (m.fraction as number | undefined) ?? 0)), message: (m.message as string | undefined) ?? '' };
    report();
  };
  return callWorker<JobOutput<K>>(workerEntryUrl('kinds/execution/worker_entry', 'worker.mjs'), { job: name, input }, { what: `the ${name} job`, onProgress, signal: ctx.signal })
    .catch((err: Error) => {
      if (ctx.signal.aborted) throw new StepError({ message: `${ctx.uses}: the ${name} job was aborted (${String(ctx.signal.reason ?? 'cancelled')})` });
      const infeasible = err.name === 'RangeError';
      const message = err.message.replace(`the ${name} job failed in the worker: `, '');
      throw new StepError({
        message: `${ctx.uses}: ${message}${infeasible ? " — the data cannot hold the study with these settings; change the step's with: (sizes, horizons, fractions)" : ''}`,
        type: infeasible ? 'StudyInfeasible' : 'StepError',
        nonRetryable: infeasible,
        details: { job: name, stack: err.stack },
        cause: err,
      });
    })
    .finally(() => clearInterval(tick));
}
