import { describe, it } from 'vitest';
import { MlflowTracker, mlflowOptionsFromEnv } from '../../tracking/mlflow.ts';
import { trackerContract } from './support/contract.ts';
import { mlflowLiveSuite } from './support/mlflowLive.ts';
import { nestedRunsSuite, viaMlflowRest } from './support/nested.ts';
import { pyfuncSuite } from './support/pyfuncCheck.ts';

// Every MLflow check that needs a real server: the tracker contract, idempotency under lost
// answers, misconfigured-server errors, the Python client loading a registered version, and the
// observer's parent/child runs (test/tracking/support/nested.ts).
// `bash scripts/servers/up.sh && . .servers/env` provides the server (CI does it in .ci/run).
const opts = mlflowOptionsFromEnv();
if (opts) {
  trackerContract(`mlflow REST (real server ${new URL(opts.uri).host})`, async () => ({ tracker: new MlflowTracker(opts) }));
  mlflowLiveSuite(opts);
  pyfuncSuite(opts);
  // Parent/child runs through the tracking observer, read back with MLflow's REST runs/search.
  nestedRunsSuite(`mlflow (real server ${new URL(opts.uri).host})`, async () => {
    const tracker = new MlflowTracker(opts);
    const auth: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : opts.username ? { authorization: `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}` } : {};
    return viaMlflowRest(tracker, tracker.location, auth);
  });
} else {
  const line = 'SKIPPED live MLflow suites: MLFLOW_TRACKING_URI is not set; run `bash scripts/servers/install.sh && bash scripts/servers/up.sh && . .servers/env` first';
  console.warn(`[test/tracking/mlflow.real.test.ts] ${line}`);
  describe('mlflow (real server)', () => {
    it.skip(line, () => {});
  });
}
