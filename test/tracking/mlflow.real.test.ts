import { describe, it } from 'vitest';
import { MlflowTracker, mlflowOptionsFromEnv } from '../../tracking/mlflow.ts';
import { trackerContract } from './support/contract.ts';

// The same contract suite against a real MLflow server, when MLFLOW_TRACKING_URI points at one.
const opts = mlflowOptionsFromEnv();
if (opts) {
  trackerContract(`mlflow REST (real server ${new URL(opts.uri).host})`, async () => ({ tracker: new MlflowTracker(opts) }));
} else {
  describe('tracker contract: mlflow REST (real server)', () => {
    it.skip('SKIPPED: set MLFLOW_TRACKING_URI=http://host:port (and MLFLOW_TRACKING_TOKEN or _USERNAME/_PASSWORD) to run the contract suite against a real MLflow server', () => {});
  });
  console.warn('[trademl] MLflow real-server contract suite skipped: MLFLOW_TRACKING_URI is not set');
}
