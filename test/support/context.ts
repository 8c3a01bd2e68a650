import { mkdtempSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ArtifactStore } from '../../artifacts/store.ts';
import type { StepContext, StepKind, StepOutputs } from '../../kinds/types.ts';
import { PROJECT_ROOT, dataRoot } from '../../lib/paths.ts';

/** A fresh temp folder for a test. */
export function tempDir(prefix = 'trademl-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A StepContext for calling a step kind's `run` directly in a unit test. */
export function makeTestContext(over: Partial<StepContext> & { store?: ArtifactStore } = {}): StepContext {
  const root = tempDir();
  const workDir = path.join(root, 'work');
  mkdirSync(workDir, { recursive: true });
  return {
    runId: 'test-run',
    pipeline: 'test',
    stepId: 'step',
    uses: 'test',
    attempt: 1,
    params: {},
    inputs: {},
    ancestors: {},
    artifacts: over.store ?? new ArtifactStore(path.join(root, 'artifacts')),
    home: over.store ? path.dirname(over.store.root) : root,
    workDir,
    projectRoot: PROJECT_ROOT,
    dataRoot: dataRoot(),
    log: pino({ level: 'silent' }),
    progress: () => {},
    signal: new AbortController().signal,
    ...over,
  };
}

/**
 * Runs a step kind the way the hosts do: parses `with` through the kind's schema (defaults applied),
 * runs it, and validates the outputs against its output schema.
 */
export async function runKind(kind: StepKind, withArgs: unknown, ctx: StepContext): Promise<StepOutputs> {
  const w = kind.with.parse(withArgs ?? {});
  const out = await kind.run({ ...ctx, uses: kind.uses }, w);
  return kind.outputs.parse(out) as StepOutputs;
}
