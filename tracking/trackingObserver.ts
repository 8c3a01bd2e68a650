import path from 'node:path';
import { gateVerdict, modelBundle, signalsOof } from '../contracts/index.ts';
import type { Logger } from '../lib/log.ts';
import { logger as rootLogger } from '../lib/log.ts';
import { reportDir, writeReport, type WrittenReport } from '../report/index.ts';
import type { Registration, ReportStep } from '../report/model.ts';
import { provided, upstreamIds, type ViewStep } from '../report/provided.ts';
import { candidateBundle, candidateLineage, candidateSummary, promotionSettings, runLineage } from './candidate.ts';
import { stateHome } from '../lib/paths.ts';
import type { BreakerChange } from './breaker.ts';
import { BreakerOpenError, GuardedTracker, isTrackerOutage, openObserverTracker } from './guarded.ts';
import { clip, codeVersion, safeKey, stepInputs, stepMetrics, stepParamsAndTags } from './logging.ts';
import type { RunObserver, RunRecord, StepFinishedContext, StepRecord } from './observer.ts';
import { ModelRegistry, TAG } from './registry.ts';
import { PendingRunEnds } from './pendingEnds.ts';
import { runEndWrite, writeTrackerJson } from './runEnd.ts';
import { NEST_TAG, childCreate, childStatus, childWrite, parentRunName, temporalTags } from './stepRuns.ts';
import type { DatasetInput, KeyValue } from './types.ts';
import type { RunState, TrackingObserverOptions } from './observerState.ts';
import { VALUE_LIMITS } from './types.ts';

export { codeVersion } from './logging.ts';
export type { TrackingObserverOptions } from './observerState.ts';

/**
 * The RunObserver the hosts call. Everything it does follows what steps provide (contracts), never
 * which kinds ran:
 * - one parent tracker run per TradeML run (`<pipeline> <run-id>`, experiment `trademl/<pipeline>`,
 *   tag `trademl.run_id`) with the run params and lineage inputs (plan digest, code version, git
 *   commit), and every step's values keyed by step id (the run-level summary, tracking/logging.ts);
 * - one child run per finished step (`<step> (<kind>)`, tag `mlflow.parentRunId`): its resolved
 *   hyperparameters and `with` as params, plain-keyed metrics with histories (per split, path,
 *   fold, trial, training curves), its JSON documents as artifacts, ended FINISHED/FAILED/KILLED
 *   (tracking/stepRuns.ts);
 * - when a step providing `gate.verdict` passes: registers the run's candidate (its `model.bundle`
 *   values upstream of that gate, blended by their `signals.oof` blend when several) as a new model
 *   version and sets alias `challenger` (a failed gate registers nothing);
 * - records approval decisions on the run and on the candidate version (no alias changes);
 * - at the end writes report.json/report.html (`<home>/reports/<run-id>/` and as tracker artifacts).
 * Tracking failures are logged and swallowed: they never fail a run, and never hold it up. Every
 * tracker call passes a circuit breaker (tracking/guarded.ts): the first outage (server unreachable,
 * timing out, refusing credentials) turns tracking off with one warning line saying why, later
 * calls return at once without I/O, and a probe after the cooldown turns it back on. The report is
 * written whether tracking is on or off. A run's end that an outage kept from the tracker is kept and
 * written once tracking is back (a timer at the end of the cooldown, while the process runs: a worker),
 * so its tracker run does not stay RUNNING. Other failures are logged once per distinct message and run.
 */
export class TrackingObserver implements RunObserver {
  private readonly runs = new Map<string, RunState>();
  readonly registry: ModelRegistry;
  /** The tracker every call of this observer goes through (behind the circuit breaker). */
  readonly tracker: GuardedTracker;
  private readonly log: Logger;
  private readonly warned = new Set<string>();
  /** Run ends not tracked because tracking was off (written when it is back). */
  private readonly pendingEnds: PendingRunEnds;

  constructor(readonly opts: TrackingObserverOptions) {
    this.tracker = opts.tracker instanceof GuardedTracker ? opts.tracker : new GuardedTracker(opts.tracker);
    this.registry = new ModelRegistry(this.tracker);
    this.log = opts.log ?? rootLogger;
    this.pendingEnds = new PendingRunEnds(this.tracker.breaker, this.log);
    this.tracker.onChange((c) => this.trackingChanged(c));
  }

