import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import got, { HTTPError, RequestError, type Got } from 'got';
import { UserError } from '../lib/errors.ts';
import { logger } from '../lib/log.ts';
import { normaliseArtifactPath } from './local.ts';
import {
  TrackerError,
  VALUE_LIMITS,
  splitBatch,
  validateAlias,
  type ArtifactFile,
  type DatasetInput,
  type Experiment,
  type KeyValue,
  type Metric,
  type ModelVersion,
  type RegisteredModel,
  type RunData,
  type RunInfo,
  type RunStatus,
  type Tracker,
} from './types.ts';

/** Options of the MLflow REST tracker. Credentials are never logged nor put in error messages. */
export interface MlflowOptions {
  /** Tracking server base URL, e.g. `http://localhost:5000` (a path prefix is kept). */
  uri: string;
  /** Bearer token (MLFLOW_TRACKING_TOKEN). Takes precedence over basic auth. */
  token?: string;
  /** Basic auth (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD, or user:pass@ in the URI). */
  username?: string;
  password?: string;
  /** Per-request timeout in ms (default 30,000; TRADEML_MLFLOW_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Retries on 429/5xx/network errors (default 5; TRADEML_MLFLOW_RETRIES). */
  retries?: number;
  /** First backoff delay in ms, doubled per retry with jitter, capped at 30 s (default 500). Retry-After wins when sent. */
  backoffMs?: number;
}

