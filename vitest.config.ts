import { defineConfig } from 'vitest/config';

// TRADEML_VITEST_JSON=<file> additionally writes vitest's JSON results there (used by .ci/run).
const json = process.env.TRADEML_VITEST_JSON;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['test/support/temp_root.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    maxWorkers: 2,
    reporters: json ? ['default', 'json'] : ['default'],
    outputFile: json ? { json } : undefined,
  },
});
