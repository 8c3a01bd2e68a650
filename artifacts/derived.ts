/**
 * Derived data of content-addressed artifacts: a figure computed from artifacts whose digests are
 * known (IC summaries, calibration tables) depends on nothing else, so it is computed once per
 * (name, version, digests) and kept beside the store under `<store>/derived/<name>/`. Derived data is
 * safe to delete: it is recomputed on the next read. A damaged copy is recomputed too.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sha256 } from '../lib/hash.ts';
import { writeFileAtomic } from '../report/atomic.ts';
import type { ArtifactStore } from './store.ts';

const memo = new Map<string, Promise<unknown>>();

/** Where the value of (name, version, key) is kept under `store`. */
function savedPath(store: ArtifactStore, name: string, version: number, key: string): string {
  return path.join(store.root, 'derived', name, `${sha256(`${version}|${key}`).replace(/^sha256:/, '')}.json`);
}

async function loadOrCompute<T>(file: string, compute: () => Promise<T>): Promise<T> {
  if (existsSync(file)) {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as { value: T }).value;
    } catch {
      /* a damaged copy is recomputed */
    }
  }
  const value = await compute();
  writeFileAtomic(file, JSON.stringify({ value: value ?? null }));
  return value;
}

/**
 * The value `compute` gives for artifacts identified by `key` (their content digests, plus any
 * option the computation takes), computed once: memoised in the process and saved (atomically, as
 * JSON) beside `store`. `version` names the computation: bump it when `compute` changes so saved
 * values are not reused. `undefined` is saved as null and read back as null. A failed computation is
 * not kept (the next call tries again).
 */
export function derivedOnce<T>(store: ArtifactStore, name: string, version: number, key: string, compute: () => Promise<T>): Promise<T> {
  const file = savedPath(store, name, version, key);
  let p = memo.get(file) as Promise<T> | undefined;
  if (!p) {
    p = loadOrCompute(file, compute);
    memo.set(file, p);
    p.catch(() => memo.delete(file));
  }
  return p;
}
