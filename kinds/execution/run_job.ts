import { Worker } from 'node:worker_threads';
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
  return new Promise((resolve, reject) => {
    if (ctx.signal.aborted) return reject(new StepError({ message: `${ctx.uses}: aborted before the ${name} job started` }));
    const started = Date.now();
    let last = { fraction: from, message: `starting the ${name} worker` };
    const report = () => ctx.progress({ fraction: last.fraction, message: `${last.message} (${Math.round((Date.now() - started) / 1000)} s)` });
    report();
    const tick = setInterval(report, TICK_MS);
    tick.unref();
    const worker = new Worker(workerEntryUrl('kinds/execution/worker_entry', 'worker.mjs'), { workerData: { job: name, input } });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(tick);
      ctx.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      void worker.terminate();
      finish(() => reject(new StepError({ message: `${ctx.uses}: the ${name} job was aborted (${String(ctx.signal.reason ?? 'cancelled')})` })));
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: { type: string; fraction?: number; message?: string; result?: JobOutput<K>; name?: string; stack?: string }) => {
      if (m.type === 'progress') {
        last = { fraction: from + (to - from) * Math.min(1, Math.max(0, m.fraction ?? 0)), message: m.message ?? '' };
        report();
      } else if (m.type === 'result') {
        finish(() => resolve(m.result!));
      } else if (m.type === 'error') {
        const infeasible = m.name === 'RangeError';
        finish(() =>
          reject(
            new StepError({
              message: `${ctx.uses}: ${m.message}${infeasible ? ' — the data cannot hold the study with these settings; change the step\'s with: (sizes, horizons, fractions)' : ''}`,
              type: infeasible ? 'StudyInfeasible' : 'StepError',
              nonRetryable: infeasible,
              details: { job: name, stack: m.stack },
            }),
          ),
        );
      }
    });
    worker.on('error', (err) => finish(() => reject(new StepError({ message: `${ctx.uses}: the ${name} worker failed: ${err.message}`, cause: err }))));
    worker.on('exit', (code) => finish(() => reject(new StepError({ message: `${ctx.uses}: the ${name} worker exited with code ${code} before returning a result` }))));
  });
}
