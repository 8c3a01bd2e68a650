import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

/**
 * A strict in-memory MLflow tracking server for what a real server cannot show: injected faults
 * (429/5xx with Retry-After, a `--no-serve-artifacts` 503, an old `/version`), exact request
 * shapes under MLflow's batch limits, and auth headers. Everything else is tested against a real
 * MLflow (test/tracking/mlflow.real.test.ts and the other live suites). It implements the REST API
 * 2.0 endpoints those tests use (shapes from https://mlflow.org/docs/latest/rest-api.html) and is
 * stricter than MLflow where it helps a test:
 * - unknown request fields → 400 INVALID_PARAMETER_VALUE; wrong JSON types → 400;
 * - runs/log-batch limits: ≤ 1000 metrics, ≤ 100 params, ≤ 100 tags, ≤ 1000 items in total;
 *   params are immutable (same key, other value → 400);
 * - key/value length limits (key 250, param value 6000, tag value 8000), dataset digest ≤ 36 chars;
 * - optional bearer/basic auth (401 otherwise) and injectable faults.
 * Experiments, runs, metrics and inputs only: no model registry, no artifact store.
 */
export interface StrictMlflowOptions {
  /** Require `Authorization: Bearer <token>`. */
  token?: string;
  /** Require basic auth with these credentials. */
  basic?: { username: string; password: string };
  /** What `GET /version` answers (default 3.17.2, the pinned server). */
  version?: string;
}

export interface Fault {
  /** Matched against `METHOD /path` (path without query). */
  match: RegExp;
  status: number;
  /** How many matching requests fail before it heals. */
  times: number;
  retryAfterSeconds?: number;
  /** A plain-text body instead of MLflow's JSON error (e.g. the `--no-serve-artifacts` answer). */
  text?: string;
}

export interface LoggedRequest {
  method: string;
  path: string;
  body: unknown;
  authorization?: string;
  status: number;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Obj = Record<string, unknown>;
interface RunRec {
  info: { run_id: string; run_uuid: string; experiment_id: string; run_name: string; status: string; start_time: number; end_time?: number; artifact_uri: string; lifecycle_stage: string; user_id: string };
  params: Map<string, string>;
  tags: Map<string, string>;
  metrics: Array<{ key: string; value: number; timestamp: number; step: number }>;
  inputs: Array<{ tags: Array<{ key: string; value: string }>; dataset: Obj }>;
}
const KEY_RE = /^[/\w.\- ]*$/;

export class StrictMlflowServer {
  readonly requests: LoggedRequest[] = [];
  readonly faults: Fault[] = [];
  private server?: http.Server;
  private experiments = new Map<string, { experiment_id: string; name: string; artifact_location: string; lifecycle_stage: string; tags: Map<string, string> }>();
  private runs = new Map<string, RunRec>();
  url = '';

