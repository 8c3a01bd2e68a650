/**
 * What the tracker logs of a finished step, by contract: its `with` as params, its scalar outputs
 * and the scalar fields of every contract value it provides as metrics, the artifacts of its
 * contract values as lineage inputs (tagged with the contract id), and the training curves of an
 * `rl.policy` value as metric histories.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ArtifactStore } from '../artifacts/store.ts';
import { rlPolicy } from '../contracts/trading.ts';
import { PROJECT_ROOT } from '../lib/paths.ts';
import { isRef } from '../report/json.ts';
import { artifactRefs, provided } from '../report/provided.ts';
import type { StepRecord } from './observer.ts';
import type { DatasetInput, KeyValue, Metric } from './types.ts';
import { VALUE_LIMITS } from './types.ts';

/** A key safe for MLflow (word characters, `.`, `-`, space, `/`), at most 200 characters. */
export function safeKey(k: string): string {
  return k.replace(/[^\w.\- /]/g, '_').slice(0, 200);
}

/** `s` cut to `n` characters (with an ellipsis). */
export function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** Flattens a `with` object to dotted keys (`bars`, `cpcv.n_groups`), scalars as strings, arrays as JSON. */
export function flatten(v: unknown, prefix = '', out: Array<[string, string]> = []): Array<[string, string]> {
  if (v === undefined) return out;
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${safeKey(k)}` : safeKey(k), out);
    return out;
  }
  if (prefix) out.push([prefix, typeof v === 'string' ? v : JSON.stringify(v)]);
  return out;
}

function scalarMetrics(obj: Record<string, unknown>, prefix: string, ts: number, out: Metric[]): void {
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'number' && Number.isFinite(v)) out.push({ key: `${prefix}.${safeKey(k)}`, value: v, timestamp: ts, step: 0 });
    if (typeof v === 'boolean') out.push({ key: `${prefix}.${safeKey(k)}`, value: v ? 1 : 0, timestamp: ts, step: 0 });
  }
}

/**
 * Metrics of a finished step: numeric/boolean outputs as `<step>.<key>`, the numeric/boolean fields
 * of each provided contract value as `<step>.<output>.<field>`, the duration, and the curves of its
 * `rl.policy` values.
 */
export function stepMetrics(step: StepRecord, store: ArtifactStore, ts: number): Metric[] {
  const id = safeKey(step.stepId);
  const out: Metric[] = [];
  scalarMetrics(step.outputs ?? {}, id, ts, out);
  for (const k of Object.keys(step.provides ?? {})) {
    const v = step.outputs?.[k];
    if (v && typeof v === 'object' && !Array.isArray(v)) scalarMetrics(v as Record<string, unknown>, `${id}.${safeKey(k)}`, ts, out);
  }
  if (step.durationMs !== undefined) out.push({ key: `${id}.duration_s`, value: step.durationMs / 1000, timestamp: ts, step: step.attempts ?? 1 });
  out.push(...curveMetrics(step, store, ts));
  return out;
}

/**
 * Training curves of the `rl.policy` values a step provides: the `curves` JSON artifact holding
 * `{ curves: { step: number[], <metric>: number[] } }` → metric histories `<step id>.<metric>` with
 * their step index, so the tracker's UI plots them.
 */
function curveMetrics(step: StepRecord, store: ArtifactStore, ts: number): Metric[] {
  const out: Metric[] = [];
  for (const p of provided([step], rlPolicy)) {
    const doc = store.readJson<{ curves?: Record<string, unknown> }>(p.value.curves);
    const c = doc.curves ?? {};
    const steps = Array.isArray(c.step) ? (c.step as unknown[]) : [];
    for (const [name, values] of Object.entries(c)) {
      if (name === 'step' || !Array.isArray(values)) continue;
      values.forEach((v, i) => {
        if (typeof v === 'number' && Number.isFinite(v)) out.push({ key: `${safeKey(step.stepId)}.${safeKey(name)}`, value: v, timestamp: ts, step: Number(steps[i] ?? i) });
      });
    }
  }
  return out;
}

/**
 * Lineage inputs of a finished step: every artifact inside a provided contract value, named
 * `<step>.<output>[.<key>]` and tagged with its contract, and every other artifact output.
 */
export function stepInputs(step: StepRecord): DatasetInput[] {
  const out: DatasetInput[] = [];
  const tags = { 'trademl.step': step.stepId, 'trademl.uses': step.uses };
  for (const [k, v] of Object.entries(step.outputs ?? {})) {
    const contract = step.provides?.[k];
    if (contract) {
      for (const [key, ref] of artifactRefs(v)) out.push({ name: key ? `${step.stepId}.${k}.${key}` : `${step.stepId}.${k}`, digest: ref.digest, sourceType: 'artifact', source: ref.uri, tags: { ...tags, 'trademl.contract': contract } });
    } else if (isRef(v)) out.push({ name: `${step.stepId}.${k}`, digest: v.digest, sourceType: 'artifact', source: v.uri, tags });
  }
  return out;
}

/** Params and tags of a finished step: its `with` as `<step>.<key>`, and its status, kind, cache hit and error. */
export function stepParamsAndTags(step: StepRecord): { params: KeyValue[]; tags: KeyValue[] } {
  const id = safeKey(step.stepId);
  const params = [...new Map(flatten(step.with).map(([k, v]) => [`${id}.${k}`, { key: `${id}.${k}`, value: clip(v, VALUE_LIMITS.paramValue) }])).values()];
  const tags: KeyValue[] = [
    { key: `step.${id}.status`, value: step.status },
    { key: `step.${id}.uses`, value: step.uses },
    { key: `step.${id}.cache_hit`, value: String(step.cacheHit) },
    ...Object.entries(step.provides ?? {}).map(([k, c]) => ({ key: `step.${id}.provides.${safeKey(k)}`, value: c })),
  ];
  if (step.error) tags.push({ key: `step.${id}.error`, value: clip(`${step.error.type}: ${step.error.message}`, VALUE_LIMITS.tagValue) });
  return { params, tags };
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
