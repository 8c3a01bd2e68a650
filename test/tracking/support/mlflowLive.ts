import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import got from 'got';
import { afterEach, describe, expect, it } from 'vitest';
import { MlflowTracker, REQUEST_ID_TAG, type MlflowOptions } from '../../../tracking/mlflow.ts';
import { MIN_MLFLOW_VERSION, olderThan, parseVersion } from '../../../tracking/mlflowErrors.ts';
import { TrackerError } from '../../../tracking/types.ts';
import { tempDir } from './tmp.ts';
import { FaultProxy } from './faultProxy.ts';

/**
 * Live checks of the MLflow tracker against a real server: idempotent creates under lost answers,
 * and the errors for misconfigured servers (Host-header check, artifacts not proxied, deleted
 * experiment). Faults are made by a {@link FaultProxy} in front of the real server.
 */
export function mlflowLiveSuite(opts: MlflowOptions): void {
  const sfx = randomUUID().slice(0, 8);
  const proxies: FaultProxy[] = [];
  const direct = new MlflowTracker(opts);
  const api = got.extend({ prefixUrl: `${direct.location}/api/2.0/mlflow`, responseType: 'json', retry: { limit: 0 } });
  afterEach(async () => {
    while (proxies.length) await proxies.pop()!.stop();
  });
  const proxied = async (host?: string) => {
    const p = new FaultProxy(direct.location, { host });
    proxies.push(p);
    await p.start();
    return { proxy: p, tracker: new MlflowTracker({ ...opts, uri: p.url, backoffMs: 20, retries: 3 }) };
  };

  describe(`mlflow live: idempotency and misconfigured servers (${new URL(direct.location).host})`, () => {
    it('reads the server version and accepts it', async () => {
      const v = parseVersion(await direct.serverVersion());
      expect(v).toBeDefined();
      expect(olderThan(v!, parseVersion(MIN_MLFLOW_VERSION)!)).toBe(false);
    });

    it('a runs/create whose answer is lost after the commit is found by its request id, not created twice', async () => {
      const { proxy, tracker } = await proxied();
      const exp = await tracker.getOrCreateExperiment(`live-idem-runs-${sfx}`);
      proxy.rules.push({ match: /^POST .*\/runs\/create$/, action: 'drop-answer', times: 1 });
      const run = await tracker.createRun({ experimentId: exp, runName: 'once', tags: { k: 'v' } });
      const creates = proxy.seen.filter((r) => r.path.endsWith('/runs/create'));
      expect(creates.map((r) => [r.outcome, r.status])).toEqual([['drop-answer', 200]]); // committed, answer lost, never re-sent
      expect(proxy.seen.some((r) => r.path.endsWith('/runs/search'))).toBe(true);
      const all = await direct.searchRuns(exp, {});
      expect(all.map((r) => r.runId)).toEqual([run.runId]);
      const data = await direct.getRun(run.runId);
      expect(data.tags.find((t) => t.key === 'k')?.value).toBe('v');
      expect(data.tags.some((t) => t.key === REQUEST_ID_TAG)).toBe(false); // bookkeeping stays hidden

      proxy.rules.push({ match: /^POST .*\/runs\/create$/, action: 'fail-503', times: 1 });
      const second = await tracker.createRun({ experimentId: exp, runName: 'twice-sent' });
      expect(proxy.seen.filter((r) => r.path.endsWith('/runs/create')).slice(1).map((r) => r.outcome)).toEqual(['fail-503', 'forwarded']);
      expect((await direct.searchRuns(exp, {})).map((r) => r.runId).sort()).toEqual([run.runId, second.runId].sort());
    });

    it('a model-versions/create whose answer is lost is found by its request id: one version, not two', async () => {
      const { proxy, tracker } = await proxied();
      const name = `live_idem_model_${sfx}`;
      const run = await tracker.createRun({ experimentId: await tracker.getOrCreateExperiment(`live-idem-mv-${sfx}`) });
      await tracker.ensureRegisteredModel(name);
      proxy.rules.push({ match: /^POST .*\/model-versions\/create$/, action: 'drop-answer', times: 1 });
      const v = await tracker.createModelVersion({ name, source: `${run.artifactUri}/model`, runId: run.runId, tags: { 'trademl.run_id': 'r1' } });
      expect(v.version).toBe('1');
      expect(v.tags).toEqual({ 'trademl.run_id': 'r1' });
      expect(proxy.seen.filter((r) => r.path.endsWith('/model-versions/create')).map((r) => r.outcome)).toEqual(['drop-answer']);
      expect((await direct.listModelVersions(name)).map((x) => x.version)).toEqual(['1']);
    });

    it('a Host header outside --allowed-hosts gets an error that names the flag and the host', async () => {
      const { tracker } = await proxied('tracking.example.invalid:5000');
      const err = (await tracker.getOrCreateExperiment(`live-host-${sfx}`).catch((e: unknown) => e)) as TrackerError;
      expect(err).toBeInstanceOf(TrackerError);
      expect(err.code).toBe('HOST_NOT_ALLOWED');
      expect(err.httpStatus).toBe(403);
      expect(err.message).toMatch(/--allowed-hosts "127\.0\.0\.1:\d+"/);
      expect(err.message).toMatch(/MLFLOW_SERVER_ALLOWED_HOSTS/);
    });

    it('a deleted experiment is refused with how to restore or rename it; restored, it works again', async () => {
      const name = `live-deleted-${sfx}`;
      const id = await direct.getOrCreateExperiment(name);
      await api.post('experiments/delete', { json: { experiment_id: id } });
      const err = (await direct.getOrCreateExperiment(name).catch((e: unknown) => e)) as TrackerError;
      expect(err.code).toBe('EXPERIMENT_DELETED');
      expect(err.message).toContain(`mlflow experiments restore --experiment-id ${id}`);
      expect(err.message).toMatch(/rename/);
      const run = (await direct.createRun({ experimentId: id }).catch((e: unknown) => e)) as TrackerError;
      expect(run.code).toBe('EXPERIMENT_DELETED');
      expect(run.message).toMatch(/Restore it/);
      await api.post('experiments/restore', { json: { experiment_id: id } });
      expect(await direct.getOrCreateExperiment(name)).toBe(id);
    });

    it('an experiment whose artifacts the server does not proxy gets an error naming --serve-artifacts', async () => {
      const dir = tempDir('trademl-mlflow-unproxied-');
      const r = await api.post('experiments/create', { json: { name: `live-unproxied-${sfx}`, artifact_location: dir } }).json<{ experiment_id: string }>();
      const run = await direct.createRun({ experimentId: r.experiment_id });
      expect(run.artifactUri.startsWith('mlflow-artifacts:')).toBe(false);
      const file = path.join(dir, 'x.json');
      writeFileSync(file, '{}');
      const err = (await direct.logArtifact(run.runId, file, 'x.json').catch((e: unknown) => e)) as TrackerError;
      expect(err.code).toBe('ARTIFACTS_NOT_PROXIED');
      expect(err.message).toMatch(/--serve-artifacts/);
      expect(err.message).toContain(run.artifactUri);
    });
  });
}
