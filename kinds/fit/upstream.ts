import { z } from 'zod';
import { StepError } from '../../lib/errors.ts';
import { artifactRefSchema, type StepContext, type StepOutputs } from '../types.ts';

/**
 * The unique succeeded upstream step produced by one of `kinds` (direct `needs` first, then
 * transitive ancestors). Throws a non-retryable StepError naming what is missing or ambiguous.
 */
export function findUpstream(ctx: StepContext, kinds: string[], what: string): { id: string; uses: string; outputs: StepOutputs } {
  const all = Object.entries(ctx.ancestors).filter(([, u]) => kinds.includes(u.uses) && u.status === 'succeeded');
  const direct = all.filter(([id]) => id in ctx.inputs);
  const pick = direct.length > 0 ? direct : all;
  if (pick.length === 0) {
    throw new StepError(
      { message: `${ctx.stepId} (${ctx.uses}) needs ${what}: no succeeded upstream step of kind ${kinds.join(' or ')} — add one to this step's needs`, type: 'MissingInput', nonRetryable: true },
    );
  }
  if (pick.length > 1) {
    throw new StepError(
      { message: `${ctx.stepId} (${ctx.uses}): ${pick.length} upstream steps provide ${what} (${pick.map(([id, u]) => `${id}: ${u.uses}`).join(', ')}); ` +
        `list exactly one of them in needs (or set with.labels to pick the label kind)`, type: 'AmbiguousInput', nonRetryable: true },
    );
  }
  const [id, up] = pick[0]!;
  return { id, uses: up.uses, outputs: up.outputs };
}

/** Parses an upstream output field with a schema; throws a StepError naming the step and field. */
export function upstreamField<T extends z.ZodType>(up: { id: string; uses: string; outputs: StepOutputs }, field: string, schema: T): z.output<T> {
  const r = schema.safeParse(up.outputs[field]);
  if (!r.success) {
    throw new StepError(
      { message: `upstream step ${up.id} (${up.uses}) output "${field}" is missing or malformed (${r.error.issues[0]?.message ?? 'invalid'}); see docs/contracts.md`, type: 'BadInput', nonRetryable: true },
    );
  }
  return r.data;
}

export const refSchema = artifactRefSchema;
