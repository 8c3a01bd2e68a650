// The CLI's bundle (dist/compiled/bundle): the compiled tree's CLI entry and command files, with the
// pure-JavaScript packages a start-up loads, joined by esbuild into a few ES modules (code shared
// between entries in chunks beside cli/main.js). One `trademl` start-up then reads and links a few
// dozen files instead of several hundred (zod alone is 95 modules). Native, WebAssembly and
// worker-spawning packages (DuckDB, koffi, ONNX Runtime, TensorFlow, Temporal, pino's transports)
// stay external and load from node_modules as before; worker threads and the Temporal workflow
// bundle start from the unbundled compiled tree (lib/worker_url.ts, temporal/workflow/build.ts).
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** Packages bundled in (pure JavaScript, loaded by a CLI start-up); every other import stays external. */
export const BUNDLED = new Set(['zod', 'yaml', 'commander', 'croner', 'fastest-levenshtein', 'ms', 'cli-progress', '@duckdb/node-api']);

/**
 * lib/duckdb_api.js loads the CommonJS @duckdb/node-api through `createRequire` (Node's ESM loader
 * would lex its ≈ 120 files first). esbuild follows a plain `require` only: in the bundle the call
 * becomes one, and the package's JavaScript joins the bundle (its native binding,
 * @duckdb/node-bindings, stays external and loads through the chunk's `require`).
 */
const DUCKDB_API = /[\\/]lib[\\/]duckdb_api\.js$/;
const DUCKDB_REQUIRE = /createRequire\(import\.meta\.url\)\((["'])@duckdb\/node-api\1\)/;

const packageOf = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

/**
 * Bundles `<compiled>/cli/main.js` and `<compiled>/cli/commands/*.js` into `<compiled>/bundle/cli/`
 * (same file names; shared chunks `cli/<name>-<hash>.js`, so a module's `import.meta.url` is always
 * a file of bundle/cli/ and cli/load.ts finds bundle/cli/commands/). Rejects with esbuild's errors.
 */
export async function bundleCli(compiled) {
  const { build } = await import('esbuild');
  const commands = readdirSync(path.join(compiled, 'cli', 'commands')).filter((f) => f.endsWith('.js'));
  await build({
    entryPoints: [path.join(compiled, 'cli', 'main.js'), ...commands.map((f) => path.join(compiled, 'cli', 'commands', f))],
    outbase: compiled,
    outdir: path.join(compiled, 'bundle'),
    chunkNames: 'cli/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    keepNames: true, // error classes and kinds are told apart by name
    legalComments: 'none',
    logLevel: 'warning',
    // bundled CommonJS packages (yaml, commander) call require: give each chunk one
    banner: { js: "import { createRequire as __trademl_createRequire } from 'node:module'; const require = __trademl_createRequire(import.meta.url);" },
    plugins: [
      {
        name: 'external-unless-bundled',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) => (args.kind === 'entry-point' || BUNDLED.has(packageOf(args.path)) ? undefined : { path: args.path, external: true }));
          b.onLoad({ filter: DUCKDB_API }, async (args) => {
            const src = await readFile(args.path, 'utf8');
            if (!DUCKDB_REQUIRE.test(src)) throw new Error(`${args.path}: expected createRequire(import.meta.url)('@duckdb/node-api'); update bin/bundle.mjs to match lib/duckdb_api.ts`);
            return { contents: src.replace(DUCKDB_REQUIRE, "require('@duckdb/node-api')"), loader: 'js' };
          });
        },
      },
    ],
  });
}
