import { mkdtempSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ArtifactStore } from '../../artifacts/store.ts';
import { contractId } from '../../contracts/define.ts';
import type { UpstreamView } from '../../engine/upstream.ts';
import { inputApi } from '../../executor/inputs.ts';
import { STEP_KINDS } from '../../kinds/registry.ts';
import type { AnyStepKind, StepContext, StepOutputs } from '../../kinds/types.ts';
import { PROJECT_ROOT, dataRoot } from '../../lib/paths.ts';
import { bindInputs } from '../../spec/bindings.ts';

/** A fresh temp folder for a test. */
export function tempDir(prefix = 'trademl-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** An upstream step of a test context: its kind, outputs and (optionally) its own needs among the others. */
export interface TestUpstream {
  uses: string;
  outputs: StepOutputs;
  status?: UpstreamView['status'];
  needs?: string[];
}

export interface TestContextOptions extends Partial<Omit<StepContext, 'input' | 'inputs' | 'maybeInput' | 'ancestors'>> {
  store?: ArtifactStore;
  /** The kind under test: its consumed inputs are bound to `upstream` with the spec's binding rule. */
  kind?: AnyStepKind;
  /** Upstream steps by id; the step under test needs those no other upstream step needs. */
  upstream?: Record<string, TestUpstream>;
  /** Explicit bindings, as pipelines.yaml `inputs:` would give them. */
  bind?: Record<string, string | string[]>;
  /** Extra kinds (test fixtures) the upstream steps use, beside the registered ones. */
  kinds?: AnyStepKind[];
}

/**
 * A StepContext for calling a step kind's `run` directly in a unit test. Inputs are bound exactly
 * as the compiler binds them (spec/bindings.ts), so a test exercises the same wiring a pipeline does.
 * Throws when the binding has problems (missing or ambiguous inputs), with the binder's message.
 */
/** Where a test context keeps its upstream, so {@link runKind} can bind them for the kind it runs. */
const UPSTREAM = Symbol('test-upstream');

export function makeTestContext(o: TestContextOptions = {}): StepContext {
  const root = tempDir();
  const workDir = path.join(root, 'work');
  mkdirSync(workDir, { recursive: true });
  const upstream = o.upstream ?? {};
  const stepId = o.stepId ?? 'step';
  const extra = o.kinds ?? [];
  const views: Record<string, UpstreamView> = {};
  for (const [id, u] of Object.entries(upstream)) {
    const k = STEP_KINDS.get(u.uses) ?? extra.find((x) => x.uses === u.uses) ?? (o.kind?.uses === u.uses ? o.kind : undefined);
    views[id] = {
      uses: u.uses,
      status: u.status ?? 'succeeded',
      outputs: u.outputs,
      provides: Object.fromEntries(Object.entries(k?.provides ?? {}).map(([key, c]) => [key, contractId(c)])),
    };
  }
  const inputs = o.kind ? bindFor(o.kind, stepId, upstream, o.bind, views, extra) : inputApi({ id: stepId, uses: 'test', inputs: {} }, {}, {});
  const { store, kind: _kind, upstream: _up, bind: _bind, ...rest } = o;
  return {
    runId: 'test-run',
    pipeline: 'test',
    stepId,
    uses: o.kind?.uses ?? 'test',
    attempt: 1,
    params: {},
    inputsKey: 'sha256:test-inputs',
    ...inputs,
    ancestors: views,
    artifacts: store ?? new ArtifactStore(path.join(root, 'artifacts')),
    home: store ? path.dirname(store.root) : root,
    workDir,
    projectRoot: PROJECT_ROOT,
    dataRoot: dataRoot(),
    log: pino({ level: 'silent' }),
    progress: () => {},
    signal: new AbortController().signal,
    ...rest,
    [UPSTREAM]: { upstream, bind: o.bind, views, kind: o.kind?.uses, extra },
  } as StepContext;
}

/** The input API of `kind` at step `stepId` below `upstream`, bound with the compiler's rule. */
function bindFor(kind: AnyStepKind, stepId: string, upstream: Record<string, TestUpstream>, bind: Record<string, string | string[]> | undefined, views: Record<string, UpstreamView>, extra: AnyStepKind[] = []) {
  const kinds = new Map(STEP_KINDS);
  for (const k of extra) kinds.set(k.uses, k);
  kinds.set(kind.uses, kind);
  const needed = new Set(Object.values(upstream).flatMap((u) => u.needs ?? []));
  const steps = [
    ...Object.entries(upstream).map(([id, u]) => ({ id, uses: u.uses, needs: u.needs ?? [] })),
    { id: stepId, uses: kind.uses, needs: Object.keys(upstream).filter((id) => !needed.has(id)), inputs: bind },
  ];
  const bound = bindInputs(steps, kinds);
  const mine = bound.problems.filter((p) => p.step === stepId);
  if (mine.length) throw new Error(`test context for ${kind.uses}: ${mine.map((p) => `${p.message} — ${p.hint}`).join('; ')}`);
  return inputApi({ id: stepId, uses: kind.uses, inputs: bound.bindings[stepId] ?? {} }, kind.consumes ?? {}, views);
}

/**
 * Runs a step kind the way the hosts do: parses `with` through the kind's schema (defaults applied),
 * runs it, and validates the outputs against its output schema.
 */
export async function runKind(kind: AnyStepKind, withArgs: unknown, ctx: StepContext): Promise<StepOutputs> {
  const w = kind.with.parse(withArgs ?? {});
  const t = (ctx as unknown as Record<symbol, { upstream: Record<string, TestUpstream>; bind?: Record<string, string | string[]>; views: Record<string, UpstreamView>; kind?: string; extra: AnyStepKind[] } | undefined>)[UPSTREAM];
  const inputs = t && t.kind !== kind.uses ? bindFor(kind, ctx.stepId, t.upstream, t.bind, t.views, t.extra) : {};
  const out = await kind.run({ ...ctx, ...inputs, uses: kind.uses }, w);
  return kind.outputs.parse(out) as StepOutputs;
}

/** A test context for `kind` whose inputs are bound to `upstream` (see {@link makeTestContext}). */
export function contextFor(kind: AnyStepKind, upstream: Record<string, TestUpstream>, o: Omit<TestContextOptions, 'kind' | 'upstream'> = {}): StepContext {
  return makeTestContext({ ...o, kind, upstream });
}
