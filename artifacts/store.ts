import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../lib/canonical.ts';
import { UserError } from '../lib/errors.ts';

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

/**
 * Content-addressed artifact store on a local (or shared, for Temporal workers) filesystem.
 * Layout: `<root>/objects/<hex[0..2]>/<hex>.<ext>`, read-only files; writes go to `<root>/tmp`
 * and are renamed into place, so a crash never leaves a half-written object at its address.
 */
export class ArtifactStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    mkdirSync(path.join(this.root, 'objects'), { recursive: true });
    mkdirSync(path.join(this.root, 'tmp'), { recursive: true });
  }

  /** A fresh scratch path inside the store (same filesystem, so `putFile` can rename it in). */
  tempPath(name: string): string {
    return path.join(this.root, 'tmp', `${randomUUID()}-${path.basename(name)}`);
  }

  /**
   * Moves (`move: true`, the default for files under `tempPath`) or copies a file into the store.
   * Returns its reference; storing identical bytes twice yields the same reference.
   */
  async putFile(src: string, opts: { name?: string; mediaType?: string; move?: boolean } = {}): Promise<ArtifactRef> {
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
    return { uri: `artifact://sha256/${hex}.${ext}`, digest: `sha256:${hex}`, bytes, media_type: opts.mediaType ?? mediaTypeOf(name), name };
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

  /** Local filesystem path of an artifact. Throws a UserError when it is not in this store. */
  path(ref: ArtifactRef | string): string {
    const uri = typeof ref === 'string' ? ref : ref.uri;
    const m = /^artifact:\/\/sha256\/([0-9a-f]{64})\.([a-z0-9]+)$/.exec(uri);
    if (!m) throw new UserError(`not an artifact URI: ${uri} (expected artifact://sha256/<hex>.<ext>)`);
    const p = this.objectPath(m[1]!, m[2]!);
    if (!existsSync(p)) throw new UserError(`artifact ${uri} is missing from the store at ${this.root}; re-run the producing step with --no-cache`);
    return p;
  }

  /** True when the artifact's bytes are present. */
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
    return path.join(this.root, 'objects', hex.slice(0, 2), `${hex}.${ext}`);
  }
}
