import { MlflowArtifacts } from './mlflowArtifacts.ts';
import { MlflowRegistry } from './mlflowRegistry.ts';
import { MlflowRest, type MlflowOptions } from './mlflowRest.ts';
import { MlflowRuns } from './mlflowRuns.ts';
import { logRunsByCalls } from './runWrites.ts';
import type { Tracker } from './types.ts';

export { REQUEST_ID_TAG, mlflowOptionsFromEnv, type MlflowOptions } from './mlflowRest.ts';

/**
 * Tracker over the MLflow REST API 2.0 (`/api/2.0/mlflow/...` and the `mlflow-artifacts` proxy),
 * using `got` with timeouts and retries with exponential backoff on 429/5xx and network errors.
 * Artifact upload needs a server started with artifact proxying (`--serve-artifacts`, the default
 * since MLflow 2.0): runs whose artifact URI is not `mlflow-artifacts:` are refused with a clear error.
 * Before its first request it reads `GET /version` and refuses servers older than
 * MIN_MLFLOW_VERSION. `runs/create` and `model-versions/create` are idempotent under retries
 * (see REQUEST_ID_TAG); every other call MLflow already treats idempotently (identical
 * metrics, params and inputs are deduplicated, tags and aliases overwrite). Misconfigured servers
 * (Host-header check, no artifact proxy, deleted experiment) get errors that say how to fix them.
 *
 * One module a concern: the transport (tracking/mlflowRest.ts), experiments, runs and metrics
 * (mlflowRuns.ts), artifacts (mlflowArtifacts.ts), the registry and aliases (mlflowRegistry.ts),
 * errors and server diagnostics (mlflowErrors.ts); this class puts them behind {@link Tracker}.
 */
export class MlflowTracker implements Tracker {
  readonly kind = 'mlflow' as const;
  readonly location: string;
  private readonly rest: MlflowRest;
  private readonly runs: MlflowRuns;
  private readonly artifacts: MlflowArtifacts;
  private readonly registry: MlflowRegistry;

  constructor(opts: MlflowOptions) {
    this.rest = new MlflowRest(opts);
    this.location = this.rest.location;
    this.runs = new MlflowRuns(this.rest);
    this.artifacts = new MlflowArtifacts(this.rest, this.runs);
    this.registry = new MlflowRegistry(this.rest);
  }

  /** The server's MLflow version (see MlflowRest.serverVersion). */
  serverVersion(): Promise<string> {
    return this.rest.serverVersion();
  }

  getExperimentByName: Tracker['getExperimentByName'] = (name) => this.runs.getExperimentByName(name);
  getOrCreateExperiment: Tracker['getOrCreateExperiment'] = (name) => this.runs.getOrCreateExperiment(name);
  createRun: Tracker['createRun'] = (opts) => this.runs.createRun(opts);
  updateRun: Tracker['updateRun'] = (runId, patch) => this.runs.updateRun(runId, patch);
  getRun: Tracker['getRun'] = (runId) => this.runs.getRun(runId);
  searchRuns: Tracker['searchRuns'] = (experimentId, tags, maxResults) => this.runs.searchRuns(experimentId, tags, maxResults);
  logBatch: Tracker['logBatch'] = (runId, batch) => this.runs.logBatch(runId, batch);
  getMetricHistory: Tracker['getMetricHistory'] = (runId, key) => this.runs.getMetricHistory(runId, key);
  logInputs: Tracker['logInputs'] = (runId, inputs) => this.runs.logInputs(runId, inputs);

  logArtifact: Tracker['logArtifact'] = (runId, localPath, artifactPath) => this.artifacts.logArtifact(runId, localPath, artifactPath);
  downloadArtifact: Tracker['downloadArtifact'] = (runId, artifactPath, destPath) => this.artifacts.downloadArtifact(runId, artifactPath, destPath);
  listArtifacts: Tracker['listArtifacts'] = (runId, dir) => this.artifacts.listArtifacts(runId, dir);

  getRegisteredModel: Tracker['getRegisteredModel'] = (name) => this.registry.getRegisteredModel(name);
  ensureRegisteredModel: Tracker['ensureRegisteredModel'] = (name, description) => this.registry.ensureRegisteredModel(name, description);
  listRegisteredModels: Tracker['listRegisteredModels'] = () => this.registry.listRegisteredModels();
  createModelVersion: Tracker['createModelVersion'] = (opts) => this.registry.createModelVersion(opts);
  getModelVersion: Tracker['getModelVersion'] = (name, version) => this.registry.getModelVersion(name, version);
  listModelVersions: Tracker['listModelVersions'] = (name) => this.registry.listModelVersions(name);
  setModelVersionTag: Tracker['setModelVersionTag'] = (name, version, key, value) => this.registry.setModelVersionTag(name, version, key, value);
  setAlias: Tracker['setAlias'] = (name, alias, version) => this.registry.setAlias(name, alias, version);
  getVersionByAlias: Tracker['getVersionByAlias'] = (name, alias) => this.registry.getVersionByAlias(name, alias);
  deleteAlias: Tracker['deleteAlias'] = (name, alias) => this.registry.deleteAlias(name, alias);

  logRuns: Tracker['logRuns'] = (writes) => logRunsByCalls(this, writes);

  async close(): Promise<void> {}
}
