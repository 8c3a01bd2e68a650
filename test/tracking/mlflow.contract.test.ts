import { MlflowTracker } from '../../tracking/mlflow.ts';
import { StrictMlflowServer } from './support/mlflowServer.ts';
import { trackerContract } from './support/contract.ts';

// Contract test: the MLflow tracker against a strict in-process server implementing the documented
// REST API 2.0 endpoints (unknown fields and over-limit batches are rejected).
trackerContract('mlflow REST (strict test server)', async () => {
  const server = new StrictMlflowServer({ token: 'test-token' });
  const url = await server.start();
  return { tracker: new MlflowTracker({ uri: url, token: 'test-token', backoffMs: 5 }), teardown: () => server.stop() };
});
