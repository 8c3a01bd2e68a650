import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { artifactsConfigFromEnv, type RemoteStore } from '../../artifacts/remote.ts';
import { ArtifactStore, objectKey } from '../../artifacts/store.ts';
import { UserError } from '../../lib/errors.ts';
import { tempDir } from './support/tmp.ts';

/** An in-memory remote: what the store's read-through and upload logic needs, without a server. */
function memoryRemote() {
  const objects = new Map<string, Buffer>();
  const calls: string[] = [];
  const remote: RemoteStore = {
    location: 'memory://test',
    async head(key) {
      calls.push(`head ${key}`);
      return objects.get(key)?.length;
    },
    async put(key, file) {
      calls.push(`put ${key}`);
      if (objects.has(key)) throw new Error('overwrite attempted');
      objects.set(key, readFileSync(file));
    },
    async get(key, dest) {
      calls.push(`get ${key}`);
      const b = objects.get(key);
      if (!b) throw new UserError(`no object ${key}`);
      writeFileSync(dest, b);
    },
  };
  return { remote, objects, calls };
}

describe('artifact store configuration', () => {
  it('reads TRADEML_ARTIFACTS and the standard AWS endpoint variables', () => {
    expect(artifactsConfigFromEnv({})).toEqual({ kind: 'local' });
    expect(artifactsConfigFromEnv({ TRADEML_ARTIFACTS: 'local' })).toEqual({ kind: 'local' });
    expect(artifactsConfigFromEnv({ TRADEML_ARTIFACTS: 's3://my-bucket/a/b/', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:18333', AWS_REGION: 'eu-west-1' })).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'a/b',
      endpoint: 'http://127.0.0.1:18333',
      region: 'eu-west-1',
      forcePathStyle: true,
    });
    expect(artifactsConfigFromEnv({ TRADEML_ARTIFACTS: 's3://aws-bucket' })).toMatchObject({ prefix: '', endpoint: undefined, region: 'us-east-1', forcePathStyle: false });
    expect(artifactsConfigFromEnv({ TRADEML_ARTIFACTS: 's3://b12', AWS_ENDPOINT_URL: 'http://h:1', TRADEML_S3_FORCE_PATH_STYLE: 'false' })).toMatchObject({ endpoint: 'http://h:1', forcePathStyle: false });
    expect(() => artifactsConfigFromEnv({ TRADEML_ARTIFACTS: '/mnt/shared' })).toThrow(/TRADEML_ARTIFACTS="\/mnt\/shared" is not understood/);
    expect(() => artifactsConfigFromEnv({ TRADEML_ARTIFACTS: 's3://Bad_Bucket' })).toThrow(/bucket names/);
    expect(() => artifactsConfigFromEnv({ TRADEML_ARTIFACTS: 's3://bucket', AWS_ENDPOINT_URL_S3: '127.0.0.1:18333' })).toThrow(/not an http\(s\) URL/);
    expect(() => artifactsConfigFromEnv({ TRADEML_ARTIFACTS: 's3://bucket', TRADEML_S3_FORCE_PATH_STYLE: 'yes' })).toThrow(/must be true or false/);
  });

  it('a store built without options follows the environment; remote: null forces local', () => {
    const dir = tempDir('trademl-store-env-');
    expect(new ArtifactStore(path.join(dir, 'a'), { env: {} }).remote).toBeUndefined();
    const s3 = new ArtifactStore(path.join(dir, 'b'), { env: { TRADEML_ARTIFACTS: 's3://bkt/p', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1' } });
    expect(s3.remote?.location).toBe('s3://bkt/p at http://127.0.0.1:1');
    expect(s3.location).toContain('local cache');
    expect(new ArtifactStore(path.join(dir, 'c'), { remote: null, env: { TRADEML_ARTIFACTS: 's3://bkt/p' } }).remote).toBeUndefined();
  });
});

describe('artifact store with a remote (in memory)', () => {
  it('uploads once per digest, materialises into another home, verifies and reads synchronously after', async () => {
    const mem = memoryRemote();
    const a = new ArtifactStore(path.join(tempDir('trademl-store-a-'), 'artifacts'), { remote: mem.remote });
    const b = new ArtifactStore(path.join(tempDir('trademl-store-b-'), 'artifacts'), { remote: mem.remote });
    const ref = await a.putJson({ k: [1, 2, 3] }, 'v');
    await a.putJson({ k: [1, 2, 3] }, 'w');
    const key = objectKey(ref.digest.slice(7), 'json');
    expect(mem.calls).toEqual([`head ${key}`, `put ${key}`]);
    expect(b.has(ref)).toBe(false);
    expect(() => b.readJson(ref)).toThrow(/not in the local cache .*materialize/);
    expect(await b.exists(ref)).toBe(true);
    await b.materialize([ref.uri]);
    expect(b.readJson(ref)).toEqual({ k: [1, 2, 3] });
    expect(statSync(b.path(ref)).mode & 0o222).toBe(0); // read-only like every stored object
    mem.calls.length = 0;
    await b.materialize([ref.uri]);
    await b.putJson({ k: [1, 2, 3] }, 'v');
    expect(mem.calls).toEqual([]); // both served from what the store already knows
  });

  it('refuses a download whose bytes do not match the digest, and leaves nothing behind', async () => {
    const mem = memoryRemote();
    const a = new ArtifactStore(path.join(tempDir('trademl-store-c-'), 'artifacts'), { remote: mem.remote });
    const ref = await a.putBytes('true content', 'n.txt');
    mem.objects.set(objectKey(ref.digest.slice(7), 'txt'), Buffer.from('tampered!!!!'));
    const b = new ArtifactStore(path.join(tempDir('trademl-store-d-'), 'artifacts'), { remote: mem.remote });
    await expect(b.materialize([ref.uri])).rejects.toThrow(/has sha256 .*corrupt/);
    expect(b.has(ref)).toBe(false);
    expect(readdirSync(path.join(b.root, 'tmp'))).toEqual([]);
  });

  it('reports an existing remote object of another size instead of replacing it', async () => {
    const mem = memoryRemote();
    const a = new ArtifactStore(path.join(tempDir('trademl-store-e-'), 'artifacts'), { remote: null });
    const ref = await a.putBytes('twelve bytes', 'n.txt');
    mem.objects.set(objectKey(ref.digest.slice(7), 'txt'), Buffer.from('short'));
    const b = new ArtifactStore(a.root, { remote: mem.remote });
    await expect(b.putBytes('twelve bytes', 'n.txt')).rejects.toThrow(/with 5 bytes, but its content has 12: the stored object is corrupt/);
    expect(mem.calls.filter((c) => c.startsWith('put'))).toEqual([]);
  });

  it('without a remote, materialize does nothing and path says the object is missing', async () => {
    const s = new ArtifactStore(path.join(tempDir('trademl-store-f-'), 'artifacts'), { remote: null });
    const uri = `artifact://sha256/${'c'.repeat(64)}.json`;
    await s.materialize([uri]);
    expect(await s.exists(uri)).toBe(false);
    expect(() => s.path(uri)).toThrow(/missing from the store .*--no-cache/);
    expect(() => s.path('artifact://md5/x.json')).toThrow(/not an artifact URI/);
  });
});
