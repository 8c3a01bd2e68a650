import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ArtifactStore } from '../artifacts/store.ts';
import { gateVerdict, modelBundle, signalsOof } from '../contracts/index.ts';
import type { Logger } from '../lib/log.ts';
import { logger as rootLogger } from '../lib/log.ts';
import { reportDir, writeReport } from '../report/index.ts';
import type { Registration, ReportStep } from '../report/model.ts';
import { provided, upstreamIds, type ViewStep } from '../report/provided.ts';
import { candidateBundle, candidateLineage, candidateSummary, datasetDigests, promotionSettings, scoringOhlcv } from './candidate.ts';
import { clip, codeVersion, safeKey, stepInputs, stepMetrics, stepParamsAndTags } from './logging.ts';
import type { RunObserver, RunRecord, StepRecord } from './observer.ts';
import { ModelRegistry, TAG } from './registry.ts';
import type { DatasetInput, KeyValue, Tracker } from './types.ts';
import { VALUE_LIMITS } from './types.ts';

export { codeVersion } from './logging.ts';

export interface TrackingObserverOptions {
  tracker: Tracker;
  store: ArtifactStore;
  /** Where reports are written (`<home>/reports/<run-id>/`); defaults to stateHome(). */
  home?: string;
  log?: Logger;
  /** Experiment name for a run (default: `trademl/<pipeline>`). */
  experimentName?: (pipeline: string) => string;
  /** Registered model name for a run's candidate (default: the promote step's `with.model`, else params.model, else the pipeline name). */
  modelName?: (run: RunRecord) => string;
}

interface RunState {
  run: RunRecord;
  trackerRunId?: string;
  steps: Map<string, StepRecord>;
  /** Control (approval) steps this observer saw decided. */
  controls: Set<string>;
  challenger?: { model: string; version: string; registration: Registration };
}

/**
 * The RunObserver the hosts call. Everything it does follows what steps provide (contracts), never
 * which kinds ran:
 * - one tracker run per TradeML run (experiment `trademl/<pipeline>`, tag `trademl.run_id`) with the
 *   run params and lineage inputs (plan digest, code version, git commit);
 * - per finished step: its `with` as params, its scalar outputs and the scalar fields of its contract
 *   values as metrics, their artifacts as lineage inputs, `rl.policy` training curves as histories
 *   (tracking/logging.ts);
 * - when a step providing `gate.verdict` passes: registers the run's candidate (its `model.bundle`
 *   values upstream of that gate, blended by their `signals.oof` blend when several) as a new model
 *   version and sets alias `challenger` (a failed gate registers nothing);
 * - records approval decisions on the run and on the candidate version (no alias changes);
 * - at the end writes report.json/report.html (`<home>/reports/<run-id>/` and as tracker artifacts).
 * Tracking failures are logged and swallowed: they never fail a run.
 */
export class TrackingObserver implements RunObserver {
  private readonly runs = new Map<string, RunState>();
  readonly registry: ModelRegistry;
  private readonly log: Logger;

  constructor(readonly opts: TrackingObserverOptions) {
    this.registry = new ModelRegistry(opts.tracker);
    this.log = opts.log ?? rootLogger;
  }

  private experiment(pipeline: string): string {
    return this.opts.experimentName?.(pipeline) ?? `trademl/${pipeline}`;
  }

  private async modelName(st: RunState): Promise<string> {
    if (this.opts.modelName) return this.opts.modelName(st.run);
    const fromPlan = (await promotionSettings(st.run.plan?.steps ?? [])).model;
    if (fromPlan) return fromPlan;
    const p = st.run.params.model;
    return typeof p === 'string' && p ? p : st.run.pipeline;
  }

