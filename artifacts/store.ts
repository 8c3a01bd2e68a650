import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../lib/canonical.ts';
import { StepError, UserError } from '../lib/errors.ts';
import { artifactsConfigFromEnv, type RemoteStore } from './remote.ts';
import { S3Remote } from './s3.ts';

/**
 * Reference to an immutable artifact, the only thing (besides small metrics) that steps pass on.
 * `uri` is `artifact://sha256/<hex>.<ext>`; `digest` is `sha256:<hex>` of the bytes.
 */
export interface ArtifactRef {
  uri: string;
  digest: string;
  bytes: number;
  media_type: string;
  /** Human name the producing step gave it (e.g. `features.parquet`). Not part of the address. */
  name: string;
}

const MEDIA: Record<string, string> = {
  parquet: 'application/vnd.apache.parquet',
  json: 'application/json',
  onnx: 'application/onnx',
  html: 'text/html',
  md: 'text/markdown',
  png: 'image/png',
  svg: 'image/svg+xml',
  csv: 'text/csv',
  txt: 'text/plain',
  ubj: 'application/ubjson',
};

/** Media type guessed from a file name's extension. */
export function mediaTypeOf(name: string): string {
  return MEDIA[path.extname(name).slice(1).toLowerCase()] ?? 'application/octet-stream';
}

const URI_RE = /^artifact:\/\/sha256\/([0-9a-f]{64})\.([a-z0-9]+)$/;

/** Options of {@link ArtifactStore}. */
export interface ArtifactStoreOptions {
  /**
   * Shared object store behind the local folder. Default: from the environment
   * (`TRADEML_ARTIFACTS=s3://bucket/prefix`, see {@link artifactsConfigFromEnv}); `null` = local only.
   */
  remote?: RemoteStore | null;
  /** Environment read when `remote` is not given (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Content-addressed artifact store. Layout: `<root>/objects/<hex[0..2]>/<hex>.<ext>`, read-only
 * files; writes go to `<root>/tmp` and are renamed into place, so a crash never leaves a
 * half-written object at its address.
 *
 * With a remote (S3, chosen by `TRADEML_ARTIFACTS=s3://bucket/prefix`) the local folder is a
 * read-through cache of it: `putFile`/`putBytes`/`putJson` also upload the object (same key layout,
 * never overwriting an existing digest), `exists` checks local then remote, and `materialize`
 * downloads (and verifies) what is missing locally, so the synchronous `path`/`readJson` keep
 * working for DuckDB inside steps on any host. `has` stays synchronous and local: it says whether
 * the bytes can be read here now.
 */
export class ArtifactStore {
  readonly root: string;
  /** The shared object store, when configured. */
  readonly remote?: RemoteStore;
  /** Keys known to be on the remote (uploaded or checked by this instance): no HEAD for them again. */
  private readonly onRemote = new Set<string>();

  constructor(root: string, opts: ArtifactStoreOptions = {}) {
    this.root = path.resolve(root);
    mkdirSync(path.join(this.root, 'objects'), { recursive: true });
    mkdirSync(path.join(this.root, 'tmp'), { recursive: true });
    this.remote = opts.remote === undefined ? remoteFromEnv(opts.env ?? process.env) : (opts.remote ?? undefined);
  }

  /** Where objects live: the local folder, and the remote when there is one. */
  get location(): string {
    return this.remote ? `${this.remote.location} (local cache ${this.root})` : this.root;
  }

  /** A fresh scratch path inside the store (same filesystem, so `putFile` can rename it in). */
  tempPath(name: string): string {
    return path.join(this.root, 'tmp', `${randomUUID()}-${path.basename(name)}`);
  }

