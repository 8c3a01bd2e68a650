import type { StepContext, StepOutputs } from '../kinds/types.ts';
import type { ArtifactRef } from '../artifacts/store.ts';
import { UserError } from '../lib/errors.ts';

/** Kinds whose `table` output is canonical daily OHLCV that `qc.audit` can audit. */
export const AUDITABLE_KINDS = ['ingest.ohlcv', 'ingest.index'] as const;

/**
 * Finds the upstream ingest step whose table a `qc.audit` step audits, by producing kind (never by
 * step id): direct inputs first, then any succeeded ancestor. With several candidates, `dataset`
 * picks the one whose outputs name it. Throws UserError when none or several match.
 */
export function findUpstreamIngest(ctx: StepContext, dataset?: string): { id: string; uses: string; outputs: StepOutputs & { table: ArtifactRef; dataset: string } } {
  const all = Object.entries(ctx.ancestors).filter(([, up]) => (AUDITABLE_KINDS as readonly string[]).includes(up.uses) && up.status === 'succeeded');
  const direct = all.filter(([id]) => id in ctx.inputs);
  let pool = direct.length ? direct : all;
  if (dataset) pool = all.filter(([, up]) => up.outputs.dataset === dataset);
  if (!pool.length) {
    throw new UserError(
      `qc.audit step "${ctx.stepId}" needs an upstream ${AUDITABLE_KINDS.join(' or ')} step` +
        (dataset ? ` for dataset ${dataset}` : '') +
        ` (add it to needs:); found upstream kinds: ${[...new Set(Object.values(ctx.ancestors).map((a) => a.uses))].join(', ') || '(none)'}`,
    );
  }
  if (pool.length > 1) {
    throw new UserError(`qc.audit step "${ctx.stepId}" has ${pool.length} upstream ingest steps (${pool.map(([id]) => id).join(', ')}); set with.dataset to choose one`);
  }
  const [id, up] = pool[0]!;
  return { id, uses: up.uses, outputs: up.outputs as StepOutputs & { table: ArtifactRef; dataset: string } };
}