  private async guard(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err), what, tracker: this.opts.tracker.kind }, 'tracking failed (the run continues)');
    }
  }

  private state(run: RunRecord): RunState {
    let st = this.runs.get(run.runId);
    if (!st) {
      st = { run, steps: new Map(), controls: new Set() };
      this.runs.set(run.runId, st);
    } else st.run = { ...st.run, ...run };
    return st;
  }

  private async trackerRun(st: RunState): Promise<string> {
    if (!st.trackerRunId) st.trackerRunId = await this.registry.trackerRunFor(st.run.runId, this.experiment(st.run.pipeline), { [TAG.pipeline]: st.run.pipeline, [TAG.planDigest]: st.run.planDigest });
    return st.trackerRunId;
  }

  /** The run's steps as views see them, in plan order when the plan is known. */
  private viewSteps(st: RunState): ViewStep[] {
    const order = new Map((st.run.plan?.steps ?? []).map((s, i) => [s.id, i]));
    const needsOf = new Map((st.run.plan?.steps ?? []).map((s) => [s.id, s.needs]));
    return [...st.steps.values()]
      .map((s) => ({ ...s, needs: s.needs ?? needsOf.get(s.stepId), control: (s as ViewStep).control ?? (st.controls.has(s.stepId) || undefined) }))
      .sort((a, b) => (order.get(a.stepId) ?? Infinity) - (order.get(b.stepId) ?? Infinity));
  }

  async runStarted(run: RunRecord): Promise<void> {
    const st = this.state(run);
    await this.guard('runStarted', async () => {
      const id = await this.trackerRun(st);
      const params: KeyValue[] = Object.entries(run.params).map(([k, v]) => ({ key: `params.${safeKey(k)}`, value: clip(typeof v === 'string' ? v : JSON.stringify(v), VALUE_LIMITS.paramValue) }));
      const code = codeVersion();
      await this.opts.tracker.logBatch(id, {
        params,
        tags: [
          { key: TAG.runId, value: run.runId },
          { key: TAG.pipeline, value: run.pipeline },
          { key: TAG.planDigest, value: run.planDigest },
          { key: 'trademl.status', value: run.status },
          ...(code.commit ? [{ key: 'mlflow.source.git.commit', value: code.commit }] : []),
          { key: 'trademl.code_version', value: code.version },
        ],
      });
      const inputs: DatasetInput[] = [{ name: 'plan', digest: run.planDigest, sourceType: 'plan', source: `pipelines.yaml#${run.pipeline}` }];
      if (code.commit) inputs.push({ name: 'code', digest: `git:${code.commit}`, sourceType: 'code', source: code.dirty ? 'git (uncommitted changes)' : 'git' });
      await this.opts.tracker.logInputs(id, inputs);
    });
  }

  async stepFinished(step: StepRecord): Promise<void> {
    const st = this.runs.get(step.runId) ?? this.state({ runId: step.runId, pipeline: step.pipeline, planDigest: '', params: {}, status: 'running', startedAt: step.startedAt ?? new Date().toISOString() });
    st.steps.set(step.stepId, step);
    await this.guard(`stepFinished ${step.stepId}`, async () => {
      const id = await this.trackerRun(st);
      const ts = step.endedAt ? Date.parse(step.endedAt) : Date.now();
      const { params, tags } = stepParamsAndTags(step);
      await this.opts.tracker.logBatch(id, { metrics: stepMetrics(step, this.opts.store, ts), params, tags });
      const inputs = stepInputs(step);
      if (inputs.length) await this.opts.tracker.logInputs(id, inputs);
    });
    const verdicts = provided([step], gateVerdict);
    if (verdicts.length && verdicts.every((v) => v.value.passed)) await this.guard(`challenger after ${step.stepId}`, () => this.registerChallenger(st, step));
  }

  /** Registers the run's candidate (the model bundles upstream of `gate`) as a version and points `challenger` at it. */
  private async registerChallenger(st: RunState, gate: StepRecord): Promise<void> {
    const steps = this.viewSteps(st);
    const upstream = upstreamIds(steps, gate.stepId);
    const before = steps.filter((s) => upstream.has(s.stepId) || !upstream.size);
    const bundles = provided(before, modelBundle);
    if (!bundles.length) {
      this.log.warn({ run: st.run.runId, gate: gate.stepId }, 'gate passed but no step upstream provides model.bundle; no challenger registered');
      return;
    }
    const signals = provided(before, signalsOof);
    const settings = await promotionSettings(st.run.plan?.steps ?? []);
    const candidate = candidateBundle(this.opts.store, bundles, signals, { sleeve: settings.sleeve });
    const model = await this.modelName(st);
    const workDir = path.join(this.opts.store.root, 'tmp', `candidate-${st.run.runId}`);
    const v = await this.registry.registerCandidate({
      model,
      experiment: this.experiment(st.run.pipeline),
      trademlRunId: st.run.runId,
      pipeline: st.run.pipeline,
      files: candidate.primary,
      sleeves: candidate.sleeves,
      stacker: candidate.stacker,
      lineage: { ...this.lineage(st, steps, gate), ...candidateLineage(candidate) },
      summary: await candidateSummary(this.opts.store, candidate, signals),
      workDir,
    });
    await this.registry.setChallenger(model, v.version);
    const blend = candidate.blend ? { step: candidate.blend.step, components: candidate.blend.components, weights: candidate.blend.weights } : undefined;
    st.challenger = { model, version: v.version, registration: { model, version: v.version, aliases: ['challenger'], sleeves: candidate.sleeves.map((x) => x.sleeve), ...(blend ? { blend } : {}) } };
    this.log.info({ model, version: v.version, run: st.run.runId }, 'challenger registered');
  }

  private lineage(st: RunState, steps: ViewStep[], gate: StepRecord): Record<string, unknown> {
    const code = codeVersion();
    const ohlcv = scoringOhlcv(steps);
    const [verdict] = provided([gate], gateVerdict);
    return {
      run_id: st.run.runId,
      pipeline: st.run.pipeline,
      plan_digest: st.run.planDigest,
      params: st.run.params,
      code_version: code.version,
      git_commit: code.commit,
      datasets: datasetDigests(steps),
      ohlcv: ohlcv?.uri,
      ohlcv_calendar: ohlcv?.calendar,
      gate: { step: gate.stepId, passed: verdict?.value.passed, table: verdict?.value.table },
    };
  }

  async approvalDecided(d: { runId: string; stepId: string; approved: boolean; by: string; at: string; comment: string }): Promise<void> {
    const st = this.runs.get(d.runId);
    st?.controls.add(d.stepId);
    await this.guard(`approvalDecided ${d.stepId}`, async () => {
      // The candidate this run registered: known in memory, else (after a process restart) looked up by run tag.
      let target: { model: string; version: string } | undefined = st?.challenger;
      let trackerRunId: string | undefined;
      if (!target) {
        const names = st ? [await this.modelName(st)] : (await this.opts.tracker.listRegisteredModels()).map((m) => m.name);
        for (const model of names) {
          const v = await this.registry.versionForRun(model, d.runId);
          if (v) {
            target = { model, version: v.version };
            trackerRunId = v.runId;
            break;
          }
        }
      }
      const id = st ? await this.trackerRun(st) : trackerRunId;
      if (id) {
        const k = `approval.${safeKey(d.stepId)}`;
        await this.opts.tracker.logBatch(id, {
          tags: [
            { key: `${k}.decision`, value: d.approved ? 'approved' : 'rejected' },
            { key: `${k}.by`, value: d.by },
            { key: `${k}.at`, value: d.at },
            { key: `${k}.comment`, value: clip(d.comment, VALUE_LIMITS.tagValue) },
          ],
        });
      }
      // Tag the candidate with the decision; no alias changes here (promote moves champion).
      if (target) await this.registry.recordDecision(target.model, target.version, d);
      this.log.info({ run: d.runId, step: d.stepId, approved: d.approved, candidate: target }, 'approval recorded');
    });
  }

  /** The version this run registered, with its current aliases (looked up again: promote may have moved them). */
  private async registration(st: RunState): Promise<Registration | undefined> {
    const c = st.challenger;
    if (!c) return undefined;
    const v = await this.opts.tracker.getModelVersion(c.model, c.version);
    return { ...c.registration, aliases: v?.aliases ?? c.registration.aliases };
  }

  async runFinished(run: RunRecord, steps: StepRecord[]): Promise<void> {
    const st = this.state(run);
    for (const s of steps) st.steps.set(s.stepId, s);
    await this.guard('runFinished', async () => {
      const id = await this.trackerRun(st);
      const status = run.status === 'succeeded' ? 'FINISHED' : run.status === 'cancelled' ? 'KILLED' : run.status === 'failed' ? 'FAILED' : 'RUNNING';
      const code = codeVersion();
      const reportSteps: ReportStep[] = this.viewSteps(st);
      const registration = await this.registration(st);
      const dir = reportDir(run.runId, this.opts.home);
      const rep = await writeReport(
        {
          runId: run.runId,
          pipeline: run.pipeline,
          status: run.status,
          planDigest: run.planDigest,
          params: run.params,
          startedAt: run.startedAt,
          endedAt: run.endedAt,
          steps: reportSteps,
          lineage: { code_version: code.version, git_commit: code.commit, tracker: `${this.opts.tracker.kind} ${this.opts.tracker.location}`, tracker_run: id },
          ...(registration ? { registration } : {}),
        },
        this.opts.store,
        dir,
      );
      await this.opts.tracker.logArtifact(id, rep.files!.json, 'report/report.json');
      await this.opts.tracker.logArtifact(id, rep.files!.html, 'report/report.html');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'tracker.json'), JSON.stringify({ tracker: this.opts.tracker.kind, location: this.opts.tracker.location, run_id: id, report_json: rep.refs.json, report_html: rep.refs.html }, null, 2));
      if (status !== 'RUNNING') await this.opts.tracker.updateRun(id, { status, endTime: run.endedAt ? Date.parse(run.endedAt) : Date.now() });
      else await this.opts.tracker.logBatch(id, { tags: [{ key: 'trademl.status', value: run.status }] });
    });
    if (run.status !== 'waiting_approval' && run.status !== 'running') this.runs.delete(run.runId);
  }
}

/**
 * The observer the CLI/local runtime attaches for state home `home`: the process's tracker
 * (`openTracker`, MLflow when MLFLOW_TRACKING_URI is set, else `home/tracking.duckdb`) and the
 * artifact store `home/artifacts`; reports go to `home/reports/<run-id>/`.
 */
export async function createTrackingObserver(home: string, log?: Logger): Promise<TrackingObserver> {
  const { ArtifactStore } = await import('../artifacts/store.ts');
  const { openTracker } = await import('./index.ts');
  const store = new ArtifactStore(path.join(home, 'artifacts'));
  return new TrackingObserver({ tracker: openTracker({ home, store }), store, home, log });
}
