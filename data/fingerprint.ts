import { statSync } from 'node:fs';
import path from 'node:path';
import { expandGlobs, loadDatasetContract, resolveFiles } from './contract.ts';

/**
 * Cache fingerprint of a dataset's source files: the contract's digest and, for every file its
 * source globs resolve to, (path relative to the data root, size in bytes, mtime in ms). Changing,
 * adding or removing a source file (a backfill) changes it, so ingest re-runs; identical content
 * re-ingested still yields identical artifact digests, so downstream steps stay cached.
 * Never throws: an unresolvable source is returned as such and the ingest itself reports it.
 */
export function datasetFingerprint(projectRoot: string, dataRoot: string, dataset: string): unknown {
  try {
    const { contract, digest } = loadDatasetContract(projectRoot, dataset);
    const globs: string[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === 'string') {
        if (v.includes('/') || /\.[A-Za-z0-9]{2,5}$/.test(v) || v.includes('*')) globs.push(v);
      } else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk((contract as { source?: unknown }).source);
    const files = resolveFiles(dataRoot, expandGlobs(globs, (contract as { symbols?: string[] }).symbols), (m) => {
      throw new Error(m);
    });
    return {
      contract: digest,
      files: files.map((f) => {
        const st = statSync(f);
        return [path.relative(dataRoot, f), st.size, Math.round(st.mtimeMs)];
      }),
    };
  } catch (e) {
    return { unresolved: String(e) };
  }
}
