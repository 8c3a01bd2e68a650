import { z } from 'zod';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { Contract, ContractValue } from '../contracts/define.ts';
import type { Logger } from '../lib/log.ts';
import type { UpstreamView } from '../engine/upstream.ts';

export { artifactRefSchema } from '../contracts/define.ts';

/** What a kind's fingerprint may look at. */
export interface FingerprintEnv {
  projectRoot: string;
  dataRoot: string;
  /** The host's state folder (local tracker, registry). */
  home: string;
  artifacts: ArtifactStore;
  /** Digest of everything the step consumes (see {@link StepContext.inputsKey}). */
  inputsKey: string;
  pipeline: string;
  params: Record<string, unknown>;
}

/** Small JSON a step returns: artifact references, digests, metrics. Never bulk data. */
export type StepOutputs = Record<string, unknown>;

/** An upstream step as a downstream step sees it (for views over the run and `when: always` steps). */
export type UpstreamStep = UpstreamView;

/** Progress report from a running step (also sent as a Temporal heartbeat's details). */
export interface StepProgress {
  /** 0..1 when known. */
  fraction?: number;
  current?: number;
  total?: number;
  message?: string;
}

/**
 * One consumed input of a step kind. The spec compiler binds it to upstream outputs providing the
 * contract (spec/bindings.ts): a single input takes the nearest upstream provider (no other provider
 * of the contract lies between them) and two nearest providers are ambiguous; a `many` input takes
 * every upstream provider in plan order. pipelines.yaml may bind either explicitly with `inputs:`.
 */
export interface InputSpec<C extends Contract = Contract> {
  contract: C;
  /** Takes every upstream provider (default: exactly one). */
  many?: boolean;
  /** May have no provider (a single input is then absent; a many input empty). */
  optional?: boolean;
  /** What the step uses it for (shown in the reference and in errors). */
  description: string;
}

/** A kind's consumed inputs by name. */
export type Consumes = Record<string, InputSpec>;

/** A kind's provided outputs: output key → contract. */
export type Provides = Record<string, Contract>;

/** A consumed input as the step receives it: the contract value and where it came from. */
export interface Input<V = unknown> {
  /** Step id that provided it. */
  step: string;
  /** Output key of that step. */
  output: string;
  /** Kind of that step (for messages; never branch on it). */
  uses: string;
  value: V;
}

type ValueOf<C extends Consumes, K extends keyof C> = ContractValue<C[K]['contract']>;

/** What a step kind's `run` gets from its host (embedded runtime or Temporal activity). */
export interface StepContext<C extends Consumes = Consumes> {
  runId: string;
  pipeline: string;
  stepId: string;
  uses: string;
  /** 1-based attempt number. */
  attempt: number;
  /** Resolved pipeline params (CLI overrides applied). */
  params: Record<string, unknown>;
  /**
   * Digest of everything the step consumes (its input bindings and upstream outputs): kinds that
   * append to an external store tag their writes with it, so their fingerprint can leave their own
   * writes out (an unchanged re-run stays cached).
   */
  inputsKey: string;
  /**
   * The input bound to a single consumed input; throws InputError when it has no provider
   * (use {@link StepContext.maybeInput} for optional inputs).
   */
  input<K extends keyof C & string>(name: K): Input<ValueOf<C, K>>;
  /** The input bound to an optional single input, or undefined. */
  maybeInput<K extends keyof C & string>(name: K): Input<ValueOf<C, K>> | undefined;
  /** Every input bound to a consumed input (plan order); empty when none. */
  inputs<K extends keyof C & string>(name: K): Input<ValueOf<C, K>>[];
  /**
   * Every transitive upstream step, by step id: its kind, final status and outputs. For views
   * over the whole run (reports); kinds read their inputs through {@link StepContext.input}.
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
 * A control construct: the host handles the step itself instead of executing it (a human
 * decision, a timer). `plan` reads the parsed `with` once, at compile time.
 */
export interface ControlSpec<W extends z.ZodType = z.ZodType> {
  type: 'approval';
  /** How long the host waits (ms) and which steps' outputs it shows the decider. */
  plan(withArgs: z.output<W>): { timeout_ms: number; show: string[]; instructions: string };
}

/**
 * A step kind: the unit `pipelines.yaml` refers to with `uses:`.
 * `version` is part of every cache key: bump it when the kind's semantics change.
 * Heavy dependencies (onnxruntime, tfjs, koffi) must be imported lazily inside `run`,
 * so validating a pipeline stays fast.
 */
export interface StepKind<W extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType, C extends Consumes = Consumes> {
  uses: string;
  version: string;
  description: string;
  /** Schema of the step's `with:` block (defaults applied by the schema); every field `.describe()`d. */
  with: W;
  /** Schema of the outputs `run` returns (validated after each run); every field `.describe()`d. */
  outputs: O;
  /** Inputs read through `ctx.input(name)` / `ctx.inputs(name)`, by name. */
  consumes?: C;
  /** Output keys that carry a contract; each must be a key of `outputs`. */
  provides?: Provides;
  /** Set for control steps (approval): the host decides the step; `run` is never called. */
  control?: ControlSpec<W>;
  /** Queue the kind prefers when the step does not set one. */
  defaultQueue?: 'cpu' | 'gpu';
  /**
   * Config files (paths relative to the checkout) this step reads for the given `with`; their
   * content enters the cache key, so editing a config re-runs the step and its dependents.
   */
  configFiles?(withArgs: z.output<W>): string[];
  /**
   * Extra cache-key input for what `with` and config files do not capture (e.g. the source files
   * of a dataset: their paths, sizes and mtimes; the head of an append-only ledger the step reads).
   * Must be cheap and must not throw; may be async.
   */
  fingerprint?(withArgs: z.output<W>, env: FingerprintEnv): unknown;
  /**
   * Error types that are verdicts on the inputs: a pure function of the cache key, so they are
   * cached like outputs and replayed (non-retryable) on an unchanged re-run.
   */
  deterministicFailures?: string[];
  run(ctx: StepContext<C>, withArgs: z.output<W>): Promise<z.input<O>>;
}

/** Identity helper that keeps a step kind's types inferred. */
export function defineStepKind<W extends z.ZodType, O extends z.ZodType, C extends Consumes = Consumes>(kind: StepKind<W, O, C>): StepKind<W, O, C> {
  return kind;
}

/** Any step kind, as the registry holds it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStepKind = StepKind<z.ZodType, z.ZodType, any>;
