/**
 * Error taxonomy shared by the CLI, the runtimes and step kinds.
 * - UserError: bad input/config; the CLI prints the message (no stack trace) and exits 2.
 * - StepError: a step failed; `nonRetryable` stops retries at once (mapped to Temporal's
 *   ApplicationFailure.nonRetryable). `type` is matched against a step's `retry.non_retryable` list.
 */
export class UserError extends Error {
  override name = 'UserError';
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

export class StepError extends Error {
  override name = 'StepError';
  constructor(
    message: string,
    readonly type: string = 'StepError',
    readonly nonRetryable = false,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** A deterministic failure replayed from the step cache (see StepKind.deterministicFailures). */
export class CachedStepFailure extends StepError {
  readonly cached = true;
  constructor(message: string, type: string, details?: unknown) {
    super(message, type, true, details);
  }
}

/** Thrown by a training step whose inputs include a RED data-quality audit; never retried. */
export class DataQualityError extends StepError {
  constructor(message: string, details?: unknown) {
    super(message, 'DataQualityError', true, details);
  }
}

/** The error's type name as used by retry policies (`non_retryable: [TypeName]`). */
export function errorType(err: unknown): string {
  if (err instanceof StepError) return err.type;
  if (err instanceof Error) return err.name;
  return 'Error';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
