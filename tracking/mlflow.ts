import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import got, { type Got } from 'got';
import { UserError } from '../lib/errors.ts';
import { logger } from '../lib/log.ts';
import { normaliseArtifactPath } from './local.ts';
import { checkServerVersion, deletedExperimentFix, isPermanentServerAnswer, toTrackerError } from './mlflowErrors.ts';
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
const TRANSIENT_CODES = ['ETIMEDOUT', 'ECONNRESET', 'EADDRINUSE', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'ENETUNREACH', 'EAI_AGAIN'];
/** MLflow caps dataset digests at 36 chars; the full digest travels in this input tag. */
const FULL_DIGEST_TAG = 'trademl.digest';
/**
 * Client-generated id of one logical create (run or model version). A create whose answer was lost
 * (timeout, reset, 5xx after the commit) is looked up by this tag before it is sent again, so a
 * retried POST never makes a duplicate. Bookkeeping only: hidden from getRun/model version tags.
 */
export const REQUEST_ID_TAG = 'trademl.request_id';

type Json = Record<string, unknown>;

/**
 * Tracker over the MLflow REST API 2.0 (`/api/2.0/mlflow/...` and the `mlflow-artifacts` proxy),
 * using `got` with timeouts and retries with exponential backoff on 429/5xx and network errors.
 * Artifact upload needs a server started with artifact proxying (`--serve-artifacts`, the default
 * since MLflow 2.0): runs whose artifact URI is not `mlflow-artifacts:` are refused with a clear error.
 * Before its first request it reads `GET /version` and refuses servers older than
 * {@link MIN_MLFLOW_VERSION}. `runs/create` and `model-versions/create` are idempotent under retries
 * (see {@link REQUEST_ID_TAG}); every other call MLflow already treats idempotently (identical
 * metrics, params and inputs are deduplicated, tags and aliases overwrite). Misconfigured servers
 * (Host-header check, no artifact proxy, deleted experiment) get errors that say how to fix them.
 */
