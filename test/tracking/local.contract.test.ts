import path from 'node:path';
import { ArtifactStore } from '../../artifacts/store.ts';
import { LocalTracker } from '../../tracking/local.ts';
import { tempDir } from '../support/context.ts';
import { trackerContract } from './support/contract.ts';

trackerContract('local (DuckDB + artifact store)', async () => {
  const home = tempDir('trademl-local-tracker-');
  return { tracker: new LocalTracker(path.join(home, 'tracking.duckdb'), new ArtifactStore(path.join(home, 'artifacts'))) };
});
