import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT, RUNS_COMPILED, productModule } from './paths.ts';

/**
 * URL of a worker thread's entry module, `module` being its path from the project root without
 * extension (e.g. `rl/trainer.worker`). Compiled (dist/compiled or the CLI's bundle), the worker
 * loads the compiled `dist/compiled/<module>.js` directly; from source under tsx, it loads the
 * plain-JS `bootstrap` beside the entry, which registers tsx in the worker thread and imports
 * `<module>.ts` (Node 20 does not carry the parent's loader hooks into a worker).
 */
export function workerEntryUrl(module: string, bootstrap: string, compiled = RUNS_COMPILED): URL {
  return pathToFileURL(compiled ? productModule(module, true) : path.join(PROJECT_ROOT, path.dirname(module), bootstrap));
}
