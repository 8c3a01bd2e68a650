/**
 * When the run loop polls its host for decisions recorded elsewhere (embedded: other CLI processes
 * through the run store). A wide DAG of short steps ticks every few ms and each poll is a query, so
 * the loop polls at most once per interval; a poll skipped here is due when the interval is up (the
 * loop's wait ends then), so the throttle never holds a decision back longer than the interval.
 * Pure (part of the Temporal workflow bundle, though only the embedded host polls).
 */
export class PollThrottle {
  private lastAt = -Infinity;
  /** When a poll skipped by the throttle is due (host time, ms); undefined when none is. */
  dueAt: number | undefined;

  /** `intervalMs`: the host's poll interval, ms. */
  constructor(private readonly intervalMs: number) {}

  /** Whether to poll at `now` (ms); when not, the skipped poll becomes due at the interval's end. */
  take(now: number): boolean {
    if (now - this.lastAt < this.intervalMs) {
      this.dueAt = this.lastAt + this.intervalMs;
      return false;
    }
    this.lastAt = now;
    this.dueAt = undefined;
    return true;
  }
}
