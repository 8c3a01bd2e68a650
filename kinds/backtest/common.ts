import type { StepContext, UpstreamStep } from '../types.ts';
import type { ArtifactRef } from '../../artifacts/store.ts';
import { UserError } from '../../lib/errors.ts';

/** Upstream steps (transitive) produced by kind `uses`, sorted by step id for determinism. */
export function ancestorsOf(ctx: StepContext, uses: string): { id: string; step: UpstreamStep }[] {
  return Object.entries(ctx.ancestors)
    .filter(([, s]) => s.uses === uses && s.status === 'succeeded')
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([id, step]) => ({ id, step }));
}

/** The artifact ref in output `key` of an upstream step; UserError naming the step when absent. */
export function refOf(step: { id: string; step: UpstreamStep }, key: string): ArtifactRef {
  const v = step.step.outputs[key] as ArtifactRef | undefined;
  if (!v || typeof v !== 'object' || typeof v.uri !== 'string') {
    throw new UserError(`upstream step "${step.id}" (${step.step.uses}) has no artifact output "${key}"; see docs/contracts.md`);
  }
  return v;
}

/** Curated OHLCV of the single upstream `qc.audit` (required for prices, ADV and σ). */
export function curatedRef(ctx: StepContext): ArtifactRef {
  const audits = ancestorsOf(ctx, 'qc.audit');
  if (audits.length === 0) throw new UserError(`${ctx.uses} needs an upstream qc.audit step (its curated OHLCV gives execution prices, ADV and σ)`);
  if (audits.length > 1) throw new UserError(`${ctx.uses} found ${audits.length} upstream qc.audit steps (${audits.map((a) => a.id).join(', ')}); expected one`);
  return refOf(audits[0]!, 'curated');
}
