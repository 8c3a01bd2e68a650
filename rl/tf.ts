import { createRequire } from 'node:module';
import path from 'node:path';

/** The tfjs module type (imported lazily: tfjs is heavy and only training needs it). */
export type Tf = typeof import('@tensorflow/tfjs');

let loading: Promise<Tf> | null = null;

/**
 * Loads @tensorflow/tfjs with the wasm backend (local .wasm files from the package's dist folder,
 * no CDN; tfjs-node cannot be installed here). Idempotent per thread. Throws when the backend fails.
 */
export function loadTf(): Promise<Tf> {
  loading ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dist + path.sep);
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('tfjs: the wasm backend could not be initialised');
    await tf.ready();
    tf.enableProdMode();
    return tf;
  })();
  return loading;
}
