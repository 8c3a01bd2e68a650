import path from 'node:path';
import type { ArtifactStore } from '../../../artifacts/store.ts';
import type { UpstreamView } from '../../../engine/upstream.ts';
import { inputApi } from '../../../executor/inputs.ts';
import type { AnyStepKind, StepContext } from '../../../kinds/types.ts';
import { bindInputs } from '../../../spec/bindings.ts';
import type { StepRecord } from '../../../tracking/observer.ts';
import { makeTestContext, tempDir } from '../../support/context.ts';
import { TEST_KINDS } from './kinds.ts';

/** Upstream views of a run's step records, as a downstream step's host builds them. */
export function upstreamViews(records: readonly StepRecord[]): Record<string, UpstreamView> {
  return Object.fromEntries(
    records.map((s) => [
      s.stepId,
      {
        uses: s.uses,
        status: s.status === 'cancelled' ? 'failed' : s.status,
        outputs: s.outputs,
        provides: s.provides ?? {},
        ...(s.error ? { error: s.error } : {}),
        ...(TEST_KINDS.get(s.uses)?.control ? { control: true as const } : {}),
      } satisfies UpstreamView,
    ]),
  );
}

/**
 * A context for running `kind` after the steps of `records` (a run's step records), its inputs
 * bound with the spec's binding rule over the registered and the fixture kinds: the step needs the
 * records no other record needs. Throws on binding problems, with the binder's messages.
 */
export function contextAfter(kind: AnyStepKind, records: readonly StepRecord[], o: { store: ArtifactStore; runId: string; pipeline?: string; params?: Record<string, unknown>; workDir?: string; stepId?: string; bind?: Record<string, string | string[]> }): StepContext {
  const stepId = o.stepId ?? kind.uses.replace(/\W/g, '_');
  const needed = new Set(records.flatMap((r) => r.needs ?? []));
  const steps = [
    ...records.map((r) => ({ id: r.stepId, uses: r.uses, needs: r.needs ?? [] })),
    { id: stepId, uses: kind.uses, needs: records.map((r) => r.stepId).filter((id) => !needed.has(id)), inputs: o.bind },
  ];
  const bound = bindInputs(steps, TEST_KINDS);
  const mine = bound.problems.filter((p) => p.step === stepId);
  if (mine.length) throw new Error(`binding ${kind.uses}: ${mine.map((p) => `${p.message} — ${p.hint}`).join('; ')}`);
  const views = upstreamViews(records);
  // Own string keys only: makeTestContext also keeps its (here empty) upstream under a symbol, from
  // which runKind would re-bind the kind; this context is already bound.
  const base = Object.fromEntries(Object.entries(makeTestContext({ store: o.store, runId: o.runId, pipeline: o.pipeline ?? 'nightly', params: o.params ?? {}, stepId, workDir: o.workDir ?? path.join(tempDir(), 'work') }))) as StepContext;
  return { ...base, uses: kind.uses, ...inputApi({ id: stepId, uses: kind.uses, inputs: bound.bindings[stepId] ?? {} }, kind.consumes ?? {}, views), ancestors: views };
}
