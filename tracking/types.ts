/**
 * The one Tracker interface every TradeML component logs through: experiments, runs, params,
 * metrics, tags, artifacts, lineage inputs and the model registry (versions + aliases).
 * Two implementations: {@link LocalTracker} (DuckDB + artifact store, the default) and
 * {@link MlflowTracker} (MLflow REST API 2.0). Shapes follow MLflow's, so both behave alike.
 */

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface Experiment {
  experimentId: string;
  name: string;
  artifactLocation?: string;
  /** `deleted` when the experiment sits in MLflow's trash (it then takes no runs); absent = active. */
  lifecycleStage?: 'active' | 'deleted';
}

export interface RunInfo {
  runId: string;
  experimentId: string;
  runName: string;
  status: RunStatus;
  /** Epoch milliseconds. */
  startTime: number;
  endTime?: number;
  artifactUri: string;
}

/** A metric value at a step index. `timestamp` is epoch milliseconds. */
export interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export interface KeyValue {
  key: string;
  value: string;
}

/** A dataset (or other lineage input) a run consumed. Mirrors MLflow's DatasetInput. */
export interface DatasetInput {
  name: string;
  /** Content digest, e.g. `sha256:<hex>` (MLflow limits it to 36 chars; trackers shorten as needed). */
  digest: string;
  /** Where it came from, e.g. `artifact`, `local`, `code`, `plan`. */
  sourceType: string;
  /** URI or path of the source. */
  source: string;
  /** Free-form context, e.g. `{ 'mlflow.data.context': 'training' }`. */
  tags?: Record<string, string>;
}

export interface RunData {
  info: RunInfo;
  /** Latest value of each metric. */
  metrics: Metric[];
  params: KeyValue[];
  tags: KeyValue[];
  inputs: DatasetInput[];
}

export interface ArtifactFile {
  /** Path relative to the run's artifact root, `/`-separated. */
  path: string;
  isDir: boolean;
  fileSize?: number;
}

export interface ModelAlias {
  alias: string;
  version: string;
}

export interface ModelVersion {
  name: string;
  /** Version number as a decimal string ("1", "2", …), as MLflow returns it. */
  version: string;
  /** Where the model files live (the run's artifact folder holding them). */
  source: string;
  runId: string;
  description: string;
  /** Epoch milliseconds. */
  creationTimestamp: number;
  tags: Record<string, string>;
  aliases: string[];
}

export interface RegisteredModel {
  name: string;
  description: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  tags: Record<string, string>;
  aliases: ModelAlias[];
}

/**
 * What all of TradeML logs through. Every method is idempotent where MLflow's is (tags overwrite,
 * identical params are accepted, metrics append). Errors are thrown as {@link TrackerError}.
 */
export interface Tracker {
  readonly kind: 'local' | 'mlflow';
  /** Human description of where it writes (a file path or a URL without credentials). */
  readonly location: string;

  getExperimentByName(name: string): Promise<Experiment | undefined>;
  /** Returns the experiment id, creating the experiment when it does not exist. */
  getOrCreateExperiment(name: string): Promise<string>;

  createRun(opts: { experimentId: string; runName?: string; startTime?: number; tags?: Record<string, string> }): Promise<RunInfo>;
  /** Sets the run's status (and end time when given, epoch ms). */
  updateRun(runId: string, patch: { status: RunStatus; endTime?: number; runName?: string }): Promise<RunInfo>;
  getRun(runId: string): Promise<RunData>;
  /** Runs of an experiment whose tags equal all of `tags` (newest first). */
  searchRuns(experimentId: string, tags: Record<string, string>, maxResults?: number): Promise<RunInfo[]>;

