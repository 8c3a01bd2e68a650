import { lstatSync } from 'node:fs';
import path from 'node:path';
import { globsOf } from './contract-checks.ts';
import { expandGlobs, globPath, loadDatasetContract, resolveFiles, type DatasetContract } from './contract.ts';
import { resolveSources } from './source-files.ts';

/** Absolute paths of every file a contract reads (sources and, for OHLCV, the factor table). */
function contractFiles(dataRoot: string, c: DatasetContract): string[] {
  if (c.kind === 'ohlcv') {
    const { files } = resolveSources(dataRoot, globsOf(c.source.files), c.symbols, c.source.exclude);
    const out = files.map((f) => f.abs);
    if (c.adjustment?.factors) out.push(globPath(dataRoot, c.adjustment.factors.file));
    return out;
  }
  const globs: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.includes('/') || /\.[A-Za-z0-9]{2,5}$/.test(v) || v.includes('*')) globs.push(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk((c as { source?: unknown }).source);
  return resolveFiles(dataRoot, expandGlobs(globs, (c as { symbols?: string[] }).symbols), (m) => {
    throw new Error(m);
  });
}

/**
 * Cache fingerprint of a dataset's source files: the contract's digest and, for every file it
 * reads, (path relative to the data root, size in bytes, mtime in ms) — taken with lstat, so a
 * FIFO or a link is described without being opened. Changing, adding or removing a source file
 * (a backfill) changes it, so ingest re-runs; identical content re-ingested still yields identical
 * artifact digests, so downstream steps stay cached. Never throws: an unresolvable source (or a
 * missing file) is returned as such and the ingest itself reports it.
 */
export function datasetFingerprint(projectRoot: string, dataRoot: string, dataset: string): unknown {
  try {
    const { contract, digest } = loadDatasetContract(projectRoot, dataset);
    const files = [...new Set(contractFiles(dataRoot, contract))].sort();
    return {
      contract: digest,
      files: files.map((f) => {
        try {
          const st = lstatSync(f);
          return [path.relative(dataRoot, f), st.size, Math.round(st.mtimeMs)];
        } catch {
          return [path.relative(dataRoot, f), 'missing'];
        }
      }),
    };
  } catch (e) {
    return { unresolved: String(e) };
  }
}
