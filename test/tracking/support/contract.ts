import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry, ALIAS } from '../../../tracking/registry.ts';
import { TrackerError, type Metric, type Tracker } from '../../../tracking/types.ts';
import { linearOnnx } from './fixtures.ts';
import { tempDir } from './tmp.ts';

/**
 * The tracker contract: every Tracker implementation (local DuckDB, MLflow over REST against the
 * strict test server, MLflow against a real server) must pass the same suite. Names carry a random
 * suffix so the suite can run against a shared real server.
 */
export function trackerContract(label: string, setup: () => Promise<{ tracker: Tracker; teardown?: () => Promise<void> }>): void {
  describe(`tracker contract: ${label}`, () => {
    let tracker: Tracker;
    let teardown: (() => Promise<void>) | undefined;
    const sfx = randomUUID().slice(0, 8);
    const dir = tempDir('trademl-contract-');

    beforeAll(async () => {
      ({ tracker, teardown } = await setup());
    });
    afterAll(async () => {
      await tracker?.close();
      await teardown?.();
    });

    it('creates experiments once and finds them by name', async () => {
      const name = `contract-exp-${sfx}`;
      expect(await tracker.getExperimentByName(name)).toBeUndefined();
      const id = await tracker.getOrCreateExperiment(name);
      expect(await tracker.getOrCreateExperiment(name)).toBe(id);
      expect((await tracker.getExperimentByName(name))?.experimentId).toBe(id);
    });

    it('creates, updates, fetches and searches runs', async () => {
      const exp = await tracker.getOrCreateExperiment(`contract-runs-${sfx}`);
      const a = await tracker.createRun({ experimentId: exp, runName: 'a', startTime: 1_700_000_000_000, tags: { 'trademl.run_id': `r-a-${sfx}`, kind: 'x' } });
      const b = await tracker.createRun({ experimentId: exp, runName: 'b', startTime: 1_700_000_100_000, tags: { 'trademl.run_id': `r-b-${sfx}`, kind: 'x' } });
      expect(a.status).toBe('RUNNING');
      const upd = await tracker.updateRun(a.runId, { status: 'FINISHED', endTime: 1_700_000_050_000 });
      expect(upd.status).toBe('FINISHED');
      expect(upd.endTime).toBe(1_700_000_050_000);
      const got = await tracker.getRun(a.runId);
      expect(got.info.runName).toBe('a');
      expect(got.info.startTime).toBe(1_700_000_000_000);
      expect(got.tags.find((t) => t.key === 'trademl.run_id')?.value).toBe(`r-a-${sfx}`);
      const found = await tracker.searchRuns(exp, { 'trademl.run_id': `r-b-${sfx}` });
      expect(found.map((r) => r.runId)).toEqual([b.runId]);
      const both = await tracker.searchRuns(exp, { kind: 'x' });
      expect(both.map((r) => r.runId)).toEqual([b.runId, a.runId]); // newest first
      expect(await tracker.searchRuns(exp, { kind: 'nope' })).toEqual([]);
      await expect(tracker.getRun('0'.repeat(32))).rejects.toBeInstanceOf(TrackerError);
    });

    it('splits large batches within the limits and keeps every value', async () => {
      const exp = await tracker.getOrCreateExperiment(`contract-batch-${sfx}`);
      const run = await tracker.createRun({ experimentId: exp });
      const metrics: Metric[] = [];
      for (let i = 0; i < 2500; i++) metrics.push({ key: `m${i % 5}`, value: i / 10, timestamp: 1_700_000_000_000 + i, step: i });
      const params = Array.from({ length: 250 }, (_, i) => ({ key: `p${String(i).padStart(3, '0')}`, value: `v${i}` }));
      const tags = Array.from({ length: 230 }, (_, i) => ({ key: `t${String(i).padStart(3, '0')}`, value: `w${i}` }));
      await tracker.logBatch(run.runId, { metrics, params, tags });
      const data = await tracker.getRun(run.runId);
      expect(data.params).toHaveLength(250);
      expect(data.params.find((p) => p.key === 'p249')?.value).toBe('v249');
      expect(data.tags.filter((t) => t.key.startsWith('t'))).toHaveLength(230);
      const latest = Object.fromEntries(data.metrics.map((m) => [m.key, m]));
      expect(latest.m4!.value).toBeCloseTo(249.9, 9);
      expect(latest.m4!.step).toBe(2499);
      const hist = await tracker.getMetricHistory(run.runId, 'm0');
      expect(hist).toHaveLength(500);
      expect(hist.map((h) => h.step)).toEqual(Array.from({ length: 500 }, (_, i) => i * 5));
    });

    it('keeps params immutable but accepts identical re-logging; tags overwrite', async () => {
      const exp = await tracker.getOrCreateExperiment(`contract-params-${sfx}`);
      const run = await tracker.createRun({ experimentId: exp });
      await tracker.logBatch(run.runId, { params: [{ key: 'lr', value: '0.1' }], tags: [{ key: 'stage', value: 'one' }] });
      await tracker.logBatch(run.runId, { params: [{ key: 'lr', value: '0.1' }], tags: [{ key: 'stage', value: 'two' }] });
      const err = await tracker.logBatch(run.runId, { params: [{ key: 'lr', value: '0.2' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrackerError);
      expect((err as TrackerError).code).toBe('INVALID_PARAMETER_VALUE');
      const data = await tracker.getRun(run.runId);
      expect(data.params.find((p) => p.key === 'lr')?.value).toBe('0.1');
      expect(data.tags.find((t) => t.key === 'stage')?.value).toBe('two');
    });

    it('records lineage inputs with full digests', async () => {
      const exp = await tracker.getOrCreateExperiment(`contract-inputs-${sfx}`);
      const run = await tracker.createRun({ experimentId: exp });
      const digest = 'sha256:' + 'ab'.repeat(32);
      await tracker.logInputs(run.runId, [
        { name: 'ohlcv', digest, sourceType: 'artifact', source: `artifact://sha256/${'ab'.repeat(32)}.parquet`, tags: { 'mlflow.data.context': 'training' } },
        { name: 'plan', digest: 'sha256:' + 'cd'.repeat(32), sourceType: 'plan', source: 'pipelines.yaml#nightly' },
      ]);
      const data = await tracker.getRun(run.runId);
      expect(data.inputs.map((i) => [i.name, i.digest])).toEqual([
        ['ohlcv', digest],
        ['plan', 'sha256:' + 'cd'.repeat(32)],
      ]);
      expect(data.inputs[0]!.tags).toEqual({ 'mlflow.data.context': 'training' });
    });

    it('uploads, lists and downloads artifacts byte for byte', async () => {
      const exp = await tracker.getOrCreateExperiment(`contract-art-${sfx}`);
      const run = await tracker.createRun({ experimentId: exp });
      const src = path.join(dir, 'blob.bin');
      const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) % 256));
      writeFileSync(src, bytes);
      const js = path.join(dir, 'm.json');
      writeFileSync(js, '{"a":1}');
      await tracker.logArtifact(run.runId, src, 'model/model.onnx');
      await tracker.logArtifact(run.runId, js, 'model/metrics.json');
      await tracker.logArtifact(run.runId, js, 'report.json');
      const root = await tracker.listArtifacts(run.runId);
      expect(root.map((f) => [f.path, f.isDir]).sort()).toEqual([
        ['model', true],
        ['report.json', false],
      ]);
      const sub = await tracker.listArtifacts(run.runId, 'model');
      expect(sub.map((f) => f.path).sort()).toEqual(['model/metrics.json', 'model/model.onnx']);
      expect(sub.find((f) => f.path === 'model/model.onnx')?.fileSize).toBe(4096);
      const dest = path.join(dir, 'down', 'model.onnx');
      mkdirSync(path.dirname(dest), { recursive: true });
      await tracker.downloadArtifact(run.runId, 'model/model.onnx', dest);
      expect(readFileSync(dest).equals(bytes)).toBe(true);
      await expect(tracker.downloadArtifact(run.runId, 'model/missing.bin', path.join(dir, 'x'))).rejects.toBeInstanceOf(TrackerError);
    });

    it('logs several runs in one logRuns: an existing run filled, a new one created, filled and ended', async () => {
      const exp = await tracker.getOrCreateExperiment(`contract-logruns-${sfx}`);
      const parent = await tracker.createRun({ experimentId: exp, runName: 'parent' });
      const js = path.join(dir, 'child.json');
      writeFileSync(js, '{"ic":0.01}');
      const ts = 1_700_000_000_000;
      const ids = await tracker.logRuns([
        { run: { runId: parent.runId }, metrics: [{ key: 'steps.fit.ic', value: 0.01, timestamp: ts, step: 0 }], params: [{ key: 'steps.fit.with', value: '{}' }], tags: [{ key: 'steps.fit.status', value: 'succeeded' }] },
        {
          run: { create: { experimentId: exp, runName: 'fit (fit.cpcv)', startTime: ts - 5000, tags: { 'mlflow.parentRunId': parent.runId, stage: 'created' } } },
          params: [{ key: 'lr', value: '0.1' }],
          metrics: [{ key: 'ic', value: 0.5, timestamp: ts, step: 0 }, { key: 'ic', value: 0.25, timestamp: ts, step: 1 }],
          tags: [{ key: 'stage', value: 'ended' }],
          inputs: [{ name: 'features', digest: 'sha256:' + 'ef'.repeat(32), sourceType: 'artifact', source: 'artifact://x' }],
          artifacts: [{ localPath: js, artifactPath: 'out/metrics.json' }],
          end: { status: 'FINISHED', endTime: ts },
        },
      ]);
      expect(ids[0]).toBe(parent.runId);
      const p = await tracker.getRun(parent.runId);
      expect(p.params.find((x) => x.key === 'steps.fit.with')?.value).toBe('{}');
      expect(p.metrics.find((x) => x.key === 'steps.fit.ic')?.value).toBeCloseTo(0.01, 12);
      expect(p.info.status).toBe('RUNNING');
      const c = await tracker.getRun(ids[1]!);
      expect(c.info).toMatchObject({ runName: 'fit (fit.cpcv)', status: 'FINISHED', startTime: ts - 5000, endTime: ts });
      expect(c.tags.find((t) => t.key === 'mlflow.parentRunId')?.value).toBe(parent.runId);
      expect(c.tags.find((t) => t.key === 'stage')?.value).toBe('ended');
      expect(c.params).toEqual([{ key: 'lr', value: '0.1' }]);
      expect((await tracker.getMetricHistory(ids[1]!, 'ic')).map((m) => [m.step, m.value])).toEqual([[0, 0.5], [1, 0.25]]);
      expect(c.inputs.map((i) => i.name)).toEqual(['features']);
      expect((await tracker.listArtifacts(ids[1]!, 'out')).map((f) => f.path)).toEqual(['out/metrics.json']);
      // the same write again on the existing runs: identical params accepted, a changed one refused
      await tracker.logRuns([{ run: { runId: ids[1]! }, params: [{ key: 'lr', value: '0.1' }], artifacts: [{ localPath: js, artifactPath: 'out/metrics.json' }] }]);
      const err = await tracker.logRuns([{ run: { runId: ids[1]! }, params: [{ key: 'lr', value: '0.2' }] }]).catch((e: unknown) => e);
      expect((err as TrackerError).code).toBe('INVALID_PARAMETER_VALUE');
      await expect(tracker.logRuns([{ run: { runId: '0'.repeat(32) }, tags: [{ key: 'a', value: 'b' }] }])).rejects.toBeInstanceOf(TrackerError);
    });

    it('registers models and versions and moves aliases', async () => {
      const name = `contract_model_${sfx}`;
      const exp = await tracker.getOrCreateExperiment(`contract-reg-${sfx}`);
      const run = await tracker.createRun({ experimentId: exp });
      expect(await tracker.getRegisteredModel(name)).toBeUndefined();
      await tracker.ensureRegisteredModel(name, 'contract');
      await tracker.ensureRegisteredModel(name, 'contract');
      const v1 = await tracker.createModelVersion({ name, source: `${run.artifactUri}/model`, runId: run.runId, tags: { 'trademl.run_id': 'r1' } });
      const v2 = await tracker.createModelVersion({ name, source: `${run.artifactUri}/model`, runId: run.runId, tags: { 'trademl.run_id': 'r2' } });
      expect([v1.version, v2.version]).toEqual(['1', '2']);
      expect(v1.runId).toBe(run.runId);
      await tracker.setAlias(name, 'champion', '1');
      await tracker.setAlias(name, 'previous-champion', '2');
      expect((await tracker.getVersionByAlias(name, 'champion'))?.version).toBe('1');
      await tracker.setAlias(name, 'champion', '2');
      const champ = await tracker.getVersionByAlias(name, 'champion');
      expect(champ?.version).toBe('2');
      expect(champ?.aliases.sort()).toEqual(['champion', 'previous-champion']);
      expect(champ?.tags['trademl.run_id']).toBe('r2');
      await tracker.deleteAlias(name, 'previous-champion');
      await tracker.deleteAlias(name, 'previous-champion');
      expect(await tracker.getVersionByAlias(name, 'previous-champion')).toBeUndefined();
      const model = await tracker.getRegisteredModel(name);
      expect(model?.aliases).toEqual([{ alias: 'champion', version: '2' }]);
      await tracker.setModelVersionTag(name, '1', 'note', 'old');
      expect((await tracker.getModelVersion(name, '1'))?.tags.note).toBe('old');
      const versions = await tracker.listModelVersions(name);
      expect(versions.map((v) => [v.version, v.aliases])).toEqual([
        ['2', ['champion']],
        ['1', []],
      ]);
      expect((await tracker.listRegisteredModels()).some((m) => m.name === name)).toBe(true);
      await expect(tracker.setAlias(name, 'latest', '1')).rejects.toBeInstanceOf(TrackerError);
      await expect(tracker.setAlias(name, 'v3', '1')).rejects.toBeInstanceOf(TrackerError);
      await expect(tracker.setAlias(name, 'champion', '9')).rejects.toBeInstanceOf(TrackerError);
      expect(await tracker.getModelVersion(name, '9')).toBeUndefined();
    });

    it('promotes through champion/previous-champion, rolls back, and leaves aliases alone otherwise', async () => {
      const reg = new ModelRegistry(tracker);
      const model = `contract_promo_${sfx}`;
      const files = path.join(dir, 'files');
      mkdirSync(files, { recursive: true });
      const onnxBytes = linearOnnx([0.5, -1]);
      writeFileSync(path.join(files, 'model.onnx'), onnxBytes);
      writeFileSync(path.join(files, 'features.json'), JSON.stringify({ feature_names: ['mom_5', 'vol_20'] }));
      const register = (runId: string) =>
        reg.registerCandidate({
          model,
          experiment: `contract-promo-${sfx}`,
          trademlRunId: runId,
          pipeline: 'nightly',
          files: { onnx: path.join(files, 'model.onnx'), featureList: path.join(files, 'features.json') },
          lineage: { plan_digest: 'sha256:' + '0'.repeat(64) },
          summary: { mean_rank_ic: 0.031 },
          workDir: path.join(dir, `w-${runId}`),
        });
      const approve = { approved: true, by: 'alice', at: '2024-01-02T03:04:05Z', comment: 'ok' };
      const v1 = await register(`run1-${sfx}`);
      expect((await register(`run1-${sfx}`)).version).toBe(v1.version); // idempotent per run
      // The MLflow model format is written beside model.onnx at registration.
      expect((await tracker.listArtifacts(v1.runId, 'model')).map((f) => f.path).sort()).toEqual(['model/MLmodel', 'model/feature_list.json', 'model/lineage.json', 'model/manifest.json', 'model/model.onnx', 'model/python_env.yaml', 'model/requirements.txt']);
      await reg.setChallenger(model, v1.version);
      expect((await reg.show(model)).challenger?.version).toBe(v1.version);
      const p1 = await reg.promote(model, v1.version, approve);
      expect(p1).toEqual({ champion: v1.version, previousChampion: undefined, changed: true });
      expect((await reg.show(model)).challenger).toBeUndefined();
      expect((await reg.promote(model, v1.version, approve)).changed).toBe(false);

      const v2 = await register(`run2-${sfx}`);
      await reg.setChallenger(model, v2.version);
      await reg.promote(model, v2.version, { ...approve, by: 'bob' });
      let s = await reg.show(model);
      expect([s.champion?.version, s.previousChampion?.version, s.challenger?.version]).toEqual([v2.version, v1.version, undefined]);
      expect(s.champion?.tags['trademl.approved_by']).toBe('bob');
      expect(s.champion?.tags['trademl.metric.mean_rank_ic']).toBe('0.031');

      const v3 = await register(`run3-${sfx}`);
      await reg.setChallenger(model, v3.version);
      await reg.recordDecision(model, v3.version, { ...approve, approved: false, comment: 'worse IC' });
      await expect(reg.promote(model, v3.version, { ...approve, approved: false })).rejects.toThrow(/rejection/);
      s = await reg.show(model);
      expect([s.champion?.version, s.previousChampion?.version]).toEqual([v2.version, v1.version]);
      expect(s.versions.find((v) => v.version === v3.version)?.tags['trademl.approval']).toBe('rejected');

      expect(await reg.rollback(model)).toEqual({ champion: v1.version, previousChampion: v2.version });
      expect((await reg.resolve(`${model}@champion`)).version).toBe(v1.version);
      expect((await reg.resolve(model)).version).toBe(v1.version);
      expect((await reg.resolve(`${model}/${v2.version}`)).version).toBe(v2.version);
      await expect(reg.resolve(`${model}@nosuch`)).rejects.toThrow(/no alias "nosuch"/);

      const fetched = await reg.fetchFiles(await reg.resolve(`${model}@champion`), path.join(dir, 'fetched'));
      expect(readFileSync(fetched.onnx).equals(Buffer.from(onnxBytes))).toBe(true);
      expect(JSON.parse(readFileSync(fetched.lineage!, 'utf8'))).toEqual({ plan_digest: 'sha256:' + '0'.repeat(64) });
      expect(fetched.trainingConfig).toBeUndefined();
    });

    it('names the alias set in the registry overview', async () => {
      const reg = new ModelRegistry(tracker);
      await expect(reg.show(`missing_${sfx}`)).rejects.toThrow(/no registered model/);
      await expect(reg.rollback(`missing_${sfx}`)).rejects.toThrow(/no registered model/);
      expect(ALIAS.previous).toBe('previous-champion');
    });
  });
}
