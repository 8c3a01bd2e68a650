import { z } from 'zod';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { Logger } from '../lib/log.ts';

/** zod schema of an {@link ArtifactRef}, for step kinds' output schemas. */
export const artifactRefSchema = z.object({
  uri: z.string().regex(/^artifact:\/\/sha256\/[0-9a-f]{64}\.[a-z0-9]+$/),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  media_type: z.string(),
  name: z.string(),
});

/** Small JSON a step returns: artifact references, digests, metrics. Never bulk data. */
export type StepOutputs = Record<string, unknown>;

/** An upstream step as a downstream step sees it. */
export interface UpstreamStep {
  uses: string;
  status: 'succeeded' | 'failed' | 'skipped';
  outputs: StepOutputs;
  error?: { message: string; type: string; details?: unknown };
}

/** Progress report from a running step (also sent as a Temporal heartbeat's details). */
export interface StepProgress {
  /** 0..1 when known. */
  fraction?: number;
  current?: number;
  total?: number;
  message?: string;
}

/** What a step kind's `run` gets from its host (local runtime or Temporal activity). */
export interface StepContext {
  runId: string;
  pipeline: string;
  stepId: string;
  uses: string;
  /** 1-based attempt number. */
  attempt: number;
  /** Resolved pipeline params (CLI overrides applied). */
  params: Record<string, unknown>;
  /** Outputs of the steps named in `needs`, by step id. */
  inputs: Record<string, StepOutputs>;
  /**
   * Every transitive upstream step, by step id: its kind, final status and outputs. Only steps with
   * `when: always` can see upstream steps that failed or were skipped (with the failure's error).
   */
  ancestors: Record<string, UpstreamStep>;
  artifacts: ArtifactStore;
  /** The runtime's state folder (`--home`/TRADEML_HOME): local tracker, registry and reports live here. */
  home: string;
  /** Empty scratch folder for this attempt; removed after the attempt. */
  workDir: string;
  /** Checkout root: resolve `configs/...` paths against it. */
  projectRoot: string;
  /** Shared market data root (`../shared/data` by default, TRADEML_DATA_ROOT overrides). */
  dataRoot: string;
  log: Logger;
  /** Report progress; hosts render it (CLI bar) and heartbeat it (Temporal). Cheap: call freely. */
  progress(p: StepProgress): void;
  /** Aborted when the run is cancelled or the attempt timed out: long loops must check it. */
  signal: AbortSignal;
}

/**
 * A step kind: the unit `pipelines.yaml` refers to with `uses:`.
 * `version` is part of every cache key: bump it when the kind's semantics change.
 * Heavy dependencies (onnxruntime, tfjs, koffi) must be imported lazily inside `run`,
 * so validating a pipeline stays fast.
 */
export interface StepKind<W extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  uses: string;
  version: string;
  description: string;
  /** Schema of the step's `with:` block (defaults applied by the schema). */
  with: W;
  /** Schema of the outputs `run` returns (validated after each run). */
  outputs: O;
  /** Queue the kind prefers when the step does not set one. */
  defaultQueue?: 'cpu' | 'gpu';
  /**
   * Config files (paths relative to the checkout) this step reads for the given `with`; their
   * content enters the cache key, so editing a config re-runs the step and its dependents.
   */
  configFiles?(withArgs: z.output<W>): string[];
  /**
   * Extra cache-key input for what `with` and config files do not capture (e.g. the source files
   * of a dataset: their paths, sizes and mtimes). Must be cheap and must not throw.
   */
  fingerprint?(withArgs: z.output<W>, env: { projectRoot: string; dataRoot: string }): unknown;
  /**
   * Error types that are verdicts on the inputs (e.g. `GateFailed`): a pure function of the cache
   * key, so they are cached like outputs and replayed (non-retryable) on an unchanged re-run.
   */
  deterministicFailures?: string[];
  run(ctx: StepContext, withArgs: z.output<W>): Promise<z.input<O>>;
}

/** Identity helper that keeps a step kind's types inferred. */
export function defineStepKind<W extends z.ZodType, O extends z.ZodType>(kind: StepKind<W, O>): StepKind<W, O> {
  return kind;
}
