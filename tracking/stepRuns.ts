/**
 * Nested tracker runs: one parent run per TradeML run and one child run per finished step, linked
 * by MLflow's standard nesting tag `mlflow.parentRunId` (the MLflow UI nests them under the parent).
 * Nesting is only tags, so every {@link Tracker} models it alike (the local tracker stores the same
 * tags); this module says what a step's child run holds: its names, tags, params (the resolved
 * `with` and, for model bundles, the selected hyperparameters and the training config, never just a
 * config path), metrics with their histories (per split, per path, per fold, per trial, training
 * curves: whatever the step's contract values' JSON artifacts carry), and small artifacts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ArtifactStore } from '../artifacts/store.ts';
import { gateVerdict, modelBundle } from '../contracts/index.ts';
import { artifactRefs, provided } from '../report/provided.ts';
import { clip, flatten, safeKey, stepInputs } from './logging.ts';
import type { StepRecord } from './observer.ts';
import type { KeyValue, Metric, RunStatus, RunWrite } from './types.ts';
import { VALUE_LIMITS } from './types.ts';

/** Tag keys of nested runs. */
export const NEST_TAG = {
  /** MLflow's own nesting tag: the parent's tracker run id (the UI nests children by it). */
  parentRunId: 'mlflow.parentRunId',
  /** On a child: the TradeML run id of its parent (the parent carries it as `trademl.run_id`). */
  pipelineRunId: 'trademl.pipeline_run_id',
  /** On a child: its step id and kind. */
  step: 'trademl.step',
  uses: 'trademl.uses',
  /** On a child: the step's status (succeeded, failed, cancelled). */
  stepStatus: 'trademl.step_status',
  /** On a model version: the child run of the step that fitted it (`.<sleeve>` when several). */
  fitRunId: 'trademl.fit_run_id',
} as const;

/** The parent run's name: `<pipeline> <run-id>`. */
export function parentRunName(pipeline: string, runId: string): string {
  return `${pipeline} ${runId}`;
}

/** A child run's name: `<step> (<kind>)`. */
export function childRunName(step: { stepId: string; uses: string }): string {
  return `${step.stepId} (${step.uses})`;
}

/** The tracker status a finished step's child ends in; undefined for a skipped step (no child run). */
export function childStatus(step: StepRecord): RunStatus | undefined {
  if (step.status === 'succeeded') return 'FINISHED';
  if (step.status === 'failed') return 'FAILED';
  if (step.status === 'cancelled') return 'KILLED';
  return undefined;
}

/** What {@link temporalTags} reads of a Temporal activity's `Context.current().info`. */
export interface ActivityInfoLike {
  workflowExecution?: { workflowId?: string; runId?: string };
  workflowNamespace?: string;
  workflowType?: string;
}

let activityInfo: (() => ActivityInfoLike) | undefined;

/**
 * Sets how to read the current Temporal activity's info: temporal/activities.ts calls it when a
 * worker loads it. A process that never loads the worker's activities (an embedded run) neither
 * imports @temporalio/activity (≈ 22 ms of start-up) nor looks for an activity.
 */
export function readActivityInfoFrom(read: () => ActivityInfoLike): void {
  activityInfo = read;
}

/** The Temporal workflow and run ids when called inside a Temporal activity (the observe activity); {} elsewhere. */
export async function temporalTags(): Promise<Record<string, string>> {
  if (!activityInfo) return {};
  try {
    const info = activityInfo();
    const out: Record<string, string> = {};
    if (info.workflowExecution?.workflowId) out['temporal.workflow_id'] = info.workflowExecution.workflowId;
    if (info.workflowExecution?.runId) out['temporal.workflow_run_id'] = info.workflowExecution.runId;
    if (info.workflowNamespace) out['temporal.namespace'] = info.workflowNamespace;
    if (info.workflowType) out['temporal.workflow_type'] = info.workflowType;
    return out;
  } catch {
    return {}; // not inside an activity (Context.current() throws)
  }
}

/** The tags a child run is created with. */
export function childTags(step: StepRecord, parentRunId: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [NEST_TAG.parentRunId]: parentRunId,
    [NEST_TAG.pipelineRunId]: step.runId,
    [NEST_TAG.step]: step.stepId,
    [NEST_TAG.uses]: step.uses,
    'trademl.pipeline': step.pipeline,
    ...extra,
  };
}

/** How a step's child run is created under `parent`: `<step> (<kind>)`, started when the step started, with {@link childTags}. */
export async function childCreate(step: StepRecord, parent: { runId: string; experimentId: string }): Promise<{ experimentId: string; runName: string; startTime?: number; tags: Record<string, string> }> {
  const start = step.startedAt ? Date.parse(step.startedAt) : NaN;
  return { experimentId: parent.experimentId, runName: childRunName(step), ...(Number.isFinite(start) ? { startTime: start } : {}), tags: childTags(step, parent.runId, await temporalTags()) };
}

