/**
 * Native memory that only V8's garbage collector gives back. A DuckDB result chunk (node-api
 * `fetchChunk`) owns its native vectors until V8 collects its small JS wrapper; V8 does not see that
 * memory, so a long read (a panel, a book of weights) keeps every chunk it fetched alive: measured,
 * 4.8M rows × 4 numeric columns held ≈ 250 MB more RSS until a collection. {@link noteNativeBytes}
 * counts what readers fetched and runs a full collection every {@link NATIVE_RELEASE_BYTES}, so at
 * most that much waits for the collector. A collection never changes a value, only when memory
 * returns.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

/** Bytes of fetched chunks between two collections (64 MiB: a collection of this heap is ms). */
export const NATIVE_RELEASE_BYTES = 64 * 2 ** 20;

let pending = 0;
let collect: (() => void) | undefined;

/** The collector: `globalThis.gc` under --expose-gc, else the one V8 hands a new context once the flag is set (as jest's leak detector does). */
function collector(): () => void {
  if (!collect) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) collect = exposed;
    else {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as () => void;
    }
  }
  return collect;
}

/** Records `bytes` of native memory fetched (≈ rows × columns × 8); collects when the total since the last collection reaches NATIVE_RELEASE_BYTES. */
export function noteNativeBytes(bytes: number): void {
  pending += bytes;
  if (pending >= NATIVE_RELEASE_BYTES) collectNow();
}

/**
 * Runs a full collection when at least NATIVE_RELEASE_BYTES of ArrayBuffers are alive: a host calls
 * it when a step ends, so the next step does not start on the typed arrays (and chunks) the last one
 * dropped. Cheap when little is held (no collection: a host of many short steps pays nothing).
 */
export function releaseAfterStep(): void {
  if (process.memoryUsage().arrayBuffers >= NATIVE_RELEASE_BYTES) collectNow();
}

/** A full collection now; the fetched-bytes count starts again from 0. */
function collectNow(): void {
  pending = 0;
  collector()();
}