  /**
   * Logs metrics, params and tags. Large batches are split to respect MLflow's limits
   * (≤ 1,000 metrics, ≤ 100 params, ≤ 100 tags, ≤ 1,000 items per request).
   * Params are immutable: re-logging a key with a different value throws a TrackerError.
   */
  logBatch(runId: string, batch: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] }): Promise<void>;
  /** Every logged value of one metric, in step order. */
  getMetricHistory(runId: string, key: string): Promise<Metric[]>;
  /** Records lineage inputs (datasets, plan, code version) of a run. */
  logInputs(runId: string, inputs: DatasetInput[]): Promise<void>;

  /** Uploads a local file as `artifactPath` (relative, `/`-separated) under the run's artifact root. */
  logArtifact(runId: string, localPath: string, artifactPath: string): Promise<void>;
  /** Downloads one artifact file of a run to `destPath`. */
  downloadArtifact(runId: string, artifactPath: string, destPath: string): Promise<void>;
  /** Direct children of `dir` ('' = root) in a run's artifacts. */
  listArtifacts(runId: string, dir?: string): Promise<ArtifactFile[]>;

  /** Registered model, or undefined when absent. */
  getRegisteredModel(name: string): Promise<RegisteredModel | undefined>;
  /** Creates the registered model when absent; returns it. */
  ensureRegisteredModel(name: string, description?: string): Promise<RegisteredModel>;
  listRegisteredModels(): Promise<RegisteredModel[]>;
  createModelVersion(opts: { name: string; source: string; runId: string; description?: string; tags?: Record<string, string> }): Promise<ModelVersion>;
  getModelVersion(name: string, version: string): Promise<ModelVersion | undefined>;
  /** All versions of a registered model, highest version first. */
  listModelVersions(name: string): Promise<ModelVersion[]>;
  setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void>;
  /** Points `alias` at `version` (moving it if it pointed elsewhere). */
  setAlias(name: string, alias: string, version: string): Promise<void>;
  getVersionByAlias(name: string, alias: string): Promise<ModelVersion | undefined>;
  /** Removes an alias; a no-op when it is not set. */
  deleteAlias(name: string, alias: string): Promise<void>;

  /**
   * Writes several runs at once (a finished step: its child run created, filled and ended, and the
   * parent's step metrics), in order, returning each write's run id (a created run's new id). The
   * same checks as the single calls (keys, value lengths, immutable params, NaN refused). Local
   * tracker: one DuckDB transaction with one statement per table, nothing written when anything is
   * refused; MLflow: the single calls one after another ({@link logRunsByCalls}).
   */
  logRuns(writes: RunWrite[]): Promise<string[]>;

  /** Releases connections/handles. */
  close(): Promise<void>;
}

/** One run's part of {@link Tracker.logRuns}: an existing run or one to create, what to log on it, and optionally its end. */
export interface RunWrite {
  run: { runId: string } | { create: { experimentId: string; runName?: string; startTime?: number; tags?: Record<string, string> } };
  metrics?: Metric[];
  params?: KeyValue[];
  tags?: KeyValue[];
  inputs?: DatasetInput[];
  /** Local files uploaded as `artifactPath` under the run's artifact root. */
  artifacts?: Array<{ localPath: string; artifactPath: string }>;
  /** Ends the run: its status and end time (epoch ms). */
  end?: { status: RunStatus; endTime?: number };
}

/** A tracker failure, with the backend's error code when it has one (e.g. RESOURCE_DOES_NOT_EXIST). */
export class TrackerError extends Error {
  override name = 'TrackerError';
  constructor(
    message: string,
    readonly code: string = 'TRACKER_ERROR',
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

/** MLflow's batch limits (REST API `runs/log-batch`). */
export const BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, total: 1000 } as const;

/** Max lengths MLflow enforces (keys 250; param values 6,000; tag values 8,000 in MLflow ≥ 2.x). */
export const VALUE_LIMITS = { key: 250, paramValue: 6000, tagValue: 8000 } as const;

/**
 * Splits a batch into requests that each satisfy {@link BATCH_LIMITS}.
 * Order within each entity type is preserved.
 */
export function splitBatch(batch: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] }): Array<{ metrics: Metric[]; params: KeyValue[]; tags: KeyValue[] }> {
  const metrics = [...(batch.metrics ?? [])];
  const params = [...(batch.params ?? [])];
  const tags = [...(batch.tags ?? [])];
  const out: Array<{ metrics: Metric[]; params: KeyValue[]; tags: KeyValue[] }> = [];
  while (metrics.length || params.length || tags.length) {
    const p = params.splice(0, BATCH_LIMITS.params);
    const t = tags.splice(0, BATCH_LIMITS.tags);
    const room = BATCH_LIMITS.total - p.length - t.length;
    const m = metrics.splice(0, Math.min(BATCH_LIMITS.metrics, room));
    out.push({ metrics: m, params: p, tags: t });
  }
  return out;
}

/** Validates an alias name the way MLflow does (word chars, `-`, `.`, `/`, space; not `latest`, not `v<N>`). */
export function validateAlias(alias: string): void {
  if (!alias || alias.length > 255 || !/^[\w.\- /]+$/.test(alias)) {
    throw new TrackerError(`invalid alias "${alias}": use letters, digits, '_', '-', '.' (≤ 255 chars)`, 'INVALID_PARAMETER_VALUE');
  }
  if (alias.toLowerCase() === 'latest' || /^v\d+$/i.test(alias)) {
    throw new TrackerError(`alias "${alias}" is reserved by MLflow (latest, v<number>)`, 'INVALID_PARAMETER_VALUE');
  }
}
