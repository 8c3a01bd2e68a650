import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { derivedOnce } from '../../artifacts/derived.ts';
import { ArtifactStore } from '../../artifacts/store.ts';
import { sha256 } from '../../lib/hash.ts';
import { tempDir } from '../support/context.ts';

describe('derivedOnce (derived data of content-addressed artifacts)', () => {
  it('computes once per key, saves the value beside the store, and recomputes a damaged copy', async () => {
    const store = new ArtifactStore(path.join(tempDir('derived-'), 'store'), { remote: null });
    let calls = 0;
    const compute = async () => ({ n: ++calls, ic: 0.0123 });
    const a = await derivedOnce(store, 'figure', 1, 'sha256:aa|sha256:bb', compute);
    const b = await derivedOnce(store, 'figure', 1, 'sha256:aa|sha256:bb', compute);
    expect(a).toEqual({ n: 1, ic: 0.0123 });
    expect(b).toEqual(a);
    expect(calls).toBe(1);
    const dir = path.join(store.root, 'derived', 'figure');
    const [file] = readdirSync(dir);
    expect(JSON.parse(readFileSync(path.join(dir, file!), 'utf8'))).toEqual({ value: { n: 1, ic: 0.0123 } });
    // another version of the computation is another value
    expect(await derivedOnce(store, 'figure', 2, 'sha256:aa|sha256:bb', compute)).toEqual({ n: 2, ic: 0.0123 });
    // a damaged saved copy (e.g. a crash of an older writer) is recomputed, not trusted
    const damaged = path.join(dir, `${sha256('1|sha256:cc').replace(/^sha256:/, '')}.json`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(damaged, '{"value": {"n"');
    expect(await derivedOnce(store, 'figure', 1, 'sha256:cc', compute)).toEqual({ n: 3, ic: 0.0123 });
    expect(JSON.parse(readFileSync(damaged, 'utf8'))).toEqual({ value: { n: 3, ic: 0.0123 } });
  });

  it('reads a value saved by another process without computing, keeps undefined as null, and forgets failures', async () => {
    const store = new ArtifactStore(path.join(tempDir('derived-'), 'store'), { remote: null });
    const dir = path.join(store.root, 'derived', 'figure');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${sha256('1|sha256:dd').replace(/^sha256:/, '')}.json`), JSON.stringify({ value: { saved: true } }));
    expect(await derivedOnce(store, 'figure', 1, 'sha256:dd', async () => ({ saved: false }))).toEqual({ saved: true });
    expect(await derivedOnce(store, 'figure', 1, 'sha256:ee', async () => undefined)).toBeUndefined();
    expect(existsSync(path.join(dir, `${sha256('1|sha256:ee').replace(/^sha256:/, '')}.json`))).toBe(true);
    await expect(derivedOnce(store, 'figure', 1, 'sha256:ff', async () => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
    expect(await derivedOnce(store, 'figure', 1, 'sha256:ff', async () => 7)).toBe(7);
  });
});
