/**
 * Validated specs kept by the digest of their text, so that a run of an unchanged pipelines.yaml
 * skips the YAML parse and the validation (≈ 0.1 s of a fully cached re-run of ≈ 1 s).
 *
 * Only the compiled tree keeps them (`RUNS_COMPILED`), in `dist/compiled/spec-cache`: `npm run
 * build` removes that folder with the rest of the tree, and an entry's name also carries the build's
 * stamp time as this process loaded it, so an entry is only ever read by the build whose validation
 * wrote it. From source (tsx) the code may change between runs with no build to key on, so nothing
 * is kept there. Only valid specs are kept; an invalid file is validated (and its every problem
 * reported) each time. A missing, unreadable or corrupt entry only means the text is validated again;
 * a failed write is ignored (a read-only checkout runs as before). At most {@link MAX_SPEC_ENTRIES}
 * entries are kept (≈ 11 KB each for this repository's spec): a write beyond that removes the
 * least recently written.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { sha256 } from '../lib/hash.ts';
import { PROJECT_ROOT, RUNS_COMPILED } from '../lib/paths.ts';
import { writeFileAtomic } from '../report/atomic.ts';
import type { Spec } from './schema.ts';

/** Where a build keeps its validated specs, and the build's identity (its stamp's mtime, ms). */
export interface SpecCacheLocation {
  dir: string;
  build: string;
}

/** The compiled tree's spec cache, fixed when this module loads; undefined from source or without a stamp. */
export const COMPILED_SPEC_CACHE: SpecCacheLocation | undefined = RUNS_COMPILED ? compiledLocation() : undefined;

function compiledLocation(): SpecCacheLocation | undefined {
  const compiled = path.join(PROJECT_ROOT, 'dist', 'compiled');
  try {
    return { dir: path.join(compiled, 'spec-cache'), build: String(Math.trunc(statSync(path.join(compiled, '.sources.json')).mtimeMs)) };
  } catch {
    return undefined;
  }
}

const entryPath = (at: SpecCacheLocation, text: string): string => path.join(at.dir, `${at.build}-${sha256(text).slice(7)}.json`);

/** The spec validated earlier from exactly `text` by this build, or undefined (not kept, unreadable, corrupt). */
export function readCachedSpec(at: SpecCacheLocation, text: string): Spec | undefined {
  try {
    const v = JSON.parse(readFileSync(entryPath(at, text), 'utf8')) as { spec?: unknown };
    return v.spec && typeof v.spec === 'object' ? (v.spec as Spec) : undefined;
  } catch {
    return undefined;
  }
}

/** How many validated specs a build keeps (each edit of pipelines.yaml between builds adds one). */
export const MAX_SPEC_ENTRIES = 32;

/**
 * Keeps `spec`, the validation of `text` (report/atomic.ts: a reader never sees half an entry), then
 * removes the least recently written entries beyond {@link MAX_SPEC_ENTRIES}.
 */
export function writeCachedSpec(at: SpecCacheLocation, text: string, spec: Spec): void {
  const file = entryPath(at, text);
  try {
    writeFileAtomic(file, JSON.stringify({ spec }));
    const entries = readdirSync(at.dir).filter((f) => f.endsWith('.json'));
    if (entries.length <= MAX_SPEC_ENTRIES) return;
    const byAge = entries.map((f) => ({ f, m: statSync(path.join(at.dir, f)).mtimeMs })).sort((a, b) => a.m - b.m || (a.f < b.f ? -1 : 1));
    for (const { f } of byAge.slice(0, entries.length - MAX_SPEC_ENTRIES)) if (path.join(at.dir, f) !== file) rmSync(path.join(at.dir, f), { force: true });
  } catch {
    // an optimisation only: the next run validates again
  }
}
