/** Small pure helpers of the run loop: event payloads for the run's event log, durations in words. */
import type { EngineEvent } from './scheduler.ts';

/** A duration in ms as the shortest exact unit (72h, 30m, 10s, 500ms). */
export function formatMs(ms: number): string {
  for (const [u, n] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms >= n && ms % n === 0) return `${ms / n}${u}`;
  return `${ms}ms`;
}

/** The JSON payload recorded with an engine event in the run's event log. */
export function eventData(ev: EngineEvent): unknown {
  switch (ev.type) {
    case 'failed':
      return { error: ev.error, nonRetryable: ev.nonRetryable ?? false };
    case 'succeeded':
      return { cacheHit: ev.cacheHit ?? false };
    case 'approved':
    case 'rejected':
      return { by: ev.by, comment: ev.comment ?? '' };
    case 'reset':
      return { stepIds: ev.stepIds };
    default:
      return undefined;
  }
}
