#!/usr/bin/env node
// Entry point of the `trademl` CLI: the bundle of the compiled tree (dist/compiled/bundle, `npm run
// build`: bin/bundle.mjs) when it was built from the sources as they are (bin/compiled.mjs), else
// the TypeScript sources through tsx.
import { compiledIsCurrent } from './compiled.mjs';

if (compiledIsCurrent()) {
  if (process.env.TRADEML_DEBUG) process.stderr.write('trademl: running dist/compiled\n');
  await import('../dist/compiled/bundle/cli/main.js');
} else {
  if (process.env.TRADEML_DEBUG) process.stderr.write('trademl: running from source (dist/compiled missing or older than the sources; `npm run build`)\n');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
