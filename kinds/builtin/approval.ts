import { z } from 'zod';
import { DURATION_RE } from '../../lib/duration.ts';
import { defineStepKind } from '../types.ts';

/** Outputs recorded when an approval step is decided. */
export const approvalOutputs = z.object({
  approved: z.boolean(),
  by: z.string(),
  at: z.string(),
  comment: z.string().default(''),
});

/**
 * Human approval. The host (local runtime or Temporal workflow) parks the run in
 * `waiting_approval` until `trademl approve|reject` (or the Temporal Update) decides it;
 * past `timeout` the step fails. `show` names upstream steps whose outputs the approver sees.
 */
export const approval = defineStepKind({
  uses: 'approval',
  version: '1',
  description: 'Waits for a human approve/reject (CLI or Temporal Update); fails on reject or timeout.',
  with: z
    .object({
      timeout: z.string().regex(DURATION_RE, 'a duration such as 72h').default('72h'),
      show: z.array(z.string()).default([]),
      instructions: z.string().default(''),
    })
    .strict(),
  outputs: approvalOutputs,
  async run() {
    // Hosts intercept approval steps before execution (engine action `await_approval`).
    throw new Error('approval steps are decided by the host (trademl approve / Temporal Update), never executed as activities');
  },
});