/**
 * What a finished step's child run gets, in one {@link RunWrite}: created under `parent` (or the
 * child `existing` already found), its resolved params, metrics with histories, end tags, lineage
 * inputs and JSON artifacts, and its end (status and time). Undefined for a skipped step.
 */
export async function childWrite(step: StepRecord, store: ArtifactStore, workDir: string, parent: { runId: string; experimentId: string }, existing?: string): Promise<RunWrite | undefined> {
  const status = childStatus(step);
  if (!status) return undefined; // skipped: nothing ran, no child run
  const ts = step.endedAt ? Date.parse(step.endedAt) : Date.now();
  return {
    run: existing ? { runId: existing } : { create: await childCreate(step, parent) },
    params: childParams(step, store),
    metrics: childMetrics(step, store, ts),
    tags: childEndTags(step),
    inputs: stepInputs(step),
    artifacts: childArtifacts(step, store, workDir).map(([localPath, artifactPath]) => ({ localPath, artifactPath })),
    end: { status, endTime: ts },
  };
}

const MAX_JSON_BYTES = 2 * 1024 * 1024;
const MAX_SERIES_ITEMS = 10_000;
/** Arrays (by key) whose items are one step of a history each: per_split, per_path, folds, trials, curves… */
const SERIES_KEY = /^(per_\w+|folds|splits|paths|trials|rounds|iterations|epochs|episodes|history)$/;
/** The item field giving its step index, first match wins (else the item's position). */
const INDEX_FIELDS = ['split', 'path', 'fold', 'round', 'iteration', 'epoch', 'episode', 'step', 'index'];
/** Objects (by key) holding parallel arrays, one of them `step`: training curves. */
const COLUMNAR_KEY = /^(curves|history)$/;

function isObj(v: unknown): v is Record<string, unknown> {
  return Boolean(v) && typeof v === 'object' && !Array.isArray(v);
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'boolean' ? (v ? 1 : 0) : undefined);

/**
 * Metric histories in a JSON document: each array under a series key (`per_split`, `per_path`,
 * `folds`, `trials`, …, up to two levels down) whose items are objects gives one history per
 * numeric field (`<prefix>.<array>.<field>`, nested objects one level: `<…>.metrics.<field>`), the
 * step being the item's `split`/`path`/`fold`/… field or its position; an object under `curves` /
 * `history` holding a `step` array and numeric arrays gives one history per array.
 */
export function seriesMetrics(doc: unknown, prefix: string, ts: number, out: Metric[] = [], depth = 0): Metric[] {
  if (!isObj(doc) || depth > 2) return out;
  for (const [k, v] of Object.entries(doc)) {
    const key = `${prefix}.${safeKey(k)}`;
    if (Array.isArray(v) && SERIES_KEY.test(k) && v.length && v.length <= MAX_SERIES_ITEMS && v.every(isObj)) {
      v.forEach((item, i) => {
        const idxField = INDEX_FIELDS.find((f) => Number.isInteger(item[f]));
        const step = idxField ? (item[idxField] as number) : i;
        const fields = (o: Record<string, unknown>, p: string, level: number) => {
          for (const [f, x] of Object.entries(o)) {
            if (f === idxField && level === 0) continue;
            const n = num(x);
            if (n !== undefined) out.push({ key: `${p}.${safeKey(f)}`, value: n, timestamp: ts, step });
            else if (isObj(x) && level === 0) fields(x, `${p}.${safeKey(f)}`, 1);
          }
        };
        fields(item, key, 0);
      });
    } else if (isObj(v) && COLUMNAR_KEY.test(k) && Array.isArray(v.step)) {
      const steps = v.step as unknown[];
      for (const [name, values] of Object.entries(v)) {
        if (name === 'step' || !Array.isArray(values) || values.length > MAX_SERIES_ITEMS) continue;
        values.forEach((x, i) => {
          const n = num(x);
          if (n !== undefined) out.push({ key: `${key}.${safeKey(name)}`, value: n, timestamp: ts, step: Number.isInteger(steps[i]) ? (steps[i] as number) : i });
        });
      }
    } else if (isObj(v)) seriesMetrics(v, key, ts, out, depth + 1);
  }
  return out;
}

/** The JSON artifacts inside a step's contract values: `[output, key inside the value, ref]`, small enough to read. */
function jsonArtifacts(step: StepRecord): Array<{ output: string; key: string; ref: ReturnType<typeof artifactRefs>[number][1] }> {
  const out: Array<{ output: string; key: string; ref: ReturnType<typeof artifactRefs>[number][1] }> = [];
  for (const k of Object.keys(step.provides ?? {})) {
    for (const [key, ref] of artifactRefs(step.outputs?.[k])) {
      const json = ref.media_type === 'application/json' || /\.json$/i.test(ref.name ?? '') || /\.json$/i.test(ref.uri);
      if (json && (ref.bytes ?? 0) <= MAX_JSON_BYTES) out.push({ output: k, key, ref });
    }
  }
  return out;
}

function readJsonOr(store: ArtifactStore, ref: { uri: string }): unknown {
  try {
    return store.readJson(ref.uri);
  } catch {
    return undefined;
  }
}

