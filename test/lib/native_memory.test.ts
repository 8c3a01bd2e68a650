import { describe, expect, it } from 'vitest';
import { NATIVE_RELEASE_BYTES, noteNativeBytes } from '../../lib/native_memory.ts';
import { resultChunks, withDuckDB } from '../../lib/duckdb.ts';

describe('native memory release (lib/native_memory.ts)', () => {
  it('a full collection runs once NATIVE_RELEASE_BYTES have been fetched, and frees what nothing holds', async () => {
    let freed = false;
    const registry = new FinalizationRegistry(() => {
      freed = true;
    });
    (() => registry.register({ wrapper: new Uint8Array(16) }, 'chunk'))();
    noteNativeBytes(NATIVE_RELEASE_BYTES - 1);
    noteNativeBytes(1);
    for (let i = 0; i < 20 && !freed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(freed).toBe(true);
  });

  it('resultChunks yields every chunk of a long result in order', async () => {
    const got = await withDuckDB(async (con) => {
      const res = await con.run('SELECT i::INTEGER AS i FROM range(5000) t(i)');
      const out: number[] = [];
      for await (const ch of resultChunks(res)) out.push(...(ch.getColumnVector(0).toArray() as number[]));
      return out;
    });
    expect(got).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });
});
