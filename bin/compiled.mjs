// The compiled tree (dist/compiled: the TypeScript sources emitted as JavaScript by
// `npm run build`, tsconfig.build.json) and whether it is current. The CLI runs it when it is, so a
// start-up loads plain JavaScript instead of transpiling every module through tsx's loader hooks;
// when any source differs from the build's, or was added or removed, the CLI runs from source.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Folders of the checkout that hold no product sources. */
const SKIP = new Set(['node_modules', 'dist', 'test', 'bench', 'scratch', 'fixtures', '.git', '.native', '.servers', '.trademl']);

/** The product's TypeScript sources and build inputs (package.json, the lock, the tsconfigs, bin/build.mjs and bin/bundle.mjs) under `root` (relative paths, sorted) with their mtimes (ms). */
export function sources(root = ROOT) {
  const out = [];
  const walk = (rel) => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!SKIP.has(e.name) && !e.name.startsWith('.')) walk(p);
      } else if ((e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) || (!rel && /^(package(-lock)?|tsconfig(\.build)?)\.json$/.test(e.name)) || (rel === 'bin' && /^(build|bundle)\.mjs$/.test(e.name))) {
        out.push([p, statSync(path.join(root, p)).mtimeMs]);
      }
    }
  };
  walk('');
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

const stampFile = (root) => path.join(root, 'dist', 'compiled', '.sources.json');
const digest = (root, p) => createHash('sha256').update(readFileSync(path.join(root, p))).digest('hex');

/**
 * Whether dist/compiled under `root` was built from the sources as they are now: the same files,
 * each either not modified since the build started or (a checkout, a touch) with the same content
 * as then. False when there is no build. Never throws.
 */
export function compiledIsCurrent(root = ROOT) {
  try {
    const stamp = JSON.parse(readFileSync(stampFile(root), 'utf8'));
    const now = sources(root);
    return now.length === stamp.files.length && now.every(([p, m], i) => p === stamp.files[i][0] && (m <= stamp.builtAt || digest(root, p) === stamp.files[i][1]));
  } catch {
    return false;
  }
}

/** The sources as they are now, to stamp a build started now with ({@link writeStamp}). */
export function snapshot(root = ROOT) {
  return { builtAt: Date.now(), files: sources(root).map(([p]) => [p, digest(root, p)]) };
}

/** Records that dist/compiled holds a build of the sources in `snap` ({@link snapshot}, taken before the build). */
export function writeStamp(snap, root = ROOT) {
  writeFileSync(stampFile(root), JSON.stringify(snap));
}
