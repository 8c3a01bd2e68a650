/**
 * A small circuit breaker for best-effort calls (tracking from the run loop). Closed: calls go
 * through. The first call that fails with an outage (as `isOutage` decides) opens it. Open: calls
 * fail at once with {@link BreakerOpenError}, without touching the service, until the cooldown has
 * passed; then one call goes through as a probe (half-open) while the others still fail fast. A
 * probe that answers closes the breaker; one that fails with an outage opens it again with twice
 * the cooldown (capped). A failure that is not an outage (a bad request) leaves the state as it is,
 * and as a probe it proves the service answers.
 *
 * Written here rather than taken from opossum or cockatiel only because dependencies are declared
 * in package.json, which this module's owners do not edit; the behaviour is the textbook one.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

/** Thrown without calling the service while the breaker is open (or half-open with its probe in flight). */
export class BreakerOpenError extends Error {
  override name = 'BreakerOpenError';
  readonly code = 'BREAKER_OPEN';
  constructor(
    /** Message of the failure that opened the breaker. */
    readonly reason: string,
    /** Epoch ms when the next probe may go through. */
    readonly retryAt: number,
  ) {
    super(`skipped: the service is off since: ${reason}`);
  }
}

export interface BreakerOptions {
  /** True for failures that say the service is unavailable (they open the breaker). */
  isOutage(err: unknown): boolean;
  /** How long the breaker stays open before the first probe, ms (default 30 s). */
  cooldownMs?: number;
  /** Longest cooldown after repeated failed probes, ms (default 10 min). */
  maxCooldownMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/** What a state change tells its listeners. */
export type BreakerChange =
  | { state: 'open'; reason: string; error: unknown; retryInMs: number; firstOpen: boolean }
  | { state: 'closed' };

/** See the module comment. One breaker per service (per tracker), shared by every caller. */
export class CircuitBreaker {
  private open = false;
  private probing = false;
  private retryAt = 0;
  private cooldown: number;
  private lastReason = '';
  private readonly listeners: Array<(c: BreakerChange) => void> = [];
  private readonly now: () => number;
  /** Calls refused while open, since the breaker last opened. */
  skipped = 0;

  constructor(private readonly opts: BreakerOptions) {
    this.cooldown = opts.cooldownMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  /** Current state: closed, open, or half-open (a probe is due or in flight). */
  get state(): BreakerState {
    if (!this.open) return 'closed';
    return this.probing || this.now() >= this.retryAt ? 'half-open' : 'open';
  }

  /** Milliseconds until the next probe may go through (0 while closed or when a probe is due). */
  get msToProbe(): number {
    return this.open ? Math.max(0, this.retryAt - this.now()) : 0;
  }

  /** Message of the failure that last opened the breaker ('' when it never opened). */
  get reason(): string {
    return this.lastReason;
  }

  /** Registers a listener for state changes (open after closed, closed after open, reopened after a failed probe). */
  onChange(listener: (c: BreakerChange) => void): void {
    this.listeners.push(listener);
  }

  /** Runs `fn` through the breaker; throws {@link BreakerOpenError} at once while open. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const probe = this.open;
    if (probe) {
      if (this.probing || this.now() < this.retryAt) {
        this.skipped++;
        throw new BreakerOpenError(this.lastReason, this.retryAt);
      }
      this.probing = true;
    }
    try {
      const out = await fn();
      if (probe || this.open) this.close();
      return out;
    } catch (err) {
      if (this.opts.isOutage(err)) this.trip(err, probe);
      else if (probe) this.close();
      throw err;
    } finally {
      if (probe) this.probing = false;
    }
  }

  private trip(err: unknown, probe: boolean): void {
    if (this.open && !probe) return; // a call that was in flight when another one opened the breaker
    const firstOpen = !this.open;
    if (probe) this.cooldown = Math.min(this.cooldown * 2, this.opts.maxCooldownMs ?? 600_000);
    this.open = true;
    this.lastReason = err instanceof Error ? err.message : String(err);
    this.retryAt = this.now() + this.cooldown;
    if (firstOpen) this.skipped = 0;
    this.emit({ state: 'open', reason: this.lastReason, error: err, retryInMs: this.cooldown, firstOpen });
  }

  private close(): void {
    if (!this.open) return;
    this.open = false;
    this.cooldown = this.opts.cooldownMs ?? 30_000;
    this.emit({ state: 'closed' });
  }

  private emit(c: BreakerChange): void {
    for (const l of this.listeners) l(c);
  }
}
