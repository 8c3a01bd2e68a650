/**
 * The tracker the run observer uses: every call goes through one circuit breaker
 * (tracking/breaker.ts), so an unreachable or misconfigured tracking server costs one bounded
 * first attempt and then nothing: later calls fail at once with {@link BreakerOpenError} until a
 * probe after the cooldown finds the server again. The MLflow clients of this path make a single
 * attempt per call (no retries: retrying is what held the run loop ~13 s per call) with a short
 * timeout for metadata and a longer one for artifact transfers.
 */
import type { ArtifactStore } from '../artifacts/store.ts';
import { BreakerOpenError, CircuitBreaker, type BreakerChange } from './breaker.ts';
import { openTracker } from './index.ts';
import { logRunsByCalls } from './runWrites.ts';
import { TrackerError, type Tracker } from './types.ts';

export { BreakerOpenError } from './breaker.ts';

/** Timeouts and breaker settings of the observer's tracking path. */
export interface ObserverTrackingOptions {
  /** Timeout of one metadata request (runs, params, metrics, registry), ms. Default 5 s; TRADEML_TRACKING_TIMEOUT_MS. */
  timeoutMs: number;
  /** Timeout of one artifact upload or download, ms. Default 120 s; TRADEML_TRACKING_ARTIFACT_TIMEOUT_MS. */
  artifactTimeoutMs: number;
  /** How long tracking stays off before a probe, ms (doubled per failed probe, up to 10 min). Default 30 s; TRADEML_TRACKING_COOLDOWN_MS. */
  cooldownMs: number;
}

const DEFAULTS: ObserverTrackingOptions = { timeoutMs: 5_000, artifactTimeoutMs: 120_000, cooldownMs: 30_000 };

/** {@link ObserverTrackingOptions} from the environment (positive integers only; anything else falls back to the default). */
export function observerTrackingOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ObserverTrackingOptions {
  const ms = (name: string, fallback: number) => {
    const v = Number(env[name]);
    return Number.isInteger(v) && v > 0 ? v : fallback;
  };
  return {
    timeoutMs: ms('TRADEML_TRACKING_TIMEOUT_MS', DEFAULTS.timeoutMs),
    artifactTimeoutMs: ms('TRADEML_TRACKING_ARTIFACT_TIMEOUT_MS', DEFAULTS.artifactTimeoutMs),
    cooldownMs: ms('TRADEML_TRACKING_COOLDOWN_MS', DEFAULTS.cooldownMs),
  };
}

/** Error codes of a request that never got an answer (transport), or of a server TradeML cannot use at all. */
const OUTAGE_CODES = new Set([
  'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH', 'EHOSTDOWN', 'EAI_AGAIN', 'EADDRNOTAVAIL',
  'ERR_STREAM_PREMATURE_CLOSE', 'REQUEST_ERROR', 'SERVER_TOO_OLD', 'NOT_MLFLOW', 'HOST_NOT_ALLOWED', 'LOCKED', 'DB_UNOPENABLE',
]);

/**
 * True when a tracker failure means every call would fail for now: no answer (refused, reset,
 * timed out, DNS), 5xx or 429, refused credentials (401/403), a server that is not a usable MLflow,
 * a local tracker DB held by another process or that cannot be opened at all. False for a request's own problem (400, 404, 409: a
 * bad key, a missing run) and for a server without artifact proxying (metadata still works).
 */
export function isTrackerOutage(err: unknown): boolean {
  if (!(err instanceof TrackerError)) return false;
  if (err.code === 'ARTIFACTS_NOT_PROXIED' || err.code === 'EXPERIMENT_DELETED') return false;
  if (err.httpStatus !== undefined) return err.httpStatus >= 500 || err.httpStatus === 429 || err.httpStatus === 401 || err.httpStatus === 403;
  return OUTAGE_CODES.has(err.code);
}

type Method = Exclude<keyof Tracker, 'kind' | 'location' | 'close'>;
const ARTIFACT_METHODS = new Set<Method>(['logArtifact', 'downloadArtifact', 'listArtifacts']);

/**
 * A Tracker whose calls all pass one {@link CircuitBreaker}. `artifacts` (optional) serves the
 * artifact transfers with its own (longer) timeout against the same server. While the breaker is
 * open every call rejects with {@link BreakerOpenError} without any I/O.
 */
export class GuardedTracker implements Tracker {
  readonly kind: Tracker['kind'];
  readonly location: string;
  readonly breaker: CircuitBreaker;
  private readonly artifacts: Tracker;

  constructor(
    readonly inner: Tracker,
    opts: { cooldownMs?: number; now?: () => number; artifacts?: Tracker } = {},
  ) {
    this.kind = inner.kind;
    this.location = inner.location;
    this.breaker = new CircuitBreaker({ isOutage: isTrackerOutage, cooldownMs: opts.cooldownMs, now: opts.now });
    this.artifacts = opts.artifacts ?? inner;
  }

