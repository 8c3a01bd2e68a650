import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ArtifactStore } from '../../artifacts/store.ts';
import { isTrackerOutage } from '../../tracking/guarded.ts';
import { LocalTracker } from '../../tracking/local.ts';
import { tempDir } from '../support/context.ts';
import { trackerContract } from './support/contract.ts';

trackerContract('local (DuckDB + artifact store)', async () => {
  const home = tempDir('trademl-local-tracker-');
  return { tracker: new LocalTracker(path.join(home, 'tracking.duckdb'), new ArtifactStore(path.join(home, 'artifacts'))) };
});

describe('local tracker: metric order across trackers of one file', () => {
  it('two trackers of one file interleaving same-step metrics keep the logging order (seq shared), also after the file is reopened', async () => {
    const home = tempDir('trademl-local-seq-');
    const file = path.join(home, 'tracking.duckdb');
    const store = new ArtifactStore(path.join(home, 'artifacts'));
    const a = new LocalTracker(file, store);
    const b = new LocalTracker(file, store);
    const exp = await a.getOrCreateExperiment('seq');
    const run = await a.createRun({ experimentId: exp });
    const m = (value: number) => ({ metrics: [{ key: 'x', value, timestamp: 1_700_000_000_000, step: 0 }] });
    await a.logBatch(run.runId, m(1));
    await b.logBatch(run.runId, m(2));
    await a.logBatch(run.runId, m(3));
    await a.close();
    await b.logBatch(run.runId, m(4));
    expect((await a.getMetricHistory(run.runId, 'x')).map((h) => h.value)).toEqual([1, 2, 3, 4]);
    expect((await b.getRun(run.runId)).metrics.find((x) => x.key === 'x')?.value).toBe(4);
    // a refused batch (a param changed) writes none of its metrics or tags
    await a.logBatch(run.runId, { params: [{ key: 'p', value: 'one' }] });
    await expect(a.logBatch(run.runId, { ...m(5), params: [{ key: 'p', value: 'two' }], tags: [{ key: 't', value: 'v' }] })).rejects.toThrow(/immutable/);
    const data = await a.getRun(run.runId);
    expect(data.metrics.find((x) => x.key === 'x')?.value).toBe(4);
    expect(data.tags.find((t) => t.key === 't')).toBeUndefined();
    await a.logBatch(run.runId, m(6));
    expect((await a.getMetricHistory(run.runId, 'x')).map((h) => h.value)).toEqual([1, 2, 3, 4, 6]);
  });

  it('logRuns writes all of its runs or none: a refused param leaves the other runs and the new run unwritten', async () => {
    const home = tempDir('trademl-local-logruns-');
    const t = new LocalTracker(path.join(home, 'tracking.duckdb'), new ArtifactStore(path.join(home, 'artifacts')));
    const exp = await t.getOrCreateExperiment('atomic');
    const parent = await t.createRun({ experimentId: exp, runName: 'parent' });
    await t.logBatch(parent.runId, { params: [{ key: 'p', value: 'one' }] });
    const write = (value: string) => t.logRuns([
      { run: { runId: parent.runId }, params: [{ key: 'p', value }], tags: [{ key: 't', value: 'v' }], metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0 }] },
      { run: { create: { experimentId: exp, runName: 'child', tags: { k: 'v' } } }, end: { status: 'FINISHED', endTime: 2 } },
    ]);
    await expect(write('two')).rejects.toThrow(/immutable/);
    const data = await t.getRun(parent.runId);
    expect(data.tags.find((x) => x.key === 't')).toBeUndefined();
    expect(data.metrics).toEqual([]);
    expect(await t.searchRuns(exp, { k: 'v' })).toEqual([]);
    const [, child] = await write('one'); // the held value again: accepted, everything written
    expect((await t.getRun(child!)).info.status).toBe('FINISHED');
    expect((await t.getRun(parent.runId)).tags.find((x) => x.key === 't')?.value).toBe('v');
    await t.close();
  });
});


describe('local tracker: a file it cannot open', () => {
  it('names the file and what to do, without blaming a lock, and counts as an outage (runs go on untracked)', async () => {
    const home = tempDir('trademl-local-bad-');
    const file = path.join(home, 'tracking.duckdb');
    writeFileSync(file, 'not a DuckDB database, just text written over the tracker\n'.repeat(200));
    const t = new LocalTracker(file, new ArtifactStore(path.join(home, 'artifacts')));
    const err = await t.getOrCreateExperiment('x').then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ name: 'TrackerError', code: 'DB_UNOPENABLE' });
    expect(String((err as Error).message)).toContain(file);
    expect(String((err as Error).message)).toMatch(/move it aside/);
    expect(String((err as Error).message)).not.toMatch(/another process/);
    expect(isTrackerOutage(err)).toBe(true);
  });
});
