/**
 * Issue 17: the challenger is registered while the run waits for approval. A small real pipeline
 * (sp500_subset: a ridge sleeve and a 20-round xgboost sleeve, stacked, built into a book,
 * backtested, gated with lenient bars) runs on the real Temporal dev server with in-process cpu and
 * gpu workers, tracked in MLflow. While the workflow is `waiting_approval` the approver finds in
 * MLflow (REST): a version of the run's model with alias `challenger`, tagged with the run id and
 * the candidate's signal metrics, whose tracker run holds the gate's metrics, the lineage with the
 * verdict table, and the gate step's child run with its bars and gate_table.txt. Approved with the
 * CLI, the run succeeds, `champion` points at that version, `challenger` is cleared, and the
 * run's final report (report/report.json, .html) is on the same tracker run, naming that version.
 *
 * While the run waits, its report as it stands (report/report.html) is on that tracker run too: a
 * run waiting in place is observed when its approval starts waiting (engine/loop.ts park, patch
 * trademl-observe-waiting-approval-v1). startLive has one cpu worker; that an observer which never
 * saw the fits still registers the challenger (the observation carries the finished steps) is
 * test/tracking/observer_workers.test.ts.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasSharedData } from '../../lib/paths.ts';
import { compilePlan } from '../../spec/compile.ts';
import { validateSpecText } from '../../spec/validate.ts';
import { startPipelineRun } from '../../temporal/runs.ts';
import type { PipelineStatus } from '../../temporal/workflow/api.ts';
import { trademl } from './support/cli.ts';
import { HAS_SERVERS, eventually, mlflowRun, skipLine, startLive, waitStatus, type LiveEnv } from './support/live.ts';
import { LENIENT_BARS, gatedSleeveSteps } from '../support/trivial_pipeline.ts';

skipLine('test/temporal/challenger.live.test.ts');

const spec = (bars: string, model: string) => `version: 1
defaults: { retry: { maximum_attempts: 1 } }
pipelines:
  challenger:
    steps:
${gatedSleeveSteps(bars)}      approve:   { uses: approval, needs: [gate], if: "\${{ steps.gate.outputs.verdict.passed }}", with: { timeout: 1h, show: [gate] } }
      promote:   { uses: promote, needs: [approve], with: { model: ${model}, alias: champion } }
`;

const base = () => process.env.MLFLOW_TRACKING_URI!;
async function mlflow<T>(p: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${base()}/api/2.0/mlflow/${p}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json().catch(() => ({}))) as T };
}
interface MVersion { name: string; version: string; run_id: string; aliases?: string[]; tags?: { key: string; value: string }[] }
interface MRun { info: { run_id: string; status: string; artifact_uri?: string }; data: { metrics?: { key: string; value: number }[]; tags?: { key: string; value: string }[] } }
const kv = <V>(xs: { key: string; value: V }[] | undefined) => Object.fromEntries((xs ?? []).map((x) => [x.key, x.value])) as Record<string, V>;

const alias = async (model: string, a: string) => {
  const r = await mlflow<{ model_version?: MVersion }>(`registered-models/alias?name=${encodeURIComponent(model)}&alias=${a}`);
  return r.status === 200 ? r.json.model_version : undefined;
};
const getRun = async (id: string) => (await mlflow<{ run: MRun }>(`runs/get?run_id=${id}`)).json.run;
/** Every artifact path under `dir` of tracker run `runId` (recursively). */
async function artifacts(runId: string, dir = ''): Promise<string[]> {
  const r = await mlflow<{ files?: { path: string; is_dir: boolean }[] }>(`artifacts/list?run_id=${runId}${dir ? `&path=${encodeURIComponent(dir)}` : ''}`);
  const out: string[] = [];
  for (const f of r.json.files ?? []) out.push(...(f.is_dir ? await artifacts(runId, f.path) : [f.path]));
  return out;
}

