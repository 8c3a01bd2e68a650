import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { Logger } from '../lib/log.ts';
import { logger as rootLogger } from '../lib/log.ts';
import { PROJECT_ROOT } from '../lib/paths.ts';
import { reportDir, writeReport } from '../report/index.ts';
import type { ReportStep } from '../report/model.ts';
import { isRef } from '../report/model.ts';
import type { RunObserver, RunRecord, StepRecord } from './observer.ts';
import { ModelRegistry, TAG } from './registry.ts';
import type { DatasetInput, KeyValue, Metric, Tracker } from './types.ts';
import { VALUE_LIMITS } from './types.ts';

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
  challenger?: { model: string; version: string };
}

/**
 * The RunObserver the runtimes call. It:
 * - creates one tracker run per TradeML run (experiment `trademl/<pipeline>`, tag `trademl.run_id`),
 *   logs run params, lineage inputs (plan digest, code version, git commit, every data artifact digest);
 * - per finished step: its `with` as params `<step>.<key>`, numeric outputs as metrics `<step>.<key>`,
 *   training curves (an output `curves` artifact) as metric histories with their step index,
 *   status/duration/cache tags;
 * - when a `gate.governance` step succeeds: registers the candidate model (the run's `fit.cpcv` outputs)
 *   as a new model version and sets alias `challenger` (a failed gate registers nothing);
 * - records approval decisions on the run and on the candidate version (no alias changes);
 * - at the end writes report.json/report.html (stateHome()/reports/<run-id>/ and as tracker artifacts).
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

  private modelName(st: RunState): string {
    if (this.opts.modelName) return this.opts.modelName(st.run);
    const promote = st.run.plan?.steps.find((s) => s.uses === 'promote');
    const fromWith = (promote?.with as { model?: unknown } | undefined)?.model;
    if (typeof fromWith === 'string' && fromWith && !fromWith.includes('${{')) return fromWith;
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
      st = { run, steps: new Map() };
      this.runs.set(run.runId, st);
    } else st.run = { ...st.run, ...run };
    return st;
  }

  private async trackerRun(st: RunState): Promise<string> {
    if (!st.trackerRunId) st.trackerRunId = await this.registry.trackerRunFor(st.run.runId, this.experiment(st.run.pipeline), { [TAG.pipeline]: st.run.pipeline, [TAG.planDigest]: st.run.planDigest });
    return st.trackerRunId;
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
      const metrics: Metric[] = [];
      for (const [k, v] of Object.entries(step.outputs ?? {})) {
        if (typeof v === 'number' && Number.isFinite(v)) metrics.push({ key: `${safeKey(step.stepId)}.${safeKey(k)}`, value: v, timestamp: ts, step: 0 });
        if (typeof v === 'boolean') metrics.push({ key: `${safeKey(step.stepId)}.${safeKey(k)}`, value: v ? 1 : 0, timestamp: ts, step: 0 });
      }
      if (step.durationMs !== undefined) metrics.push({ key: `${safeKey(step.stepId)}.duration_s`, value: step.durationMs / 1000, timestamp: ts, step: step.attempts ?? 1 });
      metrics.push(...this.curveMetrics(step, ts));
      const params: KeyValue[] = flatten(step.with).map(([k, v]) => ({ key: `${safeKey(step.stepId)}.${k}`, value: clip(v, VALUE_LIMITS.paramValue) }));
      const tags: KeyValue[] = [
        { key: `step.${safeKey(step.stepId)}.status`, value: step.status },
        { key: `step.${safeKey(step.stepId)}.uses`, value: step.uses },
        { key: `step.${safeKey(step.stepId)}.cache_hit`, value: String(step.cacheHit) },
      ];
      if (step.error) tags.push({ key: `step.${safeKey(step.stepId)}.error`, value: clip(`${step.error.type}: ${step.error.message}`, VALUE_LIMITS.tagValue) });
      await this.opts.tracker.logBatch(id, { metrics, params: dedupeParams(params), tags });
      const inputs: DatasetInput[] = [];
      for (const [k, v] of Object.entries(step.outputs ?? {})) {
        if (isRef(v)) inputs.push({ name: `${step.stepId}.${k}`, digest: v.digest, sourceType: 'artifact', source: v.uri, tags: { 'trademl.step': step.stepId, 'trademl.uses': step.uses } });
      }
      if (inputs.length) await this.opts.tracker.logInputs(id, inputs);
      if (step.uses === 'gate.governance' && step.status === 'succeeded' && step.outputs.passed !== false) await this.registerChallenger(st, step);
    });
  }

  /**
   * Training curves a step publishes as an output `curves`: a JSON artifact holding
   * `{ curves: { step: number[], <metric>: number[] } }` (e.g. rl.train) → metric histories
   * `<step id>.<metric>` with their step index, so the tracker's UI plots them.
   */
  private curveMetrics(step: StepRecord, ts: number): Metric[] {
    const ref = step.outputs?.curves;
    if (!isRef(ref)) return [];
    const doc = this.opts.store.readJson<{ curves?: Record<string, unknown> }>(ref);
    const c = doc.curves ?? {};
    const steps = Array.isArray(c.step) ? (c.step as unknown[]) : [];
    const out: Metric[] = [];
    for (const [name, values] of Object.entries(c)) {
      if (name === 'step' || !Array.isArray(values)) continue;
      values.forEach((v, i) => {
        if (typeof v === 'number' && Number.isFinite(v)) out.push({ key: `${safeKey(step.stepId)}.${safeKey(name)}`, value: v, timestamp: ts, step: Number(steps[i] ?? i) });
      });
    }
    return out;
  }

  /** Registers the run's fit.cpcv model as a version and points `challenger` at it. */
  private async registerChallenger(st: RunState, gate: StepRecord): Promise<void> {
    const onlySleeve = (st.run.plan?.steps.find((s) => s.uses === 'promote')?.with as { sleeve?: unknown } | undefined)?.sleeve;
    const fits = [...st.steps.values()]
      .filter((s) => s.uses === 'fit.cpcv' && s.status === 'succeeded' && (typeof onlySleeve !== 'string' || s.outputs.sleeve === onlySleeve))
      .sort((a, b) => a.stepId.localeCompare(b.stepId));
    if (!fits.length) {
      this.log.warn({ run: st.run.runId }, 'gate passed but no fit.cpcv step output was seen; no challenger registered');
      return;
    }
    const fit = fits[0]!;
    const stack = [...st.steps.values()].find((s) => s.uses === 'stack.oof' && s.status === 'succeeded');
    const model = this.modelName(st);
    const { candidateBundle } = await import('./candidate.ts');
    const workDir = path.join(this.opts.store.root, 'tmp', `candidate-${st.run.runId}`);
    const bundle = candidateBundle(this.opts.store, fits, stack?.outputs, workDir);
    const v = await this.registry.registerCandidate({
      model,
      experiment: this.experiment(st.run.pipeline),
      trademlRunId: st.run.runId,
      pipeline: st.run.pipeline,
      files: bundle.primary,
      sleeves: bundle.sleeves,
      stacker: bundle.stacker,
      lineage: { ...this.lineage(st, gate), sleeves: bundle.sleeves.map((x) => x.sleeve) },
      summary: summaryOf(fit.outputs),
      workDir,
    });
    await this.registry.setChallenger(model, v.version);
    st.challenger = { model, version: v.version };
    this.log.info({ model, version: v.version, run: st.run.runId }, 'challenger registered');
  }

  private lineage(st: RunState, gate?: StepRecord): Record<string, unknown> {
    const code = codeVersion();
    const datasets: Record<string, string> = {};
    let ohlcv: string | undefined;
    for (const s of st.steps.values()) {
      for (const [k, v] of Object.entries(s.outputs ?? {})) {
        if (isRef(v)) datasets[`${s.stepId}.${k}`] = v.digest;
        if (isRef(v) && ((s.uses === 'qc.audit' && k === 'curated') || (!ohlcv && s.uses === 'ingest.ohlcv' && k === 'table'))) ohlcv = v.uri;
      }
    }
    return {
      run_id: st.run.runId,
      pipeline: st.run.pipeline,
      plan_digest: st.run.planDigest,
      params: st.run.params,
      code_version: code.version,
      git_commit: code.commit,
      datasets,
      ohlcv,
      gate: gate ? { step: gate.stepId, passed: gate.outputs.passed, table: gate.outputs.table } : undefined,
    };
  }

  async approvalDecided(d: { runId: string; stepId: string; approved: boolean; by: string; at: string; comment: string }): Promise<void> {
    const st = this.runs.get(d.runId);
    await this.guard(`approvalDecided ${d.stepId}`, async () => {
      // The candidate this run registered: known in memory, else (after a process restart) looked up by run tag.
      let target = st?.challenger;
      let trackerRunId: string | undefined;
      if (!target) {
        const names = st ? [this.modelName(st)] : (await this.opts.tracker.listRegisteredModels()).map((m) => m.name);
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

  async runFinished(run: RunRecord, steps: StepRecord[]): Promise<void> {
    const st = this.state(run);
    for (const s of steps) st.steps.set(s.stepId, s);
    await this.guard('runFinished', async () => {
      const id = await this.trackerRun(st);
      const status = run.status === 'succeeded' ? 'FINISHED' : run.status === 'cancelled' ? 'KILLED' : run.status === 'failed' ? 'FAILED' : 'RUNNING';
      const code = codeVersion();
      const needsOf = new Map((run.plan?.steps ?? []).map((s) => [s.id, s.needs]));
      const reportSteps: ReportStep[] = steps.map((s) => ({
        stepId: s.stepId,
        uses: s.uses,
        status: s.status,
        startedAt: s.startedAt,
        endedAt: s.endedAt,
        durationMs: s.durationMs,
        cacheHit: s.cacheHit,
        attempts: s.attempts,
        needs: s.needs ?? needsOf.get(s.stepId),
        outputs: s.outputs ?? {},
        error: s.error,
      }));
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
          lineage: {
            code_version: code.version,
            git_commit: code.commit,
            tracker: `${this.opts.tracker.kind} ${this.opts.tracker.location}`,
            tracker_run: id,
            ...(st.challenger ? { challenger: `${st.challenger.model} v${st.challenger.version}` } : {}),
          },
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

let cachedCode: { version: string; commit?: string; dirty: boolean } | undefined;
/** The package version and, when the checkout is a git repo, its HEAD commit. */
export function codeVersion(): { version: string; commit?: string; dirty: boolean } {
  if (cachedCode) return cachedCode;
  let commit: string | undefined;
  let dirty = false;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || undefined;
    dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().length > 0;
  } catch {
    /* not a git checkout */
  }
  let version = '0.0.0';
  try {
    version = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    /* no package.json */
  }
  cachedCode = { version: `trademl@${version}`, commit, dirty };
  return cachedCode;
}

function safeKey(k: string): string {
  return k.replace(/[^\w.\- /]/g, '_').slice(0, 200);
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** Flattens a `with` object to dotted keys (`bars`, `cpcv.n_groups`), scalars as strings, arrays as JSON. */
function flatten(v: unknown, prefix = '', out: Array<[string, string]> = []): Array<[string, string]> {
  if (v === undefined) return out;
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${safeKey(k)}` : safeKey(k), out);
    return out;
  }
  if (prefix) out.push([prefix, typeof v === 'string' ? v : JSON.stringify(v)]);
  return out;
}

function dedupeParams(list: KeyValue[]): KeyValue[] {
  return [...new Map(list.map((p) => [p.key, p])).values()];
}

function summaryOf(outputs: Record<string, unknown>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const k of ['sleeve', 'task', 'mean_ic', 'mean_rank_ic', 'icir', 'n_splits', 'n_paths']) {
    const v = outputs[k];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
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
