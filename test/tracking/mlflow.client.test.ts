import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import got from 'got';
import { MlflowTracker, mlflowOptionsFromEnv } from '../../tracking/mlflow.ts';
import { TrackerError } from '../../tracking/types.ts';
import { StrictMlflowServer } from './support/mlflowServer.ts';

const servers: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.stop();
});

async function strict(opts: ConstructorParameters<typeof StrictMlflowServer>[0] = {}) {
  const s = new StrictMlflowServer(opts);
  await s.start();
  servers.push(s);
  return s;
}

describe('strict MLflow test server (the contract the client is held to)', () => {
  it('rejects unknown fields, over-limit batches and non-JSON bodies like the documented API', async () => {
    const s = await strict();
    const api = got.extend({ prefixUrl: `${s.url}/api/2.0/mlflow`, throwHttpErrors: false, responseType: 'json', retry: { limit: 0 } });
    const unknown = await api.post('experiments/create', { json: { name: 'x', colour: 'red' } });
    expect(unknown.statusCode).toBe(400);
    expect((unknown.body as unknown as { error_code: string }).error_code).toBe('INVALID_PARAMETER_VALUE');
    const exp = await api.post('experiments/create', { json: { name: 'e' } });
    const run = await api.post('runs/create', { json: { experiment_id: (exp.body as unknown as { experiment_id: string }).experiment_id } });
    const runId = (run.body as unknown as { run: { info: { run_id: string } } }).run.info.run_id;
    const tooMany = await api.post('runs/log-batch', { json: { run_id: runId, params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: '1' })) } });
    expect(tooMany.statusCode).toBe(400);
    expect(JSON.stringify(tooMany.body)).toMatch(/at most 100 params/);
    const metrics = Array.from({ length: 1001 }, (_, i) => ({ key: 'm', value: i, timestamp: 1, step: i }));
    expect((await api.post('runs/log-batch', { json: { run_id: runId, metrics } })).statusCode).toBe(400);
    const mixed = await api.post('runs/log-batch', {
      json: { run_id: runId, metrics: metrics.slice(0, 950), tags: Array.from({ length: 60 }, (_, i) => ({ key: `t${i}`, value: '1' })) },
    });
    expect(mixed.statusCode).toBe(400);
    expect(JSON.stringify(mixed.body)).toMatch(/in total/);
    const noTs = await api.post('runs/log-batch', { json: { run_id: runId, metrics: [{ key: 'm', value: 1 }] } });
    expect(noTs.statusCode).toBe(400);
    const longDigest = await api.post('runs/log-inputs', { json: { run_id: runId, datasets: [{ dataset: { name: 'd', digest: 'x'.repeat(37), source_type: 'local', source: '/x' } }] } });
    expect(longDigest.statusCode).toBe(400);
  });

  it('every request the client sends for a large batch stays within the limits', async () => {
    const s = await strict();
    const t = new MlflowTracker({ uri: s.url, backoffMs: 1 });
    const run = await t.createRun({ experimentId: await t.getOrCreateExperiment('limits') });
    await t.logBatch(run.runId, {
      metrics: Array.from({ length: 3001 }, (_, i) => ({ key: 'loss', value: 1 / (i + 1), timestamp: 1_700_000_000_000 + i, step: i })),
      params: Array.from({ length: 205 }, (_, i) => ({ key: `p${i}`, value: String(i) })),
      tags: Array.from({ length: 120 }, (_, i) => ({ key: `t${i}`, value: String(i) })),
    });
    const batches = s.requests.filter((r) => r.path.endsWith('/runs/log-batch'));
    expect(batches.every((r) => r.status === 200)).toBe(true);
    const sizes = batches.map((r) => {
      const b = r.body as { metrics?: unknown[]; params?: unknown[]; tags?: unknown[] };
      return [b.metrics?.length ?? 0, b.params?.length ?? 0, b.tags?.length ?? 0];
    });
    for (const [m, p, tg] of sizes) {
      expect(m).toBeLessThanOrEqual(1000);
      expect(p).toBeLessThanOrEqual(100);
      expect(tg).toBeLessThanOrEqual(100);
      expect(m! + p! + tg!).toBeLessThanOrEqual(1000);
    }
    expect(sizes.reduce((a, [m, p, tg]) => [a[0]! + m!, a[1]! + p!, a[2]! + tg!], [0, 0, 0])).toEqual([3001, 205, 120]);
    expect((await t.getMetricHistory(run.runId, 'loss')).length).toBe(3001);
  });
});

