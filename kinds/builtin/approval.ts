import { z } from 'zod';
import { DURATION_LIMITS, parseDuration } from '../../lib/duration.ts';
import { boundedDuration } from '../../spec/schema.ts';
import { defineStepKind } from '../types.ts';

/** Outputs recorded when an approval step is decided. */
export const approvalOutputs = z.object({
  approved: z.boolean().describe('true when approved, false when rejected'),
  by: z.string().describe('who decided'),
  at: z.string().describe('when (ISO 8601)'),
  comment: z.string().default('').describe("the decider's comment"),
});

/**
 * Human approval: a control step. The host (embedded runtime or Temporal workflow) parks the run
 * until `trademl approve|reject` (or the Temporal Update) decides it; past `timeout` the step
 * fails with ApprovalTimeout. `show` names upstream steps whose outputs the approver sees.
 */
export const approval = defineStepKind({
  uses: 'approval',
  version: '1',
  description: 'Waits for a human approve/reject (CLI or Temporal Update); fails on reject or timeout.',
  with: z
    .object({
      timeout: boundedDuration('timeout', { min: 0, minExclusive: true, max: DURATION_LIMITS.human }).default('72h').describe('how long to wait for a decision before the step fails'),
      show: z.array(z.string().max(128)).max(1000).default([]).describe('step ids whose outputs the approver is shown (default: the step\'s needs)'),
      instructions: z.string().max(10_000).default('').describe('what the approver should check'),
    })
    .strict(),
  outputs: approvalOutputs,
  control: {
    type: 'approval',
    plan: (w) => ({ timeout_ms: parseDuration(w.timeout), show: w.show, instructions: w.instructions }),
  },
  async run() {
    throw new Error('approval is a control step: the host decides it (trademl approve / Temporal Update); it is never executed');
  },
});
