/**
 * Issue 17: on Temporal each worker process has its own tracking observer, and the gate's
 * `stepFinished` can reach one that never saw the fits. The observation carries the run and every
 * step finished so far (ObserveRequest `stepFinished.steps`), so that observer still registers the
 * challenger, under the promote step's model name, from the observation and not from memory.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { LocalTracker } from '../../tracking/local.ts';
import { ModelRegistry } from '../../tracking/registry.ts';
import { TrackingObserver } from '../../tracking/trackingObserver.ts';
import { tempDir } from '../support/context.ts';
import { nightlyRunFixture } from './support/fixtures.ts';

describe('challenger registration across worker processes', () => {
  it('an observer that saw only the gate registers the challenger from the observation context', async () => {
    const home = tempDir('trademl-workers-home-');
    const store = new ArtifactStore(path.join(home, 'artifacts'));
    const tracker = new LocalTracker(path.join(home, 'tracking.duckdb'), store);
    try {
      const fx = await nightlyRunFixture(store, { runId: 'workers-1', gatePassed: true, approval: 'pending' });
      const gateAt = fx.steps.findIndex((s) => s.stepId === 'gate');
      const before = fx.steps.slice(0, gateAt).filter((s) => !fx.approvals.includes(s.stepId));
      // worker A observes the run start and the fits; worker B (its own observer) only the gate
      const a = new TrackingObserver({ tracker, store, home });
      await a.runStarted(fx.run);
      for (const s of before) await a.stepFinished(s, { run: fx.run });
      const b = new TrackingObserver({ tracker, store, home });
      await b.stepFinished(fx.steps[gateAt]!, { run: fx.run, steps: before });

      const overview = await new ModelRegistry(tracker).show('equities_xs');
      expect(overview.challenger?.version).toBe('1');
      expect(overview.challenger?.tags).toMatchObject({ 'trademl.run_id': 'workers-1' });
    } finally {
      await tracker.close();
    }
  });
});