describe('MLflow tracker transport', () => {
  it('retries 429 and 5xx with backoff (honouring Retry-After) and then succeeds', async () => {
    const s = await strict();
    s.faults.push({ match: /^POST .*experiments\/create$/, status: 503, times: 2 });
    s.faults.push({ match: /^GET .*experiments\/get-by-name$/, status: 429, times: 1, retryAfterSeconds: 0 });
    const t = new MlflowTracker({ uri: s.url, backoffMs: 1, retries: 3 });
    const id = await t.getOrCreateExperiment('retry-me');
    expect(id).toMatch(/^\d+$/);
    const creates = s.requests.filter((r) => r.path.endsWith('experiments/create'));
    expect(creates.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(s.requests.filter((r) => r.path.endsWith('get-by-name')).map((r) => r.status)).toEqual([429, 404]);
    expect(s.requests[0]!.path).toBe('/version');
  });

  it('gives up after the retry limit with the endpoint and status in the error', async () => {
    const s = await strict();
    s.faults.push({ match: /experiments\/get-by-name$/, status: 500, times: 10 });
    const t = new MlflowTracker({ uri: s.url, backoffMs: 1, retries: 2 });
    const err = (await t.getOrCreateExperiment('x').catch((e: unknown) => e)) as TrackerError;
    expect(err).toBeInstanceOf(TrackerError);
    expect(err.httpStatus).toBe(500);
    expect(err.message).toMatch(/experiments\/get-by-name failed: 500/);
    expect(s.requests.filter((r) => r.path !== '/version').length).toBe(3);
  });

  it('does not retry client errors (4xx other than 429)', async () => {
    const s = await strict();
    const t = new MlflowTracker({ uri: s.url, backoffMs: 1, retries: 3 });
    await expect(t.getRun('nope')).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST', httpStatus: 404 });
    expect(s.requests.filter((r) => r.path !== '/version').length).toBe(1);
  });

  it('sends a bearer token, and never puts it in error messages', async () => {
    const s = await strict({ token: 's3cr3t-token' });
    await new MlflowTracker({ uri: s.url, token: 's3cr3t-token' }).getOrCreateExperiment('auth');
    expect(s.requests.every((r) => r.authorization === 'Bearer s3cr3t-token')).toBe(true);
    const bad = new MlflowTracker({ uri: s.url, token: 'wrong-token-value', retries: 0 });
    const err = (await bad.getOrCreateExperiment('auth').catch((e: unknown) => e)) as TrackerError;
    expect(err.httpStatus).toBe(401);
    expect(err.message).toMatch(/MLFLOW_TRACKING_TOKEN/);
    expect(err.message + JSON.stringify(err)).not.toMatch(/wrong-token-value/);
  });

  it('uses basic auth from options or from user:pass in the URI, and hides credentials from location', async () => {
    const s = await strict({ basic: { username: 'ann', password: 'p@ss' } });
    const viaUri = new MlflowTracker({ uri: s.url.replace('http://', 'http://ann:p%40ss@') });
    expect(viaUri.location).toBe(s.url);
    await viaUri.getOrCreateExperiment('basic');
    const viaOpts = new MlflowTracker({ uri: s.url, username: 'ann', password: 'p@ss' });
    await viaOpts.getOrCreateExperiment('basic');
    expect(s.requests.every((r) => r.status === 200 || r.status === 404)).toBe(true);
  });

  it('times out a hanging server and reports it as a TrackerError', async () => {
    const hanging = http.createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    const sockets = new Set<import('node:net').Socket>();
    hanging.on('connection', (sock) => sockets.add(sock));
    servers.push({
      stop: () =>
        new Promise<void>((r) => {
          for (const sock of sockets) sock.destroy();
          hanging.close(() => r());
        }),
    });
    const t = new MlflowTracker({ uri: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`, timeoutMs: 150, retries: 1, backoffMs: 1 });
    const err = (await t.getOrCreateExperiment('slow').catch((e: unknown) => e)) as TrackerError;
    expect(err).toBeInstanceOf(TrackerError);
    expect(err.code).toBe('ETIMEDOUT');
  });

  it('a 503 from a server without --serve-artifacts is not retried and says how to fix it', async () => {
    const s = await strict();
    s.faults.push({ match: /^PUT \/api\/2\.0\/mlflow-artifacts\/artifacts\//, status: 503, times: 5, text: 'Endpoint: /api/2.0/mlflow-artifacts/artifacts/<path:artifact_path> disabled due to the mlflow server running with `--no-serve-artifacts`. To enable artifacts server functionality, run `mlflow server` with `--serve-artifacts`' });
    const t = new MlflowTracker({ uri: s.url, backoffMs: 1, retries: 3 });
    const run = await t.createRun({ experimentId: await t.getOrCreateExperiment('a') });
    const err = (await t.logArtifact(run.runId, import.meta.filename, 'x.ts').catch((e: unknown) => e)) as TrackerError;
    expect(err.code).toBe('ARTIFACTS_NOT_PROXIED');
    expect(err.message).toMatch(/restart it with --serve-artifacts/i);
    expect(s.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  it('checks the server version once, before the first call, and refuses a server older than 2.4', async () => {
    const ok = await strict();
    const t = new MlflowTracker({ uri: ok.url });
    await t.getOrCreateExperiment('v');
    await t.getOrCreateExperiment('v');
    expect(ok.requests.filter((r) => r.path === '/version')).toHaveLength(1);
    expect(ok.requests[0]!.path).toBe('/version');
    const old = await strict({ version: '2.1.1' });
    const err = (await new MlflowTracker({ uri: old.url }).getOrCreateExperiment('v').catch((e: unknown) => e)) as TrackerError;
    expect(err.code).toBe('SERVER_TOO_OLD');
    expect(err.message).toMatch(/version 2\.1\.1; TradeML needs MLflow ≥ 2\.4\.0/);
    expect(old.requests.map((r) => r.path)).toEqual(['/version']); // nothing else was sent
    const other = await strict({ version: '<html>hello</html>' });
    await expect(new MlflowTracker({ uri: other.url }).getRun('x')).rejects.toMatchObject({ code: 'NOT_MLFLOW' });
  });

  it('a transient failure of the version check is not remembered', async () => {
    const s = await strict();
    s.faults.push({ match: /^GET \/version$/, status: 500, times: 1 });
    const t = new MlflowTracker({ uri: s.url, retries: 0 });
    await expect(t.getOrCreateExperiment('x')).rejects.toMatchObject({ httpStatus: 500 });
    expect(await t.getOrCreateExperiment('x')).toMatch(/^\d+$/);
  });

  it('an unreachable server is named with how to start one', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = (await new MlflowTracker({ uri: `http://127.0.0.1:${port}`, retries: 0 }).getRun('x').catch((e: unknown) => e)) as TrackerError;
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.message).toMatch(/scripts\/servers\/up\.sh/);
  });

  it('reads its configuration from the standard MLflow environment variables', () => {
    expect(mlflowOptionsFromEnv({})).toBeUndefined();
    expect(mlflowOptionsFromEnv({ MLFLOW_TRACKING_URI: 'file:///tmp/mlruns' })).toBeUndefined();
    expect(mlflowOptionsFromEnv({ MLFLOW_TRACKING_URI: 'http://h:5000', MLFLOW_TRACKING_TOKEN: 't', MLFLOW_TRACKING_USERNAME: 'u' })).toMatchObject({
      uri: 'http://h:5000',
      token: 't',
      username: 'u',
    });
  });
});