  /**
   * Moves (`move: true`, the default for files under `tempPath`) or copies a file into the store,
   * and uploads it to the remote when there is one (aborted by `signal`; `onUploadProgress` gets
   * the bytes uploaded so far). Returns its reference; storing identical bytes twice yields the
   * same reference and uploads nothing the second time.
   */
  async putFile(src: string, opts: { name?: string; mediaType?: string; move?: boolean; signal?: AbortSignal; onUploadProgress?: (bytes: number) => void } = {}): Promise<ArtifactRef> {
    if (!existsSync(src)) throw new UserError(`artifact source ${src} does not exist`);
    const name = opts.name ?? path.basename(src).replace(/^[0-9a-f-]{36}-/, '');
    const h = createHash('sha256');
    for await (const chunk of createReadStream(src)) h.update(chunk as Buffer);
    const hex = h.digest('hex');
    const ext = path.extname(name).slice(1).toLowerCase() || 'bin';
    const dest = this.objectPath(hex, ext);
    const bytes = statSync(src).size;
    const move = opts.move ?? src.startsWith(path.join(this.root, 'tmp') + path.sep);
    if (!existsSync(dest)) {
      mkdirSync(path.dirname(dest), { recursive: true });
      const staging = dest + '.' + randomUUID() + '.partial';
      if (move) renameSync(src, staging);
      else writeFileSync(staging, readFileSync(src));
      chmodSync(staging, 0o444);
      renameSync(staging, dest);
    } else if (move) {
      rmSync(src, { force: true });
    }
    const ref: ArtifactRef = { uri: `artifact://sha256/${hex}.${ext}`, digest: `sha256:${hex}`, bytes, media_type: opts.mediaType ?? mediaTypeOf(name), name };
    if (this.remote) await this.upload(this.remote, hex, ext, dest, ref, opts);
    return ref;
  }

  /** Uploads a local object unless the remote already has it; an existing object of another size is reported, never replaced. */
  private async upload(remote: RemoteStore, hex: string, ext: string, file: string, ref: ArtifactRef, opts: { signal?: AbortSignal; onUploadProgress?: (bytes: number) => void }): Promise<void> {
    const key = objectKey(hex, ext);
    if (this.onRemote.has(key)) return;
    const size = await remote.head(key);
    if (size === undefined) {
      await remote.put(key, file, { bytes: ref.bytes, sha256: hex, mediaType: ref.media_type }, { signal: opts.signal, onProgress: opts.onUploadProgress });
    } else if (size !== ref.bytes) {
      throw new StepError({
        message: `artifact ${ref.uri} already exists in ${remote.location} with ${size} bytes, but its content has ${ref.bytes}: the stored object is corrupt. Objects are never overwritten; delete ${key} there by hand and re-run`,
        type: 'ArtifactCorrupt',
        nonRetryable: true,
      });
    }
    this.onRemote.add(key);
  }

  /** Stores bytes (or a string, UTF-8) under `name`. */
  async putBytes(data: Uint8Array | string, name: string, mediaType?: string): Promise<ArtifactRef> {
    const tmp = this.tempPath(name);
    writeFileSync(tmp, data);
    return this.putFile(tmp, { name, mediaType, move: true });
  }

  /** Stores a JSON value in canonical form (stable digest whatever the key order). */
  async putJson(value: unknown, name: string): Promise<ArtifactRef> {
    return this.putBytes(canonicalJson(value), name.endsWith('.json') ? name : `${name}.json`, 'application/json');
  }

  /**
   * Local filesystem path of an artifact. Throws a UserError when it is not here (with a remote:
   * when it was not materialised first).
   */
  path(ref: ArtifactRef | string): string {
    const uri = typeof ref === 'string' ? ref : ref.uri;
    const { hex, ext } = parseUri(uri);
    const p = this.objectPath(hex, ext);
    if (!existsSync(p)) {
      if (this.remote) {
        throw new UserError(
          `artifact ${uri} is not in the local cache ${this.root}; it may be in ${this.remote.location}: call \`await store.materialize([uri])\` before reading it synchronously (the executor materialises every upstream artifact before a step runs)`,
        );
      }
      throw new UserError(`artifact ${uri} is missing from the store at ${this.root}; re-run the producing step with --no-cache`);
    }
    return p;
  }

