/**
 * The step cache's append-only log (executor/cache_log.ts): the last record of a key wins, what
 * another process appends is seen at the next look-up, a record torn by a killed writer is skipped,
 * a replaced file is read from the start, and entries of the earlier file-per-key layout still hit.
 */
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { CacheLog } from '../../executor/cache_log.ts';
import { StepCache } from '../../executor/cache.ts';
import { tempDir } from '../support/context.ts';

const KEY_A = `sha256:${'a'.repeat(64)}`;
const KEY_B = `sha256:${'b'.repeat(64)}`;

describe('step cache log', () => {
  it('puts and gets outputs and failures; the last record of a key wins', () => {
    const cache = new StepCache(new ArtifactStore(path.join(tempDir(), 'artifacts')));
    expect(cache.get(KEY_A)).toBeUndefined();
    cache.put(KEY_A, { n: 1 }, { step: 'a' });
    cache.putFailure(KEY_B, { message: 'verdict', type: 'GateRejected' }, { step: 'b' });
    cache.put(KEY_A, { n: 2 }, { step: 'a' });
    expect(cache.get(KEY_A)).toEqual({ n: 2 });
    expect(cache.getFailure(KEY_B)).toEqual({ message: 'verdict', type: 'GateRejected' });
    expect(cache.get(KEY_B)).toBeUndefined();
  });

  it('sees records appended by another writer, skips a torn record, and keeps the records after it', () => {
    const root = path.join(tempDir(), 'artifacts');
    const cache = new StepCache(new ArtifactStore(root));
    cache.put(KEY_A, { n: 1 }, {});
    const file = path.join(root, 'cache', 'entries.jsonl');
    // another process: a record cut off by SIGKILL (no closing newline), then a whole one
    appendFileSync(file, `\n{"key":"${KEY_B}","outputs":{"n":`);
    expect(cache.get(KEY_B)).toBeUndefined();
    appendFileSync(file, `\n${JSON.stringify({ key: KEY_B, outputs: { n: 7 } })}\n`);
    expect(cache.get(KEY_B)).toEqual({ n: 7 });
    expect(cache.get(KEY_A)).toEqual({ n: 1 });
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
  });

  it('reads a replaced or removed log from the start (the home deleted and made again)', () => {
    const root = path.join(tempDir(), 'artifacts');
    const cache = new StepCache(new ArtifactStore(root));
    cache.put(KEY_A, { n: 1 }, {});
    rmSync(path.join(root, 'cache'), { recursive: true });
    expect(cache.get(KEY_A)).toBeUndefined();
    mkdirSync(path.join(root, 'cache'));
    writeFileSync(path.join(root, 'cache', 'entries.jsonl'), `${JSON.stringify({ key: KEY_B, outputs: { n: 3 } })}\n`);
    expect(cache.get(KEY_B)).toEqual({ n: 3 });
    cache.put(KEY_A, { n: 4 }, {});
    expect(CacheLog.of(path.join(root, 'cache')).get(KEY_A)?.outputs).toEqual({ n: 4 });
  });

  it('still hits an entry of the earlier layout (<key>.json), and a hit needs its artifacts', () => {
    const root = path.join(tempDir(), 'artifacts');
    const store = new ArtifactStore(root);
    mkdirSync(path.join(root, 'cache'), { recursive: true });
    writeFileSync(path.join(root, 'cache', `${'a'.repeat(64)}.json`), JSON.stringify({ key: KEY_A, outputs: { n: 5 } }));
    writeFileSync(path.join(root, 'cache', `${'b'.repeat(64)}.json`), JSON.stringify({ key: KEY_B, outputs: { table: `artifact://sha256:${'c'.repeat(64)}.parquet` } }));
    const cache = new StepCache(store);
    expect(cache.get(KEY_A)).toEqual({ n: 5 });
    expect(cache.get(KEY_B)).toBeUndefined(); // its artifact is not in the store: recompute
  });
});
