import { describe, it } from 'vitest';
import { MlflowTracker, mlflowOptionsFromEnv } from '../../tracking/mlflow.ts';
import { trackerContract } from './support/contract.ts';
import { mlflowLiveSuite } from './support/mlflowLive.ts';
import { pyfuncSuite } from './support/pyfuncCheck.ts';

// Every MLflow check that needs a real server: the tracker contract, idempotency under lost
// answers, misconfigured-server errors, and the Python client loading a registered version.
// `bash scripts/servers/up.sh && . .servers/env` provides the server (CI does it in .ci/run).
const opts = mlflowOptionsFromEnv();
if (opts) {
  trackerContract(`mlflow REST (real server ${new URL(opts.uri).host})`, async () => ({ tracker: new MlflowTracker(opts) }));
  mlflowLiveSuite(opts);
  pyfuncSuite(opts);
} else {
  const line = 'SKIPPED live MLflow suites: MLFLOW_TRACKING_URI is not set; run `bash scripts/servers/install.sh && bash scripts/servers/up.sh && . .servers/env` first';
  console.warn(`[test/tracking/mlflow.real.test.ts] ${line}`);
  describe('mlflow (real server)', () => {
    it.skip(line, () => {});
  });
}