describe.skipIf(!HAS_SERVERS || !hasSharedData())('the challenger is registered in MLflow while the run waits for approval (real Temporal)', () => {
  let env: LiveEnv;
  beforeAll(async () => {
    env = await startLive('challenger');
  }, 120_000);
  afterAll(async () => env?.close(), 60_000);

  it('waiting for approval: version with alias challenger and the gate metrics in MLflow; approved: champion is that version, the end-of-run report names it', async () => {
    const t0 = Date.now();
    const model = `t17_challenger_${Date.now().toString(36)}`;
    const bars = path.join(env.home, 'bars.yml');
    writeFileSync(bars, `path_aggregate: median\n${LENIENT_BARS}\n`);
    const plan = compilePlan(validateSpecText(spec(bars, model), 'challenger.yaml').spec!, 'challenger');
    const h = await startPipelineRun(env.client, plan, env.settings, { workflowId: `challenger-${Date.now().toString(36)}`, observe: true });
    const runId = h.workflowId;

    const waiting = await waitStatus(h, (s) => s.status === 'waiting_approval', 600_000);
    const gate = waiting.steps.find((s) => s.id === 'gate')!;
    expect(gate.status).toBe('succeeded');
    expect((gate.outputs as { verdict: { passed: boolean } }).verdict.passed).toBe(true);
    expect(waiting.steps.find((s) => s.id === 'approve')!.status).toBe('waiting_approval');
    expect(waiting.steps.find((s) => s.id === 'promote')!.status).toBe('pending');
    console.log(`[challenger.live] waiting_approval after ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // the version: alias challenger, tagged with this run and the candidate's metrics
    const challenger = await eventually(() => alias(model, 'challenger'), 60_000, `alias challenger of ${model}`);
    const vtags = kv(challenger.tags);
    console.log('[challenger.live] challenger version', challenger.version, JSON.stringify(vtags));
    expect(challenger.aliases).toContain('challenger');
    expect(vtags['trademl.run_id']).toBe(runId);
    expect(vtags['trademl.pipeline']).toBe('challenger');
    expect(vtags['trademl.metric.sleeves']!.split(',').sort()).toEqual(['linear', 'xs_horizon']);
    expect(Number.isFinite(Number(vtags['trademl.metric.mean_rank_ic']))).toBe(true);
    expect(vtags['trademl.approval']).toBeUndefined(); // nobody decided yet
    expect(await alias(model, 'champion')).toBeUndefined();
    const search = await mlflow<{ model_versions?: MVersion[] }>(`model-versions/search?filter=${encodeURIComponent(`name='${model}'`)}`);
    expect(search.json.model_versions?.map((v) => v.version)).toEqual([challenger.version]);

    // its tracker run is the run's parent run: the gate's metrics, the verdict table in the lineage
    const parent = await getRun(challenger.run_id);
    const metrics = kv(parent.data.metrics);
    console.log('[challenger.live] gate metrics', JSON.stringify(Object.fromEntries(Object.entries(metrics).filter(([k]) => k.startsWith('gate.')))));
    expect(kv(parent.data.tags)['trademl.run_id']).toBe(runId);
    expect(parent.info.status).toBe('RUNNING');
    expect(Object.keys(metrics).filter((k) => k.startsWith('gate.')).length).toBeGreaterThan(0);
    const files = await artifacts(challenger.run_id);
    console.log('[challenger.live] parent artifacts', JSON.stringify(files));
    expect(files).toEqual(expect.arrayContaining(['model/model.onnx', 'model/lineage.json']));
    const lineage = (await (await fetch(`${base().replace(/\/$/, '')}/get-artifact?path=model/lineage.json&run_uuid=${challenger.run_id}`)).json()) as { run_id: string; gate: { step: string; passed: boolean; table: string } };
    expect(lineage).toMatchObject({ run_id: runId, gate: { step: 'gate', passed: true } });
    expect(lineage.gate.table).toContain('dsr');

    // the gate's own child run (its metrics and table) and the report, before anyone decides
    const exp = (await mlflow<{ experiment: { experiment_id: string } }>(`experiments/get-by-name?experiment_name=${encodeURIComponent('trademl/challenger')}`)).json.experiment.experiment_id;
    const child = async (step: string) => {
      const r = await mlflow<{ runs?: MRun[] }>('runs/search', { experiment_ids: [exp], filter: `tags.\`trademl.pipeline_run_id\` = '${runId}' AND tags.\`trademl.step\` = '${step}'`, max_results: 2 });
      expect(r.json.runs?.length, `child run of ${step}`).toBe(1);
      return r.json.runs![0]!;
    };
    const gateRun = await child('gate');
    console.log('[challenger.live] gate child metrics', JSON.stringify(kv(gateRun.data.metrics)), JSON.stringify(await artifacts(gateRun.info.run_id)));
    expect(Object.keys(kv(gateRun.data.metrics)).length).toBeGreaterThan(0);
    expect(await artifacts(gateRun.info.run_id)).toContain('verdict/gate_table.txt');
    // the run's report as it stands is on the version's tracker run before anyone decides
    await eventually(async () => (await artifacts(challenger.run_id)).some((f) => f === 'report/report.html'), 60_000, 'report in MLflow while waiting');

    // approve with the CLI: the run succeeds, champion is the challenger's version
    const cli = await trademl(['temporal', 'approve', runId, '--step', 'approve', '--by', 'Jane Doe', '--comment', 'gate fine'], { TRADEML_TASK_QUEUE_PREFIX: env.settings.taskQueuePrefix, TRADEML_HOME: env.home });
    expect(cli.code, cli.stderr).toBe(0);
    const final = (await h.result()) as PipelineStatus;
    expect(final.status).toBe('succeeded');
    const promoted = final.steps.find((s) => s.id === 'promote')!.outputs as { model: string; version: string };
    expect(promoted).toMatchObject({ model, version: challenger.version });
    const champion = await eventually(() => alias(model, 'champion'), 30_000, `alias champion of ${model}`);
    expect(champion.version).toBe(challenger.version);
    expect(kv(champion.tags)).toMatchObject({ 'trademl.approval': 'approved', 'trademl.approved_by': 'Jane Doe' });
    expect(await alias(model, 'challenger')).toBeUndefined();
    await eventually(async () => (await mlflowRun('challenger', runId))?.status === 'FINISHED', 60_000, 'MLflow run FINISHED');
    // the end-of-run report, in MLflow on the same tracker run, names the promoted version
    const endFiles = await artifacts(challenger.run_id);
    expect(endFiles).toEqual(expect.arrayContaining(['report/report.json', 'report/report.html']));
    const report = (await (await fetch(`${base().replace(/\/$/, '')}/get-artifact?path=report/report.json&run_uuid=${challenger.run_id}`)).json()) as { registration?: { model: string; version: string; aliases: string[] } };
    expect(report.registration).toMatchObject({ model, version: challenger.version, aliases: expect.arrayContaining(['champion']) });
    console.log(`[challenger.live] done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, 900_000);
});