/** Builds {@link MlflowOptions} from the standard MLflow environment variables; undefined when MLFLOW_TRACKING_URI is unset or not http(s). */
export function mlflowOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): MlflowOptions | undefined {
  const uri = env.MLFLOW_TRACKING_URI;
  if (!uri || !/^https?:\/\//i.test(uri)) return undefined;
  return {
    uri,
    token: env.MLFLOW_TRACKING_TOKEN || undefined,
    username: env.MLFLOW_TRACKING_USERNAME || undefined,
    password: env.MLFLOW_TRACKING_PASSWORD || undefined,
    timeoutMs: env.TRADEML_MLFLOW_TIMEOUT_MS ? Number(env.TRADEML_MLFLOW_TIMEOUT_MS) : undefined,
    retries: env.TRADEML_MLFLOW_RETRIES ? Number(env.TRADEML_MLFLOW_RETRIES) : undefined,
  };
}

const RETRY_STATUS = [429, 500, 502, 503, 504];
/** MLflow caps dataset digests at 36 chars; the full digest travels in this input tag. */
const FULL_DIGEST_TAG = 'trademl.digest';

type Json = Record<string, unknown>;

/**
 * Tracker over the MLflow REST API 2.0 (`/api/2.0/mlflow/...` and the `mlflow-artifacts` proxy),
 * using `got` with timeouts and retries with exponential backoff on 429/5xx and network errors.
 * Artifact upload needs a server started with artifact proxying (`--serve-artifacts`, the default
 * since MLflow 2.0): runs whose artifact URI is not `mlflow-artifacts:` are refused with a clear error.
 */
export class MlflowTracker implements Tracker {
  readonly kind = 'mlflow' as const;
  readonly location: string;
  private readonly http: Got;
  private readonly artifactRoots = new Map<string, string>();

  constructor(opts: MlflowOptions) {
    let url: URL;
    try {
      url = new URL(opts.uri);
    } catch {
      throw new UserError(`MLFLOW_TRACKING_URI "${opts.uri}" is not a URL; set it like http://localhost:5000`);
    }
    const username = opts.username ?? (url.username ? decodeURIComponent(url.username) : undefined);
    const password = opts.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
    url.username = '';
    url.password = '';
    const base = url.toString().replace(/\/+$/, '');
    this.location = base;
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    else if (username !== undefined) headers.authorization = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
    const retries = opts.retries ?? 5;
    const backoff = opts.backoffMs ?? 500;
    this.http = got.extend({
      prefixUrl: base,
      headers,
      timeout: { request: opts.timeoutMs ?? 30_000 },
      retry: {
        limit: retries,
        methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
        statusCodes: RETRY_STATUS,
        errorCodes: ['ETIMEDOUT', 'ECONNRESET', 'EADDRINUSE', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'ENETUNREACH', 'EAI_AGAIN'],
        calculateDelay: ({ attemptCount, retryOptions, error, retryAfter }) => {
          if (attemptCount > retryOptions.limit) return 0;
          const status = error.response?.statusCode;
          const retriable = status ? RETRY_STATUS.includes(status) : retryOptions.errorCodes.includes(error.code);
          if (!retriable) return 0;
          if (retryAfter !== undefined && retryAfter > 0) return Math.min(retryAfter, 60_000);
          const exp = Math.min(backoff * 2 ** (attemptCount - 1), 30_000);
          return exp / 2 + Math.random() * (exp / 2);
        },
      },
      hooks: {
        beforeRetry: [
          (error, retryCount) => {
            // Method + path + status only: never headers, so credentials stay out of logs.
            logger.warn({ method: error.options.method, path: new URL(String(error.options.url)).pathname, status: error.response?.statusCode, retry: retryCount }, 'mlflow request retried');
          },
        ],
      },
    });
  }

  private async call<T = Json>(method: 'GET' | 'POST' | 'DELETE' | 'PATCH', endpoint: string, body?: Json): Promise<T> {
    const opts: Record<string, unknown> = { method, responseType: 'json' };
    if (body && method === 'GET') {
      const sp = new URLSearchParams();
      for (const [k, v] of Object.entries(body)) if (v !== undefined) sp.append(k, String(v));
      opts.searchParams = sp;
    } else if (body) opts.json = body;
    try {
      const res = await this.http(`api/2.0/mlflow/${endpoint}`, opts as never);
      return (res.body ?? {}) as T;
    } catch (err) {
      throw toTrackerError(err, method, endpoint);
    }
  }

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    try {
      const r = await this.call<{ experiment: Json }>('GET', 'experiments/get-by-name', { experiment_name: name });
      return { experimentId: String(r.experiment.experiment_id), name: String(r.experiment.name), artifactLocation: r.experiment.artifact_location as string | undefined };
    } catch (err) {
      if (err instanceof TrackerError && err.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw err;
    }
  }

  async getOrCreateExperiment(name: string): Promise<string> {
    const found = await this.getExperimentByName(name);
    if (found) return found.experimentId;
    try {
      const r = await this.call<{ experiment_id: string }>('POST', 'experiments/create', { name });
      return String(r.experiment_id);
    } catch (err) {
      if (err instanceof TrackerError && err.code === 'RESOURCE_ALREADY_EXISTS') {
        const again = await this.getExperimentByName(name);
        if (again) return again.experimentId;
      }
      throw err;
    }
  }

  private runInfo(info: Json): RunInfo {
    const runId = String(info.run_id ?? info.run_uuid);
    const artifactUri = String(info.artifact_uri ?? '');
    if (artifactUri) this.artifactRoots.set(runId, artifactUri);
    return {
      runId,
      experimentId: String(info.experiment_id),
      runName: String(info.run_name ?? runId),
      status: String(info.status ?? 'RUNNING') as RunStatus,
      startTime: Number(info.start_time ?? 0),
      endTime: info.end_time == null ? undefined : Number(info.end_time),
      artifactUri,
    };
  }

  async createRun(opts: { experimentId: string; runName?: string; startTime?: number; tags?: Record<string, string> }): Promise<RunInfo> {
    const tags = Object.entries(opts.tags ?? {}).map(([key, value]) => ({ key, value }));
    const body: Json = { experiment_id: opts.experimentId, start_time: opts.startTime ?? Date.now(), tags: tags.slice(0, 100) };
    if (opts.runName) body.run_name = opts.runName;
    const r = await this.call<{ run: { info: Json } }>('POST', 'runs/create', body);
    const info = this.runInfo(r.run.info);
    if (tags.length > 100) await this.logBatch(info.runId, { tags: tags.slice(100) });
    return info;
  }

  async updateRun(runId: string, patch: { status: RunStatus; endTime?: number; runName?: string }): Promise<RunInfo> {
    const body: Json = { run_id: runId, status: patch.status };
    if (patch.endTime !== undefined) body.end_time = patch.endTime;
    if (patch.runName !== undefined) body.run_name = patch.runName;
    const r = await this.call<{ run_info: Json }>('POST', 'runs/update', body);
    return this.runInfo(r.run_info);
  }

  async getRun(runId: string): Promise<RunData> {
    const r = await this.call<{ run: { info: Json; data?: Json; inputs?: Json } }>('GET', 'runs/get', { run_id: runId });
    const data = r.run.data ?? {};
    const kv = (list: unknown) => ((list as KeyValue[] | undefined) ?? []).map((x) => ({ key: String(x.key), value: String(x.value) }));
    const inputs = ((r.run.inputs?.dataset_inputs as Json[] | undefined) ?? []).map((di) => {
      const ds = di.dataset as Json;
      const tags = Object.fromEntries(kv(di.tags).map((t) => [t.key, t.value]));
      const full = tags[FULL_DIGEST_TAG];
      delete tags[FULL_DIGEST_TAG];
      return { name: String(ds.name), digest: full ?? String(ds.digest), sourceType: String(ds.source_type), source: String(ds.source), tags };
    });
    return {
      info: this.runInfo(r.run.info),
      metrics: ((data.metrics as Json[] | undefined) ?? []).map(toMetric).sort((a, b) => a.key.localeCompare(b.key)),
      params: kv(data.params).sort((a, b) => a.key.localeCompare(b.key)),
      tags: kv(data.tags).sort((a, b) => a.key.localeCompare(b.key)),
      inputs: inputs.sort((a, b) => a.name.localeCompare(b.name) || a.digest.localeCompare(b.digest)),
    };
  }

  async searchRuns(experimentId: string, tags: Record<string, string>, maxResults = 100): Promise<RunInfo[]> {
    const filter = Object.entries(tags)
      .map(([k, v]) => `tags.\`${k.replace(/`/g, '')}\` = '${v.replace(/'/g, "\\'")}'`)
      .join(' AND ');
    const out: RunInfo[] = [];
    let pageToken: string | undefined;
    do {
      const body: Json = { experiment_ids: [experimentId], max_results: Math.min(maxResults - out.length, 1000), order_by: ['attributes.start_time DESC'] };
      if (filter) body.filter = filter;
      if (pageToken) body.page_token = pageToken;
      const r = await this.call<{ runs?: Array<{ info: Json }>; next_page_token?: string }>('POST', 'runs/search', body);
      for (const run of r.runs ?? []) out.push(this.runInfo(run.info));
      pageToken = r.next_page_token || undefined;
    } while (pageToken && out.length < maxResults);
    return out;
  }

  async logBatch(runId: string, batch: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] }): Promise<void> {
    for (const p of batch.params ?? []) if (p.value.length > VALUE_LIMITS.paramValue) throw new TrackerError(`param ${p.key} is ${p.value.length} chars; MLflow's limit is ${VALUE_LIMITS.paramValue}`, 'INVALID_PARAMETER_VALUE');
    for (const m of batch.metrics ?? []) if (typeof m.value !== 'number' || Number.isNaN(m.value)) throw new TrackerError(`metric ${m.key} has a non-numeric value`, 'INVALID_PARAMETER_VALUE');
    for (const chunk of splitBatch(batch)) {
      const body: Json = { run_id: runId };
      if (chunk.metrics.length) {
        body.metrics = chunk.metrics.map((m) => ({
          key: m.key,
          value: Number.isFinite(m.value) ? m.value : m.value > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE,
          timestamp: Math.round(m.timestamp),
          step: Math.round(m.step),
        }));
      }
      if (chunk.params.length) body.params = chunk.params.map((p) => ({ key: p.key, value: p.value }));
      if (chunk.tags.length) body.tags = chunk.tags.map((t) => ({ key: t.key, value: t.value }));
      await this.call('POST', 'runs/log-batch', body);
    }
  }

  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const out: Metric[] = [];
    let pageToken: string | undefined;
    do {
      const q: Json = { run_id: runId, metric_key: key, max_results: 25000 };
      if (pageToken) q.page_token = pageToken;
      const r = await this.call<{ metrics?: Json[]; next_page_token?: string }>('GET', 'metrics/get-history', q);
      out.push(...(r.metrics ?? []).map(toMetric));
      pageToken = r.next_page_token || undefined;
    } while (pageToken);
    return out.sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
  }

  async logInputs(runId: string, inputs: DatasetInput[]): Promise<void> {
    for (let i = 0; i < inputs.length; i += 100) {
      const datasets = inputs.slice(i, i + 100).map((d) => ({
        tags: [...Object.entries(d.tags ?? {}).map(([key, value]) => ({ key, value })), { key: FULL_DIGEST_TAG, value: d.digest }],
        dataset: { name: d.name, digest: d.digest.replace(/^sha256:/, '').slice(0, 36), source_type: d.sourceType, source: d.source },
      }));
      await this.call('POST', 'runs/log-inputs', { run_id: runId, datasets });
    }
  }

  /** Relative path of a run's artifact root under the mlflow-artifacts proxy. */
  private async artifactRoot(runId: string): Promise<string> {
    let uri = this.artifactRoots.get(runId);
    if (!uri) uri = (await this.getRun(runId)).info.artifactUri;
    const m = /^mlflow-artifacts:(?:\/\/[^/]+)?\/?(.*)$/.exec(uri);
    if (!m) {
      throw new TrackerError(
        `run ${runId} stores artifacts at ${uri}, which the tracking server does not proxy; start MLflow with --serve-artifacts (default since 2.0) so artifacts go through /api/2.0/mlflow-artifacts`,
        'ARTIFACTS_NOT_PROXIED',
      );
    }
    return m[1]!.replace(/\/+$/, '');
  }

  private artifactUrl(rel: string): string {
    return `api/2.0/mlflow-artifacts/artifacts/${rel.split('/').map(encodeURIComponent).join('/')}`;
  }

  async logArtifact(runId: string, localPath: string, artifactPath: string): Promise<void> {
    const rel = `${await this.artifactRoot(runId)}/${normaliseArtifactPath(artifactPath)}`;
    try {
      await this.http.put(this.artifactUrl(rel), { body: readFileSync(localPath), headers: { 'content-type': 'application/octet-stream' } });
    } catch (err) {
      throw toTrackerError(err, 'PUT', 'mlflow-artifacts/artifacts');
    }
  }

  async downloadArtifact(runId: string, artifactPath: string, destPath: string): Promise<void> {
    const rel = `${await this.artifactRoot(runId)}/${normaliseArtifactPath(artifactPath)}`;
    let body: Buffer;
    try {
      body = await this.http.get(this.artifactUrl(rel)).buffer();
    } catch (err) {
      throw toTrackerError(err, 'GET', 'mlflow-artifacts/artifacts');
    }
    mkdirSync(path.dirname(path.resolve(destPath)), { recursive: true });
    writeFileSync(destPath, body);
  }

  async listArtifacts(runId: string, dir = ''): Promise<ArtifactFile[]> {
    const root = await this.artifactRoot(runId);
    const sub = dir ? normaliseArtifactPath(dir) : '';
    let r: { files?: Array<{ path: string; is_dir?: boolean; file_size?: number | string }> };
    try {
      r = await this.http.get('api/2.0/mlflow-artifacts/artifacts', { searchParams: { path: sub ? `${root}/${sub}` : root } }).json();
    } catch (err) {
      throw toTrackerError(err, 'GET', 'mlflow-artifacts/artifacts');
    }
    return (r.files ?? []).map((f) => ({
      path: sub ? `${sub}/${path.posix.basename(f.path)}` : path.posix.basename(f.path),
      isDir: Boolean(f.is_dir),
      fileSize: f.file_size === undefined ? undefined : Number(f.file_size),
    }));
  }

  private static model(m: Json): RegisteredModel {
    return {
      name: String(m.name),
      description: String(m.description ?? ''),
      creationTimestamp: Number(m.creation_timestamp ?? 0),
      lastUpdatedTimestamp: Number(m.last_updated_timestamp ?? 0),
      tags: Object.fromEntries(((m.tags as KeyValue[] | undefined) ?? []).map((t) => [t.key, t.value])),
      aliases: ((m.aliases as Array<{ alias: string; version: string }> | undefined) ?? [])
        .map((a) => ({ alias: String(a.alias), version: String(a.version) }))
        .sort((a, b) => a.alias.localeCompare(b.alias)),
    };
  }

  private static version(v: Json): ModelVersion {
    return {
      name: String(v.name),
      version: String(v.version),
      source: String(v.source ?? ''),
      runId: String(v.run_id ?? ''),
      description: String(v.description ?? ''),
      creationTimestamp: Number(v.creation_timestamp ?? 0),
      tags: Object.fromEntries(((v.tags as KeyValue[] | undefined) ?? []).map((t) => [t.key, t.value])),
      aliases: ((v.aliases as string[] | undefined) ?? []).map(String).sort(),
    };
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel | undefined> {
    try {
      const r = await this.call<{ registered_model: Json }>('GET', 'registered-models/get', { name });
      return MlflowTracker.model(r.registered_model);
    } catch (err) {
      if (err instanceof TrackerError && err.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw err;
    }
  }

  async ensureRegisteredModel(name: string, description = ''): Promise<RegisteredModel> {
    const found = await this.getRegisteredModel(name);
    if (found) return found;
    try {
      const body: Json = { name };
      if (description) body.description = description;
      const r = await this.call<{ registered_model: Json }>('POST', 'registered-models/create', body);
      return MlflowTracker.model(r.registered_model);
    } catch (err) {
      if (err instanceof TrackerError && err.code === 'RESOURCE_ALREADY_EXISTS') return (await this.getRegisteredModel(name))!;
      throw err;
    }
  }

  async listRegisteredModels(): Promise<RegisteredModel[]> {
    const out: RegisteredModel[] = [];
    let pageToken: string | undefined;
    do {
      const q: Json = { max_results: 1000 };
      if (pageToken) q.page_token = pageToken;
      const r = await this.call<{ registered_models?: Json[]; next_page_token?: string }>('GET', 'registered-models/search', q);
      out.push(...(r.registered_models ?? []).map(MlflowTracker.model));
      pageToken = r.next_page_token || undefined;
    } while (pageToken);
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async createModelVersion(opts: { name: string; source: string; runId: string; description?: string; tags?: Record<string, string> }): Promise<ModelVersion> {
    const body: Json = { name: opts.name, source: opts.source, run_id: opts.runId };
    if (opts.description) body.description = opts.description;
    const tags = Object.entries(opts.tags ?? {}).map(([key, value]) => ({ key, value }));
    if (tags.length) body.tags = tags;
    const r = await this.call<{ model_version: Json }>('POST', 'model-versions/create', body);
    return MlflowTracker.version(r.model_version);
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion | undefined> {
    try {
      const r = await this.call<{ model_version: Json }>('GET', 'model-versions/get', { name, version });
      return MlflowTracker.version(r.model_version);
    } catch (err) {
      if (err instanceof TrackerError && err.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw err;
    }
  }

  async listModelVersions(name: string): Promise<ModelVersion[]> {
    const out: ModelVersion[] = [];
    let pageToken: string | undefined;
    do {
      const q: Json = { filter: `name='${name.replace(/'/g, "\\'")}'`, max_results: 1000 };
      if (pageToken) q.page_token = pageToken;
      const r = await this.call<{ model_versions?: Json[]; next_page_token?: string }>('GET', 'model-versions/search', q);
      out.push(...(r.model_versions ?? []).map(MlflowTracker.version));
      pageToken = r.next_page_token || undefined;
    } while (pageToken);
    // search results may omit aliases; fill them from the registered model.
    const model = await this.getRegisteredModel(name);
    for (const v of out) v.aliases = (model?.aliases ?? []).filter((a) => a.version === v.version).map((a) => a.alias).sort();
    return out.sort((a, b) => Number(b.version) - Number(a.version));
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.call('POST', 'model-versions/set-tag', { name, version, key, value });
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    validateAlias(alias);
    await this.call('POST', 'registered-models/alias', { name, alias, version });
  }

  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    try {
      const r = await this.call<{ model_version: Json }>('GET', 'registered-models/alias', { name, alias });
      return MlflowTracker.version(r.model_version);
    } catch (err) {
      // MLflow answers an unset alias with RESOURCE_DOES_NOT_EXIST, or (SQL store) INVALID_PARAMETER_VALUE "... alias ... not found".
      if (err instanceof TrackerError && err.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      if (err instanceof TrackerError && err.code === 'INVALID_PARAMETER_VALUE' && /not found/i.test(err.message)) return undefined;
      throw err;
    }
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    try {
      await this.call('DELETE', 'registered-models/alias', { name, alias });
    } catch (err) {
      if (err instanceof TrackerError && err.code === 'RESOURCE_DOES_NOT_EXIST') return;
      throw err;
    }
  }

  async close(): Promise<void> {}
}

function toMetric(m: Json): Metric {
  return { key: String(m.key), value: Number(m.value), timestamp: Number(m.timestamp ?? 0), step: Number(m.step ?? 0) };
}

/** Maps a got error to a TrackerError naming the endpoint, status and MLflow error code (never headers). */
function toTrackerError(err: unknown, method: string, endpoint: string): TrackerError {
  if (err instanceof TrackerError) return err;
  if (err instanceof HTTPError) {
    const status = err.response.statusCode;
    let code = `HTTP_${status}`;
    let message = err.response.statusMessage ?? '';
    const body = err.response.body as unknown;
    const parsed = typeof body === 'string' ? safeJson(body) : Buffer.isBuffer(body) ? safeJson(body.toString('utf8')) : body;
    if (parsed && typeof parsed === 'object') {
      const b = parsed as Json;
      if (typeof b.error_code === 'string') code = b.error_code;
      if (typeof b.message === 'string') message = b.message;
    }
    const hint = status === 401 || status === 403 ? ' (check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD)' : '';
    return new TrackerError(`MLflow ${method} ${endpoint} failed: ${status} ${code}: ${message}${hint}`, code, status);
  }
  if (err instanceof RequestError) {
    return new TrackerError(`MLflow ${method} ${endpoint} failed: ${err.code} ${err.message.replace(/https?:\/\/[^@\s]*@/g, 'http://')}`, err.code ?? 'REQUEST_ERROR');
  }
  return new TrackerError(`MLflow ${method} ${endpoint} failed: ${err instanceof Error ? err.message : String(err)}`);
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
