import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { dataRoot } from '../../lib/paths.ts';
import { tempDir } from '../support/context.ts';

/** A temp data root holding a copy of the shared S&P folder (tests edit the copy, never the shared data). */
export function copySp500(): { root: string; dir: string } {
  const root = tempDir('trademl-data-');
  const dir = path.join(root, 'sp500_all_stocks_5yr', 'individual_stocks_5yr');
  mkdirSync(path.dirname(dir), { recursive: true });
  cpSync(path.join(dataRoot(), 'sp500_all_stocks_5yr', 'individual_stocks_5yr'), dir, { recursive: true });
  return { root, dir };
}

/** Every object file currently in an artifact store (relative paths, sorted). */
export function storeObjects(storeRoot: string): string[] {
  const objects = path.join(storeRoot, 'objects');
  return readdirSync(objects, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(objects, path.join(e.parentPath, e.name)))
    .sort();
}
