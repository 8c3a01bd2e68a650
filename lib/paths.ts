import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Root of this checkout: the nearest folder above this module holding package.json (lib/ from
 * source, dist/compiled/lib/ in the compiled tree, dist/compiled/bundle/cli/ in the CLI's bundle).
 */
export const PROJECT_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));

/** Whether this process runs the compiled tree (dist/compiled, or the CLI's bundle of it): this module is JavaScript. */
export const RUNS_COMPILED = import.meta.url.endsWith('.js');

/**
 * Absolute path of a product module by its path from the project root without extension (e.g.
 * `temporal/workflow/index`): `dist/compiled/<module>.js` when `compiled` (also from the CLI's
 * bundle, whose chunks do not keep the tree's folders), `<module>.ts` from source.
 */
export function productModule(module: string, compiled = RUNS_COMPILED): string {
  return compiled ? path.join(PROJECT_ROOT, 'dist', 'compiled', `${module}.js`) : path.join(PROJECT_ROOT, `${module}.ts`);
}

function findRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) throw new Error(`no package.json above ${dir}: TradeML must run inside its checkout`);
  }
}

/**
 * Folder of the shared market data (`../shared/data` beside the checkout by default).
 * Override with TRADEML_DATA_ROOT.
 */
export function dataRoot(): string {
  return process.env.TRADEML_DATA_ROOT ?? path.resolve(PROJECT_ROOT, '..', 'shared', 'data');
}

/** True when the shared market data folder exists (tests that need it skip loudly otherwise). */
export function hasSharedData(): boolean {
  return existsSync(path.join(dataRoot(), 'sp500_all_stocks_5yr'));
}

/** Folder of TradeML's local state (run DB, artifacts, registry): TRADEML_HOME or `<cwd>/.trademl`. */
export function stateHome(): string {
  return process.env.TRADEML_HOME ?? path.resolve(process.cwd(), '.trademl');
}