  /** Listens to the breaker: tracking turned off (with the reason) or back on. */
  onChange(listener: (c: BreakerChange) => void): void {
    this.breaker.onChange(listener);
  }

  /** True while calls are refused (open, or half-open with a probe in flight or due). */
  get off(): boolean {
    return this.breaker.state !== 'closed';
  }

  private call<M extends Method>(m: M, args: Parameters<Tracker[M]>): ReturnType<Tracker[M]> {
    const target = ARTIFACT_METHODS.has(m) ? this.artifacts : this.inner;
    const fn = target[m] as (...a: Parameters<Tracker[M]>) => ReturnType<Tracker[M]>;
    return this.breaker.run(() => fn.apply(target, args) as Promise<unknown>) as ReturnType<Tracker[M]>;
  }

  getExperimentByName(...a: Parameters<Tracker['getExperimentByName']>) { return this.call('getExperimentByName', a); }
  getOrCreateExperiment(...a: Parameters<Tracker['getOrCreateExperiment']>) { return this.call('getOrCreateExperiment', a); }
  createRun(...a: Parameters<Tracker['createRun']>) { return this.call('createRun', a); }
  updateRun(...a: Parameters<Tracker['updateRun']>) { return this.call('updateRun', a); }
  getRun(...a: Parameters<Tracker['getRun']>) { return this.call('getRun', a); }
  searchRuns(...a: Parameters<Tracker['searchRuns']>) { return this.call('searchRuns', a); }
  logBatch(...a: Parameters<Tracker['logBatch']>) { return this.call('logBatch', a); }
  getMetricHistory(...a: Parameters<Tracker['getMetricHistory']>) { return this.call('getMetricHistory', a); }
  logInputs(...a: Parameters<Tracker['logInputs']>) { return this.call('logInputs', a); }
  logArtifact(...a: Parameters<Tracker['logArtifact']>) { return this.call('logArtifact', a); }
  downloadArtifact(...a: Parameters<Tracker['downloadArtifact']>) { return this.call('downloadArtifact', a); }
  listArtifacts(...a: Parameters<Tracker['listArtifacts']>) { return this.call('listArtifacts', a); }
  getRegisteredModel(...a: Parameters<Tracker['getRegisteredModel']>) { return this.call('getRegisteredModel', a); }
  ensureRegisteredModel(...a: Parameters<Tracker['ensureRegisteredModel']>) { return this.call('ensureRegisteredModel', a); }
  listRegisteredModels(...a: Parameters<Tracker['listRegisteredModels']>) { return this.call('listRegisteredModels', a); }
  createModelVersion(...a: Parameters<Tracker['createModelVersion']>) { return this.call('createModelVersion', a); }
  getModelVersion(...a: Parameters<Tracker['getModelVersion']>) { return this.call('getModelVersion', a); }
  listModelVersions(...a: Parameters<Tracker['listModelVersions']>) { return this.call('listModelVersions', a); }
  setModelVersionTag(...a: Parameters<Tracker['setModelVersionTag']>) { return this.call('setModelVersionTag', a); }
  setAlias(...a: Parameters<Tracker['setAlias']>) { return this.call('setAlias', a); }
  getVersionByAlias(...a: Parameters<Tracker['getVersionByAlias']>) { return this.call('getVersionByAlias', a); }
  deleteAlias(...a: Parameters<Tracker['deleteAlias']>) { return this.call('deleteAlias', a); }
  /** One guarded call when one tracker serves everything; else the single calls, so artifacts go to their own tracker. */
  logRuns(...a: Parameters<Tracker['logRuns']>) { return this.artifacts === this.inner ? this.call('logRuns', a) : logRunsByCalls(this, ...a); }

  /** Closes the underlying tracker(s). */
  async close(): Promise<void> {
    await this.inner.close();
    if (this.artifacts !== this.inner) await this.artifacts.close();
  }
}

/**
 * The guarded tracker of the run observer for state home `home`: the process's tracker
 * (`openTracker`), and for MLflow two single-attempt clients (metadata with `timeoutMs`, artifact
 * transfers with `artifactTimeoutMs`) behind one breaker.
 */
export function openObserverTracker(o: { home: string; store: ArtifactStore; env?: NodeJS.ProcessEnv; options?: Partial<ObserverTrackingOptions> }): GuardedTracker {
  const env = o.env ?? process.env;
  const opts = { ...observerTrackingOptionsFromEnv(env), ...o.options };
  const inner = openTracker({ env, home: o.home, store: o.store, mlflow: { retries: 0, timeoutMs: opts.timeoutMs } });
  const artifacts = inner.kind === 'mlflow' ? openTracker({ env, home: o.home, store: o.store, mlflow: { retries: 0, timeoutMs: opts.artifactTimeoutMs } }) : undefined;
  return new GuardedTracker(inner, { cooldownMs: opts.cooldownMs, artifacts });
}
