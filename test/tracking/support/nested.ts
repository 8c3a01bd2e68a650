import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../../artifacts/store.ts';
import type { RunRecord } from '../../../tracking/observer.ts';
import { TrackingObserver } from '../../../tracking/trackingObserver.ts';
import type { Tracker } from '../../../tracking/types.ts';
import { EmbeddedRuntime } from '../../../embedded/runtime.ts';
import { PROJECT_ROOT } from '../../../lib/paths.ts';
import { compilePlan, loadSpec } from '../../../spec/compile.ts';
import { tempDir } from './tmp.ts';
import { nightlyRunFixture, type RunFixture } from './fixtures.ts';

/** What the suite reads of a child run, straight from the tracker's store (for MLflow: its REST API). */
export interface ChildView {
  runId: string;
  name: string;
  status: string;
  tags: Record<string, string>;
  params: Record<string, string>;
}

export interface NestedTarget {
  tracker: Tracker;
  /** Children of a parent, found by the parent tag (MLflow: `runs/search` with `tags.mlflow.parentRunId`). */
  children(experimentId: string, parentRunId: string): Promise<ChildView[]>;
}

/**
 * The nightly fixture with what a real fit carries: a training config holding the selected
 * hyperparameters and the resolved config, and fit metrics with per-split and per-path rows.
 */
export async function nestedFixture(store: ArtifactStore, o: { runId: string; gatePassed?: boolean }): Promise<RunFixture> {
  const fx = await nightlyRunFixture(store, { runId: o.runId, gatePassed: o.gatePassed, approval: 'approved' });
  const trainingConfig = await store.putJson(
    { sleeve: 'h5', engine: 'xgboost', config_file: 'configs/training/equities_xs.yml', config: { cv: { n_groups: 8, n_test_groups: 2, embargo_bars: 10 }, selection: 'rank_ic' }, selected_params: { max_depth: 4, eta: 0.05, subsample: 0.8 }, final_rounds: 120 },
    'training_config.json',
  );
  const metrics = await store.putJson(
    {
      aggregate: { mean_rank_ic: 0.034 },
      per_split: Array.from({ length: 6 }, (_, i) => ({ split: i, test_groups: [i, i + 1], ic: 0.02 + i / 1000, rank_ic: 0.03 + i / 1000, best_iteration: 40 + i })),
      per_path: Array.from({ length: 7 }, (_, i) => ({ path: i + 1, rank_ic: 0.031 + i / 1000, sharpe: 0.5 + i / 10 })),
      walk_forward: { rank_ic: 0.02, folds: [{ fold: 1, rank_ic: 0.01 }, { fold: 2, rank_ic: 0.03 }] },
    },
    'metrics.json',
  );
  const fit = fx.steps.find((s) => s.stepId === 'fit')!;
  const model = fit.outputs.model as Record<string, unknown>;
  fit.outputs = { ...fit.outputs, model: { ...model, training_config: trainingConfig, metrics } };
  return fx;
}

/**
 * Parent/child tracker runs through the tracking observer: one parent per TradeML run
 * (`<pipeline> <run-id>`), one child per finished step (`<step> (<kind>)`, tagged
 * `mlflow.parentRunId`) with the resolved hyperparameters as params, metric histories with steps,
 * the step's JSON documents as artifacts, and FINISHED/FAILED as the step and the run ended.
 */
