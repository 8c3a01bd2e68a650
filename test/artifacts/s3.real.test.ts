import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { AbortMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactStore, objectKey } from '../../artifacts/store.ts';
import { artifactsConfigFromEnv, type RemoteStore } from '../../artifacts/remote.ts';
import { PART_BYTES, S3Remote } from '../../artifacts/s3.ts';
import { StepError, UserError } from '../../lib/errors.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { tempDir } from './support/tmp.ts';

// The S3 artifact store against a real S3 API (SeaweedFS from `bash scripts/servers/up.sh`; CI
// starts it in .ci/run). Each run works under its own prefix of the bucket.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // the suite's own raw client, like S3Remote
const endpoint = process.env.AWS_ENDPOINT_URL_S3 || process.env.TRADEML_S3_ENDPOINT;
const bucket = process.env.TRADEML_S3_BUCKET;
const live = Boolean(endpoint && bucket && process.env.AWS_ACCESS_KEY_ID);

if (!live) {
  const line = 'SKIPPED live S3 artifact store suite: TRADEML_S3_BUCKET / AWS_ENDPOINT_URL_S3 / AWS_ACCESS_KEY_ID are not set; run `bash scripts/servers/install.sh && bash scripts/servers/up.sh && . .servers/env` first';
  console.warn(`[test/artifacts/s3.real.test.ts] ${line}`);
  describe('S3 artifact store (real server)', () => {
    it.skip(line, () => {});
  });
} else {
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const env = { ...process.env, TRADEML_ARTIFACTS: `s3://${bucket}/${prefix}` };
  const cfg = artifactsConfigFromEnv(env);
  if (cfg.kind !== 's3') throw new Error('unreachable');
  const raw = new S3Client({ region: cfg.region, endpoint: cfg.endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const remotes: S3Remote[] = [];
  const remote = (over: Partial<ConstructorParameters<typeof S3Remote>[0]> = {}) => {
    const r = new S3Remote({ bucket: cfg.bucket, prefix: cfg.prefix, endpoint: cfg.endpoint, region: cfg.region, forcePathStyle: cfg.forcePathStyle, ...over });
    remotes.push(r);
    return r;
  };
  /** Counts what a store asks of its remote. */
  const spy = (inner: RemoteStore) => {
    const calls = { head: 0, put: 0, get: 0 };
    const s: RemoteStore = {
      location: inner.location,
      head: (k) => (calls.head++, inner.head(k)),
      put: (k, f, m, o) => (calls.put++, inner.put(k, f, m, o)),
      get: (k, d) => (calls.get++, inner.get(k, d)),
    };
    return { store: s, calls };
  };
  const keyOf = (uri: string) => {
    const m = /sha256\/([0-9a-f]{64})\.(\w+)$/.exec(uri)!;
    return `${prefix}/${objectKey(m[1]!, m[2]!)}`;
  };
  afterAll(async () => {
    for (const r of remotes) await r.close();
    raw.destroy();
  });

  describe(`S3 artifact store (real S3 API at ${cfg.endpoint}, s3://${bucket}/${prefix})`, () => {
    it('is chosen by TRADEML_ARTIFACTS and addresses objects by content', async () => {
      const store = new ArtifactStore(path.join(tempDir('trademl-s3-a-'), 'artifacts'), { env });
      expect(store.remote?.location).toBe(`s3://${bucket}/${prefix} at ${cfg.endpoint}`);
      const a = await store.putJson({ b: 2, a: 1 }, 'x.json');
      const b = await store.putJson({ a: 1, b: 2 }, 'y.json'); // same canonical bytes, other name
      const c = await store.putJson({ a: 1, b: 3 }, 'x.json');
      expect(b.uri).toBe(a.uri);
      expect(c.uri).not.toBe(a.uri);
      const head = await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(a.uri) }));
      expect(head.ContentLength).toBe(a.bytes);
      expect(head.Metadata?.sha256).toBe(a.digest.slice('sha256:'.length));
      expect(head.ContentType).toBe('application/json');
      const body = await (await raw.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(a.uri) }))).Body!.transformToString();
      expect(body).toBe(readFileSync(store.path(a), 'utf8'));
    });

    it('two stores with different local homes share the bucket: exists, materialize, cache hits, no re-upload', async () => {
      const one = spy(remote());
      const two = spy(remote());
      const a = new ArtifactStore(path.join(tempDir('trademl-s3-home1-'), 'artifacts'), { remote: one.store });
      const b = new ArtifactStore(path.join(tempDir('trademl-s3-home2-'), 'artifacts'), { remote: two.store });
      const bytes = randomBytes(3 * 1024 * 1024 + 17);
      const ref = await a.putBytes(bytes, 'panel.parquet');
      expect(one.calls).toEqual({ head: 1, put: 1, get: 0 });
      expect(b.has(ref)).toBe(false);
      expect(() => b.path(ref)).toThrow(/materialize/);
      expect(await b.exists(ref)).toBe(true);
      await b.materialize([ref.uri, ref.uri, 'not-an-artifact', ref.uri]);
      expect(two.calls.get).toBe(1);
      expect(readFileSync(b.path(ref)).equals(bytes)).toBe(true);
      await b.materialize([ref.uri]); // a cache hit: nothing downloaded again
      expect(two.calls.get).toBe(1);
      const again = await b.putBytes(bytes, 'other-name.parquet'); // same content from the other host: no upload
      expect(again.uri).toBe(ref.uri);
      expect(two.calls.put).toBe(0);
      await a.putBytes(bytes, 'panel.parquet'); // and the first store remembers the object is there
      expect(one.calls).toEqual({ head: 1, put: 1, get: 0 });
    });

    it('never overwrites an existing digest', async () => {
      const store = new ArtifactStore(path.join(tempDir('trademl-s3-imm-'), 'artifacts'), { remote: remote() });
      const ref = await store.putBytes('immutable content', 'note.txt');
      const key = keyOf(ref.uri);
      const before = await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      // A writer that ignores TradeML's HEAD check: If-None-Match makes the server refuse it.
      await expect(raw.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'tampered', IfNoneMatch: '*' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
      // The store's own put of the same key (another host racing) keeps the first object.
      const other = new ArtifactStore(path.join(tempDir('trademl-s3-imm2-'), 'artifacts'), { remote: remote() });
      await other.putBytes('immutable content', 'note.txt');
      const after = await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(after.ETag).toBe(before.ETag);
      expect(after.LastModified?.getTime()).toBe(before.LastModified?.getTime());
      // A corrupt object already at an address is reported, not replaced.
      const fake = randomBytes(64);
      const probe = new ArtifactStore(path.join(tempDir('trademl-s3-imm3-'), 'artifacts'), { remote: null });
      const pref = await probe.putBytes(fake, 'c.bin');
      await raw.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(pref.uri), Body: fake.subarray(0, 10) }));
      const withRemote = new ArtifactStore(probe.root, { remote: remote() });
      await expect(withRemote.putBytes(fake, 'c.bin')).rejects.toThrow(/already exists .* with 10 bytes, but its content has 64: the stored object is corrupt/);
      const fresh = new ArtifactStore(path.join(tempDir('trademl-s3-imm4-'), 'artifacts'), { remote: remote() });
      await expect(fresh.materialize([pref.uri])).rejects.toThrow(/has sha256 .* the stored object is corrupt/);
      expect(fresh.has(pref)).toBe(false);
    });

    it('an aborted multipart upload leaves no object and no pending upload; the next put succeeds', async () => {
      const dir = tempDir('trademl-s3-abort-');
      const file = path.join(dir, 'big.bin');
      writeFileSync(file, randomBytes(PART_BYTES * 3 + 5));
      const store = new ArtifactStore(path.join(dir, 'artifacts'), { remote: remote() });
      const ac = new AbortController();
      const err = await store.putFile(file, { move: false, signal: ac.signal, onUploadProgress: () => ac.abort() }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StepError);
      expect((err as StepError).message).toMatch(/aborted; nothing was stored/);
      const ref = await new ArtifactStore(path.join(dir, 'artifacts'), { remote: null }).putFile(file, { move: false });
      await expect(raw.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(ref.uri) }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
      const pending = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: keyOf(ref.uri) }));
      expect(pending.Uploads ?? []).toEqual([]);
      const done = await new ArtifactStore(path.join(dir, 'artifacts'), { remote: remote() }).putFile(file, { move: false });
      expect(done.uri).toBe(ref.uri);
      const head = await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(ref.uri) }));
      expect(head.ContentLength).toBe(PART_BYTES * 3 + 5);
    });

    it('a process killed mid-upload (SIGKILL) leaves no object at the address', async () => {
      const dir = tempDir('trademl-s3-kill-');
      const file = path.join(dir, 'big.bin');
      writeFileSync(file, randomBytes(PART_BYTES * 6 + 1));
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'test/artifacts/support/uploadChild.ts'), path.join(dir, 'child-home'), file], {
        env: env as NodeJS.ProcessEnv,
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const killed = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (/progress \d+/.test(out) && child.kill('SIGKILL')) resolve(out);
        });
        child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(out) : reject(new Error(`upload child exited (${code}) before it was killed: ${out} ${err}`))));
      });
      expect(killed).not.toMatch(/done/);
      const ref = await new ArtifactStore(path.join(dir, 'artifacts'), { remote: null }).putFile(file, { move: false });
      await expect(raw.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(ref.uri) }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
      expect(await new ArtifactStore(path.join(dir, 'other'), { remote: remote() }).exists(ref)).toBe(false);
      // The killed process's multipart upload stays pending (invisible); clean it like a lifecycle rule would.
      const pending = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: keyOf(ref.uri) }));
      expect((pending.Uploads ?? []).length).toBeLessThanOrEqual(1);
    });

    it('materialize reports an object the bucket lacks', async () => {
      const store = new ArtifactStore(path.join(tempDir('trademl-s3-miss-'), 'artifacts'), { remote: remote() });
      const uri = `artifact://sha256/${'ab'.repeat(32)}.json`;
      expect(await store.exists(uri)).toBe(false);
      await expect(store.materialize([uri])).rejects.toThrow(UserError);
      await expect(store.materialize([uri])).rejects.toThrow(/has no object .*re-run the step that produced it with --no-cache/);
    });

    it('says what to fix when the endpoint is unreachable, the credentials are wrong or the bucket is missing', async () => {
      const closed = http.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      const down = new ArtifactStore(path.join(tempDir('trademl-s3-down-'), 'artifacts'), { remote: remote({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 }) });
      const e1 = (await down.putBytes('x', 'x.txt').catch((e: unknown) => e)) as StepError;
      expect(e1).toBeInstanceOf(StepError);
      expect(e1.type).toBe('ArtifactStoreUnavailable');
      expect(e1.message).toMatch(/unreachable \(ECONNREFUSED .*bash scripts\/servers\/up\.sh/);
      const badKey = new ArtifactStore(path.join(tempDir('trademl-s3-cred-'), 'artifacts'), {
        remote: remote({ credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID!, secretAccessKey: 'wrong-secret' } }),
      });
      const e2 = (await badKey.putBytes('y', 'y.txt').catch((e: unknown) => e)) as UserError;
      expect(e2).toBeInstanceOf(UserError);
      expect(e2.message).toMatch(/refused the credentials .*AWS_SECRET_ACCESS_KEY/);
      expect(e2.message).not.toContain('wrong-secret');
      const noBucket = new ArtifactStore(path.join(tempDir('trademl-s3-nob-'), 'artifacts'), { remote: remote({ bucket: `missing-${randomUUID().slice(0, 8)}` }) });
      await expect(noBucket.putBytes('z', 'z.txt')).rejects.toThrow(/bucket "missing-.*" does not exist; create it/);
      expect(() => artifactsConfigFromEnv({ TRADEML_ARTIFACTS: 'gs://x/y' })).toThrow(/use s3:\/\/<bucket>\[\/<prefix>\]/);
    });

    afterAll(async () => {
      // The store never deletes; the suite removes its own prefix (and the killed upload's parts) so runs do not pile up.
      const listed = await raw.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
      for (const o of listed.Contents ?? []) await raw.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key! }));
      const pending = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }));
      for (const u of pending.Uploads ?? []) await raw.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! }));
    });
  });
}
