import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Upload } from '@aws-sdk/lib-storage';
import { StepError, UserError } from '../lib/errors.ts';
import type { RemoteStore } from './remote.ts';

/** Multipart part size: files above it upload in parts; the object only exists once the last part completes. */
export const PART_BYTES = 8 * 1024 * 1024;

/** Options of {@link S3Remote}; credentials come from the AWS SDK's default chain unless given. */
export interface S3RemoteOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' = the bucket's root). */
  prefix: string;
  /** S3-compatible endpoint (SeaweedFS, MinIO, …); undefined = AWS. */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** TCP connect timeout, ms (default 5,000): an unreachable endpoint fails fast. */
  connectTimeoutMs?: number;
  /** SDK attempts per request (default 3). */
  maxAttempts?: number;
}

/**
 * Content-addressed objects in an S3 bucket (AWS SDK v3). Uploads go through `@aws-sdk/lib-storage`:
 * one PUT below {@link PART_BYTES}, else a multipart upload completed only after the last part, so
 * a killed or aborted upload never leaves an object at the key (an aborted multipart upload is
 * aborted server-side too; one killed with the process stays invisible until the bucket's
 * AbortIncompleteMultipartUpload lifecycle rule clears it). Every PUT carries `If-None-Match: *`
 * (no overwrite) and the sha256 as object metadata; after the upload the object's size and
 * recorded digest are checked. Errors say what to fix: unreachable endpoint, bad credentials,
 * missing bucket.
 */
export class S3Remote implements RemoteStore {
  readonly location: string;
  private sdk?: Promise<{ s3: typeof import('@aws-sdk/client-s3'); storage: typeof import('@aws-sdk/lib-storage'); client: S3Client }>;

  constructor(private readonly opts: S3RemoteOptions) {
    // The SDK warns once per process that its releases after January 2027 need Node ≥ 22; the pinned
    // version supports Node 20 (package.json engines), so that notice is noise in every CLI call.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.location = `s3://${opts.bucket}${opts.prefix ? `/${opts.prefix}` : ''}${opts.endpoint ? ` at ${opts.endpoint}` : ''}`;
  }

