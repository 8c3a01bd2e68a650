/**
 * `npm run build:workflows`: bundles the workflow code with `bundleWorkflowCode` for production
 * workers (they load it with `workflowBundle: { codePath }`, no bundling at start-up).
 * Writes temporal/dist/workflow-bundle.js (override with the first argument).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { PROJECT_ROOT, productModule } from '../../lib/paths.ts';

/** Absolute path of the workflow entry module (index.ts; dist/compiled's index.js when running compiled). */
export const WORKFLOWS_PATH = productModule('temporal/workflow/index');

/** Default output of the production bundle. */
export const DEFAULT_BUNDLE_PATH = path.join(PROJECT_ROOT, 'temporal', 'dist', 'workflow-bundle.js');

/** Bundles the workflows; returns the bundle's code. Fails on Node-only imports in workflow code. */
export async function buildWorkflowBundle(): Promise<{ code: string }> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger() });
}

function quietLogger() {
  const noop = () => {};
  const warn = (message: string, meta?: Record<string, unknown>) => process.stderr.write(`${message}${meta ? ' ' + JSON.stringify(meta) : ''}\n`);
  return { log: noop, trace: noop, debug: noop, info: noop, warn, error: warn };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = path.resolve(process.argv[2] ?? DEFAULT_BUNDLE_PATH);
  const t0 = Date.now();
  const { code } = await buildWorkflowBundle();
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, code);
  process.stdout.write(`wrote ${path.relative(process.cwd(), out)} (${(code.length / 1024).toFixed(0)} KiB) in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
}
