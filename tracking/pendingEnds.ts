/**
 * Run ends the tracker missed. A run that ends while tracking is off (the observer's circuit
 * breaker is open: the server timed out, refused, reset) would leave its tracker run RUNNING for
 * good, so its end is kept here and written once the breaker's cooldown has passed: a timer (unref'd,
 * so a finished CLI process does not wait; a worker keeps retrying) writes the kept ends oldest first,
 * the first one being the breaker's probe, and arms itself again while tracking stays off.
 */
import type { Logger } from '../lib/log.ts';
import type { CircuitBreaker } from './breaker.ts';

/** Writes one run's end; resolves whether it was written (failures are the writer's to log). */
export type RunEndWrite = () => Promise<boolean>;

/** See the module comment. One per observer (per tracker breaker). */
export class PendingRunEnds {
  private readonly ends = new Map<string, RunEndWrite>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly breaker: CircuitBreaker,
    private readonly log: Logger,
  ) {}

  /** Keeps run `runId`'s end (the latest one per run) and arms the retry. */
  defer(runId: string, end: RunEndWrite): void {
    this.ends.set(runId, end);
    this.log.info({ run: runId, retry_in_s: Math.round(this.breaker.msToProbe / 1000) }, 'run end not tracked while tracking is off; written when it is back (while this process runs)');
    this.arm();
  }

  /**
   * Writes the kept ends, oldest first, stopping at the first one refused while tracking is off; an
   * end the tracker answers but refuses is dropped (its writer logged why). Returns how many remain.
   */
  async flush(): Promise<number> {
    for (const [runId, end] of [...this.ends]) {
      if (this.ends.get(runId) !== end) continue; // a newer end of the same run came meanwhile
      if (await end()) {
        this.ends.delete(runId);
        this.log.info({ run: runId }, 'run end tracked now that tracking is back');
      } else if (this.breaker.state !== 'closed') break;
      else this.ends.delete(runId);
    }
    if (!this.ends.size) {
      clearTimeout(this.timer);
      this.timer = undefined;
    } else this.arm();
    return this.ends.size;
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, Math.max(1_000, this.breaker.msToProbe)).unref();
  }
}
