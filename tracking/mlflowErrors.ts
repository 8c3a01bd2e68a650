import { gotErrors } from './gotLazy.ts';
import { TrackerError } from './types.ts';

/**
 * How the MLflow REST tracker turns transport failures and misconfigured servers into
 * {@link TrackerError}s that say what is wrong and how to fix it. Never includes headers, so
 * credentials stay out of messages.
 */

/** Oldest MLflow server TradeML works with: `runs/log-inputs` appeared in 2.4, registered-model aliases in 2.3. */
export const MIN_MLFLOW_VERSION = '2.4.0';

/** MLflow ≥ 3.5 answers a Host header outside `--allowed-hosts` with 403 and this text. */
const HOST_REJECTED = /Invalid Host header/i;
/** MLflow started with `--no-serve-artifacts` answers the artifact proxy endpoints with 503 and this text. */
const NO_SERVE_ARTIFACTS = /--no-serve-artifacts/;

/** The response body of an HTTPError as text ('' when there is none). */
export function bodyText(err: unknown): string {
  const body = (err as { response?: { body?: unknown } }).response?.body;
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  try {
    return JSON.stringify(body);
  } catch {
    return String(body);
  }
}

/** True for a failure that retrying cannot fix although its status is retriable (a 503 from a server without artifact proxying). */
export function isPermanentServerAnswer(err: unknown): boolean {
  return NO_SERVE_ARTIFACTS.test(bodyText(err));
}

/**
 * Maps a got error to a TrackerError naming the endpoint, status and MLflow error code, with a fix
 * for the misconfigurations TradeML meets in practice: the Host-header check (HOST_NOT_ALLOWED),
 * artifacts not proxied (ARTIFACTS_NOT_PROXIED), a deleted experiment (EXPERIMENT_DELETED), bad
 * credentials (401/403). `base` is the server URL without credentials.
 */
export function toTrackerError(err: unknown, method: string, endpoint: string, base: string): TrackerError {
  if (err instanceof TrackerError) return err;
  const g = gotErrors();
  if (g && err instanceof g.HTTPError) {
    const status = err.response.statusCode;
    const text = bodyText(err);
    if (status === 403 && HOST_REJECTED.test(text)) return hostRejected(base, method, endpoint);
    if (NO_SERVE_ARTIFACTS.test(text)) {
      return new TrackerError(
        `MLflow ${method} ${endpoint} failed: the server at ${base} runs with --no-serve-artifacts, so TradeML cannot upload or download artifacts through it. ` +
          `Restart it with --serve-artifacts (the default since MLflow 2.0) and --artifacts-destination <folder or s3://bucket/prefix>; see docs/servers.md`,
        'ARTIFACTS_NOT_PROXIED',
        status,
      );
    }
    let code = `HTTP_${status}`;
    let message = err.response.statusMessage ?? '';
    const parsed = safeJson(text);
    if (parsed && typeof parsed === 'object') {
      const b = parsed as Record<string, unknown>;
      if (typeof b.error_code === 'string') code = b.error_code;
      if (typeof b.message === 'string') message = b.message;
    } else if (text && text.length < 300 && !/<html/i.test(text)) {
      message = text.trim();
    }
    if (/must be in the 'active' state/.test(message)) {
      const id = /experiment (\S+) must/.exec(message)?.[1];
      return new TrackerError(`MLflow ${method} ${endpoint} failed: ${message}. ${deletedExperimentFix(id)}`, 'EXPERIMENT_DELETED', status);
    }
    const hint = status === 401 || status === 403 ? ' (check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD)' : '';
    return new TrackerError(`MLflow ${method} ${endpoint} failed: ${status} ${code}: ${message}${hint}`, code, status);
  }
  if (g && err instanceof g.RequestError) {
    const unreachable = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(err.code ?? '');
    const fix = unreachable ? `; is the MLflow server at ${base} running (bash scripts/servers/up.sh starts a local one) and is MLFLOW_TRACKING_URI right?` : '';
    return new TrackerError(`MLflow ${method} ${endpoint} failed: ${err.code} ${err.message.replace(/https?:\/\/[^@\s]*@/g, 'http://')}${fix}`, err.code ?? 'REQUEST_ERROR');
  }
  return new TrackerError(`MLflow ${method} ${endpoint} failed: ${err instanceof Error ? err.message : String(err)}`);
}

/** The error for a request the server refused because of its Host-header (DNS-rebinding) check. */
export function hostRejected(base: string, method: string, endpoint: string): TrackerError {
  const host = new URL(base).host;
  return new TrackerError(
    `MLflow ${method} ${endpoint} failed: the server at ${base} rejected the Host header "${host}" (MLflow ≥ 3.5 only answers the hosts in --allowed-hosts, against DNS rebinding). ` +
      `Restart it with --allowed-hosts "${host}" (a comma-separated list, wildcards allowed, e.g. "${host},localhost:*"; or set MLFLOW_SERVER_ALLOWED_HOSTS), ` +
      `or set MLFLOW_TRACKING_URI to a host name the server already allows; see docs/servers.md`,
    'HOST_NOT_ALLOWED',
    403,
  );
}

/** How to get past a deleted experiment (restore it, rename it, or purge it). */
export function deletedExperimentFix(id: string | undefined, name?: string): string {
  const idArg = id ?? '<id>';
  return (
    `The experiment${name ? ` "${name}"` : ''} (id ${idArg}) was deleted (in the MLflow UI or by experiments/delete) and a deleted experiment takes no runs. ` +
    `Restore it (UI: Experiments → show deleted → Restore, or \`mlflow experiments restore --experiment-id ${idArg}\`), ` +
    `or rename the deleted one (\`mlflow experiments rename --experiment-id ${idArg} --new-name <other>\`) or purge it (\`mlflow gc --experiment-ids ${idArg}\`) so TradeML creates a fresh one`
  );
}

/** `major.minor.patch` of a version string such as `3.17.2` or `2.9.0rc1`; undefined when it is not one. */
export function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^\s*(\d+)\.(\d+)(?:\.(\d+))?/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/** True when version `a` is older than `b` (both `x.y.z`). */
export function olderThan(a: [number, number, number], b: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

/**
 * Checks the text of MLflow's `GET /version` against {@link MIN_MLFLOW_VERSION}; throws a
 * TrackerError SERVER_TOO_OLD (or NOT_MLFLOW when the answer is not a version) saying what to do.
 */
export function checkServerVersion(text: string, base: string): string {
  const version = text.trim();
  const parsed = parseVersion(version);
  if (!parsed) {
    throw new TrackerError(
      `the server at ${base} answered GET /version with "${version.slice(0, 80)}", not an MLflow version; is MLFLOW_TRACKING_URI the tracking server's URL (with its --static-prefix, if any)?`,
      'NOT_MLFLOW',
    );
  }
  if (olderThan(parsed, parseVersion(MIN_MLFLOW_VERSION)!)) {
    throw new TrackerError(
      `the MLflow server at ${base} is version ${version}; TradeML needs MLflow ≥ ${MIN_MLFLOW_VERSION} (it uses runs/log-inputs and registered-model aliases). ` +
        `Upgrade the server (pip install 'mlflow>=${MIN_MLFLOW_VERSION}', or use bash scripts/servers/install.sh) and restart it`,
      'SERVER_TOO_OLD',
    );
  }
  return version;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
