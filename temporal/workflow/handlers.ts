/**
 * The Update/Signal/Query handlers of a pipeline run, all delegating to its run loop (workflow
 * code, part of the bundle). Updates are validated (refused before they enter the history);
 * Signals cannot be refused, so an invalid one is recorded on the run and ignored.
 */
import { setHandler } from '@temporalio/workflow';
import type { RunLoop } from '../../engine/loop.ts';
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  rejectSignal,
  rejectUpdate,
  retrySignal,
  retryUpdate,
  skipSignal,
  skipUpdate,
  statusQuery,
} from './api.ts';

/** Registers every operator handler and the `status` Query of a run on `driver`. */
export function registerHandlers(driver: RunLoop): void {
  setHandler(statusQuery, () => driver.status());
  setHandler(retryUpdate, (req) => driver.retry(req), { validator: (req) => driver.validateRetry(req) });
  setHandler(skipUpdate, (req) => driver.skip(req), { validator: (req) => driver.validateSkip(req) });
  setHandler(abortUpdate, (req) => driver.abort(req), { validator: (req) => driver.validateAbort(req) });
  setHandler(approveUpdate, (req) => driver.decideApproval(req, true), { validator: (req) => driver.validateApproval(req) });
  setHandler(rejectUpdate, (req) => driver.decideApproval(req, false), { validator: (req) => driver.validateApproval(req) });
  const guarded = <R>(action: 'retry' | 'skip' | 'abort' | 'approve' | 'reject', fn: (r: R) => unknown) => (req: R) => {
    try {
      fn(req);
    } catch (e) {
      driver.refused(action, (req ?? {}) as never, e instanceof Error ? e.message : String(e));
    }
  };
  setHandler(retrySignal, guarded('retry', (r) => driver.retry(r)));
  setHandler(skipSignal, guarded('skip', (r) => driver.skip(r)));
  setHandler(abortSignal, guarded('abort', (r) => driver.abort(r)));
  setHandler(approveSignal, guarded('approve', (r) => driver.decideApproval(r, true)));
  setHandler(rejectSignal, guarded('reject', (r) => driver.decideApproval(r, false)));
}
