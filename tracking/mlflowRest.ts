import type { Got } from 'got';
import { loadGot } from './gotLazy.ts';
import { UserError } from '../lib/errors.ts';
import { logger } from '../lib/log.ts';
import { checkServerVersion, isPermanentServerAnswer, toTrackerError } from './mlflowErrors.ts';
import { TrackerError } from './types.ts';

/**
 * The MLflow REST transport: one `got` client with credentials, timeouts and retries with
 * exponential backoff on 429/5xx and network errors, the server-version check before the first
 * request, JSON calls to `/api/2.0/mlflow/...`, and creates that are idempotent under retries.
 * The runs, artifacts and registry halves of the tracker (tracking/mlflowRuns.ts,
 * mlflowArtifacts.ts, mlflowRegistry.ts) speak to the server only through it.
 */

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

/**
 * Client-generated id of one logical create (run or model version). A create whose answer was lost
 * (timeout, reset, 5xx after the commit) is looked up by this tag before it is sent again, so a
 * retried POST never makes a duplicate. Bookkeeping only: hidden from getRun/model version tags.
 */
export const REQUEST_ID_TAG = 'trademl.request_id';

export type Json = Record<string, unknown>;

/** The tags of a create: the request-id tag first, then `tags` (a caller's own request-id tag is dropped). */
export function requestTags(requestId: string, tags: Record<string, string> = {}): Array<{ key: string; value: string }> {
  return [{ key: REQUEST_ID_TAG, value: requestId }, ...Object.entries(tags).filter(([k]) => k !== REQUEST_ID_TAG).map(([key, value]) => ({ key, value }))];
}

/** `call`'s result, or undefined when MLflow answers RESOURCE_DOES_NOT_EXIST (a lookup of something absent). */
export async function unlessMissing<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof TrackerError && err.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
    throw err;
  }
}

/**
 * Every item of a paged MLflow listing: `page(token, count)` fetches the page after `token` (none:
 * the first) with `count` items read so far; stops at the last page or once `enough(items)` holds.
 */
export async function allPages<T>(page: (pageToken: string | undefined, count: number) => Promise<{ items: T[]; next?: string }>, enough: (items: T[]) => boolean = () => false): Promise<T[]> {
  const out: T[] = [];
  let pageToken: string | undefined;
  do {
    const r = await page(pageToken, out.length);
    out.push(...r.items);
    pageToken = r.next || undefined;
  } while (pageToken && !enough(out));
  return out;
}

/** The transport one MlflowTracker owns (its runs, artifacts and registry share it, and its version check). */
export class MlflowRest {
  /** Server base URL without credentials (what messages and `tracker.location` show). */
  readonly location: string;
  private client?: Promise<Got>;
  private readonly settings: { base: string; headers: Record<string, string>; timeoutMs: number };
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
    this.settings = { base, headers, timeoutMs: opts.timeoutMs ?? 30_000 };
    // start importing got now, so the first request does not wait for it (a failure surfaces there)
    this.http().catch(() => undefined);
  }

  /** The configured `got` client (prefix URL, auth, timeout, retries; got imported when the first MlflowRest is made); the artifact proxy's raw transfers use it too. */
  http(): Promise<Got> {
    return (this.client ??= loadGot().then(({ default: got }) => {
      const retries = this.retries;
      return got.extend({
        prefixUrl: this.settings.base,
        headers: this.settings.headers,
        timeout: { request: this.settings.timeoutMs },
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
    }));
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
        text = await (await this.http()).get('version').text();
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

  /** One JSON call to `/api/2.0/mlflow/<endpoint>` (a GET's body goes in the query string); failures become TrackerErrors. */
  async call<T = Json>(method: 'GET' | 'POST' | 'DELETE' | 'PATCH', endpoint: string, body?: Json, opts: { once?: boolean } = {}): Promise<T> {
    await this.serverVersion();
    const req: Record<string, unknown> = { method, responseType: 'json' };
    if (opts.once) req.retry = { limit: 0 };
    if (body && method === 'GET') {
      const sp = new URLSearchParams();
      for (const [k, v] of Object.entries(body)) if (v !== undefined) sp.append(k, String(v));
      req.searchParams = sp;
    } else if (body) req.json = body;
    try {
      const res = await (await this.http())(`api/2.0/mlflow/${endpoint}`, req as never);
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
  async createOnce<T>(endpoint: string, body: Json, parse: (r: Json) => T, find: () => Promise<T | undefined>): Promise<T> {
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
}