  /** The SDK and client, loaded on first use: importing the SDK costs ~0.5 s, which processes that never touch S3 should not pay. */
  private load() {
    const opts = this.opts;
    this.sdk ??= (async () => {
      const [s3, storage] = await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]);
      const client = new s3.S3Client({
        region: opts.region,
        endpoint: opts.endpoint,
        forcePathStyle: opts.forcePathStyle,
        credentials: opts.credentials,
        maxAttempts: opts.maxAttempts ?? 3,
        // S3-compatible stores differ in their support of the newer flexible checksums; the digest is checked by TradeML itself.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: { connectionTimeout: opts.connectTimeoutMs ?? 5_000, requestTimeout: 300_000 },
      });
      return { s3, storage, client };
    })();
    return this.sdk;
  }

  private fullKey(key: string): string {
    return this.opts.prefix ? `${this.opts.prefix}/${key}` : key;
  }

  async head(key: string): Promise<number | undefined> {
    return (await this.headMeta(key))?.bytes;
  }

  /** HEAD with the recorded sha256 metadata (undefined when absent). */
  private async headMeta(key: string): Promise<{ bytes: number; sha256?: string } | undefined> {
    const { s3, client } = await this.load();
    try {
      const r = await client.send(new s3.HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.fullKey(key) }));
      return { bytes: r.ContentLength ?? 0, sha256: r.Metadata?.sha256 };
    } catch (err) {
      if (status(err) === 404 && !isNoSuchBucket(err)) return undefined;
      throw this.explain(err, 'HEAD', key);
    }
  }

  async put(key: string, file: string, meta: { bytes: number; sha256: string; mediaType: string }, opts: { signal?: AbortSignal; onProgress?: (uploadedBytes: number) => void } = {}): Promise<void> {
    if (opts.signal?.aborted) throw abortError(key);
    const { storage, client } = await this.load();
    const upload = new storage.Upload({
      client,
      partSize: PART_BYTES,
      queueSize: 2,
      leavePartsOnError: false,
      params: {
        Bucket: this.opts.bucket,
        Key: this.fullKey(key),
        Body: createReadStream(file),
        ContentLength: meta.bytes,
        ContentType: meta.mediaType,
        Metadata: { sha256: meta.sha256 },
        IfNoneMatch: '*',
      },
    });
    if (opts.onProgress) upload.on('httpUploadProgress', (p) => opts.onProgress!(p.loaded ?? 0));
    const onAbort = () => void upload.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } catch (err) {
      if (opts.signal?.aborted) {
        await this.abortMultipart(upload, key);
        throw abortError(key);
      }
      // 412: the object appeared meanwhile (a concurrent upload of the same content): fine if it is whole.
      if (status(err) !== 412) throw this.explain(err, 'PUT', key);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    const got = await this.headMeta(key);
    if (!got || got.bytes !== meta.bytes || (got.sha256 !== undefined && got.sha256 !== meta.sha256)) {
      throw new StepError({
        message: `S3 artifact ${this.location}/${key} failed its check after upload (expected ${meta.bytes} bytes, sha256 ${meta.sha256}; found ${got ? `${got.bytes} bytes, sha256 ${got.sha256 ?? 'not recorded'}` : 'nothing'}); the store may be corrupting uploads`,
        type: 'ArtifactUploadCorrupt',
      });
    }
  }

  /**
   * Aborts the server-side multipart upload of an aborted `Upload` before returning: lib-storage's
   * `done()` rejects at once on abort and aborts the multipart upload later in the background, so
   * without this an aborted put could leave pending parts behind. Reads lib-storage's private
   * `createMultiPartPromise` when the UploadId is not known yet (the version is pinned exactly).
   */
  private async abortMultipart(upload: Upload, key: string): Promise<void> {
    const creating = (upload as unknown as { createMultiPartPromise?: Promise<{ UploadId?: string }> }).createMultiPartPromise;
    const uploadId = upload.uploadId ?? (creating ? (await creating.catch(() => undefined))?.UploadId : undefined);
    if (!uploadId) return;
    const { s3, client } = await this.load();
    try {
      await client.send(new s3.AbortMultipartUploadCommand({ Bucket: this.opts.bucket, Key: this.fullKey(key), UploadId: uploadId }));
    } catch (err) {
      if (status(err) !== 404) throw this.explain(err, 'ABORT', key); // 404 NoSuchUpload: lib-storage aborted it first
    }
  }

  async get(key: string, dest: string): Promise<void> {
    let body: Readable;
    const { s3, client } = await this.load();
    try {
      const r = await client.send(new s3.GetObjectCommand({ Bucket: this.opts.bucket, Key: this.fullKey(key) }));
      body = r.Body as Readable;
    } catch (err) {
      throw this.explain(err, 'GET', key);
    }
    await pipeline(body, createWriteStream(dest, { mode: 0o644 }));
  }

  /** Releases the SDK's sockets (nothing to do when the SDK was never loaded). */
  async close(): Promise<void> {
    if (this.sdk) (await this.sdk).client.destroy();
  }

  /** A TradeML error for an SDK failure, saying what to fix. */
  private explain(err: unknown, op: string, key: string): Error {
    const where = `S3 artifact store ${this.location}`;
    const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const code = e.code ?? (e.name === 'TimeoutError' ? 'ETIMEDOUT' : undefined);
    if (e.name === 'CredentialsProviderError') {
      return new UserError({ message: `${where}: no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE); for the local servers: . .servers/env after bash scripts/servers/up.sh`, cause: err });
    }
    if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken'].includes(e.name ?? '') || status(err) === 403) {
      return new UserError({
        message: `${where} refused the credentials (${e.name ?? 'HTTP 403'} on ${op} ${key}): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and that the identity may read and write the bucket`,
        cause: err,
      });
    }
    if (isNoSuchBucket(err)) {
      return new UserError({ message: `${where}: bucket "${this.opts.bucket}" does not exist; create it (bash scripts/servers/up.sh creates the local one) or fix TRADEML_ARTIFACTS=s3://<bucket>/<prefix>`, cause: err });
    }
    if (op === 'GET' && status(err) === 404) {
      return new UserError({ message: `${where} has no object ${key}; re-run the step that produced it with --no-cache`, cause: err });
    }
    if (code && ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) {
      return new StepError({
        message: `${where} is unreachable (${code} on ${op} ${key}): start it (bash scripts/servers/up.sh for the local SeaweedFS) or fix AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL`,
        type: 'ArtifactStoreUnavailable',
        cause: err,
      });
    }
    const msg = err instanceof Error ? err.message : String(err);
    return new StepError({ message: `${where}: ${op} ${key} failed: ${e.name ?? 'error'} ${status(err) ?? ''} ${msg}`.replace(/\s+/g, ' ').trim(), type: 'ArtifactStoreError', cause: err });
  }
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNoSuchBucket(err: unknown): boolean {
  return (err as { name?: string }).name === 'NoSuchBucket' || (err as { Code?: string }).Code === 'NoSuchBucket';
}

function abortError(key: string): StepError {
  return new StepError({ message: `upload of artifact ${key} was aborted; nothing was stored at its address`, type: 'Aborted' });
}