  /** The one line an operator sees when tracking turns off (and the one when it is back). */
  private trackingChanged(c: BreakerChange): void {
    const where = { tracker: this.tracker.kind, location: this.tracker.location };
    if (c.state === 'closed') {
      this.log.warn(where, `tracking is back on: ${this.tracker.kind} at ${this.tracker.location} answers again`);
      return;
    }
    const next = `next try in ${Math.round(c.retryInMs / 1000)} s`;
    if (!c.firstOpen) {
      this.log.debug({ ...where, reason: c.reason }, `tracking still off; ${next}`);
      return;
    }
    const reports = path.join(this.opts.home ?? stateHome(), 'reports');
    this.log.warn({ ...where, retry_in_s: Math.round(c.retryInMs / 1000) }, `tracking is off: ${c.reason} — runs go on without tracking (reports are still written under ${reports}); ${next}`);
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

  /**
   * Runs one tracking action; a failure is swallowed. Calls refused while tracking is off, and the
   * outage that turned it off, are silent here (the breaker's listener said it once); any other
   * failure is logged once per distinct message and run. Returns whether the action completed.
   */
  private async guard(st: RunState | undefined, what: string, fn: () => Promise<void>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (err) {
      if (err instanceof BreakerOpenError || (this.tracker.off && isTrackerOutage(err))) return false;
      const msg = err instanceof Error ? err.message : String(err);
      const seen = st?.warned ?? this.warned;
      if (seen.has(msg)) this.log.debug({ err: msg, what }, 'tracking failed again (the run continues)');
      else {
        seen.add(msg);
        this.log.warn({ err: msg, what, tracker: this.tracker.kind }, 'tracking failed (the run continues)');
      }
      return false;
    }
  }

  private state(run: RunRecord): RunState {
    let st = this.runs.get(run.runId);
    if (!st) {
      st = { run, steps: new Map(), children: new Map(), controls: new Set(), warned: new Set() };
      this.runs.set(run.runId, st);
    } else st.run = { ...st.run, ...run };
    return st;
  }

  /**
   * The parent tracker run of a TradeML run: found by its tag `trademl.run_id` (a resumed or retried
   * run, another process), else created as `<pipeline> <run-id>`. Concurrent callers share one
   * lookup; a failed one is forgotten, so the next call tries again.
   */
  private async parentRun(st: RunState): Promise<{ runId: string; experimentId: string; created: boolean }> {
    st.parent ??= (async () => {
      const experimentId = await this.tracker.getOrCreateExperiment(this.experiment(st.run.pipeline));
      const [found] = await this.tracker.searchRuns(experimentId, { [TAG.runId]: st.run.runId }, 1);
      if (found) return { runId: found.runId, experimentId, created: false };
      const start = Date.parse(st.run.startedAt);
      const run = await this.tracker.createRun({
        experimentId,
        runName: parentRunName(st.run.pipeline, st.run.runId),
        ...(Number.isFinite(start) ? { startTime: start } : {}),
        tags: { [TAG.runId]: st.run.runId, [TAG.pipeline]: st.run.pipeline, ...(st.run.planDigest ? { [TAG.planDigest]: st.run.planDigest } : {}), ...(await temporalTags()) },
      });
      return { runId: run.runId, experimentId, created: true };
    })();
    try {
      return await st.parent;
    } catch (err) {
      st.parent = undefined;
      throw err;
    }
  }

  private async trackerRun(st: RunState): Promise<string> {
    return (await this.parentRun(st)).runId;
  }

  /**
   * The child tracker run of a step already in the tracker: known here, else found by its tags
   * (`trademl.pipeline_run_id`, `trademl.step`; a retried or re-run step, another process). Not
   * searched for a step's first attempt under a parent this observer created outside Temporal (the
   * embedded host: one process observes the run, so only it could have created the child); in a
   * Temporal observe activity, which a worker may retry elsewhere, it always is.
   */
  private async knownChild(st: RunState, step: StepRecord, parent: { experimentId: string; created: boolean }): Promise<string | undefined> {
    const known = st.children.get(step.stepId);
    if (known || (parent.created && step.attempts <= 1 && !Object.keys(await temporalTags()).length)) return known;
    const [found] = await this.tracker.searchRuns(parent.experimentId, { [NEST_TAG.pipelineRunId]: step.runId, [NEST_TAG.step]: step.stepId }, 1);
    return found?.runId;
  }

  /** The child tracker run of a step: {@link knownChild}, else created as `<step> (<kind>)` under the parent (`mlflow.parentRunId`; idempotent under retries: request-id tag). */
  private async childRun(st: RunState, step: StepRecord): Promise<string> {
    const parent = await this.parentRun(st);
    const id = (await this.knownChild(st, step, parent)) ?? (await this.tracker.createRun(await childCreate(step, parent))).runId;
    st.children.set(step.stepId, id);
    return id;
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
    await this.guard(st, 'runStarted', async () => {
      const runId = await this.trackerRun(st);
      const params: KeyValue[] = Object.entries(run.params).map(([k, v]) => ({ key: `params.${safeKey(k)}`, value: clip(typeof v === 'string' ? v : JSON.stringify(v), VALUE_LIMITS.paramValue) }));
      const code = codeVersion();
      const inputs: DatasetInput[] = [{ name: 'plan', digest: run.planDigest, sourceType: 'plan', source: `pipelines.yaml#${run.pipeline}` }];
      if (code.commit) inputs.push({ name: 'code', digest: `git:${code.commit}`, sourceType: 'code', source: code.dirty ? 'git (uncommitted changes)' : 'git' });
      await this.tracker.logRuns([{
        run: { runId },
        params,
        inputs,
        tags: [
          { key: TAG.runId, value: run.runId },
          { key: TAG.pipeline, value: run.pipeline },
          { key: TAG.planDigest, value: run.planDigest },
          { key: 'trademl.status', value: run.status },
          ...(code.commit ? [{ key: 'mlflow.source.git.commit', value: code.commit }] : []),
          { key: 'trademl.code_version', value: code.version },
          ...Object.entries(await temporalTags()).map(([key, value]) => ({ key, value })),
        ],
      }]);
    });
  }

  async stepFinished(step: StepRecord, context: StepFinishedContext = {}): Promise<void> {
    const st = context.run ? this.state(context.run) : (this.runs.get(step.runId) ?? this.state({ runId: step.runId, pipeline: step.pipeline, planDigest: '', params: {}, status: 'running', startedAt: step.startedAt ?? new Date().toISOString() }));
    for (const s of context.steps ?? []) if (!st.steps.has(s.stepId)) st.steps.set(s.stepId, s);
    st.steps.set(step.stepId, step);
    // The step on the parent (its metrics, params, lineage) and its own child run, in one write.
    await this.guard(st, `stepFinished ${step.stepId}`, async () => {
      const parent = await this.parentRun(st);
      const ts = step.endedAt ? Date.parse(step.endedAt) : Date.now();
      const { params, tags } = stepParamsAndTags(step);
      const workDir = path.join(this.opts.store.root, 'tmp', `child-${safeKey(step.runId)}-${safeKey(step.stepId)}`.replace(/[ /]/g, '_'));
      const child = await childWrite(step, this.opts.store, workDir, parent, await this.knownChild(st, step, parent));
      const ids = await this.tracker.logRuns([{ run: { runId: parent.runId }, metrics: stepMetrics(step, this.opts.store, ts), params, tags, inputs: stepInputs(step) }, ...(child ? [child] : [])]);
      if (child) st.children.set(step.stepId, ids[1]!);
    });
    const verdicts = provided([step], gateVerdict);
    if (verdicts.length && verdicts.every((v) => v.value.passed)) await this.guard(st, `challenger after ${step.stepId}`, () => this.registerChallenger(st, step));
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
      lineage: { ...runLineage(st.run, steps, gate), ...candidateLineage(candidate) },
      summary: await candidateSummary(this.opts.store, candidate, signals),
      workDir,
    });
    await this.registry.setChallenger(model, v.version);
    const blend = candidate.blend ? { step: candidate.blend.step, components: candidate.blend.components, weights: candidate.blend.weights } : undefined;
    st.challenger = { model, version: v.version, registration: { model, version: v.version, aliases: ['challenger'], sleeves: candidate.sleeves.map((x) => x.sleeve), ...(blend ? { blend } : {}) } };
    this.log.info({ model, version: v.version, run: st.run.runId }, 'challenger registered');
    await this.linkFitRuns(st, model, v.version, candidate.bundles.map((b) => ({ step: b.step, sleeve: b.value.sleeve })));
  }

  /**
   * Tags a registered version with the child run of each step that fitted it: `trademl.fit_run_id`
   * (one sleeve) or `trademl.fit_run_id.<sleeve>` (several). The version's files stay on the parent
   * run (`model/`), which holds the blend, the lineage and every sleeve together.
   */
  private async linkFitRuns(st: RunState, model: string, version: string, fits: Array<{ step: string; sleeve: string }>): Promise<void> {
    for (const f of fits) {
      const step = st.steps.get(f.step);
      const id = st.children.get(f.step) ?? (step && childStatus(step) ? await this.childRun(st, step) : undefined);
      if (id) await this.tracker.setModelVersionTag(model, version, fits.length === 1 ? NEST_TAG.fitRunId : `${NEST_TAG.fitRunId}.${safeKey(f.sleeve)}`, id);
    }
  }

  async approvalDecided(d: { runId: string; stepId: string; approved: boolean; by: string; at: string; comment: string }): Promise<void> {
    const st = this.runs.get(d.runId);
    st?.controls.add(d.stepId);
    await this.guard(st, `approvalDecided ${d.stepId}`, async () => {
      // The candidate this run registered: known in memory, else (after a process restart) looked up by run tag.
      let target: { model: string; version: string } | undefined = st?.challenger;
      let trackerRunId: string | undefined;
      if (!target) {
        const names = st ? [await this.modelName(st)] : (await this.tracker.listRegisteredModels()).map((m) => m.name);
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
        await this.tracker.logBatch(id, {
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

  /** The version this run registered, with its current aliases (looked up again: promote may have moved them; as registered when tracking is off). */
  private async registration(st: RunState): Promise<Registration | undefined> {
    const c = st.challenger;
    if (!c) return undefined;
    let aliases = c.registration.aliases;
    await this.guard(st, 'registration', async () => {
      aliases = (await this.tracker.getModelVersion(c.model, c.version))?.aliases ?? aliases;
    });
    return { ...c.registration, aliases };
  }

  /** Writes the run's report (with step timings and DAG edges) to `<home>/reports/<run-id>/`; tracking on or off. */
  private async runReport(st: RunState, trackerRun: string | undefined): Promise<WrittenReport | undefined> {
    const run = st.run;
    const code = codeVersion();
    const off = this.tracker.off ? { tracking_off: this.tracker.breaker.reason } : {};
    const registration = await this.registration(st);
    try {
      return await writeReport(
        {
          runId: run.runId,
          pipeline: run.pipeline,
          status: run.status,
          planDigest: run.planDigest,
          params: run.params,
          startedAt: run.startedAt,
          endedAt: run.endedAt,
          steps: this.viewSteps(st),
          lineage: { code_version: code.version, git_commit: code.commit, tracker: `${this.tracker.kind} ${this.tracker.location}`, tracker_run: trackerRun, ...off },
          ...(registration ? { registration } : {}),
        },
        this.opts.store,
        reportDir(run.runId, this.opts.home),
      );
    } catch (err) {
      this.log.warn({ run: run.runId, err: err instanceof Error ? err.message : String(err) }, 'run report not written (the run continues)');
      return undefined;
    }
  }

  async runFinished(run: RunRecord, steps: StepRecord[]): Promise<void> {
    const st = this.state(run);
    for (const s of steps) st.steps.set(s.stepId, s);
    let id: string | undefined;
    await this.guard(st, 'runFinished', async () => {
      id = await this.trackerRun(st);
    });
    const rep = await this.runReport(st, id);
    if (rep) writeTrackerJson(rep, this.tracker, id, this.tracker.breaker.reason);
    const end = () => this.writeRunEnd(st, run, rep);
    const ended = id !== undefined && (await end());
    // A run's end lost to an outage would leave its tracker run RUNNING for good: write it when tracking is back.
    if (!ended && this.tracker.off) this.pendingEnds.defer(run.runId, end);
    if (run.status !== 'waiting_approval' && run.status !== 'running') this.runs.delete(run.runId);
  }

  /** The tracking part of a run's end ({@link runEndWrite}, then tracker.json); returns whether it was written. */
  private async writeRunEnd(st: RunState, run: RunRecord, rep: WrittenReport | undefined): Promise<boolean> {
    let trackerRun: string | undefined;
    const written = await this.guard(st, 'runFinished', async () => {
      trackerRun = await this.trackerRun(st);
      await this.tracker.logRuns([runEndWrite(run, trackerRun, rep)]);
    });
    if (written && rep) writeTrackerJson(rep, this.tracker, trackerRun, this.tracker.breaker.reason);
    return written;
  }

  /** Writes the run ends that tracking being off kept from the tracker ({@link PendingRunEnds.flush}); returns how many are still pending. */
  flushPendingEnds(): Promise<number> {
    return this.pendingEnds.flush();
  }
}

/**
 * The observer the CLI/local runtime attaches for state home `home`: the process's tracker
 * (`openTracker`, MLflow when MLFLOW_TRACKING_URI is set, else `home/tracking.duckdb`) behind the
 * observer path's circuit breaker, single attempts and short timeouts (`openObserverTracker`,
 * TRADEML_TRACKING_TIMEOUT_MS etc.), and the artifact store `home/artifacts`; reports go to
 * `home/reports/<run-id>/`.
 */
export async function createTrackingObserver(home: string, log?: Logger, env: NodeJS.ProcessEnv = process.env): Promise<TrackingObserver> {
  const { ArtifactStore } = await import('../artifacts/store.ts');
  const store = new ArtifactStore(path.join(home, 'artifacts'));
  return new TrackingObserver({ tracker: openObserverTracker({ home, store, env }), store, home, log });
}
