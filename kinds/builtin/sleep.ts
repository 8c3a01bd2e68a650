import { z } from 'zod';
import { DURATION_LIMITS, parseDuration } from '../../lib/duration.ts';
import { boundedDuration } from '../../spec/schema.ts';
import { StepError } from '../../lib/errors.ts';
import { defineStepKind } from '../types.ts';

/** Waits `duration` (at most 7 days), reporting progress every tick; honours cancellation. Idempotent. */
export const sleep = defineStepKind({
  uses: 'sleep',
  version: '1',
  description: 'Waits for `duration` (e.g. 2s), reporting progress.',
  with: z.object({ duration: boundedDuration('duration', { min: 0, max: DURATION_LIMITS.timer }).describe('how long to wait') }).strict(),
  outputs: z.object({ slept_ms: z.number().describe('milliseconds waited') }),
  async run(ctx, w) {
    const total = parseDuration(w.duration);
    const tick = Math.max(10, Math.min(250, total / 20));
    let done = 0;
    while (done < total) {
      if (ctx.signal.aborted) throw new StepError({ message: 'sleep aborted', type: 'Cancelled', nonRetryable: true });
      const dt = Math.min(tick, total - done);
      await new Promise((r) => setTimeout(r, dt));
      done += dt;
      ctx.progress({ fraction: done / total, current: Math.round(done), total });
    }
    return { slept_ms: total };
  },
});
