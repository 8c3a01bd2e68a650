import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { compiledIsCurrent, snapshot, sources, writeStamp } from '../../bin/compiled.mjs';
import { PROJECT_ROOT, productModule } from '../../lib/paths.ts';
import { workerEntryUrl } from '../../lib/worker_url.ts';
import { tempDir } from '../support/context.ts';

// The CLI runs dist/compiled (npm run build) only when it was built from the sources as they are.
describe('the compiled tree', () => {
  it('is current only for the same source files, each unmodified since the build started or with the same content', () => {
    const root = tempDir('trademl-compiled-');
    const put = (rel: string, at: number, text = '// x\n') => {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
      utimesSync(path.join(root, rel), at / 1000, at / 1000);
    };
    const past = Date.now() - 60_000;
    for (const f of ['package.json', 'tsconfig.json', 'lib/a.ts', 'cli/commands/b.ts', 'test/t.ts', 'node_modules/m/x.ts', 'lib/types.d.ts', 'bin/bundle.mjs', 'bin/trademl.mjs']) put(f, past);
    expect(sources(root).map(([p]) => p)).toEqual(['bin/bundle.mjs', 'cli/commands/b.ts', 'lib/a.ts', 'package.json', 'tsconfig.json']);
    expect(compiledIsCurrent(root)).toBe(false); // no build
    mkdirSync(path.join(root, 'dist', 'compiled'), { recursive: true });
    const snap = snapshot(root);
    const builtAt = snap.builtAt;
    writeStamp(snap, root);
    expect(compiledIsCurrent(root)).toBe(true);
    put('lib/a.ts', builtAt + 1, '// edited\n'); // edited after the build started
    expect(compiledIsCurrent(root)).toBe(false);
    put('lib/a.ts', builtAt + 1); // written again with the content it was built from (a checkout)
    expect(compiledIsCurrent(root)).toBe(true);
    put('lib/a.ts', past);
    expect(compiledIsCurrent(root)).toBe(true);
    put('lib/new.ts', past); // added (even with an old mtime, e.g. from a checkout)
    expect(compiledIsCurrent(root)).toBe(false);
    rmSync(path.join(root, 'lib/new.ts'));
    rmSync(path.join(root, 'cli/commands/b.ts')); // removed: its compiled command would linger
    expect(compiledIsCurrent(root)).toBe(false);
    put('cli/commands/b.ts', past);
    put('package.json', builtAt + 1, '{"a":1}'); // a build input
    expect(compiledIsCurrent(root)).toBe(false);
    put('package.json', past);
    writeFileSync(path.join(root, 'dist', 'compiled', '.sources.json'), '{not json');
    expect(compiledIsCurrent(root)).toBe(false);
  });

  it('starts worker threads and the workflow bundle from the compiled tree when compiled (the CLI bundle too), from the tsx bootstrap from source', () => {
    expect(workerEntryUrl('rl/trainer.worker', 'trainer.worker.mjs', false).href).toBe(pathToFileURL(path.join(PROJECT_ROOT, 'rl/trainer.worker.mjs')).href);
    expect(workerEntryUrl('rl/trainer.worker', 'trainer.worker.mjs', true).href).toBe(pathToFileURL(path.join(PROJECT_ROOT, 'dist/compiled/rl/trainer.worker.js')).href);
    expect(productModule('temporal/workflow/index', true)).toBe(path.join(PROJECT_ROOT, 'dist/compiled/temporal/workflow/index.js'));
    expect(productModule('temporal/workflow/index', false)).toBe(path.join(PROJECT_ROOT, 'temporal/workflow/index.ts'));
    for (const f of ['rl/trainer.worker.mjs', 'rl/trainer.worker.ts', 'kinds/execution/worker.mjs', 'kinds/execution/worker_entry.ts', 'rl/ope/evaluate.worker.mjs', 'rl/ope/evaluate.worker.ts']) expect(existsSync(path.join(PROJECT_ROOT, f))).toBe(true);
  });

  // CI builds it in scripts/setup.sh, so there the CLI's end-to-end tests run the compiled tree.
  it.skipIf(!compiledIsCurrent())('when current, is what `trademl` runs (scripts/setup.sh builds it), with its worker entries', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'bin/trademl.mjs'), 'validate'], { cwd: PROJECT_ROOT, env: { ...process.env, TRADEML_DEBUG: '1' } });
    expect(stderr).toContain('trademl: running dist/compiled');
    expect(stdout).toMatch(/pipelines\.yaml: valid/);
    for (const f of ['rl/trainer.worker.js', 'kinds/execution/worker_entry.js', 'temporal/workflow/index.js', 'bundle/cli/main.js', 'bundle/cli/commands/report.js']) expect(existsSync(path.join(PROJECT_ROOT, 'dist', 'compiled', f))).toBe(true);
  }, 60_000);
});
