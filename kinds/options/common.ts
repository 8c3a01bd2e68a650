/**
 * Small helpers shared by the options kinds: cooperative yielding (long synchronous loops let the
 * host's progress rendering and heartbeats through) with a cancellation check.
 */
import { StepError } from '../../lib/errors.ts';

/**
 * Yields to the event loop once and throws a non-retryable StepError('Cancelled') when `signal`
 * has been aborted (run cancelled or attempt timed out).
 */
export async function yieldOrCancel(signal: AbortSignal, what: string): Promise<void> {
  await new Promise((r) => setImmediate(r));
  if (signal.aborted) throw new StepError({ message: `${what} cancelled`, type: 'Cancelled', nonRetryable: true });
}