  constructor(private readonly opts: StrictMlflowOptions = {}) {
    this.experiments.set('0', { experiment_id: '0', name: 'Default', artifact_location: 'mlflow-artifacts:/0', lifecycle_stage: 'active', tags: new Map() });
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const u = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const log: LoggedRequest = { method, path: u.pathname, body: undefined, authorization: req.headers.authorization, status: 200 };
    this.requests.push(log);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      log.status = status;
      const text = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      res.writeHead(status, { 'content-type': Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json', ...headers });
      res.end(text);
    };
    try {
      this.checkAuth(req.headers.authorization);
      const fault = this.faults.find((f) => f.times > 0 && f.match.test(`${method} ${u.pathname}`));
      if (fault) {
        fault.times--;
        const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
        if (fault.text !== undefined) {
          log.status = fault.status;
          res.writeHead(fault.status, { 'content-type': 'text/plain', ...headers });
          res.end(fault.text);
        } else send(fault.status, { error_code: fault.status === 429 ? 'REQUEST_LIMIT_EXCEEDED' : 'INTERNAL_ERROR', message: 'injected fault' }, headers);
        return;
      }
      if (method === 'GET' && u.pathname === '/version') {
        log.status = 200;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(this.opts.version ?? '3.17.2');
        return;
      }
      const m = /^\/api\/2\.0\/mlflow\/(.+)$/.exec(u.pathname);
      if (!m) throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `no endpoint ${u.pathname}`);
      let body: Obj;
      if (method === 'GET') {
        body = {};
        for (const [k, v] of u.searchParams) {
          if (k in body) body[k] = ([] as unknown[]).concat(body[k], v);
          else body[k] = v;
        }
      } else {
        if (raw.length && !/application\/json/.test(String(req.headers['content-type']))) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'request body must be application/json');
        try {
          body = raw.length ? (JSON.parse(raw.toString('utf8')) as Obj) : {};
        } catch {
          throw new ApiError(400, 'MALFORMED_REQUEST', 'request body is not JSON');
        }
        if (u.search) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `${method} ${m[1]} takes a JSON body, not query parameters`);
      }
      log.body = body;
      send(200, this.route(`${method} ${m[1]}`, body));
    } catch (err) {
      if (err instanceof ApiError) send(err.status, { error_code: err.code, message: err.message });
      else send(500, { error_code: 'INTERNAL_ERROR', message: String(err) });
    }
  }

  private checkAuth(h: string | undefined): void {
    if (this.opts.token && h !== `Bearer ${this.opts.token}`) throw new ApiError(401, 'UNAUTHENTICATED', 'missing or bad bearer token');
    if (this.opts.basic) {
      const want = 'Basic ' + Buffer.from(`${this.opts.basic.username}:${this.opts.basic.password}`).toString('base64');
      if (h !== want) throw new ApiError(401, 'UNAUTHENTICATED', 'missing or bad basic credentials');
    }
  }

  // ---------- validation helpers ----------
  private static fields(endpoint: string, body: Obj, allowed: string[], required: string[] = []): void {
    for (const k of Object.keys(body)) if (!allowed.includes(k)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `${endpoint}: unknown field "${k}" (allowed: ${allowed.join(', ')})`);
    for (const k of required) if (body[k] === undefined || body[k] === '') throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `${endpoint}: missing value for required parameter '${k}'`);
  }
  private static str(endpoint: string, v: unknown, name: string): string {
    if (typeof v !== 'string') throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `${endpoint}: '${name}' must be a string`);
    return v;
  }
  private static int(endpoint: string, v: unknown, name: string): number {
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `${endpoint}: '${name}' must be an integer`);
    return n;
  }
  private static kvList(endpoint: string, v: unknown, name: string, maxValue: number): Array<{ key: string; value: string }> {
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `${endpoint}: '${name}' must be an array`);
    return v.map((x: unknown) => {
      if (!x || typeof x !== 'object') throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `${endpoint}: ${name} items must be objects`);
      StrictMlflowServer.fields(`${endpoint} ${name}[]`, x as Obj, ['key', 'value'], ['key']);
      const key = StrictMlflowServer.str(endpoint, (x as Obj).key, 'key');
      const value = StrictMlflowServer.str(endpoint, (x as Obj).value ?? '', 'value');
      StrictMlflowServer.checkKey(endpoint, key);
      if (value.length > maxValue) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `${endpoint}: value of ${key} exceeds ${maxValue} characters`);
      return { key, value };
    });
  }
  private static checkKey(endpoint: string, key: string): void {
    if (!key || key.length > 250 || !KEY_RE.test(key)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `${endpoint}: invalid key "${key}"`);
  }

  private run(endpoint: string, id: unknown): RunRec {
    const r = this.runs.get(StrictMlflowServer.str(endpoint, id, 'run_id'));
    if (!r) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Run with id=${String(id)} not found`);
    return r;
  }
  private runJson(r: RunRec): Obj {
    const latest = new Map<string, RunRec['metrics'][number]>();
    for (const m of r.metrics) {
      const cur = latest.get(m.key);
      if (!cur || m.step > cur.step || (m.step === cur.step && m.timestamp >= cur.timestamp)) latest.set(m.key, m);
    }
    return {
      info: { ...r.info },
      data: {
        metrics: [...latest.values()],
        params: [...r.params].map(([key, value]) => ({ key, value })),
        tags: [...r.tags].map(([key, value]) => ({ key, value })),
      },
      inputs: { dataset_inputs: r.inputs },
    };
  }
  private route(route: string, b: Obj): Obj {
    const F = StrictMlflowServer.fields;
    const S = StrictMlflowServer.str;
    const I = StrictMlflowServer.int;
    switch (route) {
      case 'GET experiments/get-by-name': {
        F(route, b, ['experiment_name'], ['experiment_name']);
        const e = [...this.experiments.values()].find((x) => x.name === b.experiment_name);
        if (!e) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name ${String(b.experiment_name)}`);
        return { experiment: { experiment_id: e.experiment_id, name: e.name, artifact_location: e.artifact_location, lifecycle_stage: e.lifecycle_stage, tags: [...e.tags].map(([key, value]) => ({ key, value })) } };
      }
      case 'POST experiments/create': {
        F(route, b, ['name', 'artifact_location', 'tags'], ['name']);
        const name = S(route, b.name, 'name');
        if ([...this.experiments.values()].some((x) => x.name === name)) throw new ApiError(400, 'RESOURCE_ALREADY_EXISTS', `Experiment '${name}' already exists.`);
        const id = String(this.experiments.size);
        const tags = StrictMlflowServer.kvList(route, b.tags, 'tags', 5000);
        this.experiments.set(id, { experiment_id: id, name, artifact_location: `mlflow-artifacts:/${id}`, lifecycle_stage: 'active', tags: new Map(tags.map((t) => [t.key, t.value])) });
        return { experiment_id: id };
      }
      case 'POST runs/create': {
        F(route, b, ['experiment_id', 'user_id', 'run_name', 'start_time', 'tags'], ['experiment_id']);
        const exp = this.experiments.get(S(route, b.experiment_id, 'experiment_id'));
        if (!exp) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${String(b.experiment_id)} exists`);
        const tags = StrictMlflowServer.kvList(route, b.tags, 'tags', 8000);
        const id = randomUUID().replace(/-/g, '');
        const runName = b.run_name === undefined ? `run-${id.slice(0, 6)}` : S(route, b.run_name, 'run_name');
        const rec: RunRec = {
          info: {
            run_id: id,
            run_uuid: id,
            experiment_id: exp.experiment_id,
            run_name: runName,
            status: 'RUNNING',
            start_time: b.start_time === undefined ? Date.now() : I(route, b.start_time, 'start_time'),
            artifact_uri: `mlflow-artifacts:/${exp.experiment_id}/${id}/artifacts`,
            lifecycle_stage: 'active',
            user_id: b.user_id === undefined ? '' : S(route, b.user_id, 'user_id'),
          },
          params: new Map(),
          tags: new Map(tags.map((t) => [t.key, t.value])),
          metrics: [],
          inputs: [],
        };
        rec.tags.set('mlflow.runName', runName);
        this.runs.set(id, rec);
        return { run: this.runJson(rec) };
      }
      case 'POST runs/update': {
        F(route, b, ['run_id', 'run_uuid', 'status', 'end_time', 'run_name'], ['run_id']);
        const r = this.run(route, b.run_id);
        if (b.status !== undefined) {
          const st = S(route, b.status, 'status');
          if (!['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'].includes(st)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `invalid status ${st}`);
          r.info.status = st;
        }
        if (b.end_time !== undefined) r.info.end_time = I(route, b.end_time, 'end_time');
        if (b.run_name !== undefined) r.info.run_name = S(route, b.run_name, 'run_name');
        return { run_info: { ...r.info } };
      }
      case 'GET runs/get': {
        F(route, b, ['run_id', 'run_uuid'], ['run_id']);
        return { run: this.runJson(this.run(route, b.run_id)) };
      }
      case 'POST runs/search': {
        F(route, b, ['experiment_ids', 'filter', 'run_view_type', 'max_results', 'order_by', 'page_token']);
        if (!Array.isArray(b.experiment_ids)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `${route}: experiment_ids must be an array`);
        const ids = (b.experiment_ids as unknown[]).map((x) => S(route, x, 'experiment_ids[]'));
        const max = b.max_results === undefined ? 1000 : I(route, b.max_results, 'max_results');
        if (max > 50000) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'max_results exceeds 50000');
        const clauses: Array<[string, string]> = [];
        if (b.filter !== undefined && String(b.filter).trim()) {
          for (const part of S(route, b.filter, 'filter').split(/\s+AND\s+/i)) {
            const fm = /^\s*tags\.(?:`([^`]+)`|([\w.]+))\s*=\s*'((?:[^'\\]|\\.)*)'\s*$/.exec(part);
            if (!fm) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `unsupported filter clause: ${part}`);
            clauses.push([fm[1] ?? fm[2]!, fm[3]!.replace(/\\'/g, "'")]);
          }
        }
        if (b.order_by !== undefined && (!Array.isArray(b.order_by) || b.order_by.some((o) => typeof o !== 'string'))) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'order_by must be an array of strings');
        const found = [...this.runs.values()]
          .filter((r) => ids.includes(r.info.experiment_id) && clauses.every(([k, v]) => r.tags.get(k) === v))
          .sort((a, b2) => b2.info.start_time - a.info.start_time)
          .slice(0, max);
        return found.length ? { runs: found.map((r) => this.runJson(r)) } : {};
      }
      case 'POST runs/log-batch': {
        F(route, b, ['run_id', 'metrics', 'params', 'tags'], ['run_id']);
        const r = this.run(route, b.run_id);
        const metrics = (b.metrics ?? []) as unknown[];
        const params = StrictMlflowServer.kvList(route, b.params, 'params', 6000);
        const tags = StrictMlflowServer.kvList(route, b.tags, 'tags', 8000);
        if (!Array.isArray(metrics)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'metrics must be an array');
        if (metrics.length > 1000) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `A batch logging request can contain at most 1000 metrics. Got ${metrics.length} metrics.`);
        if (params.length > 100) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `A batch logging request can contain at most 100 params. Got ${params.length} params.`);
        if (tags.length > 100) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `A batch logging request can contain at most 100 tags. Got ${tags.length} tags.`);
        if (metrics.length + params.length + tags.length > 1000) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'A batch logging request can contain at most 1000 metrics, params, and tags in total.');
        const ms = metrics.map((x) => {
          F(`${route} metrics[]`, x as Obj, ['key', 'value', 'timestamp', 'step', 'model_id', 'dataset_name', 'dataset_digest', 'run_id'], ['key', 'timestamp']);
          const o = x as Obj;
          const key = S(route, o.key, 'key');
          StrictMlflowServer.checkKey(route, key);
          if (typeof o.value !== 'number' && !['NaN', 'Infinity', '-Infinity'].includes(String(o.value))) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `metric ${key}: value must be a number`);
          return { key, value: Number(o.value), timestamp: I(route, o.timestamp, 'timestamp'), step: o.step === undefined ? 0 : I(route, o.step, 'step') };
        });
        for (const p of params) {
          const old = r.params.get(p.key);
          if (old !== undefined && old !== p.value) {
            throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${old}' for run ID='${r.info.run_id}'. Attempted logging new value '${p.value}'.`);
          }
        }
        for (const p of params) r.params.set(p.key, p.value);
        for (const t of tags) r.tags.set(t.key, t.value);
        r.metrics.push(...ms);
        return {};
      }
      case 'GET metrics/get-history': {
        F(route, b, ['run_id', 'run_uuid', 'metric_key', 'page_token', 'max_results'], ['run_id', 'metric_key']);
        const r = this.run(route, b.run_id);
        const list = r.metrics.filter((m) => m.key === b.metric_key);
        return list.length ? { metrics: list } : {};
      }
      case 'POST runs/log-inputs': {
        F(route, b, ['run_id', 'datasets', 'models'], ['run_id']);
        const r = this.run(route, b.run_id);
        const ds = (b.datasets ?? []) as unknown[];
        if (!Array.isArray(ds)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'datasets must be an array');
        for (const d of ds) {
          F(`${route} datasets[]`, d as Obj, ['tags', 'dataset'], ['dataset']);
          const dataset = (d as Obj).dataset as Obj;
          F(`${route} dataset`, dataset, ['name', 'digest', 'source_type', 'source', 'schema', 'profile'], ['name', 'digest', 'source_type', 'source']);
          if (S(route, dataset.digest, 'digest').length > 36) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `dataset digest '${String(dataset.digest)}' exceeds 36 characters`);
          if (S(route, dataset.name, 'name').length > 500) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'dataset name exceeds 500 characters');
          const tags = StrictMlflowServer.kvList(route, (d as Obj).tags, 'tags', 5000);
          const i = r.inputs.findIndex((x) => x.dataset.name === dataset.name && x.dataset.digest === dataset.digest);
          const entry = { tags, dataset: { ...dataset } };
          if (i >= 0) r.inputs[i] = entry;
          else r.inputs.push(entry);
        }
        return {};
      }
      default:
        throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `no endpoint ${route}`);
    }
  }
}
