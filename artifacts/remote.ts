import { UserError } from '../lib/errors.ts';

/**
 * Where an {@link ArtifactStore} keeps its objects beyond the local folder: an object store shared
 * by every worker (S3-compatible). Objects are immutable and addressed by content: `key` is the
 * object's name under the store's prefix, `objects/<hex[0..2]>/<hex>.<ext>`, the same layout as the
 * local folder.
 */
export interface RemoteStore {
  /** Human description without credentials, e.g. `s3://trademl/artifacts at http://127.0.0.1:18333`. */
  readonly location: string;
  /** Size in bytes when the object exists, undefined when it does not. */
  head(key: string): Promise<number | undefined>;
  /**
   * Uploads the local file as `key` so that the object appears whole or not at all, and never
   * replaces an existing object (the caller checked `head`; a concurrent identical upload wins
   * harmlessly). `sha256` (hex) is recorded with the object and checked after the upload.
   */
  put(key: string, file: string, meta: { bytes: number; sha256: string; mediaType: string }, opts?: { signal?: AbortSignal; onProgress?: (uploadedBytes: number) => void }): Promise<void>;
  /** Streams the object to `dest` (a fresh file); throws when it does not exist. */
  get(key: string, dest: string): Promise<void>;
}

/** Where the artifacts of this process go, from `TRADEML_ARTIFACTS`. */
export type ArtifactsConfig = { kind: 'local' } | { kind: 's3'; bucket: string; prefix: string; endpoint?: string; region: string; forcePathStyle: boolean };

/**
 * Reads the artifact store configuration:
 * - `TRADEML_ARTIFACTS` unset, empty or `local`: the local folder only;
 * - `TRADEML_ARTIFACTS=s3://<bucket>[/<prefix>]`: S3 (the local folder becomes a read-through
 *   cache), endpoint from `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL` or `TRADEML_S3_ENDPOINT`
 *   (unset: AWS itself), region from `AWS_REGION` / `AWS_DEFAULT_REGION` (default us-east-1),
 *   path-style addressing when an endpoint is set (`TRADEML_S3_FORCE_PATH_STYLE=false` turns it off).
 * Credentials come from the AWS SDK's standard chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
 * AWS_PROFILE, …). Throws a UserError naming the variable for anything else.
 */
export function artifactsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ArtifactsConfig {
  const raw = (env.TRADEML_ARTIFACTS ?? '').trim();
  if (!raw || raw === 'local') return { kind: 'local' };
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(raw);
  if (!m) {
    throw new UserError(
      `TRADEML_ARTIFACTS="${raw}" is not understood: use s3://<bucket>[/<prefix>] for an S3-compatible store (bucket names: 3–63 lowercase letters, digits, '.', '-'), or leave it unset for the local store`,
    );
  }
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || env.TRADEML_S3_ENDPOINT || undefined;
  if (endpoint && !/^https?:\/\/[^/\s]+/.test(endpoint)) {
    throw new UserError(`S3 endpoint "${endpoint}" (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / TRADEML_S3_ENDPOINT) is not an http(s) URL; set it like http://127.0.0.1:18333`);
  }
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  const pathStyle = env.TRADEML_S3_FORCE_PATH_STYLE;
  if (pathStyle !== undefined && pathStyle !== '' && !['true', 'false'].includes(pathStyle)) {
    throw new UserError(`TRADEML_S3_FORCE_PATH_STYLE="${pathStyle}" must be true or false`);
  }
  return {
    kind: 's3',
    bucket: m[1]!,
    prefix,
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    forcePathStyle: pathStyle ? pathStyle === 'true' : Boolean(endpoint),
  };
}