export class MlflowTracker implements Tracker {
  readonly kind = 'mlflow' as const;
  readonly location: string;
  private readonly http: Got;
  private readonly artifactRoots = new Map<string, string>();
  private readonly retries: number;
  private readonly backoffMs: number;
  private server?: Promise<string>;

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
    this.retries = retries;
    this.backoffMs = backoff;
    this.http = got.extend({
      prefixUrl: base,
      headers,
      timeout: { request: opts.timeoutMs ?? 30_000 },
      retry: {
        limit: retries,
        methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
        statusCodes: RETRY_STATUS,
        errorCodes: TRANSIENT_CODES,
        calculateDelay: ({ attemptCount, retryOptions, error, retryAfter }) => {
          if (attemptCount > retryOptions.limit) return 0;
          const status = error.response?.statusCode;
          const retriable = status ? RETRY_STATUS.includes(status) : retryOptions.errorCodes.includes(error.code);
          if (!retriable || isPermanentServerAnswer(error)) return 0;
          if (retryAfter !== undefined && retryAfter > 0) return Math.min(retryAfter, 60_000);
          return this.backoff(attemptCount);
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

  /** Exponential backoff with jitter for retry `attempt` (1-based): backoffMs·2^(attempt-1), capped at 30 s, half of it random. */
  private backoff(attempt: number): number {
    const exp = Math.min(this.backoffMs * 2 ** (attempt - 1), 30_000);
    return exp / 2 + Math.random() * (exp / 2);
  }

  /**
   * The server's MLflow version (`GET /version`, read once per tracker). Throws TrackerError
   * SERVER_TOO_OLD for servers older than MIN_MLFLOW_VERSION, NOT_MLFLOW when the URL answers with
   * something else; a transport failure is not remembered, so the next call tries again.
   */
  serverVersion(): Promise<string> {
    this.server ??= (async () => {
      let text: string;
      try {
        text = await this.http.get('version').text();
      } catch (err) {
        const e = toTrackerError(err, 'GET', 'version', this.location);
        if (e.httpStatus === 404) {
          throw new TrackerError(`the server at ${this.location} has no GET /version; it is not an MLflow tracking server ≥ 2.4 (or MLFLOW_TRACKING_URI misses its --static-prefix)`, 'NOT_MLFLOW', 404);
        }
        throw e;
      }
      return checkServerVersion(text, this.location);
    })();
    this.server.catch((err: unknown) => {
      if (!(err instanceof TrackerError) || !['SERVER_TOO_OLD', 'NOT_MLFLOW'].includes(err.code)) this.server = undefined;
    });
    return this.server;
  }

  private async call<T = Json>(method: 'GET' | 'POST' | 'DELETE' | 'PATCH', endpoint: string, body?: Json, opts: { once?: boolean } = {}): Promise<T> {
    await this.serverVersion();
    const req: Record<string, unknown> = { method, responseType: 'json' };
    if (opts.once) req.retry = { limit: 0 };
    if (body && method === 'GET') {
      const sp = new URLSearchParams();
      for (const [k, v] of Object.entries(body)) if (v !== undefined) sp.append(k, String(v));
      req.searchParams = sp;
    } else if (body) req.json = body;
    try {
      const res = await this.http(`api/2.0/mlflow/${endpoint}`, req as never);
      return (res.body ?? {}) as T;
    } catch (err) {
      throw toTrackerError(err, method, endpoint, this.location);
    }
  }

  /**
   * POSTs a create at most once per attempt, and before each re-send looks the object up with
   * `find` (by its {@link REQUEST_ID_TAG}): a create whose answer was lost after the server committed
   * it is found instead of made twice. Retries like every other call (retriable statuses, network errors).
   */
  private async createOnce<T>(endpoint: string, body: Json, parse: (r: Json) => T, find: () => Promise<T | undefined>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return parse(await this.call<Json>('POST', endpoint, body, { once: true }));
      } catch (err) {
        const status = err instanceof TrackerError ? err.httpStatus : undefined;
        const transient = err instanceof TrackerError && (status ? RETRY_STATUS.includes(status) && !/ARTIFACTS_NOT_PROXIED/.test(err.code) : TRANSIENT_CODES.includes(err.code));
        if (!transient || attempt > this.retries) throw err;
        logger.warn({ endpoint, status, code: (err as TrackerError).code, retry: attempt }, 'mlflow create retried (looked up by request id first)');
        await new Promise((r) => setTimeout(r, this.backoff(attempt)));
        const found = await find();
        if (found) return found;
      }
    }
  }

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    try {
      const r = await this.call<{ experiment: Json }>('GET', 'experiments/get-by-name', { experiment_name: name });
      return {
        experimentId: String(r.experiment.experiment_id),
        name: String(r.experiment.name),
        artifactLocation: r.experiment.artifact_location as string | undefined,
        lifecycleStage: r.experiment.lifecycle_stage === 'deleted' ? 'deleted' : 'active',
      };
    } catch (err) {
      if (err instanceof TrackerError && err.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw err;
    }
  }

  /** Id of the active experiment `name`, created when absent. Throws EXPERIMENT_DELETED (with the fix) when it sits in the trash. */
  async getOrCreateExperiment(name: string): Promise<string> {
    const active = (e: Experiment): string => {
      if (e.lifecycleStage === 'deleted') throw new TrackerError(`MLflow experiment "${name}" at ${this.location} is deleted. ${deletedExperimentFix(e.experimentId, name)}`, 'EXPERIMENT_DELETED');
      return e.experimentId;
    };
    const found = await this.getExperimentByName(name);
    if (found) return active(found);
    try {
      const r = await this.call<{ experiment_id: string }>('POST', 'experiments/create', { name });
      return String(r.experiment_id);
    } catch (err) {
      if (err instanceof TrackerError && err.code === 'RESOURCE_ALREADY_EXISTS') {
        const again = await this.getExperimentByName(name);
        if (again) return active(again);
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

  /** Creates a run; idempotent under retries (a lost answer is found by its request-id tag, never created twice). */
  async createRun(opts: { experimentId: string; runName?: string; startTime?: number; tags?: Record<string, string> }): Promise<RunInfo> {
    const requestId = randomUUID();
    const tags = [{ key: REQUEST_ID_TAG, value: requestId }, ...Object.entries(opts.tags ?? {}).filter(([k]) => k !== REQUEST_ID_TAG).map(([key, value]) => ({ key, value }))];
    const body: Json = { experiment_id: opts.experimentId, start_time: opts.startTime ?? Date.now(), tags: tags.slice(0, 100) };
    if (opts.runName) body.run_name = opts.runName;
    const info = await this.createOnce(
      'runs/create',
      body,
      (r) => this.runInfo((r as { run: { info: Json } }).run.info),
      async () => (await this.searchRuns(opts.experimentId, { [REQUEST_ID_TAG]: requestId }, 1))[0],
    );
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
      tags: kv(data.tags)
        .filter((t) => t.key !== REQUEST_ID_TAG)
        .sort((a, b) => a.key.localeCompare(b.key)),
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
    await this.serverVersion();
    let uri = this.artifactRoots.get(runId);
    if (!uri) uri = (await this.getRun(runId)).info.artifactUri;
    const m = /^mlflow-artifacts:(?:\/\/[^/]+)?\/?(.*)$/.exec(uri);
    if (!m) {
      throw new TrackerError(
        `run ${runId} stores artifacts at ${uri}, which the tracking server at ${this.location} does not proxy (its experiment was created with that artifact location, or the server has no --serve-artifacts), so TradeML cannot upload there. ` +
          `Start MLflow with --serve-artifacts (the default since 2.0) and --artifacts-destination <folder or s3://bucket/prefix>, and log to an experiment whose artifact location is mlflow-artifacts:/… (a new experiment name, or recreate this one); see docs/servers.md`,
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
      throw toTrackerError(err, 'PUT', 'mlflow-artifacts/artifacts', this.location);
    }
  }

  async downloadArtifact(runId: string, artifactPath: string, destPath: string): Promise<void> {
    const rel = `${await this.artifactRoot(runId)}/${normaliseArtifactPath(artifactPath)}`;
    let body: Buffer;
    try {
      body = await this.http.get(this.artifactUrl(rel)).buffer();
    } catch (err) {
      throw toTrackerError(err, 'GET', 'mlflow-artifacts/artifacts', this.location);
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
      throw toTrackerError(err, 'GET', 'mlflow-artifacts/artifacts', this.location);
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
      tags: Object.fromEntries(((v.tags as KeyValue[] | undefined) ?? []).filter((t) => t.key !== REQUEST_ID_TAG).map((t) => [t.key, t.value])),
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

  /** Creates a model version; idempotent under retries (a lost answer is found by its request-id tag, never registered twice). */
  async createModelVersion(opts: { name: string; source: string; runId: string; description?: string; tags?: Record<string, string> }): Promise<ModelVersion> {
    const requestId = randomUUID();
    const body: Json = { name: opts.name, source: opts.source, run_id: opts.runId };
    if (opts.description) body.description = opts.description;
    body.tags = [{ key: REQUEST_ID_TAG, value: requestId }, ...Object.entries(opts.tags ?? {}).filter(([k]) => k !== REQUEST_ID_TAG).map(([key, value]) => ({ key, value }))];
    return this.createOnce(
      'model-versions/create',
      body,
      (r) => MlflowTracker.version((r as { model_version: Json }).model_version),
      async () => {
        const q = { filter: `name='${opts.name.replace(/'/g, "\\'")}' AND tags.\`${REQUEST_ID_TAG}\` = '${requestId}'`, max_results: 10 };
        const r = await this.call<{ model_versions?: Json[] }>('GET', 'model-versions/search', q);
        const v = r.model_versions?.[0];
        return v ? MlflowTracker.version(v) : undefined;
      },
    );
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
