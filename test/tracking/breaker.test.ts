import { describe, expect, it } from 'vitest';
import { BreakerOpenError, CircuitBreaker, type BreakerChange } from '../../tracking/breaker.ts';
import { GuardedTracker, isTrackerOutage, observerTrackingOptionsFromEnv } from '../../tracking/guarded.ts';
import { TrackerError, type Tracker } from '../../tracking/types.ts';

const outage = () => new TrackerError('MLflow GET version failed: ECONNREFUSED', 'ECONNREFUSED');
const badRequest = () => new TrackerError('invalid key', 'INVALID_PARAMETER_VALUE', 400);

function breaker(cooldownMs = 1000) {
  let t = 0;
  const changes: BreakerChange[] = [];
  const b = new CircuitBreaker({ isOutage: isTrackerOutage, cooldownMs, maxCooldownMs: 3000, now: () => t });
  b.onChange((c) => changes.push(c));
  return { b, changes, advance: (ms: number) => (t += ms) };
}

describe('circuit breaker of the tracking path', () => {
  it('opens on the first outage, then fails fast without calling until the cooldown has passed', async () => {
    const { b, changes, advance } = breaker();
    let calls = 0;
    const failing = async () => {
      calls++;
      throw outage();
    };
    await expect(b.run(failing)).rejects.toThrow(/ECONNREFUSED/);
    expect(b.state).toBe('open');
    for (let i = 0; i < 5; i++) await expect(b.run(failing)).rejects.toBeInstanceOf(BreakerOpenError);
    expect(calls).toBe(1);
    expect(b.skipped).toBe(5);
    expect(changes).toEqual([expect.objectContaining({ state: 'open', firstOpen: true, retryInMs: 1000, reason: 'MLflow GET version failed: ECONNREFUSED' })]);
    advance(999);
    await expect(b.run(failing)).rejects.toBeInstanceOf(BreakerOpenError);
    expect(calls).toBe(1);
  });

  it('lets one probe through after the cooldown; a failed probe doubles the cooldown (capped), a good one closes', async () => {
    const { b, changes, advance } = breaker();
    await expect(b.run(async () => Promise.reject(outage()))).rejects.toThrow();
    advance(1000);
    expect(b.state).toBe('half-open');
    // While the probe is in flight, other calls still fail fast.
    let release!: () => void;
    const probe = b.run(() => new Promise<never>((_, reject) => (release = () => reject(outage()))));
    await expect(b.run(async () => 'other')).rejects.toBeInstanceOf(BreakerOpenError);
    release();
    await expect(probe).rejects.toThrow(/ECONNREFUSED/);
    expect(changes.at(-1)).toMatchObject({ state: 'open', firstOpen: false, retryInMs: 2000 });
    advance(2000);
    await expect(b.run(async () => Promise.reject(outage()))).rejects.toThrow();
    expect(changes.at(-1)).toMatchObject({ state: 'open', retryInMs: 3000 });
    advance(3000);
    await expect(b.run(async () => 'answered')).resolves.toBe('answered');
    expect(b.state).toBe('closed');
    expect(changes.at(-1)).toEqual({ state: 'closed' });
    // Closed again: the next outage starts over at the first cooldown.
    await expect(b.run(async () => Promise.reject(outage()))).rejects.toThrow();
    expect(changes.at(-1)).toMatchObject({ state: 'open', firstOpen: true, retryInMs: 1000 });
  });

  it('a bad request neither opens the breaker nor fails a probe (the server answered)', async () => {
    const { b, advance } = breaker();
    await expect(b.run(async () => Promise.reject(badRequest()))).rejects.toThrow(/invalid key/);
    expect(b.state).toBe('closed');
    await expect(b.run(async () => Promise.reject(outage()))).rejects.toThrow();
    advance(1000);
    await expect(b.run(async () => Promise.reject(badRequest()))).rejects.toThrow(/invalid key/);
    expect(b.state).toBe('closed');
  });

  it('counts as outages: no answer, 5xx/429, refused credentials, unusable servers, a locked local DB; not a request\'s own problem', () => {
    const yes = [outage(), new TrackerError('t', 'ETIMEDOUT'), new TrackerError('x', 'HTTP_503', 503), new TrackerError('x', 'HTTP_429', 429), new TrackerError('x', 'HTTP_401', 401), new TrackerError('old', 'SERVER_TOO_OLD'), new TrackerError('x', 'HOST_NOT_ALLOWED', 403), new TrackerError('locked', 'LOCKED')];
    const no = [badRequest(), new TrackerError('x', 'RESOURCE_DOES_NOT_EXIST', 404), new TrackerError('x', 'ARTIFACTS_NOT_PROXIED', 503), new TrackerError('x', 'EXPERIMENT_DELETED', 400), new Error('a bug, not an outage')];
    expect(yes.map(isTrackerOutage)).toEqual(yes.map(() => true));
    expect(no.map(isTrackerOutage)).toEqual(no.map(() => false));
  });

  it('reads the observer path settings from the environment, ignoring values that are not positive integers', () => {
    expect(observerTrackingOptionsFromEnv({})).toEqual({ timeoutMs: 5000, artifactTimeoutMs: 120000, cooldownMs: 30000 });
    expect(observerTrackingOptionsFromEnv({ TRADEML_TRACKING_TIMEOUT_MS: '250', TRADEML_TRACKING_ARTIFACT_TIMEOUT_MS: '-1', TRADEML_TRACKING_COOLDOWN_MS: 'soon' })).toEqual({ timeoutMs: 250, artifactTimeoutMs: 120000, cooldownMs: 30000 });
  });
});

describe('guarded tracker', () => {
  /** A tracker whose every method records its name and throws `fail` (or answers `ok`). */
  function recorder(name: string, calls: string[], fail?: () => Error): Tracker {
    return new Proxy({ kind: 'mlflow', location: `http://${name}` } as Tracker, {
      get(target, prop) {
        if (prop in target) return target[prop as keyof Tracker];
        return async () => {
          calls.push(`${name}.${String(prop)}`);
          if (fail) throw fail();
          return 'ok';
        };
      },
    });
  }

  it('sends artifact transfers to the artifact client, and refuses every call without I/O once an outage opened the breaker', async () => {
    const calls: string[] = [];
    const t = new GuardedTracker(recorder('meta', calls), { artifacts: recorder('files', calls) });
    await t.logBatch('r', {});
    await t.logArtifact('r', '/tmp/x', 'x');
    await t.listArtifacts('r');
    expect(calls).toEqual(['meta.logBatch', 'files.logArtifact', 'files.listArtifacts']);
    expect(t.off).toBe(false);

    const down: string[] = [];
    const g = new GuardedTracker(recorder('meta', down, outage));
    await expect(g.getOrCreateExperiment('e')).rejects.toThrow(/ECONNREFUSED/);
    expect(g.off).toBe(true);
    await expect(g.logBatch('r', {})).rejects.toBeInstanceOf(BreakerOpenError);
    await expect(g.createModelVersion({ name: 'm', source: 's', runId: 'r' })).rejects.toBeInstanceOf(BreakerOpenError);
    expect(down).toEqual(['meta.getOrCreateExperiment']);
  });
});
