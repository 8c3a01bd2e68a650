/**
 * URL of a worker thread's entry module beside the calling module (`callerUrl`: its import.meta.url).
 * Run from the compiled tree (dist/compiled, `.js`), the worker loads the compiled `<entry>.js`
 * directly; run from source under tsx, it loads the plain-JS `bootstrap` beside it, which registers
 * tsx in the worker thread and imports `<entry>.ts` (Node 20 does not carry the parent's loader
 * hooks into a worker).
 */
export function workerEntryUrl(callerUrl: string, entry: string, bootstrap: string): URL {
  return new URL(callerUrl.endsWith('.js') ? `./${entry}.js` : `./${bootstrap}`, callerUrl);
}
