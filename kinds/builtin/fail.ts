import { z } from 'zod';
import { StepError } from '../../lib/errors.ts';
import { defineStepKind } from '../types.ts';

/**
 * Fails on purpose (for testing retries and failure handling): fails attempts 1..`times`
 * (all attempts when `times` is omitted) with error type `type`, then succeeds. Type
 * `DeterministicFailure` behaves like a verdict (e.g. gate.governance's GateFailed): it is cached.
 */
export const fail = defineStepKind({
  uses: 'fail',
  version: '1',
  description: 'Fails the first `times` attempts (default: always) with `message` and error type `type`.',
  with: z
    .object({
      message: z.string().max(10_000).default('failed on purpose').describe('error message'),
      times: z.number().int().positive().max(100).optional().describe('attempts that fail (default: all)'),
      type: z.string().min(1).max(128).default('IntentionalFailure').describe('error type (DeterministicFailure is cached like a verdict)'),
      non_retryable: z.boolean().default(false).describe('fail without retries'),
    })
    .strict(),
  outputs: z.object({ attempts: z.number().int().describe('the attempt that succeeded') }),
  deterministicFailures: ['DeterministicFailure'],
  async run(ctx, w) {
    if (w.times === undefined || ctx.attempt <= w.times) {
      throw new StepError({ message: `${w.message} (attempt ${ctx.attempt})`, type: w.type, nonRetryable: w.non_retryable });
    }
    return { attempts: ctx.attempt };
  },
});
