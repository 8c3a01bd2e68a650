/**
 * TradeML's failure classes. Every class is built from one options object ({@link FailureInit}) and
 * says when it is thrown. Both hosts classify a thrown value with {@link classifyFailure}, so a step
 * failure is retried (or not) the same way embedded and on Temporal.
 *
 * Pure TypeScript (no Node imports): the Temporal workflow bundle may import the types.
 */

/** What every failure carries. */
export interface FailureInit {
  /** What went wrong, where, and how to fix it. */
  message: string;
  /** Error type name matched against a step's `retry.non_retryable` list (default: the class's). */
  type?: string;
  /** Fail the step at once, without retries (default: the class's). */
  nonRetryable?: boolean;
  /** JSON-serialisable details (shown by `trademl status`, carried as Temporal failure details). */
  details?: unknown;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Base class: a failure with a type name, a retry classification and details. */
export class TradeMLError extends Error {
  override name = 'TradeMLError';
  readonly type: string;
  readonly nonRetryable: boolean;
  readonly details?: unknown;

  constructor(init: FailureInit | string, defaults: { type: string; nonRetryable: boolean }) {
    const o = typeof init === 'string' ? { message: init } : init;
    super(o.message, o.cause === undefined ? undefined : { cause: o.cause });
    this.type = o.type ?? defaults.type;
    this.nonRetryable = o.nonRetryable ?? defaults.nonRetryable;
    this.details = o.details;
  }
}

/**
 * Bad input from a person: a CLI argument, a pipelines.yaml value, a config file, a contract.
 * Thrown before or during a run when retrying cannot help; the CLI prints the message (no stack
 * trace) and exits with `exitCode` (2 by default). Never retried.
 */
export class UserError extends TradeMLError {
  override name = 'UserError';
  readonly exitCode: number;

  constructor(init: (FailureInit & { exitCode?: number }) | string) {
    super(init, { type: 'UserError', nonRetryable: true });
    this.exitCode = typeof init === 'string' ? 2 : (init.exitCode ?? 2);
  }
}

/**
 * A configuration file (configs/*.yml, a dataset contract) is missing or invalid. The message
 * locates every problem as `file:line:col: what — how to fix`. Never retried.
 */
export class ConfigError extends UserError {
  override name = 'ConfigError';

  constructor(init: FailureInit | string) {
    super({ type: 'ConfigError', ...(typeof init === 'string' ? { message: init } : init) });
  }
}

/**
 * A step attempt failed. Retryable unless `nonRetryable` says otherwise (then the step fails at
 * once). Thrown by step kinds and the executor; `type` names the cause (e.g. `LeakageSuspected`).
 */
export class StepError extends TradeMLError {
  override name = 'StepError';

  constructor(init: FailureInit | string) {
    super(init, { type: 'StepError', nonRetryable: false });
  }
}

/**
 * A step's input does not satisfy its artifact contract (missing, ambiguous or malformed upstream
 * output), or its `with` does not after interpolation. Deterministic: never retried.
 */
export class InputError extends StepError {
  override name = 'InputError';

  constructor(init: FailureInit | string) {
    super({ type: 'InputError', nonRetryable: true, ...(typeof init === 'string' ? { message: init } : init) });
  }
}

/** A step attempt ran past its timeout (start-to-close). Retryable. */
export class StepTimeout extends StepError {
  override name = 'StepTimeout';

  constructor(init: FailureInit | string) {
    super({ type: 'Timeout', nonRetryable: false, ...(typeof init === 'string' ? { message: init } : init) });
  }
}

/** A deterministic failure replayed from the step cache (see StepKind.deterministicFailures). Never retried. */
export class CachedStepFailure extends StepError {
  readonly cached = true;

  constructor(init: FailureInit) {
    super({ ...init, nonRetryable: true });
  }
}

/** Thrown by a training step whose inputs include a RED data-quality audit; never retried. */
export class DataQualityError extends StepError {
  constructor(message: string, details?: unknown) {
    super({ message, type: 'DataQualityError', nonRetryable: true, details });
  }
}

/** How a host treats a thrown value: one classification for both hosts. */
export interface FailureInfo {
  message: string;
  type: string;
  nonRetryable: boolean;
  details?: unknown;
}

/**
 * Classifies anything a step attempt threw: TradeML failures carry their own type and retry flag
 * (a UserError is never retried); any other Error is retryable with its `name` as type.
 */
export function classifyFailure(err: unknown): FailureInfo {
  if (err instanceof TradeMLError) {
    return { message: err.message, type: err.type, nonRetryable: err.nonRetryable, ...(err.details !== undefined ? { details: err.details } : {}) };
  }
  if (err instanceof Error) return { message: err.message, type: err.name, nonRetryable: false };
  return { message: String(err), type: 'Error', nonRetryable: false };
}

/** The error's type name as used by retry policies (`non_retryable: [TypeName]`). */
export function errorType(err: unknown): string {
  return classifyFailure(err).type;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