export function nestedRunsSuite(label: string, make: () => Promise<NestedTarget>): void {
  describe(`nested tracker runs: ${label}`, () => {
    const sfx = randomUUID().slice(0, 8);
    const experiment = `trademl-test/nested-${sfx}`;
    const model = `nested_${sfx}`;

    async function drive(target: NestedTarget, fx: RunFixture, status: RunRecord['status']): Promise<{ observer: TrackingObserver; home: string }> {
      const home = tempDir('trademl-nested-');
      const observer = new TrackingObserver({ tracker: target.tracker, store: storeOf(fx)!, home, experimentName: () => experiment, modelName: () => model });
      await observer.runStarted(fx.run);
      for (const s of fx.steps) await observer.stepFinished(s);
      await observer.runFinished({ ...fx.run, status, endedAt: '2024-03-01T02:01:00.000Z' }, fx.steps);
      return { observer, home };
    }

    const stores = new WeakMap<RunFixture, ArtifactStore>();
    const storeOf = (fx: RunFixture) => stores.get(fx);
    async function fixture(runId: string, gatePassed = true): Promise<RunFixture> {
      const store = new ArtifactStore(path.join(tempDir('trademl-nested-store-'), 'artifacts'));
      const fx = await nestedFixture(store, { runId, gatePassed });
      stores.set(fx, store);
      return fx;
    }

    it('one parent per run and one child per step, nested by mlflow.parentRunId, with names, hyperparameters, histories, artifacts and statuses', async () => {
      const target = await make();
      const t = target.tracker;
      const runId = `nested-ok-${sfx}`;
      const fx = await fixture(runId);
      await drive(target, fx, 'succeeded');

      const exp = (await t.getExperimentByName(experiment))!.experimentId;
      const parents = await t.searchRuns(exp, { 'trademl.run_id': runId });
      expect(parents).toHaveLength(1);
      const parent = await t.getRun(parents[0]!.runId);
      expect(parent.info.runName).toBe(`nightly ${runId}`);
      expect(parent.info.status).toBe('FINISHED');
      // The parent keeps the run-level summary (step-keyed), and the report.
      expect(parent.params).toContainEqual({ key: 'params.horizon_days', value: '5' });
      expect(parent.metrics.find((m) => m.key === 'fit.mean_rank_ic')?.value).toBeCloseTo(0.034, 12);
      expect((await t.listArtifacts(parent.info.runId, 'report')).map((f) => f.path).sort()).toEqual(['report/report.html', 'report/report.json']);

      const children = await target.children(exp, parent.info.runId);
      const executed = fx.steps.filter((s) => s.status !== 'skipped');
      expect(children.map((c) => c.name).sort()).toEqual(executed.map((s) => `${s.stepId} (${s.uses})`).sort());
      for (const c of children) {
        expect(c.tags['mlflow.parentRunId']).toBe(parent.info.runId);
        expect(c.tags['trademl.pipeline_run_id']).toBe(runId);
        expect(c.status).toBe('FINISHED');
      }
      const fitChild = children.find((c) => c.tags['trademl.step'] === 'fit')!;
      // Resolved hyperparameters and config, not just a config path; the step's `with` under with.*.
      expect(fitChild.params).toMatchObject({ max_depth: '4', eta: '0.05', subsample: '0.8', final_rounds: '120', 'config.cv.n_groups': '8', sleeve: 'h5', engine: 'xgboost', 'with.n_groups': '8' });
      expect(fitChild.tags['trademl.uses']).toBe('fixture.learner');

      // Metric histories with their steps: per split, per path, per fold.
      const splits = await t.getMetricHistory(fitChild.runId, 'model.per_split.rank_ic');
      expect(splits.map((m) => m.step)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(splits[5]!.value).toBeCloseTo(0.035, 12);
      expect((await t.getMetricHistory(fitChild.runId, 'model.per_path.sharpe')).map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect((await t.getMetricHistory(fitChild.runId, 'model.walk_forward.folds.rank_ic')).map((m) => [m.step, m.value])).toEqual([[1, 0.01], [2, 0.03]]);
      const fitData = await t.getRun(fitChild.runId);
      expect(fitData.metrics.find((m) => m.key === 'mean_rank_ic')?.value).toBeCloseTo(0.034, 12);
      expect(fitData.metrics.find((m) => m.key === 'duration_s')?.value).toBe(32);
      const backtest = children.find((c) => c.tags['trademl.step'] === 'backtest')!;
      expect((await t.getMetricHistory(backtest.runId, 'returns.per_path.sharpe')).map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);

      // Artifacts on the relevant child: the trial ledger and fit metrics on the fit, the gate table on the gate.
      const fitFiles = (await t.listArtifacts(fitChild.runId, 'trials')).map((f) => f.path);
      expect(fitFiles).toContain('trials/trial_ledger.json');
      expect((await t.listArtifacts(fitChild.runId, 'model')).map((f) => f.path)).toEqual(expect.arrayContaining(['model/metrics.json', 'model/training_config.json']));
      const gate = children.find((c) => c.tags['trademl.step'] === 'gate')!;
      expect((await t.listArtifacts(gate.runId, 'verdict')).map((f) => f.path)).toEqual(expect.arrayContaining(['verdict/gate_table.txt', 'verdict/gate_report.json']));

      // The registered version links the fit child.
      const versions = await t.listModelVersions(model);
      const v = versions.find((x) => x.tags['trademl.run_id'] === runId)!;
      expect(v.tags['trademl.fit_run_id']).toBe(fitChild.runId);
      expect(v.runId).toBe(parent.info.runId);

      // Idempotent: a fresh observer (another process, a resumed run) re-reporting steps and the end finds the same runs.
      const again = new TrackingObserver({ tracker: t, store: storeOf(fx)!, home: tempDir('trademl-nested-'), experimentName: () => experiment, modelName: () => model });
      await again.stepFinished(fx.steps.find((s) => s.stepId === 'fit')!);
      await again.runFinished({ ...fx.run, status: 'succeeded', endedAt: '2024-03-01T02:01:00.000Z' }, fx.steps);
      expect(await t.searchRuns(exp, { 'trademl.run_id': runId })).toHaveLength(1);
      const after = await target.children(exp, parent.info.runId);
      expect(after.map((c) => c.runId).sort()).toEqual(children.map((c) => c.runId).sort());
      expect(after.find((c) => c.runId === fitChild.runId)?.status).toBe('FINISHED');
    });

    it('a real run of the demo pipeline (embedded runtime) gets a parent and a FINISHED child per step', async () => {
      const target = await make();
      const t = target.tracker;
      const home = tempDir('trademl-nested-demo-');
      const store = new ArtifactStore(path.join(home, 'artifacts'));
      const observer = new TrackingObserver({ tracker: t, store, home, experimentName: () => experiment, modelName: () => model });
      const plan = compilePlan(loadSpec(path.join(PROJECT_ROOT, 'pipelines.yaml')), 'demo');
      const out = await new EmbeddedRuntime({ home, observer, autoApprove: 'tester' }).start(plan);
      expect(out.status).toBe('succeeded');
      const exp = (await t.getExperimentByName(experiment))!.experimentId;
      const [p] = await t.searchRuns(exp, { 'trademl.run_id': out.runId });
      const parent = await t.getRun(p!.runId);
      expect(parent.info).toMatchObject({ runName: `demo ${out.runId}`, status: 'FINISHED' });
      const children = await target.children(exp, parent.info.runId);
      expect(children.map((c) => c.name).sort()).toEqual(plan.steps.map((s) => `${s.id} (${s.uses})`).sort());
      expect(children.every((c) => c.status === 'FINISHED' && c.tags['mlflow.parentRunId'] === parent.info.runId)).toBe(true);
      const left = children.find((c) => c.tags['trademl.step'] === 'left')!;
      expect(left.params).toMatchObject({ 'with.duration': '1s' });
      expect((await t.getRun(left.runId)).metrics.find((m) => m.key === 'slept_ms')?.value).toBeGreaterThan(0);
    });

    it('a failed step ends its child FAILED and a failed run ends the parent FAILED', async () => {
      const target = await make();
      const t = target.tracker;
      const runId = `nested-fail-${sfx}`;
      const fx = await fixture(runId, false);
      await drive(target, fx, 'failed');
      const exp = (await t.getExperimentByName(experiment))!.experimentId;
      const [p] = await t.searchRuns(exp, { 'trademl.run_id': runId });
      expect((await t.getRun(p!.runId)).info.status).toBe('FAILED');
      const children = await target.children(exp, p!.runId);
      const gate = children.find((c) => c.tags['trademl.step'] === 'gate')!;
      expect(gate.status).toBe('FAILED');
      expect(gate.tags['trademl.error']).toMatch(/^GateFailed: promotion gate failed/);
      expect(children.filter((c) => c !== gate).every((c) => c.status === 'FINISHED')).toBe(true);
      expect(children).toHaveLength(fx.steps.length);
    });
  });
}

/** A {@link NestedTarget} reading through the Tracker interface (the local tracker). */
export function viaTracker(tracker: Tracker): NestedTarget {
  return {
    tracker,
    async children(exp, parent) {
      const runs = await tracker.searchRuns(exp, { 'mlflow.parentRunId': parent }, 1000);
      return Promise.all(
        runs.map(async (r) => {
          const d = await tracker.getRun(r.runId);
          return { runId: r.runId, name: r.runName, status: r.status, tags: Object.fromEntries(d.tags.map((x) => [x.key, x.value])), params: Object.fromEntries(d.params.map((x) => [x.key, x.value])) };
        }),
      );
    },
  };
}

/**
 * A {@link NestedTarget} on a real MLflow server: children are read with MLflow's own REST API
 * (`runs/search` filtered on `tags.mlflow.parentRunId`), not through TradeML's client.
 */
export function viaMlflowRest(tracker: Tracker, baseUrl: string, headers: Record<string, string> = {}): NestedTarget {
  return {
    tracker,
    async children(exp, parent) {
      const res = await fetch(`${baseUrl}/api/2.0/mlflow/runs/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ experiment_ids: [exp], filter: `tags.\`mlflow.parentRunId\` = '${parent}'`, max_results: 1000 }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { runs?: Array<{ info: { run_id: string; run_name: string; status: string }; data: { tags?: Array<{ key: string; value: string }>; params?: Array<{ key: string; value: string }> } }> };
      return (body.runs ?? []).map((r) => ({
        runId: r.info.run_id,
        name: r.info.run_name,
        status: r.info.status,
        tags: Object.fromEntries((r.data.tags ?? []).map((x) => [x.key, x.value])),
        params: Object.fromEntries((r.data.params ?? []).map((x) => [x.key, x.value])),
      }));
    },
  };
}
