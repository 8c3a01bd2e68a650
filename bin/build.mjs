// `npm run build`: emits the TypeScript sources as JavaScript into dist/compiled (tsconfig.build.json),
// bundles the CLI from it (dist/compiled/bundle: bin/bundle.mjs) and stamps it with the sources it
// was built from (bin/compiled.mjs). `--if-stale`: only when the stamp does not match the sources
// (scripts/setup.sh). Exit code: tsc's, or 1 when bundling fails.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { bundleCli } from './bundle.mjs';
import { ROOT, compiledIsCurrent, snapshot, writeStamp } from './compiled.mjs';

if (process.argv.includes('--if-stale') && compiledIsCurrent()) process.exit(0);
const snap = snapshot();
const compiled = path.join(ROOT, 'dist', 'compiled');
rmSync(compiled, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) {
  // a partial tree must not pass for a build
  rmSync(compiled, { recursive: true, force: true });
  process.stderr.write('build failed: dist/compiled removed; the CLI runs from source\n');
  process.exit(tsc.status ?? 1);
}
try {
  await bundleCli(compiled);
} catch (e) {
  rmSync(compiled, { recursive: true, force: true });
  process.stderr.write(`bundle failed (${e instanceof Error ? e.message : e}): dist/compiled removed; the CLI runs from source\n`);
  process.exit(1);
}
writeStamp(snap);
process.stdout.write(`built dist/compiled in ${((Date.now() - snap.builtAt) / 1000).toFixed(1)} s\n`);