/**
 * Params of a step's child run: its resolved `with` as `with.<key>` (nested keys dotted), and for
 * every model bundle it provides the training config it actually trained with: the selected
 * hyperparameters under their own names (`max_depth`, `eta`, …), `final_rounds`, and the resolved
 * config as `config.<key>` (not the path of the config file).
 */
export function childParams(step: StepRecord, store: ArtifactStore): KeyValue[] {
  const params = new Map<string, string>();
  const add = (k: string, v: string) => {
    if (!params.has(k)) params.set(k, clip(v, VALUE_LIMITS.paramValue));
  };
  for (const b of provided([step], modelBundle)) {
    const doc = readJsonOr(store, b.value.training_config);
    if (!isObj(doc)) continue;
    for (const [k, v] of flatten(doc.selected_params)) add(k, v);
    if (doc.final_rounds !== undefined) add('final_rounds', String(doc.final_rounds));
    for (const [k, v] of flatten(doc.config, 'config')) add(k, v);
    add('sleeve', b.value.sleeve);
    add('engine', b.value.engine);
  }
  for (const [k, v] of flatten(step.with, 'with')) add(k, v);
  return [...params].map(([key, value]) => ({ key, value }));
}

/**
 * Metrics of a step's child run under plain keys: numeric/boolean outputs as `<key>`, the scalar
 * fields of contract values as `<output>.<field>`, `duration_s` (step = attempts), and the
 * histories its contract values' JSON artifacts carry (see {@link seriesMetrics}):
 * `<output>.per_split.rank_ic` by split, `<output>.per_path.sharpe` by path,
 * `<output>.trials.metrics.mean_rank_ic` by trial, `<output>.curves.q_loss` by training step, ….
 */
export function childMetrics(step: StepRecord, store: ArtifactStore, ts: number): Metric[] {
  const out: Metric[] = [];
  const scalars = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const n = num(v);
      if (n !== undefined) out.push({ key: prefix ? `${prefix}.${safeKey(k)}` : safeKey(k), value: n, timestamp: ts, step: 0 });
    }
  };
  scalars(step.outputs ?? {}, '');
  for (const k of Object.keys(step.provides ?? {})) {
    const v = step.outputs?.[k];
    if (isObj(v)) scalars(v, safeKey(k));
  }
  if (step.durationMs !== undefined) out.push({ key: 'duration_s', value: step.durationMs / 1000, timestamp: ts, step: step.attempts ?? 1 });
  for (const a of jsonArtifacts(step)) {
    const doc = readJsonOr(store, a.ref);
    if (doc !== undefined) seriesMetrics(doc, safeKey(a.output), ts, out);
  }
  // One value per (key, step): a later document repeating a key at a step does not double it.
  const seen = new Set<string>();
  return out.filter((m) => {
    const id = `${m.key}\u0000${m.step}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Tags of a step's child run logged at its end: status, cache hit, what it provides, its error. */
export function childEndTags(step: StepRecord): KeyValue[] {
  const tags: KeyValue[] = [
    { key: NEST_TAG.stepStatus, value: step.status },
    { key: 'trademl.cache_hit', value: String(step.cacheHit) },
    { key: 'trademl.attempts', value: String(step.attempts ?? 1) },
    ...Object.entries(step.provides ?? {}).map(([k, c]) => ({ key: `trademl.provides.${safeKey(k)}`, value: c })),
  ];
  if (step.error) tags.push({ key: 'trademl.error', value: clip(`${step.error.type}: ${step.error.message}`, VALUE_LIMITS.tagValue) });
  return tags;
}

/**
 * Files a step's child run carries as artifacts: the JSON documents of its contract values (the
 * trial ledger, fit metrics, training config, backtest metrics, gate report, curves, …; ≤ 2 MB each)
 * as `<output>/<name>`, and a gate verdict's bar table as `<output>/gate_table.txt`.
 * Returns `[local path, artifact path]` pairs.
 */
export function childArtifacts(step: StepRecord, store: ArtifactStore, workDir: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const a of jsonArtifacts(step)) {
    let local: string;
    try {
      local = store.path(a.ref.uri);
    } catch {
      continue;
    }
    const base = safeKey(path.posix.basename(a.ref.name || `${a.key || a.output}.json`)).replace(/[ /]/g, '_') || 'value.json';
    let dest = `${safeKey(a.output)}/${base}`;
    if (seen.has(dest)) dest = `${safeKey(a.output)}/${safeKey(a.key).replace(/[ /]/g, '_')}.${base}`;
    if (seen.has(dest)) continue;
    seen.add(dest);
    out.push([local, dest]);
  }
  for (const g of provided([step], gateVerdict)) {
    if (!g.value.table) continue;
    mkdirSync(workDir, { recursive: true });
    const file = path.join(workDir, `${safeKey(g.output)}-gate_table.txt`);
    writeFileSync(file, g.value.table + '\n');
    out.push([file, `${safeKey(g.output)}/gate_table.txt`]);
  }
  return out;
}