  /** True when the artifact exists locally or on the remote (local first; one HEAD otherwise). */
  async exists(ref: ArtifactRef | string): Promise<boolean> {
    if (this.has(ref)) return true;
    if (!this.remote) return false;
    const { hex, ext } = parseUri(typeof ref === 'string' ? ref : ref.uri);
    const key = objectKey(hex, ext);
    if (this.onRemote.has(key)) return true;
    const found = (await this.remote.head(key)) !== undefined;
    if (found) this.onRemote.add(key);
    return found;
  }

  /**
   * Downloads every artifact of `uris` that is not in the local folder from the remote (4 at a
   * time), verifying each one's sha256 before it is renamed into place, so `path(uri)` works
   * afterwards. Non-artifact strings are ignored; without a remote it does nothing (a missing
   * object is reported by `path` when read). Throws a UserError for an object the remote lacks.
   */
  async materialize(uris: readonly string[]): Promise<void> {
    const remote = this.remote;
    if (!remote) return;
    const missing = [...new Set(uris)].filter((u) => URI_RE.test(u) && !this.has(u));
    let next = 0;
    const worker = async () => {
      while (next < missing.length) await this.download(remote, missing[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(4, missing.length) }, worker));
  }

  private async download(remote: RemoteStore, uri: string): Promise<void> {
    const { hex, ext } = parseUri(uri);
    const key = objectKey(hex, ext);
    const tmp = path.join(this.root, 'tmp', `${randomUUID()}-${hex}.${ext}.partial`);
    try {
      await remote.get(key, tmp);
      const h = createHash('sha256');
      for await (const chunk of createReadStream(tmp)) h.update(chunk as Buffer);
      const got = h.digest('hex');
      if (got !== hex) {
        throw new StepError({ message: `artifact ${uri} downloaded from ${remote.location} has sha256 ${got}: the stored object is corrupt; delete ${key} there and re-run the producing step with --no-cache`, type: 'ArtifactCorrupt', nonRetryable: true });
      }
      const dest = this.objectPath(hex, ext);
      mkdirSync(path.dirname(dest), { recursive: true });
      chmodSync(tmp, 0o444);
      renameSync(tmp, dest);
      this.onRemote.add(key);
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /** True when the artifact's bytes are present locally (readable now through `path`). */
  has(ref: ArtifactRef | string): boolean {
    try {
      this.path(ref);
      return true;
    } catch {
      return false;
    }
  }

  readText(ref: ArtifactRef | string): string {
    return readFileSync(this.path(ref), 'utf8');
  }

  readJson<T = unknown>(ref: ArtifactRef | string): T {
    return JSON.parse(this.readText(ref)) as T;
  }

  private objectPath(hex: string, ext: string): string {
    return path.join(this.root, ...objectKey(hex, ext).split('/'));
  }
}

/** Key of an object under the store's root or remote prefix: `objects/<hex[0..2]>/<hex>.<ext>`. */
export function objectKey(hex: string, ext: string): string {
  return `objects/${hex.slice(0, 2)}/${hex}.${ext}`;
}

function parseUri(uri: string): { hex: string; ext: string } {
  const m = URI_RE.exec(uri);
  if (!m) throw new UserError(`not an artifact URI: ${uri} (expected artifact://sha256/<hex>.<ext>)`);
  return { hex: m[1]!, ext: m[2]! };
}

/** The remote store `TRADEML_ARTIFACTS` names (S3), or undefined for the local store. */
export function remoteFromEnv(env: NodeJS.ProcessEnv = process.env): RemoteStore | undefined {
  const cfg = artifactsConfigFromEnv(env);
  if (cfg.kind === 'local') return undefined;
  return new S3Remote({ bucket: cfg.bucket, prefix: cfg.prefix, endpoint: cfg.endpoint, region: cfg.region, forcePathStyle: cfg.forcePathStyle });
}
